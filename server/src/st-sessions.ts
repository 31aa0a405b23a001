import fs from 'node:fs';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import type { Logger } from './log';
import type { Relay } from './relay';
import { EnsembleError } from '../../src/shared/errors';

export type SessionState = 'starting' | 'ready' | 'busy' | 'restarting' | 'failed';
export interface SessionInfo { id: string; state: SessionState; error?: string }

export interface StCredentials {
    /** HTTP basic auth in front of ST (ST's own basicAuthMode, or a proxy). */
    basic?: { username: string; password: string };
    /** An ST user account (ST's enableUserAccounts). */
    account?: { handle: string; password: string };
}

export interface SessionOptions {
    /** ST's address, e.g. http://127.0.0.1:8000 */
    stUrl: string;
    count: number;
    /** Chromium or Chrome; found on the machine when unset. */
    browserPath?: string;
    credentials?: StCredentials;
    /** Where the extension links (the server's own ws://…/bridge). */
    bridgeUrl: string;
    linkToken: string;
    relay: Relay;
    log: Logger;
    /** Restart backoff: first wait and cap. */
    backoffMs?: { base: number; max: number };
    /** How long a page may take to link after ST answered (Ensemble's start included). */
    linkTimeoutMs?: number;
    /** Liveness check of each page; three misses in a row restart it. */
    watchMs?: number;
}

