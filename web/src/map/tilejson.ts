/**
 * Loads the server's TileJSON documents (`/tiles/{layer}.json`) so that the style uses the
 * real source-layer names, zoom range and bounds, and absolute tile URLs (tiles are fetched by
 * web workers, which resolve relative URLs against the worker script, not the page).
 */
export interface TileJson {
  tiles: string[];
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  attribution?: string;
  vector_layers?: Array<{ id: string; fields?: Record<string, string> }>;
}

export const TILE_LAYERS = ['basemap', 'communities', 'compounds', 'grids', 'buildings', 'facilities'] as const;
export type TileLayer = (typeof TILE_LAYERS)[number];

/** Fetches one TileJSON; `null` when the server does not serve it. */
export async function loadTileJson(layer: TileLayer): Promise<TileJson | null> {
  const url = new URL(`/tiles/${layer}.json`, location.href);
  try {
    const r = await fetch(url, { headers: { Accept: 'application/json' } });
    if (!r.ok) return null;
    const tj = (await r.json()) as TileJson;
    const tiles = (tj.tiles?.length ? tj.tiles : [`/tiles/${layer}/{z}/{x}/{y}.mvt`]).map((t) => {
      const u = new URL(t, url);
      // The tiles come from the binary that serves this page. Behind a reverse proxy (or when the
      // server names its bind address) the TileJSON may carry another origin: use the page's.
      const abs = u.origin === location.origin ? u.href : `${location.origin}${u.pathname}${u.search}`;
      // Keep `{z}` placeholders intact: URL() percent-encodes the braces.
      return abs.replace(/%7B/gi, '{').replace(/%7D/gi, '}');
    });
    return { ...tj, tiles };
  } catch {
    return null;
  }
}

/** Source-layer names a TileJSON declares. */
export function layerIds(tj: TileJson | null): string[] {
  return (tj?.vector_layers ?? []).map((l) => l.id);
}

/** The source-layer to use for an overlay layer: the one named like it, else the only one. */
export function sourceLayerFor(tj: TileJson | null, wanted: string): string {
  const ids = layerIds(tj);
  if (ids.includes(wanted)) return wanted;
  if (ids.length === 1) return ids[0];
  return wanted;
}
