/** `npm start`: lifecycle only (runCli does the work); exits cleanly on SIGINT/SIGTERM. */
import { UsageError, USAGE } from './cli-args';
import { runCli } from './cli';

try {
    const running = await runCli(process.argv.slice(2), process.env);
    if (running) {
        let stopping = false;
        const stop = (signal: string) => {
            if (stopping) process.exit(1); // a second Ctrl-C does not wait
            stopping = true;
            console.log(`Ensemble bridge: ${signal}, closing…`);
            void running.close().then(() => process.exit(0));
            setTimeout(() => process.exit(0), 3000).unref();
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
    }
} catch (err) {
    console.error(`Ensemble bridge: ${(err as Error).message}`);
    if (err instanceof UsageError) console.error(`\n${USAGE}`);
    process.exitCode = 2;
}
