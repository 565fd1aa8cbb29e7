import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, filled } from './test-utils';

describeNative('native backend memory', () => {
  beforeAll(() => tf.setBackend('native'));

  it('does not leak tensors or backend buffers across repeated forward + backward steps', () => {
    const w = tf.variable(tf.tensor(filled(64 * 96, 1, -0.1, 0.1), [64, 96]));
    const b = tf.variable(tf.zeros([96]));
    const x = tf.tensor(filled(8 * 33 * 64, 2), [8, 33, 64]);
    const optimizer = tf.train.sgd(0.01);
    const step = () =>
      tf.tidy(() => {
        optimizer.minimize(() => {
          const y = tf.fused.matMul({ a: tf.reshape(x, [-1, 64]), b: w, bias: b });
          const z = tf.softmax(tf.reshape(tf.erf(y), [8, 33, 96]));
          const parts = tf.split(tf.transpose(z, [0, 2, 1]), [32, 64], 1);
          const padded = tf.pad(tf.concat([parts[1], parts[0]], 1), [[0, 0], [1, 1], [0, 0]]);
          const { mean, variance } = tf.moments(padded, -1);
          return tf.add(tf.sum(tf.squaredDifference(mean, variance)), tf.max(tf.slice(padded, [0, 1, 0], [-1, 2, -1])));
        }, false, [w, b]);
      });
    step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    tf.dispose([w, b, x]);
    optimizer.dispose();
  });
});
