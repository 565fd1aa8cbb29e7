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

describeNative('recycled output buffers', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const backend = () => tf.backend() as InstanceType<typeof import('./index').NativeBackend>;
  const bufferOf = (t: tf.Tensor) => (backend().data.get(t.dataId).values as Float32Array).buffer;

  beforeAll(() => tf.setBackend('native'));

  it('reuses the buffer of a disposed output for the next output of the same size', () => {
    const x = tf.tensor(filled(1000, 3), [10, 100]);
    const a = tf.exp(x);
    const buffer = bufferOf(a);
    a.dispose();
    const b = tf.neg(x);
    expect(bufferOf(b)).toBe(buffer);
    tf.dispose([x, b]);
  });

  it('values read with dataSync do not change when their buffer is reused', () => {
    const x = tf.tensor(filled(1000, 4), [10, 100]);
    const a = tf.exp(x);
    const kept = a.dataSync();
    const expected = Array.from(kept);
    a.dispose();
    const b = tf.neg(x); // takes a's buffer
    expect(Array.from(kept)).toEqual(expected);
    tf.dispose([x, b]);
  });

  it('a cpu kernel\'s view into a pooled buffer (unstack) is copied out, so it survives reuse', () => {
    const x = tf.tensor(filled(1000, 5), [10, 100]);
    const a = tf.exp(x);
    const rows = tf.unstack(a); // the cpu kernel returns subarray views of a's buffer
    const expected = rows.map((r) => Array.from(r.dataSync()));
    a.dispose();
    const b = tf.neg(x); // reuses a's buffer
    expect(rows.map((r) => Array.from(r.dataSync()))).toEqual(expected);
    for (const r of rows) expect(bufferOf(r)).not.toBe(bufferOf(b));
    tf.dispose([x, b, ...rows]);
  });

  it('a tensor made (without a copy) from another tensor\'s pooled buffer gets its own copy', () => {
    const x = tf.tensor(filled(1000, 7), [10, 100]);
    const a = tf.exp(x);
    const raw = backend().data.get(a.dataId).values as Float32Array; // what code reaching into the backend sees
    const b = tf.tensor(raw, [10, 100]);
    expect(bufferOf(b)).not.toBe(bufferOf(a));
    tf.dispose([x, a, b]);
  });

  it('a tensor sharing data through reshape keeps the buffer until the last reference goes', () => {
    const x = tf.tensor(filled(1000, 6), [10, 100]);
    const a = tf.exp(x);
    const r = tf.reshape(a, [1000]);
    const expected = Array.from(r.dataSync());
    a.dispose();
    const b = tf.neg(x);
    expect(bufferOf(b)).not.toBe(bufferOf(r));
    expect(Array.from(r.dataSync())).toEqual(expected);
    tf.dispose([x, b, r]);
  });
});
