/**
 * Facilities view (设施管理): list, add, edit and delete facilities through OGC API - Features
 * Part 4 (POST; PUT and DELETE with If-Match from the item's ETag, so a stale edit is refused
 * with 412 instead of overwriting someone else's change), and import a GeoJSON file of points.
 */
import type { MapMouseEvent } from 'maplibre-gl';
import type { Feature, Point } from 'geojson';
import { request, type FeatureCollection } from '../api';
import { toFacilityRef, type AppContext, type FacilityRef, type View } from '../context';
import { kindLabel, num, onLangChange, t } from '../i18n';
import { KIND_COLORS } from '../map/style';
import { errorMessage, h, setStatus, toast, tr } from '../ui/dom';
import { kindCodes } from '../kinds';

const ITEMS = '/collections/facilities/items';

export class FacilitiesView implements View {
  private list!: HTMLElement;
  private form!: HTMLElement;
  private status!: HTMLElement;
  private filter!: HTMLSelectElement;
  private placing = false;
  private active = false;
  private pending: Marker | null = null;

  constructor(private readonly ctx: AppContext) {}

  mount(el: HTMLElement): void {
    this.filter = h('select', { id: 'fac-filter' }, tr('option', 'all_kinds', { value: '' }), ...kindCodes().map((k) => h('option', { value: k }, kindLabel(k))));
    this.filter.addEventListener('change', () => void this.renderList());
    this.list = h('div', { id: 'fac-list' });
    this.form = h('div', { id: 'fac-form' });
    this.status = h('p', { class: 'status', hidden: true });
    const file = h('input', { id: 'fac-import', type: 'file', accept: '.geojson,.json,application/geo+json,application/json' });
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void this.importFile(f).finally(() => (file.value = ''));
    });
    el.append(
      tr('h2', 'tab_facilities'),
      h('div', { class: 'card', 'data-needs': 'edit_facilities' },
        h('div', { class: 'row' }, tr('button', 'add', { id: 'fac-add', class: 'primary', onclick: () => this.startPlacing() })),
        h('label', { class: 'file-label' }, tr('span', 'import_geojson'), file),
      ),
      this.status,
      this.form,
      h('div', { class: 'card' }, h('div', { class: 'row' }, tr('h3', 'facility_list'), this.filter), this.list),
    );
    this.ctx.map.on('click', (e) => this.onMapClick(e));
    onLangChange(() => {
      this.filter.querySelectorAll('option').forEach((o) => o.value && (o.textContent = kindLabel(o.value)));
      if (this.active) void this.renderList();
    });
  }

  activate(): void {
    this.active = true;
    void this.renderList();
  }

  deactivate(): void {
    this.active = false;
    this.placing = false;
    this.pending?.remove();
    this.pending = null;
    this.form.replaceChildren();
  }

  private async renderList(): Promise<void> {
    try {
      const all = await this.ctx.facilities();
      const kind = this.filter.value;
      // Named facilities first (Chinese collation, whatever the interface language), unnamed ones
      // (shown by id) after them, so the list does not open on a column of OSM ids.
      const unnamed = (f: { name?: string }) => (f.name ? 0 : 1);
      const shown = all
        .filter((f) => !kind || f.kind === kind)
        .sort((a, b) => a.kind.localeCompare(b.kind) || unnamed(a) - unnamed(b) || (a.name ?? '').localeCompare(b.name ?? '', 'zh-CN') || a.id.localeCompare(b.id));
      this.list.replaceChildren(
        h('p', { class: 'muted small' }, `${num(shown.length)} / ${num(all.length)}`),
        h('ul', { class: 'fac-list' }, ...shown.slice(0, 500).map((f) =>
          h('li', { class: 'clickable', 'data-id': f.id, onclick: () => void this.edit(f) },
            h('i', { class: 'dot', style: `background:${KIND_COLORS[f.kind] ?? KIND_COLORS.other}` }),
            h('span', {}, f.name || f.id), h('span', { class: 'muted small' }, ` ${kindLabel(f.kind)}`)))),
      );
    } catch (e) {
      this.list.replaceChildren(h('p', { class: 'status status-warn' }, errorMessage(e)));
    }
  }

  private onMapClick(e: MapMouseEvent): void {
    if (!this.active) return;
    if (this.placing) {
      this.placing = false;
      this.ctx.map.getCanvas().style.cursor = '';
      this.showForm(null, [e.lngLat.lng, e.lngLat.lat], null);
      return;
    }
    if (!this.ctx.map.getLayer('facility-circle')) return;
    const hit = this.ctx.map.queryRenderedFeatures(e.point, { layers: ['facility-circle'] })[0];
    if (hit) void this.edit(toFacilityRef({ ...(hit.toJSON() as Feature), id: hit.properties?.id ?? hit.id }));
  }

  private startPlacing(): void {
    this.placing = true;
    this.ctx.map.getCanvas().style.cursor = 'crosshair';
    setStatus(this.status, t('add_facility_hint'));
  }

  private async edit(f: FacilityRef): Promise<void> {
    try {
      const r = await request<Feature>(`${ITEMS}/${encodeURIComponent(f.id)}`);
      const g = r.data.geometry as Point | null;
      this.showForm(r.data, g?.coordinates as [number, number] ?? f.lngLat, r.etag);
      this.ctx.map.easeTo({ center: g?.coordinates as [number, number] ?? f.lngLat, zoom: Math.max(this.ctx.map.getZoom(), 16) });
    } catch (e) {
      setStatus(this.status, errorMessage(e), 'error');
    }
  }

  /** The add/edit form; `feature` null means a new facility at `at`. */
  private showForm(feature: Feature | null, at: [number, number], etag: string | null): void {
    setStatus(this.status, '');
    const p = (feature?.properties ?? {}) as Record<string, unknown>;
    const kind = h('select', { id: 'fac-kind' }, ...kindCodes().map((k) => h('option', { value: k }, kindLabel(k))));
    kind.value = String(p.kind ?? 'service_station');
    const name = h('input', { id: 'fac-name', value: String(p.name ?? '') });
    const capacity = h('input', { id: 'fac-capacity', type: 'number', min: 0, step: 1, value: p.capacity === null || p.capacity === undefined ? '' : String(p.capacity) });
    let pos = at;
    this.pending?.remove();
    const marker = new this.ctx.ml.Marker({ draggable: true, color: '#ff7f00' }).setLngLat(at).addTo(this.ctx.map);
    marker.on('dragend', () => (pos = marker.getLngLat().toArray() as [number, number]));
    this.pending = marker;
    const close = () => {
      marker.remove();
      this.pending = null;
      this.form.replaceChildren();
    };
    const status = h('p', { class: 'status', hidden: true });
    const save = tr('button', 'save', { id: 'fac-save', class: 'primary', 'data-needs': 'edit_facilities' });
    save.addEventListener('click', async () => {
      const properties = { ...p, kind: kind.value, name: name.value.trim() || null, capacity: capacity.value === '' ? null : Math.max(0, Math.round(Number(capacity.value))) };
      const body = { type: 'Feature', ...(feature?.id !== undefined ? { id: feature.id } : {}), geometry: { type: 'Point', coordinates: pos }, properties };
      try {
        if (feature) {
          const fresh = etag ?? (await request(`${ITEMS}/${encodeURIComponent(String(feature.id))}`)).etag;
          await request(`${ITEMS}/${encodeURIComponent(String(feature.id))}`, { method: 'PUT', body, headers: { 'Content-Type': 'application/geo+json', ...(fresh ? { 'If-Match': fresh } : {}) } });
        } else {
          await request(ITEMS, { method: 'POST', body, headers: { 'Content-Type': 'application/geo+json' } });
        }
        toast(t('saved'), 'ok');
        close();
        this.ctx.invalidateFacilities();
        void this.renderList();
      } catch (e) {
        setStatus(status, errorMessage(e), 'error');
      }
    });
    const del = feature ? tr('button', 'delete', { id: 'fac-delete', class: 'danger', 'data-needs': 'edit_facilities' }) : null;
    del?.addEventListener('click', async () => {
      if (!feature) return;
      try {
        await request(`${ITEMS}/${encodeURIComponent(String(feature.id))}`, { method: 'DELETE', headers: etag ? { 'If-Match': etag } : {} });
        toast(t('deleted'), 'ok');
        close();
        this.ctx.invalidateFacilities();
        void this.renderList();
      } catch (e) {
        setStatus(status, errorMessage(e), 'error');
      }
    });
    this.form.replaceChildren(
      h('div', { class: 'card' },
        h('h3', {}, feature ? `${t('edit')} ${String(feature.id ?? '')}` : t('add')),
        h('div', { class: 'form-grid' },
          tr('label', 'kind', { for: 'fac-kind' }), kind,
          tr('label', 'name', { for: 'fac-name' }), name,
          tr('label', 'capacity', { for: 'fac-capacity' }), capacity,
        ),
        h('p', { class: 'muted small' }, `${at[1].toFixed(6)}, ${at[0].toFixed(6)}`),
        h('div', { class: 'row' }, save, del, tr('button', 'cancel', { onclick: close })),
        status,
      ),
    );
  }

  /** Imports Point features of a GeoJSON file one by one (each POST is its own transaction). */
  private async importFile(file: File): Promise<void> {
    let fc: FeatureCollection;
    try {
      const parsed = JSON.parse(await file.text()) as FeatureCollection | Feature;
      fc = parsed.type === 'FeatureCollection' ? parsed : { type: 'FeatureCollection', features: [parsed as Feature] };
      if (!Array.isArray(fc.features)) throw new Error(`${file.name}: no "features" array`);
    } catch (e) {
      setStatus(this.status, t('import_failed', { msg: (e as Error).message }), 'error');
      return;
    }
    let ok = 0;
    const problems: string[] = [];
    for (const [i, f] of fc.features.entries()) {
      const label = `${file.name} feature ${i + 1}${f.id !== undefined ? ` (id ${f.id})` : ''}`;
      if (f.geometry?.type !== 'Point') {
        problems.push(`${label}: geometry must be a Point`);
        continue;
      }
      const kind = String(f.properties?.kind ?? '').trim();
      if (!kind) {
        problems.push(`${label}: missing "kind"`);
        continue;
      }
      try {
        await request(ITEMS, { method: 'POST', body: { type: 'Feature', geometry: f.geometry, properties: { ...f.properties, kind } }, headers: { 'Content-Type': 'application/geo+json' } });
        ok++;
      } catch (e) {
        problems.push(`${label}: ${errorMessage(e)}`);
      }
    }
    this.ctx.invalidateFacilities();
    void this.renderList();
    setStatus(this.status, [t('imported', { n: ok }), ...problems.slice(0, 10)].join('\n'), problems.length ? 'warn' : 'ok');
  }
}

type Marker = import('maplibre-gl').Marker;
