// End-to-end scenarios of the gridmap web map in headless Chromium (playwright-core driving
// Debian's /usr/bin/chromium). Usage: node e2e.mjs BASE_URL [scenario...]
// Every scenario fails on a console error, an uncaught exception, an HTTP response >= 400, a
// failed request or any request to a non-loopback host. Prints `N passed, N failed`.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const base = process.argv[2];
const only = new Set(process.argv.slice(3));
if (!base) {
  console.error('usage: node e2e.mjs BASE_URL [scenario...]');
  process.exit(2);
}
const shots = process.env.GRIDMAP_SCREENSHOTS || '/tmp/gridmap-web-shots';
mkdirSync(shots, { recursive: true });

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader', '--ignore-gpu-blocklist'];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: FLAGS, headless: true });

class Failure extends Error {}
/** Pages opened by the running scenario: closed, and their problems collected, after it. */
let opened = [];
/** `msg` may be a function (possibly async) so that reading the page for the message only
 * happens on failure: a locator that matches nothing would otherwise wait for its timeout. */
const assert = async (cond, msg) => {
  if (!cond) throw new Failure(typeof msg === 'function' ? await msg() : msg);
};

/** Opens the app in a fresh context and records everything that counts as a page error. */
/** `as`: a demo account (`planner`, `department`, ...) logged in before the page loads, as a
 * user who logged in earlier from this browser (cookie + the app's session flag). */
async function openPage({ locale = 'zh-CN', hash = '', as = null } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1366, height: 860 }, acceptDownloads: true });
  if (as) {
    const r = await context.request.post(`${base}/api/login`, { data: { user: as, password: `${as}-demo` } });
    if (r.status() !== 200) throw new Failure(`login as ${as}: HTTP ${r.status()} ${await r.text()}`);
    await context.addInitScript(() => localStorage.setItem('gridmap.session', '1'));
  }
  const problems = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname)) {
      problems.push(`BLOCKED external ${u.href}`);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
  page.on('requestfailed', (r) => {
    const err = r.failure()?.errorText ?? '';
    if (!err.includes('ERR_ABORTED')) problems.push(`request failed ${r.url()}: ${err}`);
  });
  opened.push({ context, problems, page });
  await page.goto(`${base}/${hash}`, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.map?.loaded === 'function' && window.map.loaded(), null, { timeout: 30000 });
  await waitIdle(page);
  return { page, context, problems };
}

/** Waits until the MapLibre map fires `idle` (tiles loaded, no animation). */
async function waitIdle(page, timeout = 30000) {
  await page.evaluate(
    (ms) =>
      new Promise((resolve, reject) => {
        const m = window.map;
        const timer = setTimeout(() => reject(new Error('map did not go idle')), ms);
        m.once('idle', () => {
          clearTimeout(timer);
          resolve();
        });
        m.triggerRepaint();
      }),
    timeout,
  );
}

const rendered = (page, layer) =>
  page.evaluate((l) => (window.map.getLayer(l) ? window.map.queryRenderedFeatures({ layers: [l] }).length : -1), layer);

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

async function api(page, p, init) {
  return page.evaluate(
    async ([p, init]) => {
      const r = await fetch(p, { headers: { Accept: 'application/json' }, ...init });
      return { status: r.status, body: r.status < 300 && r.status !== 204 ? await r.json() : null };
    },
    [p, init],
  );
}

async function documented(page, route) {
  const r = await api(page, '/openapi.json');
  return Object.keys(r.body?.paths ?? {}).includes(route);
}

/** Zooms to the first grid (by code) so scenarios work on a known, populated area. */
async function zoomToFirstGrid(page) {
  const grids = await api(page, '/api/grids?limit=10000');
  await assert(grids.status === 200 && grids.body.features.length > 0, `GET /api/grids gave ${grids.status} with no grids`);
  const f = [...grids.body.features].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)))[0];
  await page.evaluate((f) => {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const walk = (c) => (typeof c[0] === 'number' ? ((w = Math.min(w, c[0])), (e = Math.max(e, c[0])), (s = Math.min(s, c[1])), (n = Math.max(n, c[1]))) : c.forEach(walk));
    walk(f.geometry.coordinates);
    window.map.fitBounds([w, s, e, n], { padding: 40, duration: 0 });
  }, f);
  await waitIdle(page);
  return f;
}

