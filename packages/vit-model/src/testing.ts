/**
 * Memory checks for tests of anything that computes (tfjs tensors are freed by hand: a forgotten
 * tidy/dispose grows tf.memory().numTensors step after step).
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backend';

/**
 * Runs `step` once (so optimiser slots and caches exist), records the live tensor count, runs it
 * `steps` more times and throws if the count changed, naming both counts.
 * @returns the live tensor counts after the first and the last step
 */
export async function expectNoLeak(step: () => void | Promise<void>, steps = 3, label = 'step'): Promise<{ afterFirst: number; afterLast: number }> {
  await step();
  const afterFirst = tf.memory().numTensors;
  for (let i = 0; i < steps; i++) await step();
  const afterLast = tf.memory().numTensors;
  if (afterLast !== afterFirst) {
    throw new Error(`${label} leaks tensors: ${afterFirst} live after the first call, ${afterLast} after ${steps} more`);
  }
  return { afterFirst, afterLast };
}

/**
 * Test backends. cpu: the exact pure-JS backend, for small numeric tests. wasm: ~20x faster, for
 * anything that trains a model. PROD silences tfjs's "install tfjs-node" banner (IS_TEST would also
 * turn on tfjs's own kernel-leak checks).
 */
export async function useCpuBackend(): Promise<void> {
  tf.env().set('PROD', true);
  await selectBackend({ name: 'cpu', log: () => {} });
}

export async function useWasmBackend(): Promise<void> {
  tf.env().set('PROD', true);
  await selectBackend({ name: 'wasm', log: () => {} });
}
