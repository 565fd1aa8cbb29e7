/**
 * @bmae/tfjs-backend-native: importing this module loads the C++ addon (throwing a clear error if it
 * was not built) and registers the TensorFlow.js backend 'native'. Select it with
 * `await tf.setBackend('native')`. Threads: env BMAE_THREADS (default: all cores) or setThreads().
 */
import { registerNativeBackend } from './backend';

export { ADDON_PATH } from './addon';
export { BACKEND_NAME, NativeBackend, blasConfig, gemmInfo, getThreads, registerNativeBackend, setThreads } from './backend';
export { adamWUpdate, zeroMoments } from './optimizer';
export type { AdamWHyper, AdamWMoments } from './optimizer';

registerNativeBackend();