async function tab(page, id) {
  await page.click(`#tab-${id}`);
  await waitIdle(page);
}

// ---------------------------------------------------------------- scenarios

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('map_loads_idle_with_buildings_and_grids', async () => {
  const o = await openPage();
  const g = await rendered(o.page, 'grid-fill');
  const bm = await rendered(o.page, 'bm-roads-minor');
  await shot(o.page, '01-planner-default');
  await assert(g > 0, `no grids rendered on the dataset extent (grid-fill: ${g})`);
  // Building footprints come in from zoom 13: look closer at the first grid.
  await zoomToFirstGrid(o.page);
  const b = await rendered(o.page, 'building-fill');
  await shot(o.page, '01b-planner-grid');
  await assert(b > 0, `no buildings rendered (building-fill: ${b})`);
  await assert(bm !== -1, 'basemap road layer missing');
  const attribution = await o.page.textContent('.maplibregl-ctrl-attrib');
  await assert(/OpenStreetMap/.test(attribution ?? ''), `attribution missing: ${attribution}`);
  await assert(!(await o.page.isVisible('#draw-start')) && !(await o.page.isVisible('#partition-run')), 'an anonymous visitor sees the planners\' edit controls');
  return o;
});

scenario('switching_language_relabels_the_interface', async () => {
  const o = await openPage({ locale: 'zh-CN' });
  const zh = await o.page.textContent('#tab-planner');
  await assert(zh === '网格规划', `zh-CN first for a Chinese browser, got "${zh}"`);
  await o.page.click('#lang-toggle');
  const en = await o.page.textContent('#tab-planner');
  const lang = await o.page.evaluate(() => document.documentElement.lang);
  await shot(o.page, '02-planner-english');
  await assert(en === 'Grids' && lang === 'en', `after switching: tab "${en}", lang ${lang}`);
  await o.page.click('#lang-toggle');
  await assert((await o.page.textContent('#tab-planner')) === '网格规划', 'switching back to Chinese failed');
  const o2 = await openPage({ locale: 'en-US' });
  const en2 = await o2.page.textContent('#tab-planner');
  await assert(en2 === 'Grids', `English browser should start in English, got "${en2}"`);
  return o;
});

scenario('drawing_a_grid_shows_its_household_count', async () => {
  const o = await openPage({ as: 'planner' });
  await zoomToFirstGrid(o.page);
  await o.page.click('#draw-start');
  await o.page.waitForFunction(() => window.map.getStyle().layers.some((l) => l.id.startsWith('td-')), null, { timeout: 10000 });
  const box = await o.page.locator('#map').boundingBox();
  const pts = [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]].map(([x, y]) => [box.x + box.width * x, box.y + box.height * y]);
  for (const [x, y] of pts) {
    await o.page.mouse.move(x, y, { steps: 4 });
    await o.page.mouse.click(x, y);
    await o.page.waitForTimeout(150);
  }
  await o.page.mouse.move(pts[0][0], pts[0][1], { steps: 4 });
  await o.page.mouse.click(pts[0][0], pts[0][1]);
  const cell = o.page.locator('.drawn-households').first();
  await cell.waitFor({ timeout: 15000 }).catch(() => undefined);
  const status = await o.page.locator('#draw-box .status').textContent().catch(() => '');
  await shot(o.page, '03-planner-drawing');
  const txt = (await cell.count()) ? await cell.textContent() : null;
  await assert(txt !== null, `no live statistics for the drawn polygon (${status || 'no status'})`);
  const n = Number(txt.replace(/[^\d]/g, ''));
  await assert(n > 0, `drawn polygon over a populated grid counts ${txt} households`);
  // Undo removes the polygon, redo restores it.
  await o.page.click('#draw-undo');
  await o.page.waitForFunction(() => !document.querySelector('.drawn-households'), null, { timeout: 5000 });
  await o.page.click('#draw-redo');
  await cell.waitFor({ timeout: 10000 });
  return o;
});

