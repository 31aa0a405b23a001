// Bundles src/ into dist/index.js, the file manifest.json points ST at.
// ST's own modules are imported at run time by path (see src/host/st-modules.ts), so nothing of ST is bundled.
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

// The version lives in package.json only: it is put into the bundle here, and manifest.json (which ST reads) follows it.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const manifest = JSON.parse(readFileSync('manifest.json', 'utf8'));
if (manifest.version !== version) writeFileSync('manifest.json', `${JSON.stringify({ ...manifest, version }, null, 4)}\n`);

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
    define: { __ENSEMBLE_VERSION__: JSON.stringify(version) },
    logLevel: 'warning',
});
