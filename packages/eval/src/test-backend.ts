/**
 * Test setup. cpu: the exact pure-JS backend, for small numeric tests. wasm: ~20x faster, for
 * anything that trains a model. PROD silences tfjs's "install tfjs-node" banner (IS_TEST would
 * also turn on tfjs's own kernel-leak checks).
 */
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';

export async function useCpuBackend(): Promise<void> {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
}

export async function useWasmBackend(): Promise<void> {
  tf.env().set('PROD', true);
  await selectBackend({ name: 'wasm', log: () => {} });
}
