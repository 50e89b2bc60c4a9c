/**
 * "Print" buttons: fetch a PDF report from `/api/reports/…` for the current selection and hand
 * it to the browser (a download named after the report). The server lays the PDF out in one go,
 * so the button shows the seconds spent waiting, then the megabytes received (an atlas of
 * hundreds of pages is several MB), and says what went wrong in the status line when it fails.
 */
import { ApiError } from '../api';
import { t, type Key } from '../i18n';
import { download, h } from './dom';

/** Fetches `path` (a PDF route) and saves it as `filename`; progress goes to `status`. */
export async function fetchPdf(path: string, filename: string, status: HTMLElement): Promise<Blob> {
  const t0 = performance.now();
  const say = (s: string) => {
    status.hidden = false;
    status.textContent = s;
  };
  say(t('pdf_preparing', { s: 0 }));
  const tick = setInterval(() => say(t('pdf_preparing', { s: Math.round((performance.now() - t0) / 1000) })), 1000);
  let r: Response;
  try {
    r = await fetch(path, { headers: { Accept: 'application/pdf' }, credentials: 'same-origin' });
  } catch (e) {
    clearInterval(tick);
    throw new ApiError(0, path, (e as Error).message, false);
  }
  clearInterval(tick);
  if (!r.ok) {
    let detail = r.statusText;
    try {
      const p = (await r.json()) as { title?: string; detail?: string };
      detail = p.detail ?? p.title ?? detail;
    } catch {
      /* not problem+json */
    }
    throw new ApiError(r.status, path, `${r.status} ${detail}`, false);
  }
  const total = Number(r.headers.get('Content-Length') ?? 0);
  const parts: Uint8Array[] = [];
  let got = 0;
  const reader = r.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      const mb = (got / 1048576).toFixed(1);
      say(total ? t('pdf_receiving', { mb, total: (total / 1048576).toFixed(1) }) : t('pdf_receiving', { mb, total: '?' }));
    }
  } else {
    parts.push(new Uint8Array(await r.arrayBuffer()));
  }
  const blob = new Blob(parts as BlobPart[], { type: 'application/pdf' });
  download(filename, blob, 'application/pdf');
  say(t('pdf_done', { file: filename, mb: (blob.size / 1048576).toFixed(1), s: ((performance.now() - t0) / 1000).toFixed(1) }));
  return blob;
}

/** A print button that runs {@link fetchPdf} for the path `path()` gives at click time. */
export function pdfButton(id: string, label: Key, path: () => string, filename: () => string): HTMLElement {
  const status = h('p', { class: 'status small', id: `${id}-status`, hidden: true, role: 'status' });
  const button = h('button', { id, 'data-i18n': label }, t(label)) as HTMLButtonElement;
  button.addEventListener('click', () => {
    button.disabled = true;
    fetchPdf(path(), filename(), status)
      .catch((e: unknown) => {
        status.hidden = false;
        status.textContent = `${t('pdf_failed')}: ${(e as Error).message}`;
        status.classList.add('error');
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return h('span', { class: 'pdf-button' }, button, status);
}
