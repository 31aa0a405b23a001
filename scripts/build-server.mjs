// Bundles server/src into server/dist/main.js for `npm start`. npm packages stay external: they are
// installed dependencies (hono, @hono/node-server, ws, zod), resolved from node_modules at run time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** The project root, whatever the working directory (`npx ensemble-bridge` may run from anywhere). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVER_MAIN = path.join(ROOT, 'server', 'dist', 'main.js');

export async function buildServer() {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    await build({
        absWorkingDir: ROOT,
        entryPoints: ['server/src/main.ts'],
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        outfile: SERVER_MAIN,
        sourcemap: true,
        define: { __ENSEMBLE_VERSION__: JSON.stringify(version) },
        logLevel: 'warning',
    });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildServer();
