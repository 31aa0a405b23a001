// Bundles server/src into server/dist/main.js for `npm start`. npm packages stay external: they are
// installed dependencies (hono, @hono/node-server, ws, zod), resolved from node_modules at run time.
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export async function buildServer() {
    await build({
        entryPoints: ['server/src/main.ts'],
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        outfile: 'server/dist/main.js',
        sourcemap: true,
        logLevel: 'warning',
    });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildServer();
