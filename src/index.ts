import { startEnsemble } from './app';
import { createStHost, reportSessionProblem } from './host/st-host';
import { log } from './shared/log';

createStHost()
    .then(startEnsemble)
    .then(() => log.info('loaded'))
    .catch((err) => {
        log.error('failed to start', err);
        // In one of the bridge server's background sessions, the server says why on its console and /health.
        reportSessionProblem(err instanceof Error ? err.message : String(err));
    });
