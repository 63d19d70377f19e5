import { fileURLToPath } from 'node:url';

/** This checkout's berth-runtime (built by `make -C native`). */
export const defaultRuntimeBinary = fileURLToPath(new URL('../../native/build/berth-runtime', import.meta.url));