/** Where Chromium or Chrome usually is: Debian/Ubuntu packages, Google's packages, snaps, macOS. */
export const BROWSER_CANDIDATES = [
    '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable',
    '/snap/bin/chromium', '/usr/lib/chromium/chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

export function findBrowser(given: string | undefined, exists: (p: string) => boolean = (p) => fs.existsSync(p)): string {
    if (given) {
        if (!exists(given)) throw new SessionProblem(`no browser at ${given} (--browser): install Chromium (Debian/Ubuntu: apt-get install chromium) or give the path of Chrome or Chromium`);
        return given;
    }
    const found = BROWSER_CANDIDATES.find(exists);
    if (!found) throw new SessionProblem('no browser found: install Chromium (Debian/Ubuntu: apt-get install chromium) or Chrome, or give its path with --browser PATH');
    return found;
}

/** A problem a person can act on; its message is shown as is (console and /health). */
export class SessionProblem extends EnsembleError<'ST_SESSION_FAILED'> {
    constructor(message: string) {
        super('ST_SESSION_FAILED', message);
        this.name = 'SessionProblem';
    }
}

/** ST's endpoints that write what the user owns: a session answers them itself, so they never reach ST. */
const GUARDED_WRITES = ['/api/settings/save', '/api/characters/edit', '/api/characters/edit-attribute', '/api/characters/merge-attributes', '/api/groups/edit'];
/** Chats a session may write: its own bridge chats. */
const isBridgeChatSave = (body: string | null) => {
    try {
        const json = JSON.parse(body ?? '') as { file_name?: unknown; id?: unknown };
        const name = typeof json.file_name === 'string' ? json.file_name : json.id;
        return typeof name === 'string' && name.startsWith('Ensemble bridge');
    } catch {
        return false;
    }
};

const CHROMIUM_ARGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

class Session {
    state: SessionState = 'starting';
    error: string | undefined;
    context: BrowserContext | null = null;
    /** The browser its context lives in (a late "disconnected" of an older browser must not restart it). */
    browser: Browser | null = null;
    page: Page | null = null;
    attempt = 0;
    timer: NodeJS.Timeout | null = null;
    /** Liveness checks missed in a row (the page did not answer, was not linked, or its ST session refused it). */
    misses = 0;
    /** Whether the page asked for its link settings (Ensemble is installed and started there). */
    asked = false;
    /** A problem Ensemble reported from the page (e.g. this ST lacks an event it needs). */
    reported: string | null = null;

    constructor(readonly id: string) {}
}

/**
 * The bridge's own SillyTavern sessions: headless pages of a Chromium already on the machine, each in its own
 * browser context (ST's CSRF cookie is per context), opening the user's ST with Ensemble installed there. Each
 * page links itself to this server with the link token it gets from the server through a page binding (never in
 * a URL or a log). A session is a guest: ST's settings, cards and group files are answered here and never
 * written, and only bridge chats may be saved. Crashed, hung or unlinked pages are restarted with backoff.
 */
export class StSessions {
    private browser: Browser | null = null;
    private launching: Promise<Browser> | null = null;
    private readonly sessions: Session[];
    private closed = false;
    private watch: NodeJS.Timeout | null = null;

    constructor(private readonly o: SessionOptions) {
        this.sessions = Array.from({ length: o.count }, (_, i) => new Session(`session-${i + 1}`));
    }

    start(): void {
        for (const s of this.sessions) void this.run(s);
        const every = this.o.watchMs ?? 5_000;
        this.watch = setInterval(() => {
            for (const s of this.sessions) {
                if (s.state !== 'ready' && s.state !== 'busy') continue;
                const page = s.page;
                if (!page) continue;
                // Restarted after three misses in a row: a page that stopped answering (hung), lost its link, or whose
                // ST session refuses it (ST was restarted and no longer knows the page's session).
                const tab = this.o.relay.tabInfo().find((t) => t.key === s.id);
                const why = !tab ? 'the page lost its link to the bridge' : tab.unavailable ? `its SillyTavern session stopped working (${tab.unavailable})` : null;
                void withTimeout(page.evaluate(() => 1), every).then(() => why, () => 'the page stopped answering').then((problem) => {
                    if (s.page !== page) return; // restarted meanwhile
                    s.misses = problem ? s.misses + 1 : 0;
                    if (problem && s.misses >= 3) this.restart(s, problem);
                });
            }
        }, every);
        this.watch.unref();
    }

    info(): SessionInfo[] {
        const tabs = this.o.relay.tabInfo();
        return this.sessions.map((s) => {
            const tab = tabs.find((t) => t.key === s.id);
            const state = s.state === 'ready' && tab?.running ? 'busy' : s.state;
            return { id: s.id, state, ...(s.error && state !== 'ready' && state !== 'busy' ? { error: s.error } : {}) };
        });
    }

    async close(): Promise<void> {
        this.closed = true;
        if (this.watch) clearInterval(this.watch);
        for (const s of this.sessions) if (s.timer) clearTimeout(s.timer);
        const browser = this.browser ?? await this.launching?.catch(() => null);
        await browser?.close().catch(() => undefined);
    }

    private async getBrowser(): Promise<Browser> {
        if (this.browser?.isConnected()) return this.browser;
        this.launching ??= (async () => {
            const executablePath = findBrowser(this.o.browserPath);
            const { chromium } = await import('playwright-core');
            const root = typeof process.getuid === 'function' && process.getuid() === 0;
            const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...(root ? ['--no-sandbox'] : [])] });
            browser.on('disconnected', () => {
                if (this.browser === browser) this.browser = null;
                if (this.closed) return;
                const hit = this.sessions.filter((s) => s.browser === browser);
                if (hit.length) this.o.log.warn('the sessions\' browser went away; restarting the sessions');
                for (const s of hit) this.restart(s, 'the browser went away', false);
            });
            this.browser = browser;
            return browser;
        })().finally(() => { this.launching = null; });
        return this.launching;
    }

    private restart(s: Session, why: string, closeFirst = true): void {
        if (this.closed || s.state === 'restarting') return;
        s.state = 'restarting';
        s.error = why;
        const context = s.context;
        s.context = null;
        s.page = null;
        if (closeFirst) void context?.close().catch(() => undefined);
        this.later(s);
    }

    private later(s: Session): void {
        if (this.closed) return;
        const { base, max } = this.o.backoffMs ?? { base: 1_000, max: 30_000 };
        const wait = Math.min(max, base * 2 ** s.attempt++);
        if (s.timer) clearTimeout(s.timer);
        s.timer = setTimeout(() => void this.run(s), wait);
    }

    private async run(s: Session): Promise<void> {
        if (this.closed) return;
        if (s.state !== 'restarting') s.state = 'starting';
        s.asked = false;
        s.reported = null;
        try {
            const browser = await this.getBrowser();
            s.browser = browser;
            const context = await browser.newContext({
                ...(this.o.credentials?.basic ? { httpCredentials: this.o.credentials.basic } : {}),
                viewport: { width: 1280, height: 900 },
            });
            s.context = context;
            await this.guard(context);
            await context.exposeBinding('__ensembleSession', (_source, what: unknown, detail: unknown) => {
                if (what === 'config') {
                    s.asked = true;
                    return { url: this.o.bridgeUrl, token: this.o.linkToken, id: s.id };
                }
                if (what === 'problem' && typeof detail === 'string') s.reported = detail.slice(0, 500);
                return null;
            });
            const page = await context.newPage();
            s.page = page;
            page.on('crash', () => this.restart(s, 'the page crashed'));
            await this.open(page);
            await this.waitLinked(s);
            s.state = 'ready';
            s.error = undefined;
            s.attempt = 0;
            s.misses = 0;
            this.o.log.info(`${s.id} ready`);
        } catch (err) {
            if (this.closed) return;
            const message = err instanceof SessionProblem ? err.message : `could not start: ${(err as Error).message.split('\n')[0]}`;
            s.state = 'restarting';
            if (s.error !== message) this.o.log.warn(`${s.id}: ${message}; retrying with backoff`);
            s.error = message;
            const context = s.context;
            s.context = null;
            s.page = null;
            void context?.close().catch(() => undefined);
            if (err instanceof SessionProblem && /no browser/.test(message)) s.state = 'failed';
            this.later(s);
        }
    }

    /** Answers ST's writes of what the user owns without letting them through; bridge chats pass. */
    private async guard(context: BrowserContext): Promise<void> {
        const ok = (route: Route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{}' });
        await context.route((url) => GUARDED_WRITES.includes(url.pathname), ok);
        await context.route((url) => url.pathname === '/api/chats/save' || url.pathname === '/api/chats/group/save', (route) => (
            isBridgeChatSave(route.request().postData()) ? route.continue() : ok(route)
        ));
    }

    /** Opens ST, logging in where it asks; each failure is a SessionProblem naming what to do. */
    private async open(page: Page): Promise<void> {
        const url = this.o.stUrl;
        let res;
        try {
            res = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30_000 });
        } catch (err) {
            throw new SessionProblem(`SillyTavern at ${url} is unreachable (${((err as Error).message.split('\n')[0] ?? '').replace(/^page\.goto: /, '')}); is it running?`);
        }
        if (res?.status() === 401) {
            throw new SessionProblem(this.o.credentials?.basic
                ? `login refused by ${url} (basic auth): check ENSEMBLE_ST_BASIC_USER and ENSEMBLE_ST_BASIC_PASSWORD (or the credentials file)`
                : `${url} asks for a basic-auth login: set ENSEMBLE_ST_BASIC_USER and ENSEMBLE_ST_BASIC_PASSWORD (or a credentials file)`);
        }
        if (res && res.status() >= 400) throw new SessionProblem(`SillyTavern at ${url} answered HTTP ${res.status()}`);
        if (new URL(page.url()).pathname.startsWith('/login')) await this.logIn(page);
        try {
            await page.waitForFunction(() => {
                const st = (window as unknown as { SillyTavern?: { getContext?: () => { characters?: unknown[] } } }).SillyTavern;
                return Array.isArray(st?.getContext?.().characters) && !document.getElementById('preloader');
            }, null, { timeout: 90_000, polling: 250 });
        } catch {
            throw new SessionProblem(`SillyTavern at ${url} did not finish loading within 90 s`);
        }
    }

    /** ST's user accounts: its own login endpoint, then ST again. */
    private async logIn(page: Page): Promise<void> {
        const account = this.o.credentials?.account;
        if (!account) throw new SessionProblem(`${this.o.stUrl} asks for a user account login: set ENSEMBLE_ST_USER and ENSEMBLE_ST_PASSWORD (or a credentials file)`);
        const status = await page.evaluate(async (a) => {
            const token = await fetch('/csrf-token').then((r) => r.json() as Promise<{ token: string }>).catch(() => ({ token: '' }));
            const r = await fetch('/api/users/login', {
                method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token.token }, body: JSON.stringify({ handle: a.handle, password: a.password }),
            });
            return r.status;
        }, account);
        if (status !== 200) throw new SessionProblem(`login refused by ${this.o.stUrl} for user "${account.handle}" (HTTP ${status}): check ENSEMBLE_ST_USER and ENSEMBLE_ST_PASSWORD`);
        await page.goto(this.o.stUrl, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    }

    private async waitLinked(s: Session): Promise<void> {
        const end = Date.now() + (this.o.linkTimeoutMs ?? 30_000);
        let linkedAt: number | null = null;
        while (Date.now() < end) {
            if (this.closed) return;
            if (s.reported) throw new SessionProblem(`Ensemble could not start in SillyTavern at ${this.o.stUrl}: ${s.reported}`);
            // Linked, and its catalog of ST's characters arrived (ST loads them after its extensions): requests for
            // them can be routed. An ST with no character at all is ready once linked for 10 s.
            const tab = this.o.relay.tabInfo().find((t) => t.key === s.id);
            linkedAt = tab ? linkedAt ?? Date.now() : null;
            if (tab && ((tab.models?.length ?? 0) > 0 || Date.now() - (linkedAt ?? Date.now()) > 10_000)) return;
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new SessionProblem(s.asked
            ? `Ensemble in SillyTavern at ${this.o.stUrl} did not link to this server`
            : `Ensemble is not installed in SillyTavern at ${this.o.stUrl}: in SillyTavern, Extensions → Install extension, paste this repository's git URL, then restart this server`);
    }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timeout')), ms);
        p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
    });
}
