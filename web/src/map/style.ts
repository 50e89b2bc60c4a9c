/**
 * The map style: gridmap's own basemap tiles plus the data layers (communities, compounds,
 * grids, buildings, facilities), all from the server's vector tiles, and empty GeoJSON sources
 * for the analysis overlays (coverage, isochrones, gaps, partition proposals, selection).
 *
 * Text: every label is drawn from bundled woff2 files through the style's `font-faces`: Latin
 * from Noto Sans, Chinese from the Noto Sans SC subsets of ../fonts/cjk.ts (GB 2312 levels 1 and 2,
 * Big5 level 1), so no glyph server and no system CJK font is needed and nothing is fetched from
 * outside. MapLibre downloads a file only when a label needs one of its characters.
 */
import type {
  ExpressionSpecification,
  FilterSpecification,
  LayerSpecification,
  SourceSpecification,
  StyleSpecification,
} from 'maplibre-gl';
import { layerIds, sourceLayerFor, type TileJson, type TileLayer } from './tilejson';
import { cjkFiles } from '../fonts/cjk';
import { lang } from '../i18n';

export const FONT = 'Noto Sans Regular';

export const KIND_COLORS: Record<string, string> = {
  service_station: '#d7301f',
  canteen: '#ec7014',
  reading_room: '#2b8cbe',
  outreach_point: '#6a51a3',
  other: '#636363',
};

export const BAND_COLORS = { under: '#6baed6', in: '#74c476', over: '#fb6a4a' };

/** Colours of walking minutes, in 5-minute steps up to 30. */
export const MINUTE_STOPS: Array<[number, string]> = [
  [0, '#1a9850'],
  [5, '#66bd63'],
  [10, '#d9ef8b'],
  [15, '#fee08b'],
  [20, '#fc8d59'],
  [30, '#d73027'],
];
export const UNREACHABLE_COLOR = '#7f7f7f';
/** Buildings reachable only beyond the chosen minutes (not covered). */
export const NOT_COVERED_COLOR = '#de77ae';

const EMPTY: SourceSpecification = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };

export const OVERLAY_SOURCES = ['coverage', 'isochrones', 'gaps', 'proposal', 'selection', 'whatif-changed', 'grid-labels', 'siting-area'] as const;

function fontFaces(): StyleSpecification['font-faces'] {
  const base = new URL('/fonts/', location.href).href;
  return {
    [FONT]: [
      {
        url: `${base}noto-sans-latin-400-normal.woff2`,
        'unicode-range': ['U+0000-00FF', 'U+0131', 'U+0152-0153', 'U+02BB-02BC', 'U+02C6', 'U+02DA', 'U+02DC', 'U+2000-206F', 'U+20AC', 'U+2122', 'U+2212'],
      },
      {
        url: `${base}noto-sans-latin-ext-400-normal.woff2`,
        'unicode-range': ['U+0100-02BA', 'U+02BD-02C5', 'U+02C7-02CC', 'U+02CE-02D7', 'U+02DD-02FF', 'U+1E00-1E9F', 'U+1EF2-1EFF', 'U+20A0-20AB', 'U+2C60-2C7F', 'U+A720-A7FF'],
      },
      ...cjkFiles().map((f) => ({ url: `${base}${f.file}`, 'unicode-range': f.ranges })),
    ],
  };
}

/** Households band expression: 'under' | 'in' | 'over' from the `households` property. */
export function bandColor(lo: number, hi: number): ExpressionSpecification {
  return [
    'case',
    ['<', ['to-number', ['get', 'households'], 0], lo],
    BAND_COLORS.under,
    ['>', ['to-number', ['get', 'households'], 0], hi],
    BAND_COLORS.over,
    BAND_COLORS.in,
  ];
}

export function minutesColor(): ExpressionSpecification {
  const stops = MINUTE_STOPS.flatMap(([m, c]) => [m, c]);
  // `unreachable` (coverage buildings): off the walking network; `minutes` null: beyond the limit.
  return [
    'case',
    ['to-boolean', ['get', 'unreachable']],
    UNREACHABLE_COLOR,
    ['==', ['get', 'minutes'], null],
    NOT_COVERED_COLOR,
    ['interpolate', ['linear'], ['to-number', ['get', 'minutes'], 0], ...stops] as ExpressionSpecification,
  ];
}

