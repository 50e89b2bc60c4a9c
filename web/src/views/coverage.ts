/**
 * Department view (设施覆盖): walking coverage of one facility kind within N minutes for
 * adults or the elderly. Buildings are coloured by their walking minutes, isochrones and ranked
 * gap areas are drawn on demand, and a what-if mode lets the user drag or drop a facility and
 * see the covered households change. The current view can be exported as GeoJSON, CSV or PNG.
 */
import type { Marker } from 'maplibre-gl';
import { get, post, qs, type Coverage, type CoverageRow, type FeatureCollection, type Profile, type WhatIfResult } from '../api';
import { bboxOf, type AppContext, type FacilityRef, type View } from '../context';
import { kindLabel, num, onLangChange, t } from '../i18n';
import { KIND_COLORS, MINUTE_STOPS, NOT_COVERED_COLOR, UNREACHABLE_COLOR } from '../map/style';
import { barChart } from '../ui/chart';
import { kindCodes, kindDef } from '../kinds';
import { debounce, download, errorMessage, h, setStatus, toCsv, toast, tr } from '../ui/dom';
import { pdfButton } from '../ui/report';


interface Params {
  kind: string;
  minutes: number;
  profile: Profile;
}

export class CoverageView implements View {
  private params: Params = { kind: 'canteen', minutes: 15, profile: 'adult' };
  private summary!: HTMLElement;
  private status!: HTMLElement;
  private gapsBox!: HTMLElement;
  private whatifBox!: HTMLElement;
  private whatifResult!: HTMLElement;
  private isoCheck!: HTMLInputElement;
  private gapsCheck!: HTMLInputElement;
  private whatifCheck!: HTMLInputElement;
  private coverage: Coverage | null = null;
  private buildingsFc: FeatureCollection | null = null;
  private gapsFc: FeatureCollection | null = null;
  private computed = false;
  private active = false;
  private markers: Marker[] = [];
  private dropping = false;
  private seq = 0;
  private buildingsSeq = 0;

  constructor(private readonly ctx: AppContext) {}

