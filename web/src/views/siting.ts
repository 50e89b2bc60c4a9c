/**
 * Department view (设施选址): where new sites of a kind help most. The user picks the kind, the
 * question (maximal coverage with P sites, the fewest sites for X %, p-median, p-center,
 * capacitated coverage, or which existing sites could close), the walking minutes and the
 * candidates — N street corners drawn by the server (anywhere or inside a rectangle drawn on
 * the map), points clicked on the map, or a GeoJSON file — and runs it as a job (`POST /api/siting`) whose progress is shown. The ranked sites come
 * back as numbered markers with the buildings each newly covers outlined; a site can be accepted,
 * which creates the facility through the audited OGC API (`POST /collections/facilities/items`).
 */
import type { Marker } from 'maplibre-gl';
import { get, post, request, type Feature, type FeatureCollection } from '../api';
import type { AppContext, View } from '../context';
import { kindLabel, num, onLangChange, t } from '../i18n';
import { kindCodes, profileLabel } from '../kinds';
import { download, errorMessage, h, setStatus, toast, toCsv, tr } from '../ui/dom';

type ModelId = 'mclp' | 'setcover' | 'pmedian' | 'pcenter' | 'capacitated' | 'closure';
const MODELS: ModelId[] = ['mclp', 'setcover', 'pmedian', 'pcenter', 'capacitated', 'closure'];

interface SiteRow {
  rank: number;
  candidate_id: string;
  lon: number;
  lat: number;
  marginal_households: number;
  newly_covered: string[];
  capacity?: number;
  served?: number;
}

interface ClosedRow {
  rank: number;
  facility_id: string;
  lon: number;
  lat: number;
  loss: number;
  loss_alone: number;
  reach: number;
  uncovered: string[];
}

export interface SitingSummary {
  kind: string;
  model: ModelId;
  minutes: number;
  pct_before: number;
  pct_after: number;
  households_before: number;
  households_after: number;
  total_households: number;
  existing_sites: number;
  sites: SiteRow[];
  closed: ClosedRow[];
  solver: string;
  optimal: boolean;
  gap: number | null;
  gap_points: number | null;
  candidates_placed: number;
  candidates_given: number;
  mean_minutes_before: number | null;
  mean_minutes_after: number | null;
  max_minutes_before: number | null;
  max_minutes_after: number | null;
  target_reached: boolean | null;
  notes: string[];
  seconds: number;
}

interface JobStatus {
  jobID: string;
  status: 'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';
  progress?: number;
  message?: string;
}

const MAX_CANDIDATES = 50_000;

export class SitingView implements View {
  private kind = 'canteen';
  private model: ModelId = 'mclp';
  private active = false;
  private picking = false;
  private picked: Array<[number, number]> = [];
  private uploaded: FeatureCollection | null = null;
  private pickMarkers: Marker[] = [];
  private resultMarkers: Marker[] = [];
  private result: SitingSummary | null = null;
  private running: string | null = null;
  private status!: HTMLElement;
  private progress!: HTMLProgressElement;
  private resultBox!: HTMLElement;
  private form!: Record<string, HTMLInputElement | HTMLSelectElement>;
  private source!: HTMLSelectElement;
  private pickInfo!: HTMLElement;
  private areaInfo!: HTMLElement;
  /** The drawn rectangle: first corner while drawing, then the ring. */
  private areaCorner: [number, number] | null = null;
  private area: Array<[number, number]> | null = null;
  private drawingArea = false;

  constructor(private readonly ctx: AppContext) {}

