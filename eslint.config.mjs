import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The feature folders under src/features/: each is a room of its own. */
const FEATURES = ['profiles', 'images', 'bridge'];
/** An import (relative, as the code writes them) of one of `names`' folders, from anywhere under src/features/. */
const featureImport = (names) => `^(\\.\\./)+(features/)?(${names.join('|')})(/|$)`;

/** A feature never imports another: what two features share lives in src/core/ (or src/shared/). */
const featureRooms = FEATURES.map((own) => ({
    files: [`src/features/${own}/**/*.ts`],
    rules: {
        'no-restricted-imports': ['error', { patterns: [{
            regex: featureImport(FEATURES.filter((f) => f !== own)),
            message: 'A feature never imports another feature: share it through src/core/ or src/shared/ (see docs/ARCHITECTURE.md).',
        }] }],
    },
}));

export default tseslint.config(
    { ignores: ['dist/', 'server/dist/', 'node_modules/', 'coverage/'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', URL: 'readonly', performance: 'readonly' } },
        rules: {
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
        },
    },
    {
        // Feature code reaches SillyTavern only through src/host.
        files: ['src/features/**/*.ts', 'src/settings/**/*.ts', 'src/shared/**/*.ts'],
        rules: {
            'no-restricted-globals': ['error', 'document', 'window', '$', 'jQuery', 'SillyTavern', 'eventSource', 'toastr'],
            'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='globalThis']", message: 'Use the Host adapter in src/host/.' }],
        },
    },
    ...featureRooms,
    {
        // The floors below the features (settings, the connection core, the host adapter, protocol, shared) never import one.
        files: ['src/settings/**/*.ts', 'src/core/**/*.ts', 'src/host/**/*.ts', 'src/protocol/**/*.ts', 'src/shared/**/*.ts'],
        rules: {
            'no-restricted-imports': ['error', { patterns: [{
                regex: '(^|/)features(/|$)',
                message: 'Only src/app.ts starts features; this folder never imports one (see docs/ARCHITECTURE.md).',
            }] }],
        },
    },
    {
        files: ['**/*.mjs'],
        languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', URL: 'readonly', performance: 'readonly', Buffer: 'readonly', TextDecoder: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly' } },
    },
    {
        // The bridge server, its tests and scripts run in Node.
        files: ['server/**/*.ts', 'tests/server/**/*.ts', 'bench/**/*.mjs', 'scripts/**/*.mjs'],
        languageOptions: { globals: { Buffer: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', NodeJS: 'readonly' } },
    },
    {
        // Code passed to page.evaluate() runs inside SillyTavern's page.
        files: ['tests/e2e/**/*.mjs', 'bench/**/*.mjs'],
        languageOptions: { globals: { SillyTavern: 'readonly', window: 'readonly', document: 'readonly', getComputedStyle: 'readonly', FormData: 'readonly', File: 'readonly', Response: 'readonly', TransformStream: 'readonly', TextEncoder: 'readonly', localStorage: 'readonly' } },
    },
);
