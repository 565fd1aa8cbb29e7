/**
 * The fused LayerNorm / GELU kernels against the composite of plain tfjs ops on the cpu backend,
 * values and gradients (the composite's gradients by autodiff), on odd, small and threaded shapes.
 */
import '@tensorflow/tfjs'; // registers the gradients of the composite (tfjs-core alone has none)
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, expectClose, expectSame, filled, runOnBoth } from './test-utils';

const NAMES = { layerNorm: 'BmaeLayerNorm', layerNormGrad: 'BmaeLayerNormGrad', gelu: 'BmaeGelu', geluGrad: 'BmaeGeluGrad' };
const EPS = 1e-6;

function compositeLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), w), b);
}

const compositeGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

/** [y, dx, dweight, dbias] for upstream gradient dy: the fused kernels on 'native', autodiff of the composite on 'cpu'. */
function layerNormBoth(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  if (tf.getBackend() === 'native') {
    const [y, xhat, rstd] = tf.engine().runKernel(NAMES.layerNorm, { x, weight: w, bias: b }, { eps: EPS }) as tf.Tensor[];
    expect(rstd.shape).toEqual(x.shape.slice(0, -1));
    const grads = tf.engine().runKernel(NAMES.layerNormGrad, { dy, xhat, rstd, weight: w }) as tf.Tensor[];
    return [y, ...grads];
  }
  const y = compositeLayerNorm(x, w, b);
  return [y, ...tf.grads(compositeLayerNorm)([x, w, b], dy)];
}

function geluBoth(x: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  if (tf.getBackend() === 'native') {
    return [tf.engine().runKernel(NAMES.gelu, { x }) as tf.Tensor, tf.engine().runKernel(NAMES.geluGrad, { x, dy }) as tf.Tensor];
  }
  return [compositeGelu(x), tf.grad(compositeGelu)(x, dy)];
}

describeNative('fused kernels', () => {
  beforeAll(() => tf.setBackend('native'));

  // [tokens 17 / 65, width 192 / 64 / 3 / 1]; 64 x 65 rows is above the threading threshold.
  const layerNormShapes = [[2, 17, 192], [3, 65, 64], [5, 3], [1, 1, 1], [64, 65, 192]];
  it.each(layerNormShapes)('LayerNorm and its gradients match the composite for %j', (...shape: number[]) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const width = shape[shape.length - 1];
    // An offset mean and a spread > 1 so that centring and scaling both matter.
    const x = { values: filled(n, 1, -3, 5), shape };
    const result = runOnBoth(
      [x, { values: filled(width, 2, 0.5, 1.5), shape: [width] }, { values: filled(width, 3), shape: [width] }, { values: filled(n, 4), shape }],
      layerNormBoth,
    );
    // dweight / dbias sum over up to 4,160 rows: float32 order-of-summation error grows with the count.
    expectSame({ native: result.native.slice(0, 2), cpu: result.cpu.slice(0, 2) }, 2e-5);
    expectSame({ native: result.native.slice(2), cpu: result.cpu.slice(2) }, 1e-4);
  });

  it('LayerNorm of a constant row is the bias (variance 0: rstd = 1/sqrt(eps), xhat = 0)', () => {
    const [y] = runOnBoth(
      [{ values: new Float32Array(8).fill(3), shape: [2, 4] }, { values: filled(4, 2), shape: [4] }, { values: filled(4, 3), shape: [4] }, { values: filled(8, 4), shape: [2, 4] }],
      layerNormBoth,
    ).native;
    const bias = filled(4, 3);
    expectClose(y.values, [...bias, ...bias], 1e-6);
  });

  it.each([[3, 17], [65, 192], [64, 65, 768]])('GELU and its gradient match the composite for %j', (...shape: number[]) => {
    const n = shape.reduce((a, d) => a * d, 1);
    // Beyond +-5 too, where Phi saturates and the pdf underflows toward 0.
    expectSame(runOnBoth([{ values: filled(n, 5, -7, 7), shape }, { values: filled(n, 6), shape }], geluBoth), 2e-6);
  });

  it('does not leak tensors', () => {
    const x = tf.tensor(filled(17 * 192, 7), [17, 192]);
    const w = tf.ones([192]);
    const b = tf.zeros([192]);
    const dy = tf.tensor(filled(17 * 192, 8), [17, 192]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      // Nothing returned from the scope: every output and saved tensor (xhat, rstd) must be freed by it.
      tf.tidy(() => {
        layerNormBoth(x, w, b, dy);
        geluBoth(x, dy);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b, dy]);
  });

  it('rejects non-float32 input', () => {
    tf.setBackend('native'); // a failed comparison above may have left 'cpu' active
    const x = tf.tensor([1, 2, 3], [3], 'int32');
    expect(() => tf.engine().runKernel(NAMES.gelu, { x })).toThrow(/float32/);
    x.dispose();
  });
});

describeNative('OpenBLAS thread timeout', () => {
  it('is set before the addon loads unless the user set it', () => {
    expect(process.env.OPENBLAS_THREAD_TIMEOUT).toBeDefined();
  });
});
