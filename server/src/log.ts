/**
 * The server's only output channel besides the CLI banner. Callers pass ids, counts and codes:
 * never keys, tokens, headers or message text (those stay out of logs by construction).
 */
export interface Logger {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
}

export function consoleLogger(): Logger {
    const line = (level: string, message: string) => `${new Date().toISOString()} [ensemble-bridge] ${level}${message}`;
    return {
        info: (m) => console.log(line('', m)),
        warn: (m) => console.warn(line('warning: ', m)),
        error: (m) => console.error(line('error: ', m)),
    };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Outside text (a header, a tab id) for a log line: printable ASCII, short. */
export const printable = (text: string): string => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
