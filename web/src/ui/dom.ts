/** Small DOM helpers: element builder, status messages, file downloads. */
import { ApiError } from '../api';
import { t, type Key } from '../i18n';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;

/** `h('button', {class: 'x', onclick: f, 'data-i18n': 'save'}, 'label')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** An element whose text follows the language (`data-i18n`). */
export function tr<K extends keyof HTMLElementTagNameMap>(tag: K, key: Key, attrs: Attrs = {}): HTMLElementTagNameMap[K] {
  return h(tag, { ...attrs, 'data-i18n': key }, t(key));
}

export type StatusKind = 'info' | 'ok' | 'warn' | 'error';

/** Shows a transient, non-blocking message in the bottom corner. */
export function toast(msg: string, kind: StatusKind = 'info', ms = 5000): void {
  const host = document.getElementById('toasts');
  if (!host) return;
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, msg);
  host.append(el);
  setTimeout(() => el.remove(), ms);
}

/** Turns an error from the API into a user message (not-yet-available routes say so). */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.notAvailable) return t('not_available', { path: e.path.split('?')[0] });
    if (e.status === 412) return t('conflict');
    return t('request_failed', { msg: e.message });
  }
  return t('request_failed', { msg: (e as Error)?.message ?? String(e) });
}

/** Writes a message into a status line element (and clears it with an empty string). */
export function setStatus(el: HTMLElement, msg: string, kind: StatusKind = 'info'): void {
  el.textContent = msg;
  el.className = `status status-${kind}`;
  el.hidden = msg === '';
}

export function download(filename: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** CSV with RFC 4180 quoting. */
export function toCsv(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const q = (v: string | number | null | undefined) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(q).join(',')).join('\r\n') + '\r\n';
}

/** Runs `f` once calls stop for `ms` milliseconds. */
export function debounce<A extends unknown[]>(f: (...a: A) => void, ms: number): (...a: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...a: A) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...a), ms);
  };
}
