/**
 * Memory checks for tests of anything that computes (tfjs tensors are freed by hand: a forgotten
 * tidy/dispose grows tf.memory().numTensors step after step).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from './backend';
import { locateTfjsNode } from './tensorflow-probe';

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

/**
 * Why a backend cannot run tests here, or undefined when it can. Decided from files alone (nothing
 * loads): native needs its addon built by npm ci, tfjs-node its binding built by `bmae setup tensorflow`.
 */
export function testBackendUnavailable(name: BackendName): string | undefined {
  if (name === 'native') {
    const addon = path.join(require.resolve('@bmae/tfjs-backend-native'), '..', '..', 'build', 'Release', 'bmae_native.node');
    return fs.existsSync(addon) ? undefined : `native addon not built (${addon})`;
  }
  if (name === 'tfjs-node' || name === 'tfjs-node-gpu') {
    const location = locateTfjsNode(`@tensorflow/${name}`);
    if (!location) return `@tensorflow/${name} is not installed`;
    return location.bindingBuilt ? undefined : `@tensorflow/${name}'s binding is not built: run npx bmae setup tensorflow${name === 'tfjs-node-gpu' ? ' --gpu' : ''}`;
  }
  return undefined;
}

/**
 * `describe(`${name} on ${backend}`)` for each backend that can run here, with the backend active in
 * the block; a skipped block (saying why) for the others. Env BMAE_TEST_BACKENDS (comma-separated)
 * names backends that must run: CI sets tfjs-node after its set-up, so a broken set-up fails the
 * tests instead of skipping them.
 */
export function describeOnBackends(backends: readonly BackendName[], name: string, body: (backend: BackendName) => void): void {
  const required = (process.env.BMAE_TEST_BACKENDS ?? '').split(',').filter(Boolean);
  for (const backend of backends) {
    const unavailable = testBackendUnavailable(backend);
    if (unavailable && required.includes(backend)) {
      describe(`${name} on ${backend}`, () => {
        it('runs (BMAE_TEST_BACKENDS requires it)', () => {
          throw new Error(`BMAE_TEST_BACKENDS requires ${backend}, but ${unavailable}`);
        });
      });
    } else if (unavailable) {
      describe.skip(`${name} on ${backend} (skipped: ${unavailable})`, () => body(backend));
    } else {
      describe(`${name} on ${backend}`, () => {
        beforeAll(async () => {
          tf.env().set('PROD', true);
          await selectBackend({ name: backend, log: () => {} });
        });
        afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));
        body(backend);
      });
    }
  }
}
