declare const __ENSEMBLE_VERSION__: string;

/**
 * Ensemble's version, from package.json: esbuild's `define` puts it in at build time (scripts/build.mjs,
 * scripts/build-server.mjs), and vitest.config.ts does the same for tests.
 */
export const VERSION: string = __ENSEMBLE_VERSION__;
