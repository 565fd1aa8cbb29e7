/**
 * Memory checks for tests of anything that computes (tfjs tensors are freed by hand: a forgotten
 * tidy/dispose grows tf.memory().numTensors step after step).
 */
import * as tf from '@tensorflow/tfjs-core';

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
