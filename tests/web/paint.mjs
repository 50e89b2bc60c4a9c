// First meaningful paint of the gridmap web map, measured in headless Chromium (playwright-core
// driving Debian's /usr/bin/chromium, launched like tests/web/e2e.mjs and shared/tools/screenshot.mjs).
//
// Usage: node tests/web/paint.mjs BASE_URL [--runs 5] [--limit-ms 2000] [--shot OUT.png] [--json] [--trace]
//
// Each run opens the page in a fresh browser context (empty HTTP cache) and measures, from the start
// of navigation (performance.timeOrigin):
//   paint  the first frame MapLibre renders with the `buildings` and `grids` sources fully loaded
//          for the view and at least one building or grid drawn (queryRenderedFeatures on that frame);
//   idle   the first `idle` event (every tile, glyph and font of the view loaded and drawn).
// The hook is installed before any page script runs (a setter on `window.map`), so the app needs no
// test code; the app's own `gridmap:*` performance marks are reported alongside when present.
// --trace prints every request of the last run (start and end, ms after navigation start).
// Prints one line per run, then `paint median N ms` and a JSON summary; exits 1 when the median
// paint is over --limit-ms (default 2000), when a run never paints, or on a page error (console
// error, HTTP >= 400, failed request, request to a non-loopback host).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
const opt = { runs: 5, limit: 2000, shot: null, json: false, timeout: 30000, trace: false };
const pos = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const next = () => {
    if (i + 1 >= args.length) usage(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--runs') opt.runs = parseInt(next(), 10);
  else if (a === '--limit-ms') opt.limit = parseInt(next(), 10);
  else if (a === '--shot') opt.shot = next();
  else if (a === '--timeout') opt.timeout = parseInt(next(), 10);
  else if (a === '--json') opt.json = true;
  else if (a === '--trace') opt.trace = true;
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else pos.push(a);
}
function usage(msg) {
  if (msg) console.error(`paint.mjs: ${msg}`);
  console.error('usage: node tests/web/paint.mjs BASE_URL [--runs N] [--limit-ms MS] [--shot OUT.png] [--timeout MS] [--json] [--trace]');
  process.exit(2);
}
if (pos.length !== 1 || !(opt.runs > 0) || !(opt.limit > 0) || !(opt.timeout > 0)) usage();
const base = pos[0].replace(/\/$/, '');

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader', '--ignore-gpu-blocklist'];

/** Runs in the page before its scripts: catches `window.map` as the app sets it and watches renders. */
function hook() {
  const out = (window.__paint = { paint: null, idle: null, load: null, drawn: 0, renders: 0, firstRender: null, sources: {} });
  let map;
  Object.defineProperty(window, 'map', {
    configurable: true,
    get: () => map,
    set(m) {
      map = m;
      const sources = ['buildings', 'grids'];
      const layers = ['building-fill', 'grid-fill'];
      const onRender = () => {
        out.renders++;
        out.firstRender ??= performance.now();
        const present = sources.filter((s) => m.getSource(s));
        if (!present.length || !present.every((s) => m.isSourceLoaded(s))) return;
        const ls = layers.filter((l) => m.getLayer(l));
        const drawn = ls.length ? m.queryRenderedFeatures({ layers: ls }).length : 0;
        if (!drawn) return;
        out.paint = performance.now();
        out.drawn = drawn;
        m.off('render', onRender);
      };
      m.on('render', onRender);
      // When each source first has every tile of the view loaded.
      m.on('sourcedata', (e) => {
        const id = e.sourceId;
        if (id && !(id in out.sources) && m.getSource(id)?.type === 'vector' && m.isSourceLoaded(id)) out.sources[id] = Math.round(performance.now());
      });
      m.once('load', () => (out.load = performance.now()));
      m.once('idle', () => (out.idle = performance.now()));
    },
  });
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: FLAGS, headless: true });
const runs = [];
let failed = false;
for (let r = 0; r < opt.runs; r++) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
  const problems = [];
  const requests = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname)) {
      problems.push(`BLOCKED external ${u.href}`);
      return route.abort();
    }
    return route.continue();
  });
  context.on('request', (q) => requests.push(new URL(q.url()).pathname));
  const finished = [];
  if (opt.trace && r === opt.runs - 1) context.on('requestfinished', (q) => finished.push({ url: new URL(q.url()).pathname, t: q.timing() }));
  await context.addInitScript(hook);
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (q) => q.status() >= 400 && problems.push(`HTTP ${q.status()} ${q.url()}`));
  page.on('requestfailed', (q) => !(q.failure()?.errorText ?? '').includes('ERR_ABORTED') && problems.push(`request failed ${q.url()}`));
  let res = null;
  try {
    await page.goto(`${base}/`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__paint?.paint !== null && window.__paint?.idle !== null, null, { timeout: opt.timeout, polling: 50 });
    res = await page.evaluate(() => ({
      ...window.__paint,
      marks: Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('gridmap:')).map((m) => [m.name, Math.round(m.startTime)])),
      fonts: [...document.fonts].filter((f) => f.status === 'loaded').length,
    }));
  } catch (e) {
    problems.push(`no paint within ${opt.timeout} ms: ${e.message.split('\n')[0]}`);
    res = await page.evaluate(() => window.__paint).catch(() => null);
  }
  if (opt.shot && r === opt.runs - 1) await page.screenshot({ path: opt.shot }).catch(() => undefined);
  if (finished.length) {
    const origin = await page.evaluate(() => performance.timeOrigin);
    for (const { url, t } of finished.sort((a, b) => a.t.startTime - b.t.startTime)) {
      console.log(`  ${String(Math.round(t.startTime - origin)).padStart(5)} ${String(Math.round(t.startTime - origin + t.responseEnd)).padStart(5)} ms  ${url}`);
    }
  }
  await context.close();
  const kinds = {};
  for (const p of requests) {
    const k = p.startsWith('/tiles/') ? (p.endsWith('.json') ? 'tilejson' : 'tile') : p.startsWith('/fonts/') ? 'font' : p.startsWith('/assets/') ? 'asset' : 'other';
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  const run = {
    paint_ms: res?.paint != null ? Math.round(res.paint) : null,
    load_ms: res?.load != null ? Math.round(res.load) : null,
    idle_ms: res?.idle != null ? Math.round(res.idle) : null,
    drawn: res?.drawn ?? 0,
    marks: { ...(res?.marks ?? {}), ...(res?.firstRender != null ? { 'first render': Math.round(res.firstRender) } : {}) },
    sources: res?.sources ?? {},
    requests: kinds,
    problems,
  };
  runs.push(run);
  if (problems.length || run.paint_ms === null) failed = true;
  console.log(`run ${r + 1}: paint ${run.paint_ms} ms, map load ${run.load_ms} ms, idle ${run.idle_ms} ms, ${run.drawn} features drawn, requests ${JSON.stringify(kinds)}\n  marks ${JSON.stringify(run.marks)}\n  sources loaded ${JSON.stringify(run.sources)}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
}
await browser.close();

const median = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : Math.round((v[v.length / 2 - 1] + v[v.length / 2]) / 2)) : null;
};
const summary = { paint_median_ms: median(runs.map((r) => r.paint_ms)), idle_median_ms: median(runs.map((r) => r.idle_ms)), limit_ms: opt.limit, runs: runs.length };
const ok = !failed && summary.paint_median_ms !== null && summary.paint_median_ms <= opt.limit;
console.log(`paint median ${summary.paint_median_ms} ms, idle median ${summary.idle_median_ms} ms (limit ${opt.limit} ms, ${runs.length} runs)`);
console.log(JSON.stringify(opt.json ? { ok, ...summary, detail: runs } : { ok, ...summary }));
console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
process.exit(ok ? 0 : 1);
