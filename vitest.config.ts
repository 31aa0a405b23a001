import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
    plugins: [{
        // Same as esbuild's `text` loader in scripts/build.mjs: templates are imported as strings.
        name: 'html-as-text',
        load(id) {
            return id.endsWith('.html') ? `export default ${JSON.stringify(readFileSync(id, 'utf8'))};` : null;
        },
    }],
    // As esbuild's `define` in scripts/build.mjs and scripts/build-server.mjs.
    define: { __ENSEMBLE_VERSION__: JSON.stringify(version) },
    test: {
        include: ['tests/**/*.test.ts'],
        exclude: ['tests/e2e/**', 'node_modules/**'],
        environment: 'jsdom',
    },
});