scenario('running_and_accepting_a_partition_updates_grids', async () => {
  const o = await openPage({ as: 'planner' });
  const communities = await api(o.page, '/api/communities?limit=10000');
  await o.page.waitForFunction(() => document.querySelectorAll('#partition-community option').length > 1, null, { timeout: 10000 }).catch(() => undefined);
  if (communities.body?.features?.length) {
    const first = communities.body.features[0];
    await o.page.selectOption('#partition-community', String(first.properties?.id ?? first.id)).catch(() => undefined);
  }
  await o.page.click('#partition-run');
  await o.page.waitForSelector('#partition-report, #view-planner .card .status-warn, #view-planner .card .status-error', { timeout: 120000 });
  const report = await o.page.locator('#partition-report').count();
  const status = await o.page.locator('#view-planner .card .status').last().textContent();
  await assert(report === 1, `no partition proposal: ${status}`);
  await waitIdle(o.page);
  const proposal = await rendered(o.page, 'proposal-fill');
  await shot(o.page, '04-partition-proposal');
  await assert(proposal > 0, 'the proposal layer shows no grids');
  await o.page.click('#partition-accept');
  await o.page.waitForSelector('#view-planner .status-ok, #view-planner .status-error', { timeout: 60000 });
  const ok = await o.page.locator('#view-planner .status-ok').count();
  await assert(ok > 0, async () => `accepting failed: ${await o.page.locator('#view-planner .status-error').first().textContent()}`);
  await waitIdle(o.page);
  await assert((await rendered(o.page, 'grid-fill')) > 0, 'no grids after accepting');
  return o;
});

/** The facility kind with the most facilities, so that coverage is not trivially 0. */
async function busiestKind(page) {
  const r = await api(page, '/api/facilities?limit=10000');
  const counts = {};
  for (const f of r.body?.features ?? []) counts[f.properties.kind] = (counts[f.properties.kind] ?? 0) + 1;
  const core = ['service_station', 'canteen', 'reading_room', 'outreach_point', 'other'];
  return Object.entries(counts).filter(([k]) => core.includes(k)).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other';
}

/**
 * The facility kind with the fewest (but some) facilities: moving one of them far away must
 * change coverage, whereas in a kind with dozens of facilities (77 canteens in Monaco) another
 * one may cover the same buildings and a move legitimately changes nothing.
 */
async function sparsestKind(page) {
  const r = await api(page, '/api/facilities?limit=10000');
  const counts = {};
  for (const f of r.body?.features ?? []) counts[f.properties.kind] = (counts[f.properties.kind] ?? 0) + 1;
  const core = ['service_station', 'canteen', 'reading_room', 'outreach_point', 'other'];
  return Object.entries(counts).filter(([k]) => core.includes(k)).sort((a, b) => a[1] - b[1])[0]?.[0] ?? 'other';
}

async function covPct(page) {
  return Number(((await page.textContent('#cov-pct')) ?? '').replace(/[^\d.]/g, ''));
}

scenario('changing_coverage_minutes_changes_the_percentage', async () => {
  const o = await openPage({ hash: '#coverage' });
  const kind = await busiestKind(o.page);
  await o.page.selectOption('#cov-kind', kind);
  await o.page.locator('#cov-minutes').fill('5');
  await o.page.click('#cov-run');
  await o.page.waitForSelector('#cov-pct, #view-coverage > .status-warn', { timeout: 60000 });
  await assert(await o.page.locator('#cov-pct').count(), async () => `coverage failed: ${await o.page.locator('#view-coverage > .status').textContent()}`);
  const p5 = await covPct(o.page);
  await o.page.locator('#cov-minutes').fill('30');
  await o.page.waitForFunction((p) => Number(document.querySelector('#cov-pct')?.textContent?.replace(/[^\d.]/g, '')) !== p, p5, { timeout: 60000 }).catch(() => undefined);
  const p30 = await covPct(o.page);
  await waitIdle(o.page);
  const colored = await rendered(o.page, 'coverage-fill');
  await shot(o.page, '05-coverage');
  await assert(p30 > p5, `${kind}: coverage at 30 min (${p30}%) should exceed 5 min (${p5}%)`);
  await assert(colored > 0, 'no buildings coloured by walking minutes');
  return o;
});

