/**
 * One label per grid. A grid without a drawn boundary is the union of its buildings'
 * footprints, so labelling the fill layer would repeat the code on every building. Instead,
 * after tiles load, the grid features in view are grouped by id and one point is placed at the
 * centre of each grid's largest part (a GeoJSON source, `grid-labels`).
 */
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import type { Feature, Point, Position } from 'geojson';
import { lang, onLangChange } from '../i18n';
import { debounce } from '../ui/dom';

function ringArea(r: Position[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] + r[i][0]) * (r[j][1] - r[i][1]);
  return Math.abs(a / 2);
}

/** Area-weighted centroid of a ring (falls back to its first vertex for degenerate rings). */
function ringCentroid(r: Position[]): Position {
  let x = 0, y = 0, a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const f = r[j][0] * r[i][1] - r[i][0] * r[j][1];
    x += (r[j][0] + r[i][0]) * f;
    y += (r[j][1] + r[i][1]) * f;
    a += f;
  }
  return a === 0 ? r[0] : [x / (3 * a), y / (3 * a)];
}

export function installGridLabels(map: MlMap, sourceLayer: string): void {
  const update = () => {
    if (!map.getSource('grids')) return;
    const best = new Map<string, { area: number; at: Position; props: Record<string, unknown> }>();
    for (const f of map.querySourceFeatures('grids', { sourceLayer })) {
      const id = String(f.properties?.id ?? f.id ?? '');
      const g = f.geometry;
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
      for (const p of polys) {
        const area = ringArea(p[0]);
        const cur = best.get(id);
        if (!cur || area > cur.area) best.set(id, { area, at: ringCentroid(p[0]), props: f.properties ?? {} });
      }
    }
    const suffix = lang() === 'zh-CN' ? ' 户' : ' hh';
    const features: Feature<Point>[] = [...best.entries()].map(([id, b]) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: b.at },
      properties: { id, households: b.props.households, label: `${String(b.props.code ?? b.props.name ?? id)}\n${String(b.props.households ?? '')}${suffix}` },
    }));
    map.getSource<GeoJSONSource>('grid-labels')?.setData({ type: 'FeatureCollection', features });
  };
  const later = debounce(update, 200);
  map.on('moveend', later);
  map.on('sourcedata', (e) => e.sourceId === 'grids' && e.isSourceLoaded && later());
  onLangChange(update);
}
