import { defineConfig } from 'vite';

/**
 * The web console: built by `npm run build` into dist/console, served by the API under /console
 * (apps/api/src/console). No inline script (the CSP forbids it): the module preload polyfill is off, every
 * modern browser has modulepreload. The manifest tells the API where a build is.
 */
export default defineConfig({
  base: '/console/',
  publicDir: false,
  build: {
    outDir: '../../dist/console',
    emptyOutDir: true,
    manifest: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: true,
  },
});
