import { startEnsemble } from './app';
import { createStHost } from './host/st-host';
import { log } from './shared/log';

createStHost()
    .then(startEnsemble)
    .then(() => log.info('loaded'))
    .catch((err) => log.error('failed to start', err));
