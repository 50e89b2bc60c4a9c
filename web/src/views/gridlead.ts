/**
 * Grid lead view (我的网格): one grid only — its buildings with households, elderly and
 * stewards, the facilities that serve it with their walking times, and a printable building
 * list. A logged-in grid lead sees only the grids assigned to them (`/api/me`), and corrects a
 * building's households and elderly in place (更正: `PATCH /api/buildings/{id}/counts` with the
 * ETag of `GET …/counts`, so a count someone else changed meanwhile is refused, not overwritten).
 */
import { get, getGridDetail, hasRoute, qs, request, type FeatureCollection, type GridDetail } from '../api';
import { bboxOf, type AppContext, type View } from '../context';
import { kindLabel, num, onLangChange, t } from '../i18n';
import { errorMessage, h, setStatus, tr } from '../ui/dom';
import { pdfButton } from '../ui/report';
import { serviceKinds } from '../kinds';

interface BuildingRow {
  id: string;
  name: string;
  address: string;
  households: number;
  elderly: number | null;
  steward: string;
  edited: boolean;
}

/** Roles the server lets correct counts (grid leads in their grids, planners, admins). */
const CORRECTORS = ['grid_lead', 'planner', 'admin'];

export class GridLeadView implements View {
  private select!: HTMLSelectElement;
  private body!: HTMLElement;
  private serving!: HTMLElement;
  private status!: HTMLElement;
  private note!: HTMLElement;
  private current: string | null = null;
  private loadedFor: string | null = null;
  private editing: BuildingRow | null = null;

  constructor(private readonly ctx: AppContext) {}

  mount(el: HTMLElement): void {
    this.select = h('select', { id: 'lead-grid' });
    this.select.addEventListener('change', () => void this.open(this.select.value));
    this.status = h('p', { class: 'status', hidden: true });
    this.note = h('p', { class: 'muted small', hidden: true, 'data-i18n': 'only_your_grids' }, t('only_your_grids'));
    this.body = h('div', { id: 'lead-body', class: 'printable' });
    this.serving = h('div', { id: 'lead-serving', class: 'card' });
    el.append(
      tr('h2', 'my_grid'),
      h('div', { class: 'card no-print' }, h('div', { class: 'form-grid' }, tr('label', 'choose_grid', { for: 'lead-grid' }), this.select), this.note,
        h('div', { class: 'row' }, tr('button', 'print', { id: 'lead-print', onclick: () => window.print() }),
          pdfButton('lead-pdf', 'print_grid_pdf', () => `/api/reports/grids.pdf${qs({ grids: this.current ?? undefined })}`, () => `grid-${this.current ?? 'all'}.pdf`))),
      this.status,
      this.body,
      this.serving,
    );
    onLangChange(() => this.current && void this.open(this.current));
  }

  activate(): void {
    void this.fillGrids();
  }

  deactivate(): void {
    this.ctx.setOverlay('selection', null);
    document.body.classList.remove('print-lead');
  }

  private async fillGrids(): Promise<void> {
    const key = this.ctx.me ? `${this.ctx.me.user}:${this.ctx.me.grids.join(',')}` : 'all';
    if (this.loadedFor === key) {
      document.body.classList.add('print-lead');
      if (this.current) void this.highlight();
      return;
    }
    try {
      const fc = await get<FeatureCollection>(`/api/grids${qs({ limit: 10000 })}`);
      let grids = fc.features.map((f) => ({ id: String(f.properties?.id ?? f.id ?? ''), code: String(f.properties?.code ?? f.id ?? '') }));
      const restrict = this.ctx.me?.role === 'grid_lead';
      if (restrict) grids = grids.filter((g) => this.ctx.me!.grids.map(String).includes(g.id));
      this.note.hidden = !restrict;
      grids.sort((a, b) => a.code.localeCompare(b.code, undefined, { numeric: true }));
      this.select.replaceChildren(...grids.map((g) => h('option', { value: g.id }, g.code)));
      this.loadedFor = key;
      document.body.classList.add('print-lead');
      const first = this.current && grids.some((g) => g.id === this.current) ? this.current : grids[0]?.id;
      if (first) {
        this.select.value = first;
        await this.open(first);
      } else {
        this.body.replaceChildren(h('p', { class: 'muted' }, t('none')));
      }
    } catch (e) {
      setStatus(this.status, errorMessage(e), 'warn');
    }
  }

  /** Outlines the current grid and zooms to it; resolves to its bbox. */
  private async highlight(): Promise<[number, number, number, number] | null> {
    const id = this.current;
    if (!id) return null;
    try {
      const f = await get<FeatureCollection['features'][number]>(`/collections/grids/items/${encodeURIComponent(id)}`);
      this.ctx.setOverlay('selection', { type: 'FeatureCollection', features: [f] });
      const b = bboxOf(f);
      if (b) this.ctx.map.fitBounds(b, { padding: 40, maxZoom: 18, duration: 0 });
      return b;
    } catch {
      return null;
    }
  }

