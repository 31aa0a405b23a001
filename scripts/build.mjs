// Bundles src/ into dist/index.js, the file manifest.json points ST at.
// ST's own modules are imported at run time by path (see src/host/st-modules.ts), so nothing of ST is bundled.
import { build } from 'esbuild';

await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outfile: 'dist/index.js',
    minify: true,
    legalComments: 'eof',
    loader: { '.html': 'text' },
    logLevel: 'warning',
});
