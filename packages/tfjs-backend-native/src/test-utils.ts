/**
 * Test helpers: run the same computation on 'native' and on 'cpu' and compare. The suites are
 * skipped (with a message saying why) when the addon was not built on this machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

// As addon.ts: env BMAE_NATIVE_ADDON tests another build (CI: the built-in-GEMM one).
const ADDON = process.env.BMAE_NATIVE_ADDON
  ? path.resolve(process.env.BMAE_NATIVE_ADDON)
  : path.resolve(__dirname, '..', 'build', 'Release', 'bmae_native.node');

/** True when the addon exists; the suites then load the package (which registers 'native'). */
export const addonBuilt = fs.existsSync(ADDON);

/** `describe`, or `describe.skip` with a console message when the addon is not built. */
export function describeNative(name: string, body: () => void): void {
  if (addonBuilt) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./index');
    describe(name, body);
  } else {
    describe.skip(`${name} (skipped: native addon not built at ${ADDON}; run npm run build:addon -w @bmae/tfjs-backend-native)`, body);
  }
}

/** Deterministic values in [lo, hi) from an xorshift32 stream (tests need repeatable data, not an Rng). */
export function filled(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Runs fn on 'native' then on 'cpu' with the same inputs; returns the outputs' values and shapes. */
export function runOnBoth(
  inputs: Array<{ values: Float32Array | Int32Array; shape: number[]; dtype?: tf.DataType }>,
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): { native: Array<{ values: tf.TypedArray; shape: number[] }>; cpu: Array<{ values: tf.TypedArray; shape: number[] }> } {
  const run = (backend: string) => {
    tf.setBackend(backend);
    // The cpu backend's one-time "install tfjs-node" banner is noise in test output.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
    return tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.values.slice(), i.shape, i.dtype ?? (i.values instanceof Int32Array ? 'int32' : 'float32')));
      const out = fn(...xs);
      return (Array.isArray(out) ? out : [out]).map((t) => ({ values: t.dataSync().slice() as tf.TypedArray, shape: t.shape }));
    });
  };
  const native = run('native');
  const cpu = run('cpu');
  tf.setBackend('native');
  return { native, cpu };
}

/** Largest |a - b| / (atol/rtol mix) check with a readable failure. NaN must match NaN. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (!(Number.isNaN(e) && Number.isNaN(a))) throw new Error(`element ${i}: got ${a}, expected ${e}`);
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e) / (1 + Math.abs(e));
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (worst > tol) throw new Error(`element ${worstAt}: got ${actual[worstAt]}, expected ${expected[worstAt]} (error ${worst} > ${tol})`);
}

/** Compares every output of runOnBoth: same shapes, values within tol. */
export function expectSame(result: ReturnType<typeof runOnBoth>, tol = 1e-5): void {
  expect(result.native.length).toBe(result.cpu.length);
  result.native.forEach((n, i) => {
    expect(n.shape).toEqual(result.cpu[i].shape);
    expectClose(n.values, result.cpu[i].values, tol);
  });
}