scenario('dragging_a_facility_in_what_if_shows_a_delta', async () => {
  const o = await openPage({ hash: '#coverage', as: 'department' });
  const kind = await sparsestKind(o.page);
  await o.page.selectOption('#cov-kind', kind);
  await o.page.locator('#cov-minutes').fill('10');
  await o.page.click('#cov-run');
  await o.page.waitForSelector('#cov-pct, #view-coverage > .status-warn', { timeout: 60000 });
  await o.page.check('#cov-whatif');
  const marker = o.page.locator('.whatif-marker').first();
  await marker.waitFor({ timeout: 15000 });
  const mb = await marker.boundingBox();
  const mapBox = await o.page.locator('#map').boundingBox();
  const from = [mb.x + mb.width / 2, mb.y + mb.height / 2];
  const to = [Math.min(mapBox.x + mapBox.width - 20, Math.max(mapBox.x + 20, from[0] + (from[0] > mapBox.x + mapBox.width / 2 ? -300 : 300))), from[1]];
  await o.page.mouse.move(...from);
  await o.page.mouse.down();
  await o.page.mouse.move(...to, { steps: 12 });
  await o.page.mouse.up();
  await o.page.waitForFunction(() => document.querySelector('#whatif-result')?.dataset.delta !== undefined || document.querySelector('#view-coverage > .status-warn:not([hidden])'), null, { timeout: 60000 });
  const delta = await o.page.evaluate(() => document.querySelector('#whatif-result')?.dataset.delta);
  const text = await o.page.textContent('#whatif-result');
  await shot(o.page, '06-whatif');
  await assert(delta !== undefined, async () => `no what-if result: ${await o.page.locator('#view-coverage > .status').textContent()}`);
  await assert(Number(delta) !== 0, `moving a ${kind} 300 px changed nothing: ${text}`);
  return o;
});

scenario('grid_lead_sees_only_their_grid', async () => {
  const o = await openPage();
  if (await documented(o.page, '/api/login')) {
    const user = process.env.GRIDMAP_LEAD_USER || 'grid_lead';
    const password = process.env.GRIDMAP_LEAD_PASSWORD || 'grid_lead-demo';
    await o.page.click('#login-btn');
    await o.page.fill('#login-user', user);
    await o.page.fill('#login-password', password);
    await o.page.click('#login-submit');
    await o.page.waitForSelector('#user-name', { timeout: 10000 });
    const me = await api(o.page, '/api/me');
    await assert(me.status === 200 && me.body.role === 'grid_lead', `logged in as ${JSON.stringify(me.body)}`);
    await o.page.waitForSelector('#lead-buildings tbody tr', { timeout: 30000 });
    const options = await o.page.$$eval('#lead-grid option', (os) => os.map((x) => x.value));
    await assert(options.length === me.body.grids.length && options.every((g) => me.body.grids.map(String).includes(g)), `grid lead sees grids ${options} but is assigned ${me.body.grids}`);
  } else {
    await tab(o.page, 'gridlead');
  }
  await o.page.waitForSelector('#lead-buildings tbody tr', { timeout: 30000 });
  const rows = await o.page.locator('#lead-buildings tbody tr').count();
  await o.page.waitForSelector('#lead-facilities, #lead-serving .status-warn', { timeout: 60000 });
  await waitIdle(o.page);
  await shot(o.page, '07-grid-lead');
  await assert(rows > 0, 'the grid lead view lists no buildings');
  const serving = await o.page.locator('#lead-facilities').count();
  await assert(serving === 1, async () => `serving facilities not shown: ${await o.page.locator('#lead-serving').textContent()}`);
  if (!(await documented(o.page, '/api/login'))) throw new Failure('auth (/api/login, /api/me) is not implemented yet: showing all grids');
  return o;
});

