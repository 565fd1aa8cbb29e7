import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';

import { addonBuilt, describeNative, expectClose, filled } from './test-utils';

describeNative('threads', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = () => require('./index') as typeof import('./index');

  beforeAll(() => tf.setBackend('native'));

  it('BMAE_THREADS sets the pool size when the addon loads', () => {
    if (!addonBuilt) return;
    const read = (threads: string) =>
      execFileSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(native().ADDON_PATH)}).getThreads()))`], {
        env: { ...process.env, BMAE_THREADS: threads },
        encoding: 'utf8',
      });
    expect(read('1')).toBe('1');
    expect(read('3')).toBe('3');
  });

  it('gives the same results with 1 thread as with several', () => {
    const { getThreads, setThreads } = native();
    const initial = getThreads();
    const compute = () =>
      tf.tidy(() => {
        const x = tf.tensor(filled(16 * 65 * 128, 1), [16, 65, 128]);
        const w = tf.tensor(filled(128 * 96, 2), [128, 96]);
        const y = tf.matMul(tf.reshape(x, [-1, 128]), w);
        return [tf.sum(y, 0), tf.softmax(y), tf.exp(x), tf.transpose(x, [1, 0, 2]), tf.matMul(x, x, false, true)].map((t) => t.dataSync().slice());
      });
    setThreads(1);
    expect(getThreads()).toBe(1);
    const one = compute();
    setThreads(3);
    const three = compute();
    setThreads(initial);
    one.forEach((v, i) => expectClose(three[i], v, 1e-6));
  });

  it('rejects a thread count below 1', () => {
    expect(() => native().setThreads(0)).toThrow(/threads must be an integer >= 1, got 0/);
  });
});