/** A proposed grid's label: its code over its households, with the unit in the interface
 * language (as the stored grids' labels, map/gridlabels.ts); main.ts re-applies it on a switch. */
export function proposalLabel(): ExpressionSpecification {
  return ['concat', ['coalesce', ['get', 'code'], ''], '\n', ['to-string', ['coalesce', ['get', 'households'], '']], lang() === 'zh-CN' ? ' 户' : ' hh'];
}

const NAME: ExpressionSpecification = ['coalesce', ['get', 'name:zh'], ['get', 'name'], ''];

function vectorSource(tj: TileJson): SourceSpecification {
  return {
    type: 'vector',
    tiles: tj.tiles,
    minzoom: tj.minzoom ?? 0,
    maxzoom: tj.maxzoom ?? 16,
    ...(tj.bounds ? { bounds: tj.bounds } : {}),
    attribution: tj.attribution ?? '© OpenStreetMap contributors',
  };
}

const poly: FilterSpecification = ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false];
const line: FilterSpecification = ['match', ['geometry-type'], ['LineString', 'MultiLineString'], true, false];

function basemapLayers(tj: TileJson): LayerSpecification[] {
  const ids = new Set(layerIds(tj));
  const has = (id: string) => ids.size === 0 || ids.has(id);
  const out: LayerSpecification[] = [];
  if (has('water')) {
    out.push({ id: 'bm-water-fill', type: 'fill', source: 'basemap', 'source-layer': 'water', filter: poly, paint: { 'fill-color': '#aad3df' } });
    out.push({ id: 'bm-water-line', type: 'line', source: 'basemap', 'source-layer': 'water', filter: line, paint: { 'line-color': '#aad3df', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 1, 18, 6] } });
  }
  if (has('buildings')) {
    out.push({ id: 'bm-buildings', type: 'fill', source: 'basemap', 'source-layer': 'buildings', minzoom: 13, paint: { 'fill-color': '#e3ded6' } });
  }
  if (has('roads')) {
    const major = ['motorway', 'trunk', 'primary', 'secondary', 'tertiary', 'motorway_link', 'trunk_link', 'primary_link', 'secondary_link'];
    const minorPaths = ['footway', 'path', 'pedestrian', 'steps', 'cycleway', 'track', 'corridor'];
    out.push({
      id: 'bm-roads-path', type: 'line', source: 'basemap', 'source-layer': 'roads', minzoom: 14,
      filter: ['match', ['get', 'class'], minorPaths, true, false],
      paint: { 'line-color': '#c9b8a8', 'line-width': 1, 'line-dasharray': [2, 1] },
    });
    out.push({
      id: 'bm-roads-minor', type: 'line', source: 'basemap', 'source-layer': 'roads',
      filter: ['match', ['get', 'class'], [...major, ...minorPaths], false, true],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.5, 18, 6] },
    });
    out.push({
      id: 'bm-roads-major', type: 'line', source: 'basemap', 'source-layer': 'roads',
      filter: ['match', ['get', 'class'], major, true, false],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#f7d79a', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 18, 10] },
    });
  }
  if (has('railways')) {
    out.push({ id: 'bm-rail', type: 'line', source: 'basemap', 'source-layer': 'railways', paint: { 'line-color': '#999', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
  }
  if (has('roads')) {
    out.push({
      id: 'bm-road-names', type: 'symbol', source: 'basemap', 'source-layer': 'roads', minzoom: 15,
      filter: ['has', 'name'],
      layout: { 'text-field': NAME, 'text-font': [FONT], 'text-size': 11, 'symbol-placement': 'line', 'text-max-angle': 30 },
      paint: { 'text-color': '#5a5040', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    });
  }
  if (has('labels')) {
    out.push({
      id: 'bm-labels', type: 'symbol', source: 'basemap', 'source-layer': 'labels', minzoom: 15,
      // Facilities have their own labels; compounds first, then named buildings.
      filter: ['!=', ['get', 'class'], 'facility'],
      layout: {
        'text-field': NAME, 'text-font': [FONT], 'text-size': ['match', ['get', 'class'], 'compound', 13, 11],
        'text-max-width': 8, 'symbol-sort-key': ['match', ['get', 'class'], 'compound', 0, 1],
      },
      paint: { 'text-color': ['match', ['get', 'class'], 'compound', '#4a3d7a', '#6b6256'], 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
    });
  }
  return out;
}

export interface StyleInput {
  tiles: Partial<Record<TileLayer, TileJson | null>>;
  band: [number, number];
}

/** Builds the complete style from the TileJSONs the server answered with. */
export function buildStyle({ tiles, band }: StyleInput): StyleSpecification {
  const sources: Record<string, SourceSpecification> = {};
  const layers: LayerSpecification[] = [{ id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } }];
  for (const [name, tj] of Object.entries(tiles)) if (tj) sources[name] = vectorSource(tj);
  for (const s of OVERLAY_SOURCES) sources[s] = EMPTY;

  const basemap = tiles.basemap ? basemapLayers(tiles.basemap) : [];
  const isLabel = (l: LayerSpecification) => l.type === 'symbol';
  layers.push(...basemap.filter((l) => !isLabel(l)));

  if (tiles.communities) {
    const sl = sourceLayerFor(tiles.communities, 'communities');
    layers.push({ id: 'community-line', type: 'line', source: 'communities', 'source-layer': sl, paint: { 'line-color': '#54278f', 'line-width': 2.5, 'line-dasharray': [4, 2] } });
  }
  if (tiles.compounds) {
    const sl = sourceLayerFor(tiles.compounds, 'compounds');
    layers.push({ id: 'compound-fill', type: 'fill', source: 'compounds', 'source-layer': sl, paint: { 'fill-color': '#bcbddc', 'fill-opacity': 0.25 } });
    layers.push({ id: 'compound-line', type: 'line', source: 'compounds', 'source-layer': sl, minzoom: 14, paint: { 'line-color': '#9e9ac8', 'line-width': 1 } });
  }
  // Buildings under the grid fills: a grid's band colour tints its buildings.
  if (tiles.buildings) {
    const sl = sourceLayerFor(tiles.buildings, 'buildings');
    layers.push({
      id: 'building-fill', type: 'fill', source: 'buildings', 'source-layer': sl,
      paint: { 'fill-color': ['interpolate', ['linear'], ['to-number', ['get', 'households'], 0], 0, '#d9d9d9', 50, '#9ecae1', 200, '#3182bd'], 'fill-opacity': 0.85, 'fill-outline-color': '#8c8c8c' },
    });
  }
  if (tiles.grids) {
    const sl = sourceLayerFor(tiles.grids, 'grids');
    layers.push({ id: 'grid-fill', type: 'fill', source: 'grids', 'source-layer': sl, filter: poly, paint: { 'fill-color': bandColor(...band), 'fill-opacity': 0.45 } });
    layers.push({ id: 'grid-line', type: 'line', source: 'grids', 'source-layer': sl, filter: poly, minzoom: 13, paint: { 'line-color': '#238b45', 'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.6, 17, 2] } });
  }
  // Analysis overlays sit between the areas and the buildings.
  layers.push({ id: 'isochrone-fill', type: 'fill', source: 'isochrones', paint: { 'fill-color': minutesColor(), 'fill-opacity': 0.18 } });
  layers.push({ id: 'isochrone-line', type: 'line', source: 'isochrones', paint: { 'line-color': minutesColor(), 'line-width': 1.5 } });
  layers.push({ id: 'gap-fill', type: 'fill', source: 'gaps', paint: { 'fill-color': '#d73027', 'fill-opacity': 0.22 } });
  layers.push({ id: 'gap-line', type: 'line', source: 'gaps', paint: { 'line-color': '#a50026', 'line-width': 1.5, 'line-dasharray': [2, 1] } });

  layers.push({ id: 'coverage-fill', type: 'fill', source: 'coverage', paint: { 'fill-color': minutesColor(), 'fill-opacity': 0.9 } });
  layers.push({ id: 'whatif-changed-line', type: 'line', source: 'whatif-changed', paint: { 'line-color': ['case', ['get', 'gained'], '#00441b', '#67000d'], 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.6, 17, 2.5] } });
  layers.push({ id: 'proposal-fill', type: 'fill', source: 'proposal', paint: { 'fill-color': bandColor(...band), 'fill-opacity': 0.45 } });
  layers.push({ id: 'proposal-line', type: 'line', source: 'proposal', paint: { 'line-color': '#08519c', 'line-width': 2, 'line-dasharray': [3, 1.5] } });
  layers.push({ id: 'selection-fill', type: 'fill', source: 'selection', paint: { 'fill-color': '#ff7f00', 'fill-opacity': 0.35 } });
  layers.push({ id: 'selection-line', type: 'line', source: 'selection', paint: { 'line-color': '#ff7f00', 'line-width': 3 } });
  layers.push({ id: 'siting-area-fill', type: 'fill', source: 'siting-area', paint: { 'fill-color': '#6a51a3', 'fill-opacity': 0.08 } });
  layers.push({ id: 'siting-area-line', type: 'line', source: 'siting-area', paint: { 'line-color': '#6a51a3', 'line-width': 2, 'line-dasharray': [3, 2] } });

  // Facility points above every area and line but under all text, so no label is hidden by a dot.
  if (tiles.facilities) {
    const sl = sourceLayerFor(tiles.facilities, 'facilities');
    const kindColor: ExpressionSpecification = ['match', ['get', 'kind'], ...Object.entries(KIND_COLORS).flat(), KIND_COLORS.other] as unknown as ExpressionSpecification;
    layers.push({
      id: 'facility-circle', type: 'circle', source: 'facilities', 'source-layer': sl,
      paint: { 'circle-color': kindColor, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 4, 17, 8], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
    });
  }

  if (tiles.grids) {
    layers.push({
      id: 'grid-label', type: 'symbol', source: 'grid-labels', minzoom: 13,
      layout: { 'text-field': ['get', 'label'], 'text-font': [FONT], 'text-size': 12, 'text-max-width': 10 },
      paint: { 'text-color': '#00441b', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    });
  }
  layers.push({
    id: 'proposal-label', type: 'symbol', source: 'proposal',
    layout: { 'text-field': proposalLabel(), 'text-font': [FONT], 'text-size': 12 },
    paint: { 'text-color': '#08306b', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
  });
  layers.push({
    id: 'gap-label', type: 'symbol', source: 'gaps',
    layout: { 'text-field': ['concat', '#', ['to-string', ['get', 'rank']]], 'text-font': [FONT], 'text-size': 13 },
    paint: { 'text-color': '#a50026', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
  });
  if (tiles.communities) {
    const sl = sourceLayerFor(tiles.communities, 'communities');
    layers.push({
      id: 'community-label', type: 'symbol', source: 'communities', 'source-layer': sl, maxzoom: 15,
      layout: { 'text-field': NAME, 'text-font': [FONT], 'text-size': 14 },
      paint: { 'text-color': '#54278f', 'text-halo-color': '#fff', 'text-halo-width': 2 },
    });
  }
  if (tiles.facilities) {
    const sl = sourceLayerFor(tiles.facilities, 'facilities');
    layers.push({
      id: 'facility-label', type: 'symbol', source: 'facilities', 'source-layer': sl, minzoom: 15,
      layout: { 'text-field': NAME, 'text-font': [FONT], 'text-size': 11, 'text-offset': [0, 1.1], 'text-anchor': 'top', 'text-optional': true },
      paint: { 'text-color': '#333', 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
    });
  }
  // Basemap labels go under the data labels but above every fill, line and facility point.
  const firstDataLabel = layers.findIndex((l) => l.id === 'grid-label' || l.id === 'proposal-label');
  layers.splice(firstDataLabel < 0 ? layers.length : firstDataLabel, 0, ...basemap.filter(isLabel));
  return { version: 8, name: 'gridmap', sources, layers, 'font-faces': fontFaces() } as StyleSpecification;
}
