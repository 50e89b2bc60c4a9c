/**
 * Planner view (网格规划): grids coloured by households against the band, grid details and
 * lead assignment (OGC Part 4 PUT with If-Match), drawing and boundary editing with live
 * validation (`POST /api/validate`, debounced), and automatic partition with proposal review.
 */
import type { MapMouseEvent, MapGeoJSONFeature } from 'maplibre-gl';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { getGridDetail, post, qs, request, type FeatureCollection, type PartitionResult, type Validation } from '../api';
import { bboxOf, type AppContext, type View } from '../context';
import { t, num, onLangChange } from '../i18n';
import { BAND_COLORS } from '../map/style';
import type { DrawController, DrawnPolygon } from '../map/draw';
import { debounce, errorMessage, h, setStatus, toast, tr } from '../ui/dom';
import { pdfButton } from '../ui/report';

export function featureId(f: { id?: string | number | null; properties?: Record<string, unknown> | null }): string {
  return String(f.properties?.id ?? f.id ?? '');
}

export class PlannerView implements View {
  private el!: HTMLElement;
  private details!: HTMLElement;
  private drawBox!: HTMLElement;
  private stats!: HTMLElement;
  private drawStatus!: HTMLElement;
  private partBox!: HTMLElement;
  private partStatus!: HTMLElement;
  private communitySel!: HTMLSelectElement;
  private draw: DrawController | null = null;
  private drawing = false;
  private editingGrid: { id: string; etag: string | null; feature: Feature } | null = null;
  private validateCtl: AbortController | null = null;
  private proposal: PartitionResult | null = null;
  private active = false;
  private lastValidation: Validation | null = null;
  private selected: string | null = null;

  constructor(private readonly ctx: AppContext) {}