  mount(el: HTMLElement): void {
    const codes = kindCodes();
    if (!codes.includes(this.params.kind)) this.params.kind = codes[0] ?? 'canteen';
    this.params.minutes = Math.min(30, Math.max(5, Math.round(kindDef(this.params.kind)?.minutes ?? this.params.minutes)));
    const kind = h('select', { id: 'cov-kind' }, ...codes.map((k) => h('option', { value: k, 'data-kind': k }, kindLabel(k))));
    kind.value = this.params.kind;
    const minutes = h('input', { id: 'cov-minutes', type: 'range', min: 5, max: 30, step: 1, value: this.params.minutes });
    const minutesOut = h('output', { id: 'cov-minutes-value', for: 'cov-minutes' }, `${this.params.minutes}`);
    const profile = h('select', { id: 'cov-profile' }, h('option', { value: 'adult', 'data-i18n': 'profile_adult' }, t('profile_adult')), h('option', { value: 'elderly', 'data-i18n': 'profile_elderly' }, t('profile_elderly')));
    const recompute = debounce(() => void this.compute(), 250);
    kind.addEventListener('change', () => {
      this.params.kind = kind.value;
      if (this.computed) recompute();
      if (this.whatifCheck.checked) void this.showMarkers();
    });
    minutes.addEventListener('input', () => {
      this.params.minutes = Number(minutes.value);
      minutesOut.textContent = minutes.value;
      if (this.computed) recompute();
    });
    profile.addEventListener('change', () => {
      this.params.profile = profile.value as Profile;
      if (this.computed) recompute();
    });
    this.isoCheck = h('input', { id: 'cov-isochrones', type: 'checkbox' });
    this.isoCheck.addEventListener('change', () => void this.loadIsochrones());
    this.gapsCheck = h('input', { id: 'cov-gaps', type: 'checkbox' });
    this.gapsCheck.addEventListener('change', () => void this.loadGaps());
    this.whatifCheck = h('input', { id: 'cov-whatif', type: 'checkbox' });
    this.whatifCheck.addEventListener('change', () => (this.whatifCheck.checked ? void this.showMarkers() : this.clearMarkers()));
    this.summary = h('div', { id: 'cov-summary' });
    this.status = h('p', { class: 'status', hidden: true });
    this.gapsBox = h('ol', { id: 'cov-gap-list', class: 'gap-list' });
    this.whatifResult = h('p', { id: 'whatif-result', class: 'whatif-result', 'aria-live': 'polite' });
    this.whatifBox = h('div', { class: 'card', hidden: true },
      tr('p', 'whatif_hint', { class: 'muted small' }),
      h('div', { class: 'row' }, tr('button', 'whatif_add', { id: 'whatif-add', onclick: () => this.startDrop() }), tr('button', 'whatif_reset', { onclick: () => void this.showMarkers() })),
      this.whatifResult,
    );
    this.whatifCheck.addEventListener('change', () => (this.whatifBox.hidden = !this.whatifCheck.checked));
    const legend = h('div', { class: 'legend' },
      tr('span', 'legend_minutes', { class: 'small' }),
      ...MINUTE_STOPS.map(([m, c]) => h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: `background:${c}` }), `${m}`)),
      h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: `background:${NOT_COVERED_COLOR}` }), tr('span', 'not_covered_short')),
      h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: `background:${UNREACHABLE_COLOR}` }), tr('span', 'unreachable_short')),
    );
    const kindLegend = h('div', { class: 'legend', id: 'kind-legend' },
      tr('span', 'kinds_legend', { class: 'small' }),
      ...codes.map((k) => h('span', { class: 'legend-item', 'data-kind': k }, h('i', { class: 'dot', style: `background:${KIND_COLORS[k] ?? KIND_COLORS.other}` }), h('span', { class: 'kind-name' }, kindLabel(k)))),
    );

    el.append(
      tr('h2', 'tab_coverage'),
      h('div', { class: 'card' },
        h('div', { class: 'form-grid' },
          tr('label', 'facility_kind', { for: 'cov-kind' }), kind,
          tr('label', 'walk_minutes', { for: 'cov-minutes' }), h('span', { class: 'slider' }, minutes, minutesOut, tr('span', 'minutes')),
          tr('label', 'profile', { for: 'cov-profile' }), profile,
        ),
        h('div', { class: 'row' }, tr('button', 'run_coverage', { id: 'cov-run', class: 'primary', onclick: () => void this.compute() })),
        h('div', { class: 'row checks' },
          h('label', {}, this.isoCheck, tr('span', 'show_isochrones')),
          h('label', {}, this.gapsCheck, tr('span', 'gaps')),
          h('label', { 'data-needs': 'what_if' }, this.whatifCheck, tr('span', 'whatif')),
        ),
        legend,
        kindLegend,
      ),
      this.status,
      this.whatifBox,
      this.summary,
      this.gapsBox,
      h('div', { class: 'card' }, tr('h3', 'export'), h('div', { class: 'row' },
        tr('button', 'export_geojson', { id: 'export-geojson', onclick: () => this.exportGeoJson() }),
        tr('button', 'export_csv', { id: 'export-csv', onclick: () => this.exportCsv() }),
        tr('button', 'export_png', { id: 'export-png', onclick: () => this.exportPng() }),
        pdfButton('cov-pdf', 'print_coverage_report',
          () => `/api/reports/coverage.pdf${qs({ kind: this.params.kind, minutes: [...new Set([5, 10, this.params.minutes])].filter((m) => m <= this.params.minutes).sort((a, b) => a - b).join(','), profile: this.params.profile })}`,
          () => `coverage-${this.stamp()}.pdf`),
      )),
    );
    this.ctx.map.on('moveend', debounce(() => this.active && this.computed && void this.loadBuildings(), 300));
    this.ctx.map.on('click', (e) => {
      if (!this.active || !this.dropping) return;
      this.dropping = false;
      this.ctx.map.getCanvas().style.cursor = '';
      const m = this.addMarker({ id: '', kind: this.params.kind, name: t('whatif_add'), lngLat: [e.lngLat.lng, e.lngLat.lat] }, true);
      void this.whatIf('add', undefined, m.getLngLat().toArray() as [number, number]);
    });
    onLangChange(() => {
      kind.querySelectorAll('option').forEach((o) => (o.textContent = kindLabel(o.value)));
      kindLegend.querySelectorAll<HTMLElement>('.legend-item').forEach((e) => {
        const n = e.querySelector('.kind-name');
        if (n) n.textContent = kindLabel(e.dataset.kind ?? '');
      });
      this.renderSummary();
      this.renderGaps();
    });
  }

  activate(): void {
    this.active = true;
    this.ctx.fadeGrids('coverage', this.computed);
    if (this.computed) {
      this.ctx.setOverlay('coverage', this.buildingsFc);
      void this.loadIsochrones();
      void this.loadGaps();
    }
    if (this.whatifCheck.checked) void this.showMarkers();
  }

  deactivate(): void {
    this.active = false;
    this.dropping = false;
    this.ctx.fadeGrids('coverage', false);
    for (const s of ['coverage', 'isochrones', 'gaps', 'whatif-changed']) this.ctx.setOverlay(s, null);
    this.clearMarkers();
  }

  private query(extra: Record<string, string | number | undefined> = {}): string {
    return qs({ kind: this.params.kind, minutes: this.params.minutes, profile: this.params.profile, ...extra });
  }

  /**
   * Runs coverage for the current parameters together with the buildings in view, shows both at
   * once (the headline never describes other minutes than the coloured buildings), then
   * refreshes the isochrones and gaps.
   */
  async compute(): Promise<void> {
    const seq = ++this.seq;
    setStatus(this.status, t('loading'));
    try {
      const [cov, fc] = await Promise.all([get<Coverage>(`/api/coverage${this.query()}`), this.fetchBuildings()]);
      if (seq !== this.seq) return;
      this.coverage = cov;
      this.computed = true;
      setStatus(this.status, '');
      if (fc) this.showBuildings(fc);
      this.renderSummary();
      await Promise.all([this.loadIsochrones(), this.loadGaps()]);
    } catch (e) {
      if (seq === this.seq) setStatus(this.status, errorMessage(e), 'warn');
    }
  }

  private viewBbox(): string {
    const b = this.ctx.map.getBounds();
    const clamp = (v: number, m: number) => Math.max(-m, Math.min(m, v));
    return [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)].map((v) => v.toFixed(6)).join(',');
  }

  /**
   * Buildings in the current view with their walking minutes (`null` when the latest request
   * was superseded by a newer one). Only the view's bbox is asked for: without one the server
   * answers every building.
   */
  private async fetchBuildings(): Promise<FeatureCollection | null> {
    const seq = ++this.buildingsSeq;
    const fc = await get<FeatureCollection>(`/api/coverage/buildings${qs({ kind: this.params.kind, minutes: this.params.minutes, profile: this.params.profile, bbox: this.viewBbox() })}`);
    return seq === this.buildingsSeq ? fc : null;
  }

  private showBuildings(fc: FeatureCollection): void {
    this.buildingsFc = fc;
    if (!this.active) return;
    this.ctx.setOverlay('coverage', fc);
    this.ctx.fadeGrids('coverage', true);
  }

  private async loadBuildings(): Promise<void> {
    try {
      const fc = await this.fetchBuildings();
      if (fc) this.showBuildings(fc);
    } catch (e) {
      toast(errorMessage(e), 'warn');
    }
  }

  private async loadIsochrones(): Promise<void> {
    if (!this.isoCheck.checked || !this.computed) {
      this.ctx.setOverlay('isochrones', null);
      return;
    }
    const steps = [...new Set([5, 10, 15, this.params.minutes])].filter((m) => m <= Math.max(15, this.params.minutes)).sort((a, b) => a - b);
    try {
      const fc = await get<FeatureCollection>(`/api/isochrones${qs({ kind: this.params.kind, minutes: steps.join(','), profile: this.params.profile })}`);
      // Largest first so that smaller rings are drawn on top.
      fc.features.sort((a, b) => Number(b.properties?.minutes ?? 0) - Number(a.properties?.minutes ?? 0));
      if (this.active && this.isoCheck.checked) this.ctx.setOverlay('isochrones', fc);
    } catch (e) {
      toast(errorMessage(e), 'warn');
    }
  }

  private async loadGaps(): Promise<void> {
    if (!this.gapsCheck.checked || !this.computed) {
      this.gapsFc = null;
      this.ctx.setOverlay('gaps', null);
      this.renderGaps();
      return;
    }
    try {
      const fc = await get<FeatureCollection>(`/api/gaps${this.query()}`);
      fc.features.sort((a, b) => Number(a.properties?.rank ?? 0) - Number(b.properties?.rank ?? 0));
      this.gapsFc = fc;
      if (this.active) this.ctx.setOverlay('gaps', fc);
      this.renderGaps();
    } catch (e) {
      toast(errorMessage(e), 'warn');
    }
  }

  private renderGaps(): void {
    this.gapsBox.replaceChildren();
    if (!this.gapsFc) return;
    this.gapsBox.append(h('li', { class: 'gap-head' }, t('gaps')));
    for (const f of this.gapsFc.features.slice(0, 50)) {
      const p = f.properties ?? {};
      const li = h('li', { class: 'clickable', tabindex: 0 },
        h('strong', {}, t('gap_rank', { rank: Number(p.rank ?? 0) })), ' ',
        `${num(Number(p.households ?? 0))} ${t('households')} · ${num(Number(p.buildings ?? 0))} ${t('buildings')} · ${num(Number(p.elderly ?? 0))} ${t('elderly')}`,
      );
      const zoom = () => {
        const b = bboxOf(f);
        if (b) this.ctx.map.fitBounds(b, { padding: 60, maxZoom: 17 });
      };
      li.addEventListener('click', zoom);
      li.addEventListener('keydown', (e) => e.key === 'Enter' && zoom());
      this.gapsBox.append(li);
    }
  }

  private renderSummary(): void {
    const c = this.coverage;
    if (!c) return;
    const table = (rows: CoverageRow[], label: (r: CoverageRow) => string) =>
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, t('covered_households')), h('th', {}, t('households')), h('th', {}, t('pct')))),
        h('tbody', {}, ...rows.map((r) => h('tr', {}, h('td', {}, label(r)), h('td', { class: 'num' }, num(r.covered_households)), h('td', { class: 'num' }, num(r.total_households)), h('td', { class: 'num' }, `${num(r.pct, 1)}%`)))),
      );
    const byCommunity = [...(c.by_community ?? [])].sort((a, b) => a.pct - b.pct);
    const byGrid = [...(c.by_grid ?? [])].sort((a, b) => a.pct - b.pct);
    const zoomToGrid = (id: string) => () =>
      void get<FeatureCollection | Record<string, unknown>>(`/collections/grids/items/${encodeURIComponent(id)}`).then((f) => {
        const b = bboxOf(f);
        if (b) this.ctx.map.fitBounds(b, { padding: 60, maxZoom: 17 });
      }).catch((e) => toast(errorMessage(e), 'warn'));
    this.summary.replaceChildren(
      h('div', { class: 'card' },
        h('div', { class: 'big-number', id: 'cov-pct' }, `${num(c.pct, 1)}%`),
        h('p', {}, `${t('covered_households')}: `, h('strong', { id: 'cov-covered' }, num(c.covered_households)), ` / ${num(c.total_households)}`),
        h('p', {}, `${t('covered_elderly')}: ${num(c.covered_elderly)} / ${num(c.total_elderly)}`),
        h('p', {}, `${t('unreachable')}: ${num(c.unreachable_buildings)}`),
        h('p', { class: 'muted small' }, `${kindLabel(c.kind)} · ${c.minutes} ${t('minutes')} · ${num(c.speed_kmh, 1)} km/h`),
        c.facility_label ? h('p', { class: 'proxy-note small', id: 'cov-summary-proxy' }, h('strong', {}, t('proxy_figures')), h('br'), c.facility_label) : '',
        c.note ? h('p', { class: 'muted small' }, c.note) : '',
      ),
      byCommunity.length ? h('div', { class: 'card' }, tr('h3', 'by_community'), barChart(byCommunity.map((r) => ({ label: r.name ?? r.id, value: r.pct }))), table(byCommunity, (r) => r.name ?? r.id)) : '',
      byGrid.length ? h('div', { class: 'card' }, tr('h3', 'by_grid'), barChart(byGrid.map((r) => ({ label: r.code ?? r.id, value: r.pct, onClick: zoomToGrid(r.id) })), { max: 25 }), h('details', {}, h('summary', {}, `${t('by_grid')} (${byGrid.length})`), table(byGrid, (r) => r.code ?? r.id))) : '',
    );
  }

  // ---- what-if ----

  private clearMarkers(): void {
    for (const m of this.markers) m.remove();
    this.markers = [];
    this.ctx.setOverlay('whatif-changed', null);
  }

  private async showMarkers(): Promise<void> {
    this.clearMarkers();
    this.whatifResult.textContent = '';
    delete this.whatifResult.dataset.delta;
    try {
      const all = await this.ctx.facilities();
      for (const f of all.filter((f) => f.kind === this.params.kind)) this.addMarker(f, false);
    } catch (e) {
      toast(errorMessage(e), 'warn');
    }
  }

  private addMarker(f: FacilityRef, isNew: boolean): Marker {
    const el = h('div', { class: `whatif-marker${isNew ? ' new' : ''}`, title: f.name, 'data-facility': f.id, style: `background:${KIND_COLORS[f.kind] ?? KIND_COLORS.other}` });
    const m = new this.ctx.ml.Marker({ element: el, draggable: true }).setLngLat(f.lngLat).addTo(this.ctx.map);
    m.on('dragend', () => {
      const ll = m.getLngLat().toArray() as [number, number];
      void (isNew ? this.whatIf('add', undefined, ll) : this.whatIf('move', f.id, ll));
    });
    if (!isNew) {
      el.addEventListener('contextmenu', (e) => {
        e.preventDefault();
        m.remove();
        void this.whatIf('remove', f.id);
      });
    }
    this.markers.push(m);
    return m;
  }

  private startDrop(): void {
    this.dropping = true;
    this.ctx.map.getCanvas().style.cursor = 'crosshair';
  }

  private async whatIf(action: 'add' | 'move' | 'remove', facilityId?: string, location?: [number, number]): Promise<void> {
    setStatus(this.status, t('loading'));
    try {
      const r = await post<WhatIfResult>('/api/whatif', { ...this.params, action, facility_id: facilityId, location });
      setStatus(this.status, '');
      const sign = r.delta_households > 0 ? '+' : '';
      this.whatifResult.textContent = t('whatif_result', {
        before: `${num(r.before.covered_households)} (${num(r.before.pct, 1)}%)`,
        after: `${num(r.after.covered_households)} (${num(r.after.pct, 1)}%)`,
        delta: `${sign}${num(r.delta_households)}`,
      });
      if (r.unplaced) this.whatifResult.append(h('br'), h('span', { class: 'small muted' }, t('whatif_unplaced', { reason: r.unplaced })));
      this.whatifResult.dataset.delta = String(r.delta_households);
      this.whatifResult.className = `whatif-result ${r.delta_households > 0 ? 'gain' : r.delta_households < 0 ? 'loss' : ''}`;
      const gained = new Set(r.newly_covered.map(String));
      const lost = new Set(r.newly_uncovered.map(String));
      const changed = (this.buildingsFc?.features ?? [])
        .filter((f) => gained.has(String(f.properties?.id ?? f.id)) || lost.has(String(f.properties?.id ?? f.id)))
        .map((f) => ({ ...f, properties: { ...f.properties, gained: gained.has(String(f.properties?.id ?? f.id)) } }));
      this.ctx.setOverlay('whatif-changed', { type: 'FeatureCollection', features: changed });
    } catch (e) {
      setStatus(this.status, errorMessage(e), 'warn');
    }
  }

  // ---- export ----

  private stamp(): string {
    return `${this.params.kind}-${this.params.minutes}min-${this.params.profile}`;
  }

  private exportGeoJson(): void {
    const features = [...(this.buildingsFc?.features ?? []), ...(this.gapsFc?.features ?? []).map((f) => ({ ...f, properties: { ...f.properties, layer: 'gap' } }))];
    download(`coverage-${this.stamp()}.geojson`, JSON.stringify({ type: 'FeatureCollection', features }), 'application/geo+json');
  }

  private exportCsv(): void {
    const c = this.coverage;
    if (!c) {
      toast(t('run_coverage'), 'info');
      return;
    }
    const rows: Array<Array<string | number>> = [
      ['total', '', '', c.covered_households, c.total_households, c.pct],
      ...(c.by_community ?? []).map((r) => ['community', r.id, r.name ?? '', r.covered_households, r.total_households, r.pct]),
      ...(c.by_grid ?? []).map((r) => ['grid', r.id, r.code ?? '', r.covered_households, r.total_households, r.pct]),
    ];
    download(`coverage-${this.stamp()}.csv`, '\ufeff' + toCsv(['level', 'id', 'name', 'covered_households', 'total_households', 'pct'], rows), 'text/csv');
  }

  private exportPng(): void {
    this.ctx.map.once('render', () => {
      this.ctx.map.getCanvas().toBlob((b) => b && download(`map-${this.stamp()}.png`, b, 'image/png'), 'image/png');
    });
    this.ctx.map.triggerRepaint();
  }
}
