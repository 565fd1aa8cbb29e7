/**
 * The fused LayerNorm / GELU / attention kernels against the composite of plain tfjs ops on the cpu backend,
 * values and gradients (the composite's gradients by autodiff), on odd, small and threaded shapes.
 */
import '@tensorflow/tfjs'; // registers the gradients of the composite (tfjs-core alone has none)
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, expectClose, expectSame, filled, runOnBoth } from './test-utils';

const NAMES = {
  layerNorm: 'BmaeLayerNorm', layerNormGrad: 'BmaeLayerNormGrad', gelu: 'BmaeGelu', geluGrad: 'BmaeGeluGrad',
  attention: 'BmaeAttention', attentionGrad: 'BmaeAttentionGrad',
};
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

/** softmax(q k^T / sqrt(dh)) v per head, as vit-model's composite: qkv [N, T, 3D] -> [N, T, D]. */
function compositeAttention(qkv: tf.Tensor, heads: number): tf.Tensor {
  const [n, t, columns] = qkv.shape;
  const dh = columns / 3 / heads;
  const [q, k, v] = tf.split(tf.transpose(tf.reshape(qkv, [n, t, 3 * heads, dh]), [0, 2, 1, 3]), 3, 1);
  const context = tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), dh ** -0.5)), v);
  return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [n, t, heads * dh]);
}

/** [out, dqkv]: the fused kernels on 'native', autodiff of the composite on 'cpu'. */
function attentionBoth(heads: number): (qkv: tf.Tensor, dy: tf.Tensor) => tf.Tensor[] {
  return (qkv, dy) => {
    if (tf.getBackend() === 'native') {
      const [n, t, columns] = qkv.shape;
      const attrs = { heads, scale: (columns / 3 / heads) ** -0.5 };
      const [out, probs] = tf.engine().runKernel(NAMES.attention, { qkv }, attrs) as tf.Tensor[];
      expect(probs.shape).toEqual([n, heads, t, t]);
      return [out, tf.engine().runKernel(NAMES.attentionGrad, { dy, qkv, probs }, attrs) as tf.Tensor];
    }
    return [compositeAttention(qkv, heads), tf.grad((t: tf.Tensor) => compositeAttention(t, heads))(qkv, dy)];
  };
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

  // [N, T, heads, dh]: deit-tiny's encoder (17 tokens) and decoder (65), small's; 1 head, batch 1, one
  // token, tokens and head widths that are not multiples of 4 or 8; 16 x 4 heads spread over the pool.
  const attentionShapes = [[2, 17, 3, 64], [2, 65, 4, 32], [3, 17, 4, 32], [1, 5, 1, 8], [2, 7, 3, 5], [1, 1, 2, 3], [3, 13, 1, 1], [16, 65, 4, 32]];
  it.each(attentionShapes)('attention and its gradient match the composite for N %i, T %i, heads %i, dh %i', (n, t, heads, dh) => {
    const d = heads * dh;
    // Spread > 1 so that the softmax is far from uniform and its gradient matters.
    const result = runOnBoth([{ values: filled(n * t * 3 * d, 9, -2, 2), shape: [n, t, 3 * d] }, { values: filled(n * t * d, 10), shape: [n, t, d] }], attentionBoth(heads));
    expectSame(result, 2e-5);
  });

  it('attention gives the same numbers run to run and at any thread count', () => {
    const qkv = tf.tensor(filled(8 * 17 * 3 * 96, 11), [8, 17, 3 * 96]);
    const dy = tf.tensor(filled(8 * 17 * 96, 12), [8, 17, 96]);
    const { getThreads, setThreads } = require('./index') as typeof import('./index'); // eslint-disable-line @typescript-eslint/no-require-imports
    const threads = getThreads();
    const run = () => tf.tidy(() => attentionBoth(3)(qkv, dy).map((r) => Array.from(r.dataSync())));
    try {
      const first = run();
      expect(run()).toEqual(first);
      setThreads(threads === 1 ? 2 : 1);
      expect(run()).toEqual(first);
    } finally {
      setThreads(threads);
      tf.dispose([qkv, dy]);
    }
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
        attentionBoth(3)(tf.reshape(tf.tile(x, [1, 3]), [1, 17, 576]), tf.reshape(dy, [1, 17, 192]));
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

  it('rejects a qkv that does not split into the heads', () => {
    const qkv = tf.zeros([2, 5, 3 * 8]);
    expect(() => tf.engine().runKernel(NAMES.attention, { qkv }, { heads: 3, scale: 1 })).toThrow(/heads/);
    expect(() => tf.engine().runKernel(NAMES.attention, { qkv: tf.reshape(qkv, [10, 24]) }, { heads: 1, scale: 1 })).toThrow(/\[N, T, 3D\]/);
    qkv.dispose();
  });
});

describeNative('OpenBLAS thread timeout', () => {
  it('is set before the addon loads unless the user set it', () => {
    expect(process.env.OPENBLAS_THREAD_TIMEOUT).toBeDefined();
  });
});
