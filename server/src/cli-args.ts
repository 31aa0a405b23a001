import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EnsembleError } from '../../src/shared/errors';
import { normalizeHostName } from './origins';
import { DEFAULTS, type StartOptions } from './server';
import { parseSessions } from './session-config';

export const USAGE = `Usage: npm start -- [options]   (or: npx ensemble-bridge [options]; node server/dist/main.js [options])
  Stop it with Ctrl-C or SIGTERM: open requests get an error, then it exits with code 0.

  --port N            port (env ENSEMBLE_PORT; default ${DEFAULTS.port})
  --host H            address to listen on (env ENSEMBLE_HOST; default ${DEFAULTS.host})
  --allow-remote      required for a host other than loopback
  --allowed-host NAME a Host name the server answers besides 127.0.0.1, localhost and [::1] (any port);
                      repeatable (env ENSEMBLE_ALLOWED_HOSTS, comma-separated); the --host address is
                      always allowed. Other names get 403 (protection against DNS rebinding)
  --cors-origin a,b   browser origins allowed to call the API (env ENSEMBLE_CORS_ORIGINS; default none)
  --st-origin a,b     origins allowed to open the bridge WebSocket (env ENSEMBLE_ST_ORIGINS;
                      default: any http(s) page on 127.0.0.1, localhost or [::1], any port)
  --data-dir DIR      where secrets.json and bridge-chats.json live (env ENSEMBLE_DATA_DIR; default ~/.config/ensemble-bridge)
  --body-limit SIZE   largest request body, bytes or with k/m (default 4m)
  --timeout S         seconds without progress before a request fails with 504 (default ${DEFAULTS.requestTimeoutMs / 1000})
  --queue-limit N     requests that may wait for a free tab (default ${DEFAULTS.queueLimit})
  --no-share-key      do not send the first API key to linked tabs for their client setup help
                      (env ENSEMBLE_SHARE_KEY=0; the API URL is still sent)

Always on (the server runs SillyTavern itself, in headless browser sessions; no ST tab needs to be open):
  --st URL            SillyTavern's address, e.g. http://127.0.0.1:8000 (env ENSEMBLE_ST_URL)
  --sessions N        sessions, i.e. requests answered in parallel (env ENSEMBLE_SESSIONS; default 1)
  --browser PATH      Chromium or Chrome (env ENSEMBLE_BROWSER; default: found on this machine)
  ST logins never go on the command line: ENSEMBLE_ST_BASIC_USER/ENSEMBLE_ST_BASIC_PASSWORD (basic auth),
  ENSEMBLE_ST_USER/ENSEMBLE_ST_PASSWORD (an ST user account), or ENSEMBLE_ST_CREDENTIALS=FILE, a JSON file
  {"basic": {"username", "password"}, "account": {"handle", "password"}}.
  The same three settings may be kept in <data-dir>/config.json: {"st": URL, "sessions": N, "browser": PATH}.
  --help              this text

Secrets: ENSEMBLE_API_KEYS (comma-separated client keys) and ENSEMBLE_LINK_TOKEN (the extension's
token); whatever is not set is generated once into <data-dir>/secrets.json (mode 0600). Keys limited
to some models or with a rate limit are set in secrets.json (see server/README.md, "Scoped keys").`;

/** A wrong flag or environment variable: main.ts prints the usage text after its message. */
export class UsageError extends EnsembleError<'CLI_USAGE'> {
    constructor(message: string) {
        super('CLI_USAGE', message);
        this.name = 'UsageError';
    }
}

export interface CliConfig {
    help: boolean;
    dataDir: string;
    /** From the environment; the rest come from secrets.json. */
    envApiKeys?: string[];
    envLinkToken?: string;
    server: Omit<StartOptions, 'apiKeys' | 'linkToken'>;
}