scenario('grid_lead_corrects_a_buildings_households_and_the_total_follows', async () => {
  const o = await openPage({ hash: '#gridlead', as: 'grid_lead' });
  await o.page.waitForSelector('#lead-buildings tbody tr .lead-correct', { timeout: 30000 });
  const total = async () => Number((await o.page.textContent('#lead-households')).replace(/[^0-9]/g, ''));
  const before = await total();
  const row = o.page.locator('#lead-buildings tbody tr').first();
  const id = await row.getAttribute('data-id');
  const was = (await api(o.page, `/api/buildings/${encodeURIComponent(id)}/counts`)).body;
  await row.locator('.lead-correct').click();
  await o.page.fill('#correct-households', String(was.households + 7));
  await o.page.fill('#correct-reason', '入户核实');
  await shot(o.page, '07b-grid-lead-correct');
  await o.page.click('#correct-save');
  await o.page.waitForFunction((want) => Number((document.querySelector('#lead-households')?.textContent ?? '').replace(/[^0-9]/g, '')) === want, before + 7, { timeout: 30000 })
    .catch(() => {});
  const after = await total();
  const now = (await api(o.page, `/api/buildings/${encodeURIComponent(id)}/counts`)).body;
  await assert(after === before + 7, async () => `grid total ${before} → ${after} after +7 on ${id}: ${await o.page.locator('#correct-form, #view-gridlead .status').first().textContent()}`);
  await assert(now.households === was.households + 7 && now.households_source === 'edited', `stored ${JSON.stringify(now)}`);
  // The map's grid label follows too (the grid tiles are fetched again, past the browser's cache).
  const grid = await o.page.inputValue('#lead-grid');
  const labelled = await o.page.waitForFunction(([g, want]) => (window.map.getSource('grid-labels')?._data?.features ?? window.map.querySourceFeatures('grid-labels'))
    .some((f) => String(f.properties?.id) === g && Number(f.properties?.households) === want), [grid, before + 7], { timeout: 15000 }).then(() => true, () => false);
  await assert(labelled, `the map still labels grid ${grid} with its old household count`);
  const hist = (await api(o.page, `/api/buildings/${encodeURIComponent(id)}/corrections`)).body;
  await assert(hist.entries?.[0]?.after?.reason === '入户核实', `history ${JSON.stringify(hist).slice(0, 300)}`);
  await shot(o.page, '07c-grid-lead-corrected');
  return o;
});

scenario('adding_and_deleting_a_facility_round_trips', async () => {
  const o = await openPage({ hash: '#facilities', as: 'planner' });
  const before = (await api(o.page, '/api/facilities?limit=10000')).body.features.length;
  await o.page.click('#fac-add');
  const box = await o.page.locator('#map').boundingBox();
  await o.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await o.page.selectOption('#fac-kind', 'canteen');
  await o.page.fill('#fac-name', 'e2e 幸福食堂');
  await o.page.fill('#fac-capacity', '40');
  await o.page.click('#fac-save');
  await o.page.waitForSelector('.toast-ok, #fac-form .status-error', { timeout: 15000 });
  const afterAdd = (await api(o.page, '/api/facilities?limit=10000')).body.features;
  const added = afterAdd.find((f) => f.properties.name === 'e2e 幸福食堂');
  await assert(afterAdd.length === before + 1 && added, async () => `after adding: ${afterAdd.length} facilities (was ${before}): ${await o.page.locator('#fac-form').textContent()}`);
  await waitIdle(o.page);
  await shot(o.page, '08-facilities');
  await o.page.click(`#fac-list li[data-id="${added.id}"]`);
  await o.page.waitForSelector('#fac-delete', { timeout: 10000 });
  await o.page.click('#fac-delete');
  await o.page.waitForFunction(() => !document.querySelector('#fac-delete'), null, { timeout: 15000 });
  const afterDel = (await api(o.page, '/api/facilities?limit=10000')).body.features.length;
  await assert(afterDel === before, `after deleting: ${afterDel} facilities (was ${before})`);
  return o;
});

