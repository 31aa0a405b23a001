export const MODULE_NAME = 'ensemble';
const PREFIX = '[Ensemble]';

/** Console logging with one prefix. Never pass keys or request bodies here. */
export const log = {
    debug: (...args: unknown[]) => console.debug(PREFIX, ...args),
    info: (...args: unknown[]) => console.info(PREFIX, ...args),
    warn: (...args: unknown[]) => console.warn(PREFIX, ...args),
    error: (...args: unknown[]) => console.error(PREFIX, ...args),
};
