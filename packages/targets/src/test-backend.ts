/** Test setup: the exact pure-JS cpu backend, without tfjs's "install tfjs-node" banner (PROD: IS_TEST would also turn on tfjs's own kernel-leak checks). */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

export async function useCpuBackend(): Promise<void> {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
}
