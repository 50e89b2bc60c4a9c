/**
 * Entry point: builds the style from the server's TileJSONs, opens the map on the dataset's
 * extent, and wires the five views (planner, coverage, siting, grid lead, facilities) into the panel.
 * Only requests documented by the server are made on load (TileJSON, collection extent,
 * OpenAPI document), so a fresh page never produces a failed request.
 */
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import './style.css';
import { get, hasRoute, loadCapabilities, type Collection } from './api';
import { applyTranslations, lang, onLangChange, setLang, t, type Key } from './i18n';
import { buildStyle, proposalLabel } from './map/style';
import { loadTileJson, sourceLayerFor, TILE_LAYERS, type TileJson, type TileLayer } from './map/tilejson';
import { installGridLabels } from './map/gridlabels';
import { AppContext, type View } from './context';
import { PlannerView } from './views/planner';
import { CoverageView } from './views/coverage';
import { SitingView } from './views/siting';
import { GridLeadView } from './views/gridlead';
import { FacilitiesView } from './views/facilities';
import { h } from './ui/dom';
import { initAuth } from './views/auth';
import { registerPageFont } from './fonts/cjk';
import { loadKinds, profileLabel } from './kinds';

declare global {
  interface Window {
    map: maplibregl.Map;
    gridmap: AppContext;
  }
}

// Start-up milestones (tests/web/paint.mjs reports them): the module ran, the TileJSONs and the
// extent arrived, the map was created.
performance.mark('gridmap:module');
maplibregl.setWorkerUrl(new URL(workerUrl, location.href).href);
// Fetch and start MapLibre's worker now, while the TileJSONs load, not once the map exists: the
// worker script is ~0.5 MB, and every tile waits for it.
maplibregl.prewarm();
registerPageFont(new URL('/fonts/', location.href).href);

type TabId = 'planner' | 'coverage' | 'siting' | 'gridlead' | 'facilities';
const TABS: Array<{ id: TabId; label: Key }> = [
  { id: 'planner', label: 'tab_planner' },
  { id: 'coverage', label: 'tab_coverage' },
  { id: 'siting', label: 'tab_siting' },
  { id: 'gridlead', label: 'tab_gridlead' },
  { id: 'facilities', label: 'tab_facilities' },
];

/** The dataset's extent: the buildings collection's bbox, else the TileJSON bounds. */
function datasetBounds(c: Collection | null, tiles: Partial<Record<TileLayer, TileJson | null>>): [number, number, number, number] | null {
  const b = c?.extent?.spatial?.bbox?.[0];
  if (b && b.length >= 4 && b.every(Number.isFinite) && b[0] < b[2]) return b.length === 6 ? [b[0], b[1], b[3], b[4]] : [b[0], b[1], b[2], b[3]];
  const t = tiles.buildings?.bounds ?? tiles.basemap?.bounds;
  return t && t[0] < t[2] ? t : null;
}

