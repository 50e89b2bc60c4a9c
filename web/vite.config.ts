// Vite build of the gridmap web map. Output goes to `dist/`, which is committed so that the
// `gridmap` binary can embed it without an npm step. Every asset is local (no CDN).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // MapLibre alone is ~1 MB minified; split it into its own chunk so the app chunk stays small.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        manualChunks: (id) => (id.includes('node_modules/maplibre-gl') ? 'maplibre' : undefined),
      },
    },
  },
  server: {
    // `GRIDMAP_URL=http://127.0.0.1:8080 npm run dev` proxies the API to a running gridmap.
    proxy: Object.fromEntries(
      ['/api', '/collections', '/tiles', '/openapi.json', '/conformance', '/health'].map((p) => [
        p,
        { target: process.env.GRIDMAP_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
      ]),
    ),
  },
});
