import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { hasFusedKernel } from './fused';
import { gelu, layerNormOp } from './layers';

/** 'native' too where its addon is built: there the layers run its fused kernels, elsewhere their composites. */
const nativeBuilt = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@bmae/tfjs-backend-native');
    return true;
  } catch {
    return false;
  }
})();

const hostNormal = (seed: number, shape: number[]) => tf.tensor(Rng.fromSeed(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe.each(['cpu', 'wasm', ...(nativeBuilt ? ['native' as const] : [])] as const)('custom-gradient layers on %s', (backend) => {
  beforeAll(() => selectBackend({ name: backend, log: () => {} }));
  afterAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it(`runs the fused kernels only where the backend registers them (${backend === 'native' ? 'fused' : 'composite'})`, () => {
    for (const kernel of ['layerNorm', 'layerNormGrad', 'gelu', 'geluGrad'] as const) expect(hasFusedKernel(kernel)).toBe(backend === 'native');
  });

  it('LayerNorm and GELU do not leak, forward and backward', () => {
    const x = hostNormal(5, [2, 17, 192]);
    const w = hostNormal(6, [192]);
    const b = hostNormal(7, [192]);
    const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(gelu(layerNormOp(xx, ww, bb, 1e-6))))([x, w, b]));
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('GELU is the exact erf form: values and gradient', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
    // x * Phi(x), Phi from the erf identity (reference values: scipy.stats.norm.cdf)
    const expected = [-0.0040496, -0.15865525, 0, 0.34573123, 0.84134475, 1.95449974];
    const y = Array.from(gelu(x).dataSync());
    expected.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    const reference = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
    const dCustom = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.range(1, 7))))(x);
    const dAuto = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t), tf.range(1, 7))))(x);
    expect(maxDiff(dCustom, dAuto)).toBeLessThan(1e-5);
    // d/dx at 0 is Phi(0) = 0.5 (times the weight 3)
    expect(dCustom.dataSync()[2]).toBeCloseTo(1.5, 6);
    tf.dispose([x, dCustom, dAuto]);
  });

  it('LayerNorm forward and its three gradients equal autodiff of the plain formula', () => {
    const x = hostNormal(1, [3, 5, 16]);
    const w = hostNormal(2, [16]);
    const b = hostNormal(3, [16]);
    const dy = hostNormal(4, [3, 5, 16]);
    const eps = 1e-6;
    const reference = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, eps))), ww), bb);
    };
    expect(maxDiff(layerNormOp(x, w, b, eps), reference(x, w, b))).toBeLessThan(1e-5);
    const custom = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNormOp(xx, ww, bb, eps), dy)))([x, w, b]);
    const auto = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(reference(xx, ww, bb), dy)))([x, w, b]);
    custom.forEach((g, i) => {
      expect(g.shape).toEqual(auto[i].shape);
      expect(maxDiff(g, auto[i])).toBeLessThan(1e-4);
    });
    tf.dispose([x, w, b, dy, ...custom, ...auto]);
  });
});
