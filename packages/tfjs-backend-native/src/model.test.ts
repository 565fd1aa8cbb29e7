import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, expectSame, filled } from './test-utils';

/**
 * A pre-norm transformer block as the ViT uses it (LayerNorm via moments, multi-head attention with
 * q/k/v from one matMul + split, softmax, erf GELU MLP), plus a loss, differentiated with respect
 * to every weight and the input.
 * @param x [B, L, D]
 */
function block(x: tf.Tensor3D, w: Record<string, tf.Tensor>, heads: number): tf.Scalar {
  const [B, L, D] = x.shape;
  const dh = D / heads;
  const layerNorm = (t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(t, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-6))), g), b);
  };
  const linear = (t: tf.Tensor, name: string) =>
    tf.reshape(tf.add(tf.matMul(tf.reshape(t, [-1, t.shape[t.rank - 1]]), w[`${name}.weight`]), w[`${name}.bias`]), [B, L, -1]);
  const h = layerNorm(x, w['norm1.weight'], w['norm1.bias']);
  const qkv = tf.transpose(tf.reshape(linear(h, 'qkv'), [B, L, 3, heads, dh]), [2, 0, 3, 1, 4]); // [3, B, H, L, dh]
  const [q, k, v] = tf.split(qkv, 3, 0).map((t) => tf.reshape(t, [B * heads, L, dh]));
  const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), dh ** -0.5)); // [B*H, L, L]
  const merged = tf.reshape(tf.transpose(tf.reshape(tf.matMul(attn, v), [B, heads, L, dh]), [0, 2, 1, 3]), [B, L, D]);
  const x1 = tf.add(x, linear(merged, 'proj'));
  const u = linear(layerNorm(x1, w['norm2.weight'], w['norm2.bias']), 'fc1');
  const gelu = tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
  const x2 = tf.add(x1, linear(gelu, 'fc2'));
  // MAE-style loss: mean squared error of a slice of the tokens against a target.
  const tokens = tf.slice(x2, [0, 1, 0], [-1, -1, -1]);
  return tf.mean(tf.square(tf.sub(tokens, tf.tanh(tokens)))) as tf.Scalar;
}

const D = 48;
const SHAPES: Record<string, number[]> = {
  'norm1.weight': [D], 'norm1.bias': [D], 'qkv.weight': [D, 3 * D], 'qkv.bias': [3 * D], 'proj.weight': [D, D], 'proj.bias': [D],
  'norm2.weight': [D], 'norm2.bias': [D], 'fc1.weight': [D, 4 * D], 'fc1.bias': [4 * D], 'fc2.weight': [4 * D, D], 'fc2.bias': [D],
};

describeNative('a transformer block forward + backward', () => {
  it('gives the cpu backend\'s loss and gradients', () => {
    const names = Object.keys(SHAPES);
    const inputs = [
      { values: filled(6 * 17 * D, 1), shape: [6, 17, D] },
      ...names.map((n, i) => ({ values: filled(SHAPES[n].reduce((a, b) => a * b, 1), 10 + i, -0.3, 0.3), shape: SHAPES[n] })),
    ];
    const results = { native: [] as Array<{ values: tf.TypedArray; shape: number[] }>, cpu: [] as Array<{ values: tf.TypedArray; shape: number[] }> };
    for (const backend of ['native', 'cpu'] as const) {
      tf.setBackend(backend);
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no "install tfjs-node" banner
      results[backend] = tf.tidy(() => {
        const [x, ...ws] = inputs.map((i) => tf.tensor(i.values, i.shape));
        const f = (...args: tf.Tensor[]) => block(args[0] as tf.Tensor3D, Object.fromEntries(names.map((n, i) => [n, args[i + 1]])), 3);
        const { value, grads } = tf.valueAndGrads(f)([x, ...ws]);
        return [value, ...grads].map((t) => ({ values: t.dataSync().slice() as tf.TypedArray, shape: t.shape }));
      });
    }
    tf.setBackend('native');
    expect(results.native.length).toBe(names.length + 2);
    expectSame(results, 2e-5);
  });
});