async function start(): Promise<void> {
  applyTranslations(document);
  const panel = document.getElementById('panel')!;
  panel.append(h('p', { class: 'muted', 'data-i18n': 'loading' }, t('loading')));

  // Everything the map needs is asked for at once (the extent falls back to the TileJSON bounds).
  const extent = get<Collection>('/collections/buildings').catch(() => null);
  const [, ...tjs] = await Promise.all([loadCapabilities(), ...TILE_LAYERS.map((l) => loadTileJson(l))]);
  // The kinds (labels, colours, minutes) and the profile's label, before the style is built.
  await loadKinds();
  performance.mark('gridmap:tilejson');
  const tiles: Partial<Record<TileLayer, TileJson | null>> = {};
  TILE_LAYERS.forEach((l, i) => (tiles[l] = tjs[i]));
  const bounds = datasetBounds(await extent, tiles);
  performance.mark('gridmap:extent');

  const ctx0 = { target: 300, tolerance: 0.15 };
  const lo = Math.round(ctx0.target * (1 - ctx0.tolerance));
  const hi = Math.round(ctx0.target * (1 + ctx0.tolerance));
  const map = new maplibregl.Map({
    container: 'map',
    style: buildStyle({ tiles, band: [lo, hi] }),
    ...(bounds ? { bounds, fitBoundsOptions: { padding: 20 } } : { center: [116.3, 39.98], zoom: 12 }),
    // Chinese labels come from the bundled Noto Sans SC files (style `font-faces`), not a system font.
    localIdeographFontFamily: false,
    attributionControl: { compact: false, customAttribution: '© OpenStreetMap contributors' },
    canvasContextAttributes: { preserveDrawingBuffer: true },
    maxZoom: 20,
  });
  window.map = map;
  performance.mark('gridmap:map');
  // A proxy profile's label stays on screen over the map: its figures are not real facilities.
  const label = profileLabel();
  if (label) {
    document.getElementById('map')!.append(
      h('div', { id: 'profile-label', class: 'profile-label', role: 'note' }, h('strong', { 'data-i18n': 'proxy_figures' }, t('proxy_figures')), ' · ', label),
    );
  }
  // `map.loaded()` turns false again whenever tiles load; the views only need the style once.
  let styleReady = false;
  map.once('load', () => (styleReady = true));
  if (tiles.grids) installGridLabels(map, sourceLayerFor(tiles.grids, 'grids'));
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  const ctx = new AppContext(map, maplibregl);
  window.gridmap = ctx;
  const views: Record<TabId, View> = {
    planner: new PlannerView(ctx),
    coverage: new CoverageView(ctx),
    siting: new SitingView(ctx),
    gridlead: new GridLeadView(ctx),
    facilities: new FacilitiesView(ctx),
  };

  panel.replaceChildren();
  const nav = document.getElementById('tabs')!;
  const sections = {} as Record<TabId, HTMLElement>;
  const buttons = {} as Record<TabId, HTMLButtonElement>;
  for (const tab of TABS) {
    const btn = h('button', { role: 'tab', id: `tab-${tab.id}`, 'aria-controls': `view-${tab.id}`, 'data-i18n': tab.label }, t(tab.label));
    const sec = h('section', { id: `view-${tab.id}`, role: 'tabpanel', class: 'view', hidden: true });
    nav.append(btn);
    panel.append(sec);
    buttons[tab.id] = btn;
    sections[tab.id] = sec;
    views[tab.id].mount(sec);
  }
  let current: TabId | null = null;
  const show = (id: TabId) => {
    if (current === id) return;
    if (current) views[current].deactivate();
    for (const tab of TABS) {
      sections[tab.id].hidden = tab.id !== id;
      buttons[tab.id].setAttribute('aria-selected', String(tab.id === id));
    }
    current = id;
    history.replaceState(null, '', `#${id}`);
    if (styleReady) views[id].activate();
    else map.once('load', () => current === id && views[id].activate());
  };
  for (const tab of TABS) buttons[tab.id].addEventListener('click', () => show(tab.id));
  applyTranslations(document);

  document.getElementById('lang-toggle')!.addEventListener('click', () => setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN'));
  onLangChange(() => {
    applyTranslations(document);
    if (map.getLayer('proposal-label')) map.setLayoutProperty('proposal-label', 'text-field', proposalLabel());
  });

  const toggle = document.getElementById('panel-toggle')!;
  toggle.addEventListener('click', () => {
    const collapsed = document.body.classList.toggle('panel-collapsed');
    toggle.setAttribute('aria-expanded', String(!collapsed));
    setTimeout(() => map.resize(), 0);
  });

  // Auth: only when the server has it; a grid lead lands on their grid.
  // Edit controls show only for callers allowed to use them (style.css, [data-needs]).
  const ALL_PERMS = 'read what_if plan edit_grids edit_facilities admin';
  document.body.dataset.perms = hasRoute('/api/me', false) ? 'read' : ALL_PERMS;
  if (hasRoute('/api/me', false)) {
    await initAuth(ctx, document.getElementById('user-box')!, (me) => {
      document.body.dataset.perms = (me?.permissions ?? ['read']).join(' ');
      if (me?.role === 'grid_lead') show('gridlead');
    });
  }
  const fromHash = location.hash.slice(1) as TabId;
  show(current ?? (TABS.some((x) => x.id === fromHash) ? fromHash : 'planner'));
}

start().catch((e: unknown) => {
  console.warn('gridmap failed to start', e);
  document.getElementById('panel')?.replaceChildren(h('p', { class: 'status status-error' }, String((e as Error)?.message ?? e)));
});
