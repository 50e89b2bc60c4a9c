/**
 * Polygon drawing and boundary editing on the map with terra-draw (loaded on first use so the
 * initial bundle stays small). Keeps its own undo/redo history of committed states: every
 * finished polygon, vertex drag or deletion pushes a snapshot.
 */
import type { Map as MlMap } from 'maplibre-gl';
import type { Feature, Polygon } from 'geojson';
import type { TerraDraw, GeoJSONStoreFeatures } from 'terra-draw';

export type DrawnPolygon = Feature<Polygon, { id: string }>;

export interface DrawController {
  /** Start drawing a new polygon (`polygon` mode). */
  drawPolygon(): void;
  /** Switch to editing (select mode: drag vertices, midpoints add vertices). */
  edit(): void;
  /** Replace the drawing with the given polygons (e.g. an existing grid boundary) and edit them. */
  load(polys: Polygon[]): void;
  polygons(): DrawnPolygon[];
  undo(): boolean;
  redo(): boolean;
  canUndo(): boolean;
  canRedo(): boolean;
  clear(): void;
  stop(): void;
  active(): boolean;
}

export async function createDraw(map: MlMap, onChange: (polys: DrawnPolygon[]) => void): Promise<DrawController> {
  const [{ TerraDraw, TerraDrawPolygonMode, TerraDrawSelectMode }, { TerraDrawMapLibreGLAdapter }] = await Promise.all([
    import('terra-draw'),
    import('terra-draw-maplibre-gl-adapter'),
  ]);
  const draw: TerraDraw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawPolygonMode({
        styles: { fillColor: '#ff7f00', fillOpacity: 0.25, outlineColor: '#ff7f00', outlineWidth: 2 },
      }),
      new TerraDrawSelectMode({
        flags: {
          polygon: {
            feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } },
          },
        },
        styles: { selectedPolygonColor: '#ff7f00', selectedPolygonOutlineColor: '#d94801', selectedPolygonFillOpacity: 0.3 },
      }),
    ],
  });
  draw.start();
  let started = true;

  const history: GeoJSONStoreFeatures[][] = [];
  let cursor = -1;
  let restoring = false;

  const polygons = (): DrawnPolygon[] =>
    draw
      .getSnapshot()
      .filter((f) => f.geometry.type === 'Polygon' && (f.geometry.coordinates[0]?.length ?? 0) >= 4)
      .map((f) => ({ type: 'Feature', id: String(f.id), geometry: f.geometry as Polygon, properties: { id: String(f.id) } }));

  const key = (feats: GeoJSONStoreFeatures[]) => JSON.stringify(feats.map((f) => [f.id, f.geometry.coordinates]));
  const commit = () => {
    if (restoring) return;
    const snap = structuredClone(draw.getSnapshot().filter((f) => f.geometry.type === 'Polygon'));
    // Finishing a polygon also deletes terra-draw's guide points ('change' of type delete): a
    // state equal to the current one is not a new step of the history.
    if (key(snap) === key(history[cursor] ?? [])) {
      onChange(polygons());
      return;
    }
    history.splice(cursor + 1);
    history.push(snap);
    cursor = history.length - 1;
    onChange(polygons());
  };

  const restore = (i: number) => {
    restoring = true;
    draw.clear();
    const feats = history[i] ?? [];
    if (feats.length) draw.addFeatures(structuredClone(feats));
    restoring = false;
    cursor = i;
    onChange(polygons());
  };

  draw.on('finish', () => commit());
  // Vertex drags, deletions and moves in select mode arrive as committed changes.
  draw.on('change', (_ids, type) => {
    if (type === 'delete' && !restoring) commit();
  });
  history.push([]);
  cursor = 0;

  return {
    drawPolygon() {
      if (!started) {
        draw.start();
        started = true;
      }
      draw.setMode('polygon');
    },
    edit() {
      draw.setMode('select');
    },
    load(polys) {
      draw.clear();
      draw.setMode('select');
      draw.addFeatures(
        polys.map((g) => ({ type: 'Feature', geometry: g, properties: { mode: 'polygon' } }) as GeoJSONStoreFeatures),
      );
      commit();
    },
    polygons,
    undo() {
      if (cursor <= 0) return false;
      restore(cursor - 1);
      return true;
    },
    redo() {
      if (cursor >= history.length - 1) return false;
      restore(cursor + 1);
      return true;
    },
    canUndo: () => cursor > 0,
    canRedo: () => cursor < history.length - 1,
    clear() {
      draw.clear();
      commit();
    },
    stop() {
      if (started) draw.stop();
      started = false;
    },
    active: () => started,
  };
}
