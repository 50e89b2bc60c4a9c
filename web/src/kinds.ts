/**
 * Facility kinds as data, from the server's `/api/kinds`: each kind's code, Chinese and English
 * labels, colour and default walking minutes, and the tag profile that assigned the kinds. A
 * proxy profile (restaurants counted as canteens, …) has a label; the map shows it on screen
 * whenever figures are shown. Without the route (an older server) the five core kinds apply.
 */
import { get, hasRoute } from './api';
import { setKindNames } from './i18n';
import { KIND_COLORS } from './map/style';

export interface KindDef {
  code: string;
  zh: string;
  en: string;
  colour: string;
  minutes: number;
  facilities: number;
}

export interface KindCatalog {
  profile: { name: string; label?: string; substitutions?: string[] };
  /** The label with the substitutions, for one line; null for a strict profile. */
  label: string | null;
  kinds: KindDef[];
}

const CORE = ['service_station', 'canteen', 'reading_room', 'outreach_point', 'other'];
let catalog: KindCatalog | null = null;

/** Loads the catalogue once at start-up (never throws); colours and labels follow it. */
export async function loadKinds(): Promise<void> {
  if (!hasRoute('/api/kinds', false)) return;
  try {
    catalog = await get<KindCatalog>('/api/kinds');
  } catch {
    catalog = null;
    return;
  }
  for (const k of catalog.kinds) KIND_COLORS[k.code] = k.colour;
  setKindNames(Object.fromEntries(catalog.kinds.map((k) => [k.code, { zh: k.zh, en: k.en }])));
}

/** The kinds to offer in selectors, in the profile's order. */
export function kindCodes(): string[] {
  return catalog?.kinds.length ? catalog.kinds.map((k) => k.code) : CORE;
}

/** The four kinds a grid lead's summary lists: every declared kind but `other`. */
export function serviceKinds(): string[] {
  return kindCodes().filter((k) => k !== 'other');
}

export function kindDef(code: string): KindDef | undefined {
  return catalog?.kinds.find((k) => k.code === code);
}

/** The profile's label ("proxy: restaurants counted as canteens (…)"), or null when strict. */
export function profileLabel(): string | null {
  return catalog?.label ?? null;
}

export function profileName(): string | null {
  return catalog?.profile.name ?? null;
}
