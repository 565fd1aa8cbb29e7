/**
 * @bmae/tfjs-backend-native: importing this module loads the C++ addon (throwing a clear error if it
 * was not built) and registers the TensorFlow.js backend 'native'. Select it with
 * `await tf.setBackend('native')`. Threads: env BMAE_THREADS or setThreads() fix them; by default the
 * process takes its share of the cores among the host's native processes (core-share.ts).
 */
import { registerNativeBackend } from './backend';

export { ADDON_PATH } from './addon';
export { BACKEND_NAME, NativeBackend, blasConfig, gemmInfo, getThreads, registerNativeBackend, setThreads, threadsShared } from './backend';
export { adamWUpdate, zeroMoments } from './optimizer';
export type { AdamWHyper, AdamWMoments } from './optimizer';

registerNativeBackend();
