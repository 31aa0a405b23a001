import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
        languageOptions: { globals: { SillyTavern: 'readonly', window: 'readonly', document: 'readonly', localStorage: 'readonly', getComputedStyle: 'readonly', FormData: 'readonly', File: 'readonly' } },
    },
);