  mount(el: HTMLElement): void {
    this.el = el;
    const target = h('input', { id: 'band-target', type: 'number', min: 10, max: 5000, step: 10, value: this.ctx.target });
    const tol = h('input', { id: 'band-tolerance', type: 'number', min: 0, max: 0.9, step: 0.05, value: this.ctx.tolerance });
    const bandText = h('span', { id: 'band-text', class: 'muted' });
    const updateBand = () => {
      const tv = Number(target.value), tl = Number(tol.value);
      if (tv > 0 && tl >= 0 && tl < 1) this.ctx.setBand(tv, tl);
      const [lo, hi] = this.ctx.band();
      bandText.textContent = `${lo}–${hi}`;
      if (this.drawing) this.validate();
    };
    target.addEventListener('change', updateBand);
    tol.addEventListener('change', updateBand);
    const legend = h(
      'div',
      { class: 'legend' },
      ...(['under', 'in', 'over'] as const).map((k) =>
        h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: `background:${BAND_COLORS[k]}` }), tr('span', `legend_${k}`)),
      ),
    );

    this.details = h('div', { id: 'grid-details', class: 'card' }, tr('p', 'select_grid_hint', { class: 'muted' }));

    this.stats = h('div', { id: 'draw-stats', class: 'draw-stats' });
    this.drawStatus = h('p', { class: 'status', hidden: true });
    const undoBtn = tr('button', 'undo', { id: 'draw-undo', onclick: () => this.draw?.undo() });
    const redoBtn = tr('button', 'redo', { id: 'draw-redo', onclick: () => this.draw?.redo() });
    this.drawBox = h(
      'div',
      { id: 'draw-box', class: 'card', hidden: true },
      tr('h3', 'live_stats'),
      tr('p', 'drawing_hint', { class: 'muted small' }),
      h('div', { class: 'row' }, undoBtn, redoBtn, tr('button', 'edit_boundary', { onclick: () => this.draw?.edit() }), tr('button', 'clear_drawing', { onclick: () => this.draw?.clear() })),
      this.stats,
      this.drawStatus,
      h('div', { class: 'row' }, tr('button', 'save', { id: 'draw-save', class: 'primary', onclick: () => this.saveDrawing() }), tr('button', 'cancel', { onclick: () => this.stopDrawing() })),
    );

    this.communitySel = h('select', { id: 'partition-community' }, h('option', { value: '' }, t('all_communities')));
    const seed = h('input', { id: 'partition-seed', type: 'number', min: 0, step: 1, value: 1 });
    this.partStatus = h('p', { class: 'status', hidden: true });
    this.partBox = h('div', { id: 'proposal-box' });
    const runBtn = tr('button', 'partition_run', { id: 'partition-run', class: 'primary', 'data-needs': 'plan' });
    runBtn.addEventListener('click', () => this.runPartition(Number(seed.value) || 0, runBtn));

    el.append(
      tr('h2', 'tab_planner'),
      h('div', { class: 'card' },
        h('div', { class: 'form-grid' }, tr('label', 'target', { for: 'band-target' }), target, tr('label', 'tolerance', { for: 'band-tolerance' }), tol, tr('span', 'band'), bandText),
        legend,
      ),
      h('div', { class: 'row', 'data-needs': 'plan' }, tr('button', 'draw_grid', { id: 'draw-start', class: 'primary', onclick: () => this.startDrawing() })),
      this.drawBox,
      this.details,
      h('div', { class: 'card' },
        tr('h3', 'partition'),
        h('div', { class: 'form-grid' }, tr('label', 'community', { for: 'partition-community' }), this.communitySel, tr('label', 'seed', { for: 'partition-seed' }), seed),
        h('div', { class: 'row' }, runBtn,
          pdfButton('atlas-pdf', 'print_atlas', () => `/api/reports/grids.pdf${qs({ community: this.communitySel.value || undefined })}`,
            () => `grid-atlas${this.communitySel.value ? `-${this.communitySel.value}` : ''}.pdf`)),
        this.partStatus,
        this.partBox,
      ),
    );
    updateBand();
    this.ctx.map.on('click', (e) => this.onMapClick(e));
    this.ctx.map.on('mouseenter', 'grid-fill', () => this.active && !this.drawing && (this.ctx.map.getCanvas().style.cursor = 'pointer'));
    this.ctx.map.on('mouseleave', 'grid-fill', () => (this.ctx.map.getCanvas().style.cursor = ''));
    onLangChange(() => {
      this.renderStats();
      if (this.proposal) this.renderProposal();
      if (this.selected) void this.showGrid(this.selected);
    });
    window.addEventListener('keydown', (e) => {
      if (!this.drawing || !(e.ctrlKey || e.metaKey)) return;
      if (e.key === 'z') { e.preventDefault(); this.draw?.undo(); }
      if (e.key === 'y' || (e.key === 'Z' && e.shiftKey)) { e.preventDefault(); this.draw?.redo(); }
    });
  }

  activate(): void {
    this.active = true;
    this.ctx
      .communities()
      .then((cs) => {
        if (this.communitySel.options.length > 1) return;
        for (const c of cs) this.communitySel.append(h('option', { value: c.id }, c.name));
      })
      .catch((e) => toast(errorMessage(e), 'warn'));
    if (this.proposal) {
      this.ctx.setOverlay('proposal', this.proposal.grids);
      this.ctx.fadeGrids('proposal', true);
    }
  }

  deactivate(): void {
    this.active = false;
    this.stopDrawing();
    this.ctx.setOverlay('proposal', null);
    this.ctx.fadeGrids('proposal', false);
    this.ctx.setOverlay('selection', null);
  }

  // ---- grid details and lead assignment ----

  private onMapClick(e: MapMouseEvent): void {
    if (!this.active || this.drawing) return;
    const layers = ['grid-fill', 'proposal-fill'].filter((l) => this.ctx.map.getLayer(l));
    const hits: MapGeoJSONFeature[] = this.ctx.map.queryRenderedFeatures(e.point, { layers });
    const grid = hits.find((f) => f.layer.id === 'grid-fill');
    if (grid) void this.showGrid(featureId(grid));
  }

  private async showGrid(id: string): Promise<void> {
    this.selected = id;
    const box = this.details;
    box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    try {
      const [detail, item] = await Promise.all([
        getGridDetail(id),
        request<Feature>(`/collections/grids/items/${encodeURIComponent(id)}`),
      ]);
      const props = (item.data.properties ?? {}) as Record<string, unknown>;
      const leads = (props.leads as string[] | undefined) ?? detail.leads ?? [];
      const households = Number(detail.households ?? props.households ?? 0);
      const [lo, hi] = this.ctx.band();
      const inBand = households >= lo && households <= hi;
      const leadInput = h('input', { id: 'grid-lead-input', value: leads.join(', '), placeholder: 'user id' });
      const status = h('p', { class: 'status', hidden: true });
      const save = tr('button', 'save', { id: 'grid-lead-save', class: 'primary', 'data-needs': 'edit_grids' });
      save.addEventListener('click', async () => {
        const next = leadInput.value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
        try {
          const fresh = await request<Feature>(`/collections/grids/items/${encodeURIComponent(id)}`);
          const body = { ...fresh.data, properties: { ...(fresh.data.properties ?? {}), leads: next } };
          await request(`/collections/grids/items/${encodeURIComponent(id)}`, {
            method: 'PUT',
            body,
            headers: { 'Content-Type': 'application/geo+json', ...(fresh.etag ? { 'If-Match': fresh.etag } : {}) },
          });
          setStatus(status, t('saved'), 'ok');
        } catch (e) {
          setStatus(status, errorMessage(e), 'error');
        }
      });
      const editBtn = tr('button', 'edit_boundary', { id: 'grid-edit-boundary' });
      editBtn.addEventListener('click', () => void this.editBoundary(id, item.data, item.etag));
      box.replaceChildren(
        h('h3', {}, `${t('grid')} ${String(props.code ?? detail.code ?? id)}`),
        h('dl', { class: 'kv' },
          h('dt', {}, t('households')), h('dd', { id: 'grid-households' }, num(households), ' ', h('span', { class: inBand ? 'badge ok' : 'badge warn' }, inBand ? t('in_band') : t('out_of_band'))),
          h('dt', {}, t('buildings')), h('dd', {}, num(Number(detail.building_count ?? props.building_count ?? 0))),
          h('dt', {}, t('elderly')), h('dd', {}, num(Number(detail.elderly ?? props.elderly ?? 0))),
          h('dt', {}, t('community')), h('dd', {}, String(props.community ?? detail.community ?? '—')),
        ),
        h('label', { for: 'grid-lead-input' }, t('assign_lead')),
        h('div', { class: 'row' }, leadInput, save),
        status,
        h('div', { class: 'row' }, editBtn),
      );
      if (item.data.geometry) this.ctx.setOverlay('selection', { type: 'FeatureCollection', features: [item.data] });
    } catch (e) {
      box.replaceChildren(h('p', { class: 'status status-error' }, errorMessage(e)));
    }
  }

  // ---- drawing ----

  private async ensureDraw(): Promise<DrawController> {
    if (!this.draw) {
      const { createDraw } = await import('../map/draw');
      this.draw = await createDraw(this.ctx.map, () => {
        this.validate();
        this.updateUndo();
      });
    }
    return this.draw;
  }

  private updateUndo(): void {
    const u = this.el.querySelector<HTMLButtonElement>('#draw-undo');
    const r = this.el.querySelector<HTMLButtonElement>('#draw-redo');
    if (u) u.disabled = !this.draw?.canUndo();
    if (r) r.disabled = !this.draw?.canRedo();
  }

  async startDrawing(): Promise<void> {
    const d = await this.ensureDraw();
    this.editingGrid = null;
    this.drawing = true;
    this.drawBox.hidden = false;
    d.drawPolygon();
    this.lastValidation = null;
    this.renderStats();
    this.updateUndo();
  }

  private async editBoundary(id: string, feature: Feature, etag: string | null): Promise<void> {
    const g = feature.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return;
    const d = await this.ensureDraw();
    this.drawing = true;
    this.drawBox.hidden = false;
    this.editingGrid = { id, etag, feature };
    const polys: Polygon[] = g.type === 'Polygon' ? [g] : (g as MultiPolygon).coordinates.map((c) => ({ type: 'Polygon', coordinates: c }));
    d.load(polys);
    this.updateUndo();
  }

  private stopDrawing(): void {
    this.drawing = false;
    this.editingGrid = null;
    this.validateCtl?.abort();
    if (this.draw) {
      this.draw.clear();
      this.draw.stop();
      this.draw = null;
    }
    if (this.drawBox) this.drawBox.hidden = true;
  }

  private validate = debounce(() => void this.runValidate(), 120);

  private async runValidate(): Promise<void> {
    const polys: DrawnPolygon[] = this.draw?.polygons() ?? [];
    if (!polys.length) {
      this.lastValidation = null;
      this.renderStats();
      return;
    }
    this.validateCtl?.abort();
    const ctl = new AbortController();
    this.validateCtl = ctl;
    const t0 = performance.now();
    try {
      const fc: FeatureCollection = { type: 'FeatureCollection', features: polys };
      const res = await post<Validation>('/api/validate', { grids: fc, target: this.ctx.target, tolerance: this.ctx.tolerance }, ctl.signal);
      this.lastValidation = res;
      this.renderStats(performance.now() - t0);
      setStatus(this.drawStatus, '');
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      setStatus(this.drawStatus, errorMessage(e), 'warn');
    }
  }

  private renderStats(ms?: number): void {
    if (!this.stats) return;
    const v = this.lastValidation;
    if (!v) {
      this.stats.replaceChildren();
      return;
    }
    const rows = v.grids.map((g, i) =>
      h('tr', {},
        h('td', {}, `#${i + 1}`),
        h('td', { class: 'num drawn-households' }, num(g.households)),
        h('td', { class: 'num drawn-buildings' }, num(Array.isArray(g.buildings) ? g.buildings.length : Number(g.buildings ?? 0))),
        h('td', {}, h('span', { class: g.in_band ? 'badge ok' : 'badge warn' }, g.in_band ? t('in_band') : t('out_of_band')),
          ' ', g.contiguous ? '' : h('span', { class: 'badge warn' }, t('not_contiguous')),
          ' ', g.crosses_community ? h('span', { class: 'badge error' }, t('crosses_community')) : ''),
      ),
    );
    this.stats.replaceChildren(
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, t('households')), h('th', {}, t('buildings')), h('th', {}, ''))), h('tbody', {}, ...rows)),
      v.overlaps?.length ? h('p', { class: 'status status-warn' }, `${t('overlaps')}: ${v.overlaps.map((o) => `${o.a}/${o.b} ${num(o.area_m2)} m²`).join('; ')}`) : '',
      v.unassigned?.length ? h('p', { class: 'muted small' }, `${t('unassigned')}: ${num(v.unassigned.length)}${v.unassigned_households ? ` (${num(v.unassigned_households)} ${t('households')})` : ''}`) : '',
      ms !== undefined ? h('p', { class: 'muted small' }, `${ms.toFixed(0)} ms`) : '',
    );
  }

  private async saveDrawing(): Promise<void> {
    const polys = this.draw?.polygons() ?? [];
    if (!polys.length) return;
    const geometry: MultiPolygon = { type: 'MultiPolygon', coordinates: polys.map((p) => p.geometry.coordinates) };
    try {
      if (this.editingGrid) {
        const { id } = this.editingGrid;
        const fresh = await request<Feature>(`/collections/grids/items/${encodeURIComponent(id)}`);
        await request(`/collections/grids/items/${encodeURIComponent(id)}`, {
          method: 'PUT',
          body: { ...fresh.data, geometry },
          headers: { 'Content-Type': 'application/geo+json', ...(fresh.etag ? { 'If-Match': fresh.etag } : {}) },
        });
      } else {
        const code = window.prompt(t('code'), '') ?? '';
        const v = this.lastValidation?.grids;
        await request('/collections/grids/items', {
          method: 'POST',
          body: { type: 'Feature', geometry, properties: { code: code || undefined, households: v?.reduce((a, g) => a + g.households, 0) } },
          headers: { 'Content-Type': 'application/geo+json' },
        });
      }
      toast(t('saved'), 'ok');
      this.ctx.reloadTiles('grids');
      this.stopDrawing();
    } catch (e) {
      setStatus(this.drawStatus, errorMessage(e), 'error');
    }
  }

  // ---- partition ----

  private async runPartition(seed: number, btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    setStatus(this.partStatus, t('loading'));
    try {
      const community = this.communitySel.value || undefined;
      this.proposal = await post<PartitionResult>('/api/partition', { community, target: this.ctx.target, tolerance: this.ctx.tolerance, seed });
      setStatus(this.partStatus, '');
      this.ctx.setOverlay('proposal', this.proposal.grids);
      this.ctx.fadeGrids('proposal', true);
      const b = bboxOf(this.proposal.grids);
      if (b) this.ctx.map.fitBounds(b, { padding: 30, duration: 0 });
      this.renderProposal();
    } catch (e) {
      setStatus(this.partStatus, errorMessage(e), 'warn');
    } finally {
      btn.disabled = false;
    }
  }

  private renderProposal(): void {
    const p = this.proposal;
    if (!p) {
      this.partBox.replaceChildren();
      return;
    }
    const r = p.report;
    const accept = tr('button', 'accept', { id: 'partition-accept', class: 'primary', 'data-needs': 'edit_grids' });
    accept.addEventListener('click', async () => {
      accept.disabled = true;
      try {
        await post(`/api/partition/${encodeURIComponent(p.proposal_id)}/accept`, {});
        toast(t('accepted'), 'ok');
        setStatus(this.partStatus, t('accepted'), 'ok');
        this.proposal = null;
        this.ctx.setOverlay('proposal', null);
        this.ctx.fadeGrids('proposal', false);
        this.ctx.reloadTiles('grids');
        this.partBox.replaceChildren();
      } catch (e) {
        setStatus(this.partStatus, errorMessage(e), 'error');
        accept.disabled = false;
      }
    });
    const discard = tr('button', 'discard', {
      onclick: () => {
        this.proposal = null;
        this.ctx.setOverlay('proposal', null);
        this.ctx.fadeGrids('proposal', false);
        this.renderProposal();
      },
    });
    this.partBox.replaceChildren(
      h('h4', {}, t('proposal')),
      h('dl', { class: 'kv', id: 'partition-report' },
        h('dt', {}, t('report_grids')), h('dd', {}, num(r.grids)),
        h('dt', {}, t('report_within')), h('dd', {}, `${num(r.within_band_pct, 1)}%`),
        h('dt', {}, t('report_min')), h('dd', {}, num(r.min_households)),
        h('dt', {}, t('report_max')), h('dd', {}, num(r.max_households)),
        h('dt', {}, t('report_contig')), h('dd', {}, `${num(r.contiguous_pct, 1)}%`),
        h('dt', {}, t('report_split')), h('dd', {}, num(r.compounds_split)),
      ),
      h('div', { class: 'row' }, accept, discard),
    );
  }
}

