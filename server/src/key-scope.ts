/**
 * What one client API key may do: every model (a plain string in secrets.json, as before) or some
 * (`models`), and how often (`rateLimit`). The shape of `apiKeys` entries in secrets.json.
 */
import * as z from '../../src/shared/zod';

/** A model id (`st-char-Alice`) or a prefix ending in `*` (`st-char-*`; `*` alone: every model). */
const ModelPatternSchema = z.string().check(z.regex(/^(?:[A-Za-z0-9._-]+\*?|\*)$/, {
    error: 'expected a model id (st-char-Alice) or a prefix ending in * (st-char-*)',
}));

export const RateLimitSchema = z.strictObject({
    requests: z.int().check(z.positive(), z.lte(100_000)),
    perSeconds: z.int().check(z.positive(), z.lte(86_400)),
});
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const ScopedKeySchema = z.strictObject({
    key: z.string().check(z.minLength(1)),
    /** For log lines and error messages, which never show the key. */
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    models: z.optional(z.array(ModelPatternSchema).check(z.minLength(1), z.maxLength(1000))),
    rateLimit: z.optional(RateLimitSchema),
});
export type ApiKey = z.infer<typeof ScopedKeySchema>;

/** An `apiKeys` entry: a key with full access, or a key with a scope. */
export const ApiKeyEntrySchema = z.union([z.string().check(z.minLength(1)), ScopedKeySchema]);
export type ApiKeyEntry = z.infer<typeof ApiKeyEntrySchema>;

export const toApiKey = (entry: ApiKeyEntry): ApiKey => (typeof entry === 'string' ? { key: entry } : entry);

/** A key with no model list and no rate limit: the one to show a linked tab for its client setup help. */
export const fullAccess = (key: ApiKey): boolean => !key.models && !key.rateLimit;

export function modelAllowed(key: ApiKey, model: string): boolean {
    if (!key.models) return true;
    return key.models.some((p) => (p.endsWith('*') ? model.startsWith(p.slice(0, -1)) : model === p));
}

type Issue = z.core.$ZodIssue;
const pathText = (path: PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/**
 * One line per problem, naming the field (`apiKeys[2].rateLimit.requests`) and never a value: zod's
 * own text for unknown fields would repeat their names, which may be a key pasted in the wrong place.
 */
export function describeIssues(issues: readonly Issue[], base: PropertyKey[] = []): string[] {
    const out: string[] = [];
    for (const issue of issues) {
        const path = [...base, ...issue.path];
        if (issue.code === 'invalid_union') {
            // Report the branch the entry's type chose (the object one for an object), not "Invalid input".
            const chosen = issue.errors.find((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
            if (chosen) out.push(...describeIssues(chosen, path));
            else out.push(`${pathText(path)}: expected a key (string) or an object with "key"`);
        } else if (issue.code === 'unrecognized_keys') {
            out.push(`${pathText(path)}: unknown field (a key entry has key, name, models, rateLimit; a rateLimit has requests, perSeconds)`);
        } else {
            out.push(`${pathText(path)}: ${issue.message}`);
        }
    }
    return out;
}
