// A loopback stand-in for an OpenAI-compatible image API (and prompt LLM) as a browser meets it:
// with CORS, forwarding to the rig's mock by default, or answering with a scripted fault set through
// POST /__mode {mode}. Test harness only.
import http from 'node:http';

const MODES = {
    /** Forward to the rig's mock (URLs in answers rewritten to point here, so the browser may read them). */
    proxy: null,
    unauthorized: (res) => json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } }),
    ratelimited: (res) => json(res, 429, { error: { message: 'Rate limit reached' } }, { 'Retry-After': '0' }),
    html: (res) => send(res, 502, 'text/html', '<html><body><h1>502 Bad Gateway</h1><script>window.__xss=9</script></body></html>'),
    notjson: (res) => send(res, 200, 'application/json', '{"data": [ oops'),
    empty: (res) => json(res, 200, { created: 1, data: [] }),
    javascript: (res, base) => json(res, 200, { data: [{ url: 'javascript:window.__xss=3' }] }, {}, base),
    datahtml: (res) => json(res, 200, { data: [{ url: 'data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9NDwvc2NyaXB0Pg==' }] }),
    svg: (res, base) => json(res, 200, { data: [{ url: `${base}/evil.svg` }] }),
    huge: (res, base) => json(res, 200, { data: [{ url: `${base}/huge.png` }] }),
    /** A prompt LLM whose reply carries markup and script. */
    evilprompt: null,
    /** Forward to the mock but leave its picture URLs pointing at it: a server that forbids reading them (no CORS). */
    corsurl: null,
};

function cors(res) {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
}
function send(res, status, type, body, headers = {}) {
    res.writeHead(status, { 'Content-Type': type, ...headers });
    res.end(body);
}
function json(res, status, body, headers = {}) {
    send(res, status, 'application/json', JSON.stringify(body), headers);
}
async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks);
}

export async function startImageServer({ mockBase, latencyMs = 0 }) {
    let mode = 'proxy';
    const seen = [];
    const server = http.createServer(async (req, res) => {
        cors(res);
        if (req.method === 'OPTIONS') return send(res, 204, 'text/plain', '');
        const base = `http://127.0.0.1:${server.address().port}`;
        const path = new URL(req.url, base).pathname;
        if (path === '/__mode') {
            mode = JSON.parse(String(await readBody(req))).mode;
            return json(res, 200, { mode });
        }
        if (path === '/evil.svg') {
            return send(res, 200, 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__xss=5</script></svg>');
        }
        if (path === '/huge.png') {
            // 50 MB announced; the client must refuse before reading it all.
            res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(50 * 1024 * 1024) });
            const chunk = Buffer.alloc(1024 * 1024);
            for (let i = 0; i < 50 && !res.destroyed; i++) {
                if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
            }
            return res.end();
        }
        const body = await readBody(req);
        const record = { t: Date.now(), path, mode, auth: req.headers.authorization ?? null, end: 0 };
        seen.push(record);
        res.on('finish', () => { record.end = Date.now(); });
        if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs));
        if (path.endsWith('/chat/completions') && mode === 'evilprompt') {
            return json(res, 200, { choices: [{ message: { role: 'assistant', content: 'A fern garden <img src=x onerror="window.__xss=1"> at dusk <script>window.__xss=2</script> — 日本の庭, Grüße' } }] });
        }
        const fault = path.endsWith('/images/generations') ? MODES[mode] : null;
        if (fault) return fault(res, base);
        // Forward to the mock.
        const upstream = await fetch(`${mockBase}${path.replace(/^\/v1/, '/v1')}`, {
            method: req.method, headers: { 'content-type': 'application/json', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) },
            body: req.method === 'POST' ? body : undefined,
        });
        const buf = Buffer.from(await upstream.arrayBuffer());
        const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
        const rewrite = mode !== 'corsurl';
        const text = type.includes('json') && rewrite ? buf.toString('utf8').replaceAll(new URL(mockBase).origin, base) : null;
        return send(res, upstream.status, type, text ?? buf);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    return {
        base,
        seen,
        setMode: async (m) => { mode = m; },
        stop: () => new Promise((r) => server.close(r)),
    };
}
