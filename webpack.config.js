/**
 * One webpack compilation for the three apps (`nest build`): the libraries are compiled once and the
 * build takes about as long as one app's. Nest's defaults (ts-loader, tsconfig paths, node_modules
 * external, type check, CLI plugins from nest-cli.json) are kept; only entries and output change.
 */
const APPS = ['api', 'worker', 'cli'];

module.exports = (defaults, webpack) => ({
  ...defaults,
  entry: Object.fromEntries(APPS.map((app) => [`apps/${app}/main`, `./apps/${app}/src/main.ts`])),
  // compareBeforeEmit off: every build rewrites the bundles, so their time tells scripts/run.js they are fresh.
  output: { ...defaults.output, filename: '[name].js', compareBeforeEmit: false },
  plugins: [
    ...defaults.plugins,
    // The CLI is the package's bin: its shebang must be the bundle's first line.
    new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true, test: /^apps\/cli\// }),
  ],
});
