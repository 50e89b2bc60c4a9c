/** What every view gets: the map, the household band, shared look-ups and overlay helpers. */
import type { Map as MlMap, GeoJSONSource, VectorTileSource } from 'maplibre-gl';
import type * as maplibregl from 'maplibre-gl';
import { get, qs, type FeatureCollection, type Me } from './api';
import { bandColor } from './map/style';
import type { TileLayer } from './map/tilejson';

export interface Community {
  id: string;
  name: string;
}

export interface FacilityRef {
  id: string;
  kind: string;
  name: string;
  lngLat: [number, number];
  capacity?: number | null;
}

export interface View {
  /** Called once, with the panel section the view owns. */
  mount(el: HTMLElement): void;
  /** The tab became visible. */
  activate(): void;
  /** Another tab was chosen: remove this view's overlays and markers. */
  deactivate(): void;
}

export class AppContext {
  target = 300;
  tolerance = 0.15;
  me: Me | null = null;
  private communitiesCache: Promise<Community[]> | null = null;
  private facilitiesCache: Promise<FacilityRef[]> | null = null;

  constructor(
    readonly map: MlMap,
    readonly ml: typeof maplibregl,
  ) {}

  band(): [number, number] {
    return [Math.round(this.target * (1 - this.tolerance)), Math.round(this.target * (1 + this.tolerance))];
  }

  /** Changes the band and recolours grid fills and proposals. */
  setBand(target: number, tolerance: number): void {
    this.target = target;
    this.tolerance = tolerance;
    const c = bandColor(...this.band());
    for (const id of ['grid-fill', 'proposal-fill']) if (this.map.getLayer(id)) this.map.setPaintProperty(id, 'fill-color', c);
  }

  /**
   * Fades the stored grids (fills and labels) while an overlay that has its own colours or
   * labels is shown — coverage minutes, a partition proposal — so the two do not compete.
   * Every view that fades them passes its own `who`; the grids come back when nobody does.
   */
  fadeGrids(who: string, on: boolean): void {
    if (on) this.fading.add(who);
    else this.fading.delete(who);
    const faded = this.fading.size > 0;
    if (this.map.getLayer('grid-fill')) this.map.setPaintProperty('grid-fill', 'fill-opacity', faded ? 0.12 : 0.45);
    if (this.map.getLayer('grid-label')) this.map.setLayoutProperty('grid-label', 'visibility', faded ? 'none' : 'visible');
  }

  private readonly fading = new Set<string>();

  /** Replaces the data of one of the analysis GeoJSON sources (null empties it). */
  setOverlay(source: string, fc: FeatureCollection | null): void {
    const src = this.map.getSource<GeoJSONSource>(source);
    src?.setData(fc ?? { type: 'FeatureCollection', features: [] });
  }

  /**
   * Outlines the buildings whose ids are given (on the buildings tiles, from z13), in a layer of
   * its own named `name`; an empty list removes the outline.
   */
  highlightBuildings(name: string, ids: string[], color = '#00441b'): void {
    const id = `${name}-line`;
    const base = this.map.getLayer('building-fill');
    if (!base) return;
    const filter = ['in', ['get', 'id'], ['literal', ids]] as unknown as maplibregl.FilterSpecification;
    if (!this.map.getLayer(id)) {
      this.map.addLayer({ id, type: 'line', source: base.source, 'source-layer': base.sourceLayer ?? 'buildings', filter, paint: { 'line-color': color, 'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1, 17, 3] } });
    } else {
      this.map.setFilter(id, filter);
      this.map.setPaintProperty(id, 'line-color', color);
    }
    this.map.setLayoutProperty(id, 'visibility', ids.length ? 'visible' : 'none');
  }

  /**
   * Re-requests a vector tile layer after an edit. Tiles are cached by the browser for 60 s, so
   * the URLs get a new `v` (which the server ignores) and the next tiles are fetched fresh.
   */
  reloadTiles(layer: TileLayer): void {
    const src = this.map.getSource<VectorTileSource>(layer);
    if (!src || !('setTiles' in src) || !src.tiles) return;
    const v = `v=${Date.now().toString(36)}`;
    src.setTiles(src.tiles.map((u) => {
      const bare = u.replace(/[?&]v=[^&]*$/, '');
      return `${bare}${bare.includes('?') ? '&' : '?'}${v}`;
    }));
  }

  communities(): Promise<Community[]> {
    this.communitiesCache ??= get<FeatureCollection>(`/api/communities${qs({ limit: 10000 })}`)
      .then((fc) =>
        fc.features
          .map((f) => ({
            id: String(f.properties?.id ?? f.id ?? ''),
            name: String(f.properties?.name ?? f.properties?.id ?? f.id ?? ''),
          }))
          .filter((c) => c.id !== '')
          .sort((a, b) => a.name.localeCompare(b.name)),
      )
      .catch((e) => {
        this.communitiesCache = null;
        throw e;
      });
    return this.communitiesCache;
  }

  /** All facilities (cached until `invalidateFacilities`). */
  facilities(): Promise<FacilityRef[]> {
    this.facilitiesCache ??= get<FeatureCollection>(`/api/facilities${qs({ limit: 10000 })}`)
      .then((fc) => fc.features.filter((f) => f.geometry?.type === 'Point').map(toFacilityRef))
      .catch((e) => {
        this.facilitiesCache = null;
        throw e;
      });
    return this.facilitiesCache;
  }

  invalidateFacilities(): void {
    this.facilitiesCache = null;
    this.reloadTiles('facilities');
  }
}

export function toFacilityRef(f: FeatureCollection['features'][number]): FacilityRef {
  const p = f.properties ?? {};
  const c = f.geometry.type === 'Point' ? f.geometry.coordinates : [0, 0];
  return {
    id: String(p.id ?? f.id ?? ''),
    kind: String(p.kind ?? 'other'),
    name: String(p.name ?? p.id ?? f.id ?? ''),
    lngLat: [c[0], c[1]],
    capacity: typeof p.capacity === 'number' ? p.capacity : null,
  };
}

/** Bounding box [w, s, e, n] of any GeoJSON geometry or collection. */
export function bboxOf(obj: unknown): [number, number, number, number] | null {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      const [x, y] = c as number[];
      w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  const visit = (o: unknown): void => {
    if (!o || typeof o !== 'object') return;
    const g = o as { type?: string; coordinates?: unknown; geometries?: unknown[]; features?: unknown[]; geometry?: unknown };
    if (g.features) g.features.forEach(visit);
    else if (g.geometry) visit(g.geometry);
    else if (g.geometries) g.geometries.forEach(visit);
    else if (g.coordinates) walk(g.coordinates);
  };
  visit(obj);
  return Number.isFinite(w) ? [w, s, e, n] : null;
}
