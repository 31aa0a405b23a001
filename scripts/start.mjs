#!/usr/bin/env node
// `npm start` and `npx ensemble-bridge`: builds server/src, then runs the server in this process, so
// SIGINT and SIGTERM sent to this process reach the server's own handlers (server/src/main.ts).
import { pathToFileURL } from 'node:url';
import { stop } from 'esbuild';
import { buildServer, SERVER_MAIN } from './build-server.mjs';

await buildServer();
await stop(); // esbuild's helper process is not needed while the server runs

// npm runs scripts through `sh -c` and forwards SIGTERM to that shell only. dash (Debian's and Ubuntu's
// sh) neither execs the command nor passes the signal on: the shell dies and the server would live on
// with no parent but init. So under npm, a new parent means npm's shell is gone: stop as
// on SIGTERM. Not on Windows, where a dead parent's pid stays and Ctrl-C reaches every process anyway.
if (process.env.npm_lifecycle_event && process.platform !== 'win32') {
    const parent = process.ppid;
    const watch = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(watch);
        process.kill(process.pid, 'SIGTERM');
    }, 200);
    watch.unref();
    // A signal of its own (Ctrl-C reaches the whole process group) already stops the server: the shell's
    // death that follows must not count as a second signal, which would exit without closing.
    const own = () => clearInterval(watch);
    process.once('SIGINT', own);
    process.once('SIGTERM', own);
}

await import(pathToFileURL(SERVER_MAIN).href);