scenario('siting_ranks_new_sites_and_accepting_one_adds_a_facility', async () => {
  const o = await openPage({ hash: '#siting', as: 'planner' });
  const kind = await sparsestKind(o.page);
  await o.page.selectOption('#site-kind', kind);
  await o.page.selectOption('#site-model', 'mclp');
  await o.page.fill('#site-add', '3');
  await o.page.fill('#site-minutes', '10');
  await o.page.fill('#site-sample', '300');
  await o.page.click('#site-run');
  await o.page.waitForSelector('#site-table, #view-siting > .status-error:not([hidden]), #view-siting > .status-warn:not([hidden])', { timeout: 90000 });
  await assert(await o.page.locator('#site-table').count(), async () => `siting failed: ${await o.page.locator('#view-siting > .status').textContent()}`);
  const rows = await o.page.locator('#site-table tbody tr').count();
  const markers = await o.page.locator('.site-marker').count();
  const pct = (await o.page.textContent('#site-pct')) ?? '';
  const [before, after] = pct.split('→').map((x) => Number(x.replace(/[^\d.]/g, '')));
  await o.page.click('#site-table tbody tr:first-child');
  await waitIdle(o.page);
  const outlined = await rendered(o.page, 'siting-newly-line');
  await shot(o.page, '09-siting');
  await assert(rows >= 1 && rows <= 3 && markers === rows, `${rows} ranked sites, ${markers} markers`);
  await assert(after >= before, `coverage fell from ${before}% to ${after}%`);
  await assert(outlined > 0 || after === before, `no newly covered building outlined near site 1 (${before}% → ${after}%)`);
  // accept the best site: it becomes a facility of the kind, then delete it again
  const ids0 = new Set((await api(o.page, '/api/facilities?limit=10000')).body.features.map((f) => String(f.id)));
  await o.page.click('#site-table tbody tr:first-child button');
  await o.page.waitForSelector('.toast-ok, .toast-error', { timeout: 15000 });
  const fs = (await api(o.page, '/api/facilities?limit=10000')).body.features;
  const added = fs.filter((f) => !ids0.has(String(f.id)));
  await assert(fs.length === ids0.size + 1 && added.length === 1 && added[0].properties.kind === kind, `accepting a site: ${fs.length} facilities (was ${ids0.size}): ${JSON.stringify(added.map((f) => f.properties))}`);
  // remove it again so later scenarios see the demo's facilities
  const del = await o.page.evaluate(async (id) => {
    const u = `/collections/facilities/items/${encodeURIComponent(id)}`;
    const g = await fetch(u, { headers: { Accept: 'application/geo+json' } });
    const r = await fetch(u, { method: 'DELETE', headers: { 'If-Match': g.headers.get('ETag') ?? '*' } });
    return r.status;
  }, String(added[0].id));
  await assert(del === 204 || del === 200, `deleting the accepted site: HTTP ${del}`);
  // candidates inside a rectangle drawn on the map: every new site lies inside it
  await o.page.selectOption('#site-source', 'area');
  await o.page.click('#site-area');
  const mb = await o.page.locator('#map').boundingBox();
  const [ax, ay, bx, by] = [mb.x + mb.width * 0.3, mb.y + mb.height * 0.3, mb.x + mb.width * 0.7, mb.y + mb.height * 0.7];
  await o.page.mouse.click(ax, ay);
  await o.page.mouse.click(bx, by);
  const rect = await o.page.evaluate(([a, b]) => [window.map.unproject(a).toArray(), window.map.unproject(b).toArray()], [[ax - mb.x, ay - mb.y], [bx - mb.x, by - mb.y]]);
  const job0 = await o.page.getAttribute('#site-result', 'data-job');
  await o.page.click('#site-run');
  await o.page.waitForFunction((j) => document.querySelector('#site-result')?.dataset.job !== j || document.querySelector('#view-siting > .status-error:not([hidden])'), job0, { timeout: 90000 });
  const inArea = await o.page.evaluate(() => [...document.querySelectorAll('.site-marker')].length);
  const sites = (await o.page.locator('#site-table tbody tr').count());
  await assert(sites >= 1 && inArea === sites, `area candidates: ${sites} sites, ${inArea} markers`);
  const [w, e] = [Math.min(rect[0][0], rect[1][0]), Math.max(rect[0][0], rect[1][0])];
  const [sth, nth] = [Math.min(rect[0][1], rect[1][1]), Math.max(rect[0][1], rect[1][1])];
  const res = await api(o.page, `/api/jobs/${await o.page.getAttribute('#site-result', 'data-job')}/results`);
  const out = (res.body?.sites ?? []).filter((x) => x.lon < w || x.lon > e || x.lat < sth || x.lat > nth);
  await assert(res.body?.sites?.length === sites && out.length === 0, `sites outside the drawn area: ${JSON.stringify(out)} (${JSON.stringify(res.body?.sites?.map((x) => [x.lon, x.lat]))})`);
  await o.page.selectOption('#site-source', 'sample');
  // closure: the weakest existing site is listed with its loss
  await o.page.selectOption('#site-model', 'closure');
  await o.page.fill('#site-add', '1');
  await o.page.click('#site-run');
  await o.page.waitForFunction(() => document.querySelector('#site-table th')?.textContent !== '#' || document.querySelectorAll('.site-marker.close').length > 0, null, { timeout: 90000 });
  await o.page.waitForSelector('.site-marker.close', { timeout: 90000 });
  await assert((await o.page.locator('.site-marker.close').count()) === 1, 'closure: one site to close');
  return o;
});

