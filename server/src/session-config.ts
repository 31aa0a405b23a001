import fs from 'node:fs';
import path from 'node:path';
import { EnsembleError } from '../../src/shared/errors';
import * as z from '../../src/shared/zod';
import type { StartOptions } from './server';
import type { StCredentials } from './st-sessions';

export const CONFIG_FILE = 'config.json';

const ConfigSchema = z.object({
    st: z.optional(z.string()),
    sessions: z.optional(z.int().check(z.minimum(1), z.maximum(16))),
    browser: z.optional(z.string()),
});
const CredentialsSchema = z.object({
    basic: z.optional(z.object({ username: z.string().check(z.minLength(1)), password: z.string() })),
    account: z.optional(z.object({ handle: z.string().check(z.minLength(1)), password: z.string() })),
});

/** A JSON file, validated; errors name the file and the fields, never a value. */
function readJson<T>(file: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: z.core.$ZodError } }, optional: boolean): T | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch (err) {
        if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new EnsembleError('CONFIG_INVALID', `${file} could not be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        throw new EnsembleError('CONFIG_INVALID', `${file} is not valid JSON.`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new EnsembleError('CONFIG_INVALID', `${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
    return parsed.data;
}

/**
 * The always-on settings: flags win over the environment, which wins over <data-dir>/config.json. Logins come
 * from the environment or a credentials file only, never from argv (other users can read a command line).
 */
export function parseSessions(flags: { st?: string; sessions?: string; browser?: string }, env: NodeJS.ProcessEnv, dataDir: string): StartOptions['sessions'] {
    const file = readJson(path.join(dataDir, CONFIG_FILE), ConfigSchema, true) ?? {};
    const st = flags.st ?? env.ENSEMBLE_ST_URL ?? file.st;
    if (!st) return undefined;
    let stUrl: URL;
    try {
        stUrl = new URL(st);
    } catch {
        throw new EnsembleError('CONFIG_INVALID', `--st must be SillyTavern's address, like http://127.0.0.1:8000, not "${st}".`);
    }
    if (stUrl.protocol !== 'http:' && stUrl.protocol !== 'https:') throw new EnsembleError('CONFIG_INVALID', '--st must be an http(s) address.');
    if (stUrl.username || stUrl.password) throw new EnsembleError('CONFIG_INVALID', '--st must not carry a login: use ENSEMBLE_ST_BASIC_USER/ENSEMBLE_ST_BASIC_PASSWORD or a credentials file.');
    const countText = flags.sessions ?? env.ENSEMBLE_SESSIONS;
    let count = file.sessions ?? 1;
    if (countText !== undefined) {
        if (!/^\d+$/.test(countText.trim()) || Number(countText) < 1 || Number(countText) > 16) throw new EnsembleError('CONFIG_INVALID', `--sessions must be a whole number from 1 to 16, not "${countText}".`);
        count = Number(countText);
    }
    const credentials: StCredentials = {};
    const credFile = env.ENSEMBLE_ST_CREDENTIALS;
    if (credFile) Object.assign(credentials, readJson(path.resolve(credFile), CredentialsSchema, false));
    if (env.ENSEMBLE_ST_BASIC_USER) credentials.basic = { username: env.ENSEMBLE_ST_BASIC_USER, password: env.ENSEMBLE_ST_BASIC_PASSWORD ?? '' };
    if (env.ENSEMBLE_ST_USER) credentials.account = { handle: env.ENSEMBLE_ST_USER, password: env.ENSEMBLE_ST_PASSWORD ?? '' };
    const browserPath = flags.browser ?? env.ENSEMBLE_BROWSER ?? file.browser;
    return {
        stUrl: stUrl.href.replace(/\/$/, ''),
        count,
        ...(browserPath ? { browserPath } : {}),
        ...(credentials.basic || credentials.account ? { credentials } : {}),
    };
}
