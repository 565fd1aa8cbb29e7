import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, expectClose, filled } from './test-utils';

describeNative('adamWUpdate', () => {
  // Imported lazily: the module loads the addon, which the skip guard checks first.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = () => require('./index') as typeof import('./index');

  beforeAll(() => tf.setBackend('native'));

  it('with weight decay 0 follows tf.train.adam step for step', () => {
    const { adamWUpdate, zeroMoments } = load();
    const init = filled(1000, 1);
    const grads = [2, 3, 4].map((s) => filled(1000, s));
    const ours = tf.variable(tf.tensor(init, [10, 100]), true, 'ours');
    const theirs = tf.variable(tf.tensor(init, [10, 100]), true, 'theirs');
    const moments = zeroMoments(ours);
    const adam = tf.train.adam(0.01, 0.9, 0.95, 1e-8);
    grads.forEach((g, i) => {
      const grad = tf.tensor(g, [10, 100]);
      adamWUpdate(ours, grad, moments, i + 1, { learningRate: 0.01, beta1: 0.9, beta2: 0.95, epsilon: 1e-8 });
      adam.applyGradients([{ name: 'theirs', tensor: grad }]);
      grad.dispose();
    });
    expectClose(ours.dataSync(), theirs.dataSync(), 1e-6);
    tf.dispose([ours, theirs]);
    adam.dispose();
  });

  it('applies decoupled weight decay p * (1 - lr * wd) before the Adam step (first step: p - lr * sign(g))', () => {
    const { adamWUpdate, zeroMoments } = load();
    const p = tf.variable(tf.tensor([1, -2, 3, 0.5], [2, 2]));
    const g = tf.tensor([0.1, -0.2, 0, 4], [2, 2]);
    const m = zeroMoments(p);
    adamWUpdate(p, g, m, 1, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.5 });
    // Step 1: m_hat = g, v_hat = g^2, so the Adam step is lr * g / (|g| + eps) = lr * sign(g) (0 for g = 0).
    expectClose(p.dataSync(), [1 * 0.95 - 0.1, -2 * 0.95 + 0.1, 3 * 0.95, 0.5 * 0.95 - 0.1], 1e-6);
    expectClose(m.m, [0.1 * 0.1, -0.2 * 0.1, 0, 0.4], 1e-7);
    expectClose(m.v, [0.001 * 0.01, 0.001 * 0.04, 0, 0.001 * 16], 1e-6);
    tf.dispose([p, g]);
  });

  it('never writes into a buffer another tensor shares, and does not leak', () => {
    const { adamWUpdate, zeroMoments } = load();
    const source = tf.tensor([1, 2, 3, 4]);
    const p = tf.variable(source); // shares source's buffer
    const g = tf.ones([4]);
    const m = zeroMoments(p);
    const before = tf.memory().numTensors;
    adamWUpdate(p, g, m, 1, { learningRate: 0.5 });
    adamWUpdate(p, g, m, 2, { learningRate: 0.5 });
    expect(Array.from(source.dataSync())).toEqual([1, 2, 3, 4]);
    expectClose(p.dataSync(), [0, 1, 2, 3], 1e-6);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([source, p, g]);
  });

  it('names the variable when shapes or moments do not match', () => {
    const { adamWUpdate, zeroMoments } = load();
    const p = tf.variable(tf.zeros([2, 3]), true, 'blocks.0.attn.qkv.weight');
    const g = tf.zeros([3, 2]);
    expect(() => adamWUpdate(p, g, zeroMoments(p), 1, { learningRate: 1 })).toThrow(/'blocks.0.attn.qkv.weight' has shape \[3,2\], the variable \[2,3\]/);
    expect(() => adamWUpdate(p, tf.zeros([2, 3]), { m: new Float32Array(5), v: new Float32Array(6) }, 1, { learningRate: 1 })).toThrow(/5\/6 values, the variable 6/);
    expect(() => adamWUpdate(p, tf.zeros([2, 3]), zeroMoments(p), 0, { learningRate: 1 })).toThrow(/step must be an integer >= 1, got 0/);
  });
});