/** Clicks a print button and returns the downloaded PDF's name, size, page count and status line. */
async function downloadPdf(page, id) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click(`#${id}`)]);
  const file = await dl.path();
  const bytes = readFileSync(file);
  await page.waitForFunction((id) => /PDF|MB/.test(document.querySelector(`#${id}-status`)?.textContent ?? ''), id, { timeout: 10000 });
  // pages of the tree: every page object carries /Type /Page (krilla writes them uncompressed)
  const pages = (bytes.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) ?? []).length;
  return { name: dl.suggestedFilename(), size: bytes.length, head: bytes.subarray(0, 5).toString('latin1'), pages, status: await page.textContent(`#${id}-status`) };
}

scenario('print_buttons_fetch_the_atlas_and_coverage_report_as_pdf', async () => {
  const o = await openPage({ hash: '#planner', as: 'planner' });
  await o.page.waitForFunction(() => document.querySelectorAll('#partition-community option').length > 1, null, { timeout: 30000 });
  const community = await o.page.$eval('#partition-community', (s) => s.options[1].value);
  await o.page.selectOption('#partition-community', community);
  const atlas = await downloadPdf(o.page, 'atlas-pdf');
  const grids = await api(o.page, `/api/grids?limit=10000`);
  const inCommunity = grids.body.features.filter((f) => f.properties.community === community).length;
  await shot(o.page, '12-print-atlas');
  await assert(atlas.head === '%PDF-' && atlas.name === `grid-atlas-${community}.pdf`, `atlas download: ${JSON.stringify(atlas)}`);
  await assert(atlas.pages >= inCommunity + 1, `atlas of ${community}: ${atlas.pages} pages for ${inCommunity} grids`);
  await tab(o.page, 'coverage');
  const cov = await downloadPdf(o.page, 'cov-pdf');
  await assert(cov.head === '%PDF-' && /^coverage-.*\.pdf$/.test(cov.name) && cov.pages >= 2, `coverage report download: ${JSON.stringify(cov)}`);
  const lead = await openPage({ hash: '#gridlead', as: 'grid_lead' });
  await lead.page.waitForSelector('#lead-buildings tbody tr', { timeout: 30000 });
  const one = await downloadPdf(lead.page, 'lead-pdf');
  await shot(lead.page, '13-print-grid');
  await assert(one.head === '%PDF-' && one.pages >= 2 && one.pages < atlas.pages + 100, `grid lead's PDF: ${JSON.stringify(one)}`);
  return o;
});

// ---------------------------------------------------------------- runner

let passed = 0;
let failed = 0;
for (const s of scenarios) {
  if (only.size && !only.has(s.name)) continue;
  const t0 = Date.now();
  let error = null;
  opened = [];
  try {
    await s.fn();
  } catch (e) {
    error = e instanceof Failure ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  }
  const problems = opened.flatMap((x) => x.problems);
  if (!error && problems.length) error = `page problems:\n    ${problems.slice(0, 8).join('\n    ')}`;
  else if (error && problems.length) error += `\n    page problems: ${problems.slice(0, 5).join(' | ')}`;
  if (error) for (const [i, x] of opened.entries()) await x.page.screenshot({ path: path.join(shots, `FAIL-${s.name}${i ? `-${i}` : ''}.png`) }).catch(() => undefined);
  for (const x of opened) await x.context.close().catch(() => undefined);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (error) {
    failed++;
    console.log(`FAIL ${s.name} (${secs} s)\n    ${error}`);
  } else {
    passed++;
    console.log(`ok   ${s.name} (${secs} s)`);
  }
}
await browser.close();
console.log(`screenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