  mount(el: HTMLElement): void {
    const codes = kindCodes();
    if (!codes.includes(this.kind)) this.kind = codes[0] ?? 'canteen';
    const kind = h('select', { id: 'site-kind' }, ...codes.map((k) => h('option', { value: k }, kindLabel(k))));
    kind.value = this.kind;
    kind.addEventListener('change', () => (this.kind = kind.value));
    const model = h('select', { id: 'site-model' }, ...MODELS.map((m) => h('option', { value: m, 'data-i18n': `model_${m}` }, t(`model_${m}`))));
    model.value = this.model;
    const add = h('input', { id: 'site-add', type: 'number', min: 1, max: 1000, step: 1, value: 3 });
    const minutes = h('input', { id: 'site-minutes', type: 'number', min: 1, max: 60, step: 1, value: 15 });
    const target = h('input', { id: 'site-target', type: 'number', min: 1, max: 100, step: 1, value: 90 });
    const capacity = h('input', { id: 'site-capacity', type: 'number', min: 1, step: 1, placeholder: t('capacity_median'), 'data-i18n-placeholder': 'capacity_median' });
    const sample = h('input', { id: 'site-sample', type: 'number', min: 1, max: MAX_CANDIDATES, step: 1, value: 500 });
    this.source = h('select', { id: 'site-source' },
      h('option', { value: 'sample', 'data-i18n': 'cand_sample' }, t('cand_sample')),
      h('option', { value: 'area', 'data-i18n': 'cand_area' }, t('cand_area')),
      h('option', { value: 'picked', 'data-i18n': 'cand_picked' }, t('cand_picked')),
      h('option', { value: 'file', 'data-i18n': 'cand_file' }, t('cand_file')),
    );
    const file = h('input', { id: 'site-file', type: 'file', accept: '.geojson,.json,application/geo+json' });
    file.addEventListener('change', () => void this.readFile(file));
    this.pickInfo = h('span', { class: 'small muted', id: 'site-picked' });
    const pickBtn = tr('button', 'cand_pick', { id: 'site-pick', onclick: () => this.startPicking() });
    const clearBtn = tr('button', 'cand_clear', { onclick: () => this.clearPicked() });
    const rowOf = (label: Parameters<typeof tr>[1], input: HTMLElement, id: string) => [h('label', { for: id, 'data-i18n': label, 'data-row': id }, t(label)), input];
    const sampleRow = h('div', { class: 'row', 'data-src': 'sample' }, sample, tr('span', 'cand_corners', { class: 'small' }));
    this.areaInfo = h('span', { class: 'small muted', id: 'site-area-info' });
    const areaRow = h('div', { class: 'row', 'data-src': 'area', hidden: true },
      tr('button', 'cand_area_draw', { id: 'site-area', onclick: () => this.startArea() }),
      tr('button', 'cand_clear', { onclick: () => this.clearArea() }), this.areaInfo);
    const pickedRow = h('div', { class: 'row', 'data-src': 'picked', hidden: true }, pickBtn, clearBtn, this.pickInfo);
    const fileRow = h('div', { class: 'row', 'data-src': 'file', hidden: true }, file);
    const syncSource = () => {
      for (const r of [sampleRow, areaRow, pickedRow, fileRow]) r.hidden = r.dataset.src !== this.source.value || this.model === 'closure';
      sampleRow.hidden = !['sample', 'area'].includes(this.source.value) || this.model === 'closure';
    };
    this.source.addEventListener('change', syncSource);
    const targetRow = rowOf('target_pct', target, 'site-target');
    const capRow = rowOf('capacity', capacity, 'site-capacity');
    const addLabel = h('label', { for: 'site-add', id: 'site-add-label' }, t('add_sites'));
    const candLabel = h('label', { for: 'site-source', 'data-i18n': 'candidates' }, t('candidates'));
    const sync = () => {
      this.model = model.value as ModelId;
      for (const n of targetRow) (n as HTMLElement).hidden = this.model !== 'setcover';
      for (const n of capRow) (n as HTMLElement).hidden = this.model !== 'capacitated';
      addLabel.textContent = t(this.model === 'closure' ? 'close_sites' : this.model === 'setcover' ? 'max_sites' : 'add_sites');
      candLabel.hidden = this.source.hidden = this.model === 'closure';
      syncSource();
    };
    model.addEventListener('change', sync);
    this.form = { kind, model, add, minutes, target, capacity, sample };
    this.status = h('p', { class: 'status', hidden: true, 'aria-live': 'polite' });
    this.progress = h('progress', { id: 'site-progress', max: 100, value: 0, hidden: true });
    this.resultBox = h('div', { id: 'site-result' });
    el.append(
      tr('h2', 'tab_siting'),
      h('div', { class: 'card' },
        tr('p', 'siting_hint', { class: 'muted small' }),
        h('div', { class: 'form-grid' },
          tr('label', 'facility_kind', { for: 'site-kind' }), kind,
          tr('label', 'siting_model', { for: 'site-model' }), model,
          addLabel, add,
          tr('label', 'walk_minutes', { for: 'site-minutes' }), minutes,
          ...targetRow,
          ...capRow,
          candLabel, this.source,
        ),
        sampleRow, areaRow, pickedRow, fileRow,
        h('div', { class: 'row' },
          tr('button', 'run_siting', { id: 'site-run', class: 'primary', onclick: () => void this.run() }),
          tr('button', 'cancel', { id: 'site-cancel', onclick: () => void this.cancel() }),
        ),
        this.progress,
      ),
      this.status,
      this.resultBox,
    );
    sync();
    this.ctx.map.on('click', (e) => {
      if (!this.active) return;
      if (this.drawingArea) {
        const ll: [number, number] = [e.lngLat.lng, e.lngLat.lat];
        if (!this.areaCorner) {
          this.areaCorner = ll;
          setStatus(this.status, t('cand_area_second'));
          return;
        }
        const [a, b] = [this.areaCorner, ll];
        this.area = [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]];
        this.areaCorner = null;
        this.drawingArea = false;
        this.ctx.map.getCanvas().style.cursor = '';
        setStatus(this.status, '');
        this.showArea();
        return;
      }
      if (!this.picking) return;
      const ll: [number, number] = [e.lngLat.lng, e.lngLat.lat];
      this.picked.push(ll);
      const m = new this.ctx.ml.Marker({ color: '#6a51a3', scale: 0.6 }).setLngLat(ll).addTo(this.ctx.map);
      this.pickMarkers.push(m);
      this.pickInfo.textContent = t('cand_count', { n: this.picked.length });
    });
    onLangChange(() => {
      kind.querySelectorAll('option').forEach((o) => (o.textContent = kindLabel(o.value)));
      sync();
      this.render();
    });
  }

  activate(): void {
    this.active = true;
    for (const m of [...this.pickMarkers, ...this.resultMarkers]) m.addTo(this.ctx.map);
    this.highlight();
    this.showArea();
  }

  deactivate(): void {
    this.active = false;
    this.stopPicking();
    for (const m of [...this.pickMarkers, ...this.resultMarkers]) m.remove();
    this.ctx.highlightBuildings('siting-newly', []);
    this.ctx.setOverlay('siting-area', null);
    this.drawingArea = false;
  }

  private startPicking(): void {
    this.picking = true;
    this.ctx.map.getCanvas().style.cursor = 'crosshair';
    setStatus(this.status, t('cand_pick_hint'));
  }

  private stopPicking(): void {
    this.picking = false;
    this.ctx.map.getCanvas().style.cursor = '';
  }

  private startArea(): void {
    this.stopPicking();
    this.drawingArea = true;
    this.areaCorner = null;
    this.ctx.map.getCanvas().style.cursor = 'crosshair';
    setStatus(this.status, t('cand_area_first'));
  }

  private showArea(): void {
    const fc: FeatureCollection = { type: 'FeatureCollection', features: this.area ? [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [this.area] }, properties: {} }] : [] };
    this.ctx.setOverlay('siting-area', this.active ? fc : null);
    this.areaInfo.textContent = this.area ? t('cand_area_set') : '';
  }

  private clearArea(): void {
    this.area = null;
    this.areaCorner = null;
    this.drawingArea = false;
    this.showArea();
  }

  private clearPicked(): void {
    for (const m of this.pickMarkers) m.remove();
    this.pickMarkers = [];
    this.picked = [];
    this.pickInfo.textContent = '';
  }

  private async readFile(input: HTMLInputElement): Promise<void> {
    const f = input.files?.[0];
    if (!f) return;
    try {
      const parsed = JSON.parse(await f.text()) as FeatureCollection;
      if (parsed.type !== 'FeatureCollection' || !Array.isArray(parsed.features)) throw new Error(t('cand_not_fc'));
      const points = parsed.features.filter((x) => x.geometry?.type === 'Point');
      if (points.length === 0) throw new Error(t('cand_no_points'));
      this.uploaded = { type: 'FeatureCollection', features: points };
      setStatus(this.status, t('cand_loaded', { n: points.length, file: f.name }));
    } catch (e) {
      this.uploaded = null;
      setStatus(this.status, `${f.name}: ${(e as Error).message}`, 'error');
    }
  }

  /** The `inputs` of the siting job, or an error message. */
  private inputs(): Record<string, unknown> | string {
    const n = (k: string) => Number(this.form[k].value);
    const add = Math.round(n('add'));
    if (!(add >= 1 && add <= 1000)) return t('bad_add');
    const minutes = n('minutes');
    if (!(minutes > 0 && minutes <= 60)) return t('bad_minutes');
    const inputs: Record<string, unknown> = { kind: this.kind, model: this.model, add, minutes };
    if (this.model === 'setcover') inputs.target_pct = n('target');
    if (this.model === 'capacitated' && this.form.capacity.value !== '') inputs.capacity = Math.round(n('capacity'));
    if (this.model === 'closure') return inputs;
    const pts = (cs: Array<[number, number]>): FeatureCollection => ({
      type: 'FeatureCollection',
      features: cs.map((c, i) => ({ type: 'Feature', id: `picked-${i + 1}`, geometry: { type: 'Point', coordinates: c }, properties: { id: `picked-${i + 1}` } })),
    });
    switch (this.source.value) {
      case 'sample': {
        const s = Math.round(n('sample'));
        if (!(s >= 1 && s <= MAX_CANDIDATES)) return t('bad_sample', { max: MAX_CANDIDATES });
        inputs.candidates = { sample: s, seed: 0 };
        break;
      }
      case 'area': {
        const s = Math.round(n('sample'));
        if (!(s >= 1 && s <= MAX_CANDIDATES)) return t('bad_sample', { max: MAX_CANDIDATES });
        if (!this.area) return t('cand_none_area');
        inputs.candidates = { sample: s, seed: 0, within: { type: 'Polygon', coordinates: [this.area] } };
        break;
      }
      case 'picked':
        if (this.picked.length === 0) return t('cand_none_picked');
        inputs.candidates = { points: pts(this.picked) };
        break;
      default:
        if (!this.uploaded) return t('cand_none_file');
        inputs.candidates = { points: this.uploaded };
    }
    return inputs;
  }

  async run(): Promise<void> {
    this.stopPicking();
    const inputs = this.inputs();
    if (typeof inputs === 'string') {
      setStatus(this.status, inputs, 'warn');
      return;
    }
    try {
      const job = await post<JobStatus>('/api/siting', inputs);
      this.running = job.jobID;
      this.progress.hidden = false;
      this.progress.value = 0;
      setStatus(this.status, t('siting_running'));
      const done = await this.poll(job.jobID);
      if (!done) return;
      this.result = await get<SitingSummary>(`/api/jobs/${encodeURIComponent(job.jobID)}/results`);
      setStatus(this.status, '');
      this.render();
      this.resultBox.dataset.job = job.jobID;
    } catch (e) {
      setStatus(this.status, errorMessage(e), 'error');
    } finally {
      this.progress.hidden = true;
      this.running = null;
    }
  }

  /** Polls the job until it ends; true when it succeeded. */
  private async poll(id: string): Promise<boolean> {
    for (;;) {
      const s = await get<JobStatus>(`/api/jobs/${encodeURIComponent(id)}`);
      this.progress.value = s.progress ?? 0;
      if (s.status === 'successful') return true;
      if (s.status === 'failed') {
        // the results answer the job's problem document: surface its detail
        await get(`/api/jobs/${encodeURIComponent(id)}/results`);
        throw new Error(s.message ?? 'failed');
      }
      if (s.status === 'dismissed') {
        setStatus(this.status, t('siting_cancelled'), 'warn');
        return false;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  private async cancel(): Promise<void> {
    if (!this.running) return;
    try {
      await request(`/api/jobs/${encodeURIComponent(this.running)}`, { method: 'DELETE' });
    } catch (e) {
      toast(errorMessage(e), 'warn');
    }
  }

  private clearResult(): void {
    for (const m of this.resultMarkers) m.remove();
    this.resultMarkers = [];
  }

  /** Outlines the buildings the chosen sites newly cover (or closures leave uncovered). */
  private highlight(): void {
    const r = this.result;
    if (!r || !this.active) return;
    const ids = r.model === 'closure' ? r.closed.flatMap((c) => c.uncovered) : r.sites.flatMap((s) => s.newly_covered);
    this.ctx.highlightBuildings('siting-newly', ids, r.model === 'closure' ? '#a50026' : '#00441b');
  }

  private render(): void {
    const r = this.result;
    this.clearResult();
    this.resultBox.replaceChildren();
    if (!r) return;
    const closure = r.model === 'closure';
    const rows = closure ? r.closed : r.sites;
    for (const x of rows) {
      const el = h('div', { class: `site-marker${closure ? ' close' : ''}`, title: closure ? (x as ClosedRow).facility_id : (x as SiteRow).candidate_id }, String(x.rank));
      const m = new this.ctx.ml.Marker({ element: el }).setLngLat([x.lon, x.lat]);
      if (this.active) m.addTo(this.ctx.map);
      this.resultMarkers.push(m);
    }
    this.highlight();
    const gap = r.gap_points !== null && r.gap_points !== undefined ? t('gap_points', { gap: num(r.gap_points, 2) }) : r.gap !== null ? `${num(100 * r.gap, 2)}%` : '–';
    const delta = r.households_after - r.households_before;
    const zoomTo = (x: { lon: number; lat: number }) => () => this.ctx.map.easeTo({ center: [x.lon, x.lat], zoom: Math.max(this.ctx.map.getZoom(), 16) });
    const table = closure
      ? h('table', { class: 'table', id: 'site-table' },
          h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, t('facility')), h('th', {}, t('loss_households')), h('th', {}, t('only_here')))),
          h('tbody', {}, ...r.closed.map((c) => {
            const tr0 = h('tr', { class: 'clickable' }, h('td', {}, String(c.rank)), h('td', {}, c.facility_id), h('td', { class: 'num' }, num(c.loss)), h('td', { class: 'num' }, num(c.loss_alone)));
            tr0.addEventListener('click', zoomTo(c));
            return tr0;
          })))
      : h('table', { class: 'table', id: 'site-table' },
          h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, t('candidate')), h('th', {}, t('newly_covered')), h('th', {}, t('buildings')), r.model === 'capacitated' ? h('th', {}, t('served')) : '', h('th', {}, ''))),
          h('tbody', {}, ...r.sites.map((s) => {
            const accept = tr('button', 'accept_site', { class: 'small', 'data-needs': 'edit_facilities' });
            accept.addEventListener('click', (e) => {
              e.stopPropagation();
              void this.accept(s, accept);
            });
            const tr0 = h('tr', { class: 'clickable', 'data-rank': s.rank },
              h('td', {}, String(s.rank)), h('td', {}, s.candidate_id), h('td', { class: 'num' }, `+${num(s.marginal_households)}`), h('td', { class: 'num' }, num(s.newly_covered.length)),
              r.model === 'capacitated' ? h('td', { class: 'num' }, `${num(s.served ?? 0)} / ${num(s.capacity ?? 0)}`) : '',
              h('td', {}, accept));
            tr0.addEventListener('click', zoomTo(s));
            return tr0;
          })));
    const walk = r.mean_minutes_before !== null && r.mean_minutes_after !== null
      ? h('p', {}, t('mean_walk', { before: num(r.mean_minutes_before, 1), after: num(r.mean_minutes_after, 1) }))
      : r.max_minutes_before !== null && r.max_minutes_after !== null
        ? h('p', {}, t('worst_walk', { before: num(r.max_minutes_before, 1), after: num(r.max_minutes_after, 1) }))
        : '';
    this.resultBox.append(
      h('div', { class: 'card' },
        h('div', { class: 'big-number', id: 'site-pct' }, `${num(r.pct_before, 1)}% → ${num(r.pct_after, 1)}%`),
        h('p', {}, `${t(r.model === 'capacitated' ? 'served_households' : 'covered_households')}: ${num(r.households_before)} → `, h('strong', { id: 'site-after' }, num(r.households_after)), ` (${delta >= 0 ? '+' : ''}${num(delta)}) / ${num(r.total_households)}`),
        walk,
        h('p', { class: 'muted small', id: 'site-solver' }, `${r.solver} · ${r.optimal ? t('optimal') : t('not_optimal')} · ${t('gap')} ${gap} · ${num(r.seconds, 2)} s`),
        h('p', { class: 'muted small' }, `${kindLabel(r.kind)} · ${r.minutes} ${t('minutes')} · ${t('existing_sites', { n: r.existing_sites })}${closure ? '' : ` · ${t('cand_used', { n: r.candidates_placed, of: r.candidates_given })}`}`),
        profileLabel() ? h('p', { class: 'proxy-note small', id: 'site-proxy' }, h('strong', {}, t('proxy_figures')), h('br'), profileLabel() ?? '') : '',
        ...r.notes.map((n) => h('p', { class: 'muted small note' }, n)),
      ),
      h('div', { class: 'card' }, tr('h3', closure ? 'sites_to_close' : 'ranked_sites'), table,
        h('div', { class: 'row' }, tr('button', 'export_csv', { onclick: () => this.exportCsv() }), tr('button', 'export_geojson', { onclick: () => this.exportGeoJson() }))),
    );
  }

  /** Creates the chosen site as a facility of the kind (an audited OGC API transaction). */
  private async accept(s: SiteRow, btn: HTMLButtonElement): Promise<void> {
    const body: Feature = { type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { kind: this.result?.kind ?? this.kind, name: `${t('new_site')} ${s.rank} (${s.candidate_id})`, capacity: s.capacity ?? null } };
    try {
      await request('/collections/facilities/items', { method: 'POST', body, headers: { 'Content-Type': 'application/geo+json' } });
      btn.disabled = true;
      btn.textContent = t('accepted_site');
      toast(t('accepted_site'), 'ok');
      this.ctx.invalidateFacilities();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  }

  private exportCsv(): void {
    const r = this.result;
    if (!r) return;
    const csv = r.model === 'closure'
      ? toCsv(['rank', 'facility_id', 'lon', 'lat', 'loss_households', 'loss_alone', 'reach'], r.closed.map((c) => [c.rank, c.facility_id, c.lon, c.lat, c.loss, c.loss_alone, c.reach]))
      : toCsv(['rank', 'candidate_id', 'lon', 'lat', 'marginal_households', 'newly_covered_buildings', 'served', 'capacity'], r.sites.map((s) => [s.rank, s.candidate_id, s.lon, s.lat, s.marginal_households, s.newly_covered.length, s.served ?? '', s.capacity ?? '']));
    download(`siting-${r.kind}-${r.model}.csv`, '\ufeff' + csv, 'text/csv');
  }

  private exportGeoJson(): void {
    const r = this.result;
    if (!r) return;
    const rows = r.model === 'closure' ? r.closed.map((c) => ({ ...c, action: 'close' })) : r.sites.map((s) => ({ ...s, action: 'open' }));
    const features = rows.map((x) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.lon, x.lat] }, properties: x }));
    download(`siting-${r.kind}-${r.model}.geojson`, JSON.stringify({ type: 'FeatureCollection', features }), 'application/geo+json');
  }
}