  async open(id: string): Promise<void> {
    this.current = id;
    setStatus(this.status, t('loading'));
    try {
      const d = await getGridDetail(id);
      setStatus(this.status, '');
      const rows = buildingRows(d);
      const bboxPromise = this.highlight();
      const sumH = rows.reduce((a, r) => a + r.households, 0);
      const sumE = rows.reduce((a, r) => a + (r.elderly ?? 0), 0);
      this.body.replaceChildren(
        h('div', { class: 'card' },
          h('h3', {}, `${t('grid')} ${String(d.code ?? id)}${d.name ? ` · ${d.name}` : ''}`),
          h('dl', { class: 'kv' },
            h('dt', {}, t('households')), h('dd', { id: 'lead-households' }, num(Number(d.households ?? sumH))),
            h('dt', {}, t('buildings')), h('dd', {}, num(Number(d.building_count ?? rows.length))),
            h('dt', {}, t('elderly')), h('dd', {}, num(Number(d.elderly ?? sumE))),
            h('dt', {}, t('grid_lead')), h('dd', {}, (d.leads ?? []).join(', ') || '—'),
            h('dt', {}, t('community')), h('dd', {}, String(d.community ?? '—')),
          ),
          h('h4', {}, t('building_list')),
          h('table', { class: 'table building-list', id: 'lead-buildings' },
            h('thead', {}, h('tr', {}, h('th', {}, t('name')), h('th', {}, t('households')), h('th', {}, t('elderly')), h('th', {}, t('steward')), ...(this.canCorrect() ? [h('th', { class: 'no-print' }, '')] : []))),
            h('tbody', {}, ...rows.map((r) => this.row(r))),
            h('tfoot', {}, h('tr', {}, h('th', {}, t('total')), h('th', { class: 'num' }, num(sumH)), h('th', { class: 'num' }, num(sumE)), h('th', {}, ''), ...(this.canCorrect() ? [h('th', { class: 'no-print' }, '')] : []))),
          ),
        ),
      );
      void bboxPromise.then((b) => this.loadServing(rows, b));
    } catch (e) {
      setStatus(this.status, errorMessage(e), 'warn');
    }
  }

  private canCorrect(): boolean {
    return !!this.ctx.me && CORRECTORS.includes(this.ctx.me.role) && hasRoute('/api/buildings/x/counts', false);
  }

  private row(r: BuildingRow): HTMLElement {
    const mark = r.edited ? h('span', { class: 'muted small', title: t('count_edited') }, ' ✎') : '';
    const tr_ = h('tr', { 'data-id': r.id },
      h('td', {}, r.name || r.address || r.id),
      h('td', { class: 'num' }, num(r.households), mark),
      h('td', { class: 'num' }, r.elderly === null ? '—' : num(r.elderly)),
      h('td', {}, r.steward || '—'));
    if (this.canCorrect()) {
      tr_.append(h('td', { class: 'no-print' }, h('button', { class: 'lead-correct small', onclick: () => this.editRow(tr_, r) }, t('correct'))));
    }
    return tr_;
  }

  /** Turns a row into a correction form: households, elderly (empty: unknown), a reason. */
  private editRow(row: HTMLElement, r: BuildingRow): void {
    this.body.querySelector('#correct-form')?.closest('tr')?.replaceWith(this.row(this.editing ?? r));
    this.editing = r;
    const hh = h('input', { id: 'correct-households', type: 'number', min: '0', max: '20000', step: '1', value: String(r.households), class: 'num-input' }) as HTMLInputElement;
    const el = h('input', { id: 'correct-elderly', type: 'number', min: '0', max: '20000', step: '1', value: r.elderly === null ? '' : String(r.elderly), class: 'num-input' }) as HTMLInputElement;
    const why = h('input', { id: 'correct-reason', type: 'text', maxlength: '500', placeholder: t('correct_reason') }) as HTMLInputElement;
    const msg = h('p', { class: 'status', hidden: true });
    const save = async (): Promise<void> => {
      const households = Number(hh.value);
      if (!Number.isInteger(households) || households < 0 || households > 20000) {
        setStatus(msg, `${t('households')}: 0–20000`, 'warn');
        return;
      }
      const elderly = el.value.trim() === '' ? null : Number(el.value);
      if (elderly !== null && (!Number.isInteger(elderly) || elderly < 0 || elderly > 20000)) {
        setStatus(msg, `${t('elderly')}: 0–20000`, 'warn');
        return;
      }
      const url = `/api/buildings/${encodeURIComponent(r.id)}/counts`;
      try {
        const cur = await request<Record<string, unknown>>(url);
        const body: Record<string, unknown> = { households, elderly };
        if (why.value.trim()) body.reason = why.value.trim();
        await request(url, { method: 'PATCH', body, headers: cur.etag ? { 'If-Match': cur.etag } : {} });
        this.editing = null;
        // The grid labels (households per grid) and the building tiles hold the old count.
        this.ctx.reloadTiles('grids');
        this.ctx.reloadTiles('buildings');
        if (this.current) await this.open(this.current);
        setStatus(this.status, t('count_corrected'), 'ok');
      } catch (e) {
        setStatus(msg, errorMessage(e), 'warn');
      }
    };
    const cancel = (): void => {
      this.editing = null;
      row.replaceWith(this.row(r));
    };
    const cells = h('td', { colspan: 5 },
      h('div', { id: 'correct-form', class: 'form-grid' },
        h('label', { for: 'correct-households' }, t('households')), hh,
        h('label', { for: 'correct-elderly' }, t('elderly')), el,
        h('label', { for: 'correct-reason' }, t('reason')), why),
      h('div', { class: 'row' },
        h('button', { id: 'correct-save', class: 'primary', onclick: () => void save() }, t('save')),
        h('button', { id: 'correct-cancel', onclick: cancel }, t('cancel'))),
      msg);
    const form = h('tr', { 'data-id': r.id, class: 'editing' }, h('td', {}, r.name || r.address || r.id), cells);
    row.replaceWith(form);
    hh.focus();
  }