const list = (text: string | undefined) => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function int(name: string, text: string, min: number, max: number): number {
    if (!/^\d+$/.test(text.trim())) throw new UsageError(`${name} must be a whole number, not "${text}".`);
    const n = Number(text);
    if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}.`);
    return n;
}

/** An on/off environment variable; unset: undefined. */
function flag(name: string, text: string | undefined): boolean | undefined {
    if (text === undefined || text.trim() === '') return undefined;
    if (/^(1|true|yes|on)$/i.test(text.trim())) return true;
    if (/^(0|false|no|off)$/i.test(text.trim())) return false;
    throw new UsageError(`${name} must be 1 or 0, not "${text}".`);
}

function size(text: string): number {
    const m = /^(\d+)\s*([km]?)i?b?$/i.exec(text.trim());
    if (!m) throw new UsageError(`--body-limit must be bytes or a size like 512k or 4m, not "${text}".`);
    const n = Number(m[1]) * (({ k: 1024, m: 1024 * 1024 } as Record<string, number>)[(m[2] ?? '').toLowerCase()] ?? 1);
    if (n < 1024 || n > 1024 ** 3) throw new UsageError('--body-limit must be between 1k and 1024m.');
    return n;
}

function hostNames(names: string[]): string[] {
    try {
        return names.map(normalizeHostName);
    } catch (err) {
        throw new UsageError(`--allowed-host: ${(err as Error).message}`);
    }
}

/** Flags win over environment variables, which win over defaults. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
    let values;
    try {
        ({ values } = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                port: { type: 'string' }, host: { type: 'string' }, 'allow-remote': { type: 'boolean' },
                'allowed-host': { type: 'string', multiple: true },
                'cors-origin': { type: 'string' }, 'st-origin': { type: 'string' }, 'data-dir': { type: 'string' },
                'body-limit': { type: 'string' }, timeout: { type: 'string' }, 'queue-limit': { type: 'string' },
                'no-share-key': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
                st: { type: 'string' }, sessions: { type: 'string' }, browser: { type: 'string' },
            },
        }));
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    const port = values.port ?? env.ENSEMBLE_PORT;
    const stOrigins = values['st-origin'] ?? env.ENSEMBLE_ST_ORIGINS;
    const server: CliConfig['server'] = {
        host: values.host ?? env.ENSEMBLE_HOST ?? DEFAULTS.host,
        port: port === undefined ? DEFAULTS.port : int('--port', port, 0, 65535),
        allowRemote: values['allow-remote'] ?? false,
        allowedHosts: hostNames(values['allowed-host'] ?? list(env.ENSEMBLE_ALLOWED_HOSTS)),
        corsOrigins: list(values['cors-origin'] ?? env.ENSEMBLE_CORS_ORIGINS),
        stOrigins: list(stOrigins).length ? list(stOrigins) : null,
    };
    if (values['body-limit'] !== undefined) server.bodyLimit = size(values['body-limit']);
    if (values.timeout !== undefined) server.requestTimeoutMs = int('--timeout', values.timeout, 1, 86_400) * 1000;
    if (values['queue-limit'] !== undefined) server.queueLimit = int('--queue-limit', values['queue-limit'], 0, 1_000_000);
    const shareApiKey = values['no-share-key'] ? false : flag('ENSEMBLE_SHARE_KEY', env.ENSEMBLE_SHARE_KEY);
    if (shareApiKey !== undefined) server.shareApiKey = shareApiKey;
    const envKeys = list(env.ENSEMBLE_API_KEYS);
    const dataDir = path.resolve(values['data-dir'] ?? env.ENSEMBLE_DATA_DIR ?? path.join(os.homedir(), '.config', 'ensemble-bridge'));
    const sessions = values.help ? undefined : parseSessions({ st: values.st, sessions: values.sessions, browser: values.browser }, env, dataDir);
    if (sessions) server.sessions = sessions;
    return {
        help: values.help ?? false,
        dataDir,
        ...(envKeys.length ? { envApiKeys: envKeys } : {}),
        ...(env.ENSEMBLE_LINK_TOKEN ? { envLinkToken: env.ENSEMBLE_LINK_TOKEN } : {}),
        server,
    };
}
