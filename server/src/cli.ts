import path from 'node:path';
import { CHAT_INDEX_FILE } from './chat-index';
import { parseCli, UsageError, USAGE } from './cli-args';
import { fullAccess, type ApiKeyEntry } from './key-scope';
import { consoleLogger, printable, type Logger } from './log';
import { isLoopbackHost } from './origins';
import { loadSecrets } from './secrets';
import { startServer, type RunningServer } from './server';

export interface CliOutput {
    /** Plain lines for the person who started the server (stdout). */
    print(line: string): void;
    log: Logger;
}

const defaultOutput = (): CliOutput => ({ print: (line) => console.log(line), log: consoleLogger() });

/** `discord-bot (st-char-Alice; 20 per 60 s), key 3 (st-char-*)`: names and scopes, never a key. */
function describeScopes(entries: ApiKeyEntry[]): string {
    return entries.flatMap((entry, i) => {
        if (typeof entry === 'string' || fullAccess(entry)) return [];
        const scope = [entry.models?.join(', ') ?? 'every model', entry.rateLimit && `${entry.rateLimit.requests} per ${entry.rateLimit.perSeconds} s`].filter(Boolean);
        return [`${entry.name ? printable(entry.name) : `key ${i + 1}`} (${scope.join('; ')})`];
    }).join(', ');
}

/**
 * Parses flags and environment, loads or creates the secrets, starts the server and prints how to
 * use it. Generated secrets are printed on the start that generated them, and never again.
 * Throws (UsageError or a plain Error) with a message for the person at the terminal.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, out: CliOutput = defaultOutput()): Promise<RunningServer | null> {
    const cfg = parseCli(argv, env);
    if (cfg.help) {
        out.print(USAGE);
        return null;
    }
    const host = cfg.server.host ?? '';
    if (!isLoopbackHost(host) && !cfg.server.allowRemote) {
        throw new UsageError(`Refusing to listen on ${host}: it is reachable from other machines. Add --allow-remote to do so anyway.`);
    }
    const secrets = loadSecrets({ dataDir: cfg.dataDir, apiKeys: cfg.envApiKeys, linkToken: cfg.envLinkToken });
    // Printed before listening: if the port is taken, the one chance to see new secrets is not lost.
    const { generated } = secrets;
    if (generated.apiKey || generated.linkToken) {
        out.print(`Generated secrets, shown this once (stored in ${secrets.file}, mode 0600):`);
        if (generated.apiKey) out.print(`  API key for clients:          ${generated.apiKey}`);
        if (generated.linkToken) out.print(`  link token for the extension: ${generated.linkToken}`);
    }
    if (secrets.repairedMode) out.log.warn(`${secrets.file} was readable by other users; its mode is now 0600.`);
    const scoped = describeScopes(secrets.apiKeys);
    if (scoped) out.print(`Scoped API keys: ${scoped}`);
    const running = await startServer({
        ...cfg.server, apiKeys: secrets.apiKeys, linkToken: secrets.linkToken, log: out.log, chatIndexFile: path.join(cfg.dataDir, CHAT_INDEX_FILE),
    });

    const keySource = cfg.envApiKeys ? 'ENSEMBLE_API_KEYS' : secrets.file;
    const tokenSource = cfg.envLinkToken ? 'ENSEMBLE_LINK_TOKEN' : secrets.file;
    out.print(
        `Ensemble bridge on ${running.url}/v1 — in SillyTavern, Extensions → Ensemble → Bridge: URL ${running.bridgeUrl}, link token from ${tokenSource}; ` +
        `try: curl ${running.url}/v1/models -H "Authorization: Bearer <API key from ${keySource}>"`,
    );
    return running;
}