  /** Facilities serving the grid: per kind, the nearest facility of each building and the walk. */
  private async loadServing(rows: BuildingRow[], gridBbox: [number, number, number, number] | null): Promise<void> {
    const ids = new Set(rows.map((r) => r.id));
    const box = this.serving;
    box.replaceChildren(h('h3', {}, t('serving_facilities')), h('p', { class: 'muted' }, t('loading')));
    const grid = this.current;
    try {
      const mb = this.ctx.map.getBounds();
      const b = gridBbox ?? [mb.getWest(), mb.getSouth(), mb.getEast(), mb.getNorth()];
      const bbox = b.map((v) => v.toFixed(6)).join(',');
      const [facilities, ...perKind] = await Promise.all([
        this.ctx.facilities(),
        ...serviceKinds().map((kind) => get<FeatureCollection>(`/api/coverage/buildings${qs({ kind, profile: 'adult', bbox })}`)),
      ]);
      if (grid !== this.current) return;
      const names = new Map(facilities.map((f) => [f.id, f]));
      const list = h('table', { class: 'table', id: 'lead-facilities' },
        h('thead', {}, h('tr', {}, h('th', {}, t('kind')), h('th', {}, t('name')), h('th', {}, t('buildings')), h('th', {}, t('walk_time')))));
      const tbody = h('tbody', {});
      serviceKinds().forEach((kind, i) => {
        const by = new Map<string, number[]>();
        for (const f of perKind[i].features) {
          const p = f.properties ?? {};
          if (!ids.has(String(p.id ?? f.id)) || p.facility_id === null || p.facility_id === undefined || p.minutes === null) continue;
          const k = String(p.facility_id);
          by.set(k, [...(by.get(k) ?? []), Number(p.minutes)]);
        }
        if (!by.size) tbody.append(h('tr', {}, h('td', {}, kindLabel(kind)), h('td', { colspan: 3, class: 'muted' }, t('none'))));
        for (const [fid, mins] of [...by].sort((a, b) => Math.min(...a[1]) - Math.min(...b[1]))) {
          const lo = Math.min(...mins), hi = Math.max(...mins);
          tbody.append(h('tr', {}, h('td', {}, kindLabel(kind)), h('td', {}, names.get(fid)?.name ?? fid), h('td', { class: 'num' }, num(mins.length)), h('td', { class: 'num' }, `${num(lo, 1)}–${num(hi, 1)} ${t('minutes')}`)));
        }
      });
      list.append(tbody);
      box.replaceChildren(h('h3', {}, t('serving_facilities')), list);
    } catch (e) {
      box.replaceChildren(h('h3', {}, t('serving_facilities')), h('p', { class: 'status status-warn' }, errorMessage(e)));
    }
  }
}

/** Buildings of a grid detail, whichever shape the server gives (FeatureCollection or array). */
function buildingRows(d: GridDetail): BuildingRow[] {
  const raw = d.buildings;
  const items: Array<Record<string, unknown>> = !raw ? [] : Array.isArray(raw) ? raw : raw.features.map((f) => ({ id: f.id, ...(f.properties ?? {}) }));
  return items
    .map((p) => ({
      id: String(p.id ?? ''),
      name: String(p.name ?? ''),
      address: String(p.address ?? ''),
      households: Number(p.households ?? 0),
      elderly: p.elderly === null || p.elderly === undefined ? null : Number(p.elderly),
      steward: String(p.steward ?? ''),
      edited: p.households_source === 'edited',
    }))
    // Buildings with an address or name first, those known only by id after them; the same
    // (Chinese, numeric) order in both interface languages, so a printed list reads the same.
    .sort((a, b) => Number(!(a.address || a.name)) - Number(!(b.address || b.name)) || (a.address || a.name || a.id).localeCompare(b.address || b.name || b.id, 'zh-CN', { numeric: true }));
}
