import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EnsembleError } from '../../src/shared/errors';
import * as z from '../../src/shared/zod';
import { ApiKeyEntrySchema, describeIssues, type ApiKey, type ApiKeyEntry } from './key-scope';

/** Client API keys and the extension's link token: kept apart so one can be rotated without the other. */
export interface Secrets {
    /** As in the file: a string (every model) or an object with a scope (key-scope.ts). */
    apiKeys: ApiKeyEntry[];
    linkToken: string;
    /** Where generated secrets live (also when every value came from the environment). */
    file: string;
    /** Values generated on this start: the caller prints these once, and only these. */
    generated: { apiKey?: string; linkToken?: string };
    /** Set when an existing file had looser permissions than 0600 (now fixed). */
    repairedMode?: boolean;
}

const SecretsFileSchema = z.object({
    apiKeys: z.optional(z.array(ApiKeyEntrySchema).check(z.minLength(1))),
    linkToken: z.optional(z.string().check(z.minLength(1))),
});
type SecretsFile = z.infer<typeof SecretsFileSchema>;

export const SECRETS_FILE = 'secrets.json';

const newSecret = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

function readSecretsFile(file: string): SecretsFile | null {
    let text: string;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        throw new EnsembleError('SECRETS_INVALID', `${file} is not valid JSON; fix it or delete it to generate new secrets.`);
    }
    const parsed = SecretsFileSchema.safeParse(json);
    // The message names the fields, never their values.
    const invalid = (problems: string[]) => new EnsembleError('SECRETS_INVALID', `${file} is invalid:\n  ${problems.join('\n  ')}\nFix it, or delete it to generate new secrets.`);
    if (!parsed.success) throw invalid(describeIssues(parsed.error.issues));
    const duplicates = duplicateKeys(parsed.data.apiKeys ?? []);
    if (duplicates.length) throw invalid(duplicates);
    return parsed.data;
}

/** The same key twice would give it two scopes: refused, naming the entries. */
function duplicateKeys(entries: ApiKeyEntry[]): string[] {
    const seen = new Map<string, number>();
    const out: string[] = [];
    entries.forEach((entry, i) => {
        const key = typeof entry === 'string' ? entry : entry.key;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else out.push(`apiKeys[${i}]: the same key as apiKeys[${first}]`);
    });
    return out;
}

/** Writes via a private temp file and a rename, so the file never exists with wider permissions or half-written. */
function writeSecretsFile(dir: string, file: string, data: SecretsFile): void {
    const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) fs.chmodSync(dir, 0o700); // only a directory we made: --data-dir may be shared
    const tmp = path.join(dir, `.${SECRETS_FILE}.${process.pid}.tmp`);
    fs.rmSync(tmp, { force: true }); // a leftover from a crash
    fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    fs.chmodSync(file, 0o600);
}

/**
 * Environment values win (`ENSEMBLE_API_KEYS`, `ENSEMBLE_LINK_TOKEN`); anything missing comes from
 * `<dataDir>/secrets.json`, generated there on first use.
 */
export function loadSecrets(options: { dataDir: string; apiKeys?: string[]; linkToken?: string }): Secrets {
    const file = path.join(options.dataDir, SECRETS_FILE);
    const envKeys = options.apiKeys?.filter(Boolean);
    const fromEnv = { apiKeys: envKeys?.length ? envKeys : undefined, linkToken: options.linkToken || undefined };
    const needFile = !fromEnv.apiKeys || !fromEnv.linkToken;
    const stored = needFile ? readSecretsFile(file) : null;

    let repairedMode = false;
    if (stored && (fs.statSync(file).mode & 0o077) !== 0) {
        fs.chmodSync(file, 0o600);
        repairedMode = true;
    }

    const generated: Secrets['generated'] = {};
    const next: SecretsFile = { ...stored };
    if (!fromEnv.apiKeys && !next.apiKeys) next.apiKeys = [(generated.apiKey = newSecret('ens-'))];
    if (!fromEnv.linkToken && !next.linkToken) next.linkToken = generated.linkToken = newSecret('enl-');
    if (generated.apiKey || generated.linkToken) writeSecretsFile(options.dataDir, file, next);

    return {
        apiKeys: fromEnv.apiKeys ?? next.apiKeys ?? [],
        linkToken: fromEnv.linkToken ?? next.linkToken ?? '',
        file,
        generated,
        ...(repairedMode ? { repairedMode } : {}),
    };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * keyFinder's answer for a candidate key: the configured entry it equals, or null. Constant-time as
 * secretMatcher: every key is compared, whichever matches.
 */
export function keyFinder(keys: readonly ApiKey[]): (candidate: string) => ApiKey | null {
    if (keys.length === 0 || keys.some((k) => !k.key)) throw new EnsembleError('INTERNAL', 'keyFinder needs at least one non-empty key');
    const digests = keys.map((k) => digest(k.key));
    return (candidate) => {
        const d = digest(candidate);
        let found = -1;
        digests.forEach((k, i) => { if (timingSafeEqual(d, k)) found = i; });
        return keys[found] ?? null;
    };
}

/**
 * A constant-time check against a set of secrets: both sides are hashed to equal-length digests
 * (timingSafeEqual needs equal lengths, and hashing hides the secret's length), and every
 * secret is compared, so the time does not depend on which one matched.
 */
export function secretMatcher(secrets: readonly string[]): (candidate: string) => boolean {
    if (secrets.length === 0 || secrets.some((s) => !s)) throw new EnsembleError('INTERNAL', 'secretMatcher needs at least one non-empty secret');
    const digests = secrets.map(digest);
    return (candidate) => {
        const d = digest(candidate);
        let ok = false;
        for (const k of digests) ok = timingSafeEqual(d, k) || ok;
        return ok;
    };
}
