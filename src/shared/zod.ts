/**
 * zod's tree-shakeable "mini" build (the classic build would add ~100 KB gzip to the bundle),
 * with English messages so validation errors read clearly in toasts.
 * Import it as a namespace (`import * as z from '…/shared/zod'`) so unused parts are dropped.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
