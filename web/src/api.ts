/**
 * Thin typed client of the gridmap HTTP API. All URLs are absolute paths on the page's own
 * origin (the binary serves the app and the API together), so no host is ever hard-coded.
 *
 * Errors come back as RFC 9457 problem+json; {@link ApiError} keeps the status and the detail.
 * The set of routes the server documents in `/openapi.json` is loaded once at start-up so the
 * UI can avoid calling routes that do not exist yet (no failed requests on load) and can say so.
 */
import type { Feature, FeatureCollection, Geometry } from 'geojson';

export type { Feature, FeatureCollection, Geometry };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
    /** True when the route is not implemented by this server (404 on an undocumented route, 501). */
    readonly notAvailable: boolean,
  ) {
    super(message);
  }
}

let documentedPaths: string[] | null = null;

/** Loads the OpenAPI path templates (e.g. `/api/grids/{id}`); never throws. */
export async function loadCapabilities(): Promise<void> {
  try {
    const r = await fetch('/openapi.json', { headers: { Accept: 'application/json' } });
    if (!r.ok) return;
    const doc = (await r.json()) as { paths?: Record<string, unknown> };
    documentedPaths = Object.keys(doc.paths ?? {});
  } catch {
    documentedPaths = null;
  }
}

function templateMatches(template: string, path: string): boolean {
  const a = template.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((seg, i) => seg.startsWith('{') || seg === b[i]);
}

/**
 * Whether the server documents `path` (query string ignored). Unknown (no OpenAPI document):
 * `assume` is returned.
 */
export function hasRoute(path: string, assume = true): boolean {
  if (!documentedPaths) return assume;
  const p = path.split('?')[0];
  return documentedPaths.some((tpl) => templateMatches(tpl, p));
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Response<T> {
  data: T;
  etag: string | null;
  status: number;
}

/** Performs a JSON request and returns the body with the ETag header. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { Accept: 'application/geo+json, application/json', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  // An /api/ route the server's OpenAPI document does not list is not implemented (yet): say so
  // without sending a request that would only fail.
  if (path.startsWith('/api/') && !hasRoute(path, true)) {
    throw new ApiError(404, path, `404 ${path.split('?')[0]} is not in /openapi.json`, true);
  }
  let r: globalThis.Response;
  try {
    r = await fetch(path, { method: opts.method ?? 'GET', headers, body, signal: opts.signal, credentials: 'same-origin' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, path, (e as Error).message, false);
  }
  if (!r.ok) {
    let detail = r.statusText;
    try {
      const p = (await r.json()) as { title?: string; detail?: string };
      detail = p.detail ?? p.title ?? detail;
    } catch {
      /* body was not JSON */
    }
    const notAvailable = r.status === 501 || ((r.status === 404 || r.status === 405) && !hasRoute(path, false));
    throw new ApiError(r.status, path, `${r.status} ${detail}`, notAvailable);
  }
  const text = r.status === 204 ? '' : await r.text();
  return { data: (text ? JSON.parse(text) : null) as T, etag: r.headers.get('ETag'), status: r.status };
}

export const get = async <T>(path: string, signal?: AbortSignal): Promise<T> => (await request<T>(path, { signal })).data;
export const post = async <T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> =>
  (await request<T>(path, { method: 'POST', body, signal })).data;

/** Builds a query string from defined values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// ---- response shapes (see the server spec) ----

export type Profile = 'adult' | 'elderly';

export interface CoverageRow {
  id: string;
  name?: string;
  code?: string;
  covered_households: number;
  total_households: number;
  pct: number;
}

export interface Coverage {
  kind: string;
  minutes: number;
  speed_kmh: number;
  covered_households: number;
  total_households: number;
  pct: number;
  covered_elderly: number;
  total_elderly: number;
  unreachable_buildings: number;
  by_community: CoverageRow[];
  by_grid: CoverageRow[];
  note?: string;
  /** The facility tag profile the kinds came from, and (for a proxy) what stands in for what. */
  facility_profile?: string;
  facility_label?: string | null;
}

export interface WhatIfResult {
  before: { covered_households: number; pct: number };
  after: { covered_households: number; pct: number };
  delta_households: number;
  newly_covered: string[];
  newly_uncovered: string[];
  /** Why the changed facility could not be placed on the walking network (null when placed). */
  unplaced?: string | null;
}

export interface PartitionReport {
  grids: number;
  within_band_pct: number;
  min_households: number;
  max_households: number;
  contiguous_pct: number;
  compounds_split: number;
}

export interface PartitionResult {
  proposal_id: string;
  grids: FeatureCollection;
  report: PartitionReport;
}

/** One drawn grid as `POST /api/validate` answers it. */
export interface ValidatedGrid {
  id: string | number;
  households: number;
  /** Ids of the buildings the grid gets (footprint majority). */
  buildings: string[];
  in_band: boolean;
  components?: number;
  contiguous: boolean;
  communities?: Array<string | null>;
  crosses_community: boolean;
  area_m2?: number;
}

export interface Validation {
  grids: ValidatedGrid[];
  overlaps: Array<{ a: string | number; b: string | number; area_m2: number }>;
  /** Ids of buildings near the drawing that no grid gets. */
  unassigned: string[];
  unassigned_households?: number;
  out_of_band?: string[];
  non_contiguous?: string[];
  crossing_communities?: string[];
  within_band_pct?: number;
  ok?: boolean;
  seconds?: number;
}

export interface Me {
  user: string;
  role: 'admin' | 'planner' | 'department' | 'grid_lead';
  grids: string[];
  /** read, what_if, plan, edit_grids, edit_facilities, admin */
  permissions?: string[];
}

export interface GridDetail {
  id: string;
  code?: string;
  name?: string | null;
  community?: string | null;
  leads?: string[];
  households?: number;
  elderly?: number;
  building_count?: number;
  buildings?: FeatureCollection | Array<Record<string, unknown>>;
  boundary?: Geometry | null;
  [k: string]: unknown;
}

/**
 * Flattens `/api/grids/{id}`: the server answers `{grid: Feature, buildings: FeatureCollection,
 * statistics: {...}}`; a flat object with the same fields is accepted too.
 */
export function normalizeGridDetail(raw: Record<string, unknown>): GridDetail {
  const grid = raw.grid as Feature | undefined;
  const stats = (raw.statistics ?? {}) as Record<string, unknown>;
  const props = (grid?.properties ?? {}) as Record<string, unknown>;
  const pick = <T>(k: string): T | undefined => (stats[k] ?? props[k] ?? raw[k]) as T | undefined;
  return {
    ...raw,
    id: String(grid?.id ?? raw.id ?? ''),
    code: pick<string>('code'),
    name: pick<string | null>('name'),
    community: pick<string | null>('community'),
    leads: pick<string[]>('leads') ?? [],
    households: pick<number>('households'),
    elderly: pick<number>('elderly'),
    building_count: pick<number>('building_count'),
    buildings: raw.buildings as GridDetail['buildings'],
    boundary: grid?.geometry ?? (raw.boundary as Geometry | null | undefined) ?? null,
  };
}

export async function getGridDetail(id: string): Promise<GridDetail> {
  return normalizeGridDetail(await get<Record<string, unknown>>(`/api/grids/${encodeURIComponent(id)}`));
}

/** OGC API collection document (only what the app reads). */
export interface Collection {
  id: string;
  extent?: { spatial?: { bbox?: number[][] } };
}
