import { execFileSync } from 'node:child_process';
import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
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

  it('gives bit-identical results for 1 and 2 threads where each output is computed by one thread', () => {
    const { addon } = require('./addon') as typeof import('./addon');
    const initial = addon.getThreads();
    const [M, N, K] = [150, 200, 64]; // >= 2^20 multiply-adds: split into slabs at 2 threads
    const a = filled(M * K, 3), b = filled(K * N, 4);
    const heads = 96, [hM, hN, hK] = [17, 17, 32]; // attention-sized products, one thread each
    const qa = filled(heads * hM * hK, 5), qb = filled(heads * hK * hN, 6);
    const index = Int32Array.from({ length: heads }, (_, i) => i);
    const x = filled(300_000, 7), y = filled(300_000, 8); // a same-shape binary op, split at 2 threads
    const compute = () => {
      const builtin = new Float32Array(M * N), batched = new Float32Array(heads * hM * hN), sum = new Float32Array(x.length);
      addon.sgemm('builtin', false, false, M, N, K, 1, a, K, b, N, 0, builtin, N);
      addon.batchMatMul(qa, qb, batched, index, index, hM, hN, hK, false, false, null);
      addon.binary(0, x, [x.length], y, [y.length], sum, [x.length]);
      return [builtin, batched, sum];
    };
    try {
      addon.setThreads(1);
      const one = compute();
      addon.setThreads(2);
      const two = compute();
      one.forEach((v, i) => expect(Buffer.from(two[i].buffer).equals(Buffer.from(v.buffer))).toBe(true));
    } finally {
      addon.setThreads(initial);
    }
  });

  it('gives the same numbers run to run at a given thread count (a block\'s loss and gradients)', () => {
    const { getThreads, setThreads } = native();
    const initial = getThreads();
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor(filled(8 * 65 * 64, 9), [8, 65, 64]);
        const w = tf.variable(tf.tensor(filled(64 * 256, 10, -0.1, 0.1), [64, 256]));
        const f = () => tf.sum(tf.square(tf.softmax(tf.matMul(tf.reshape(x, [-1, 64]), w)))) as tf.Scalar;
        const { value, grads } = tf.variableGrads(f, [w]);
        const out = [value.dataSync().slice(), grads[w.name].dataSync().slice()];
        w.dispose();
        return out;
      });
    try {
      setThreads(2);
      const first = run(), second = run();
      first.forEach((v, i) => expect(Buffer.from(second[i].buffer).equals(Buffer.from(v.buffer))).toBe(true));
    } finally {
      setThreads(initial);
    }
  });

  it('runs the element-wise kernels at an ISA level this CPU has, and any lesser level agrees', () => {
    const { addon } = require('./addon') as typeof import('./addon');
    const levels = addon.kernelIsas();
    expect(levels[levels.length - 1]).toBe('baseline');
    expect(addon.kernelIsa()).toBe(levels[0]);
    if (process.arch === 'x64') {
      // The CPU's own flags: a level is offered only when the CPU has its instructions.
      const flags = new Set((require('node:fs').readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/));
      if (levels.includes('avx512')) ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].forEach((f) => expect(flags.has(f)).toBe(true));
      if (levels.includes('avx2')) ['avx2', 'fma', 'bmi2'].forEach((f) => expect(flags.has(f)).toBe(true));
    }
    const script = `const a = require(${JSON.stringify(native().ADDON_PATH)});
      const x = Float32Array.from({ length: 4096 }, (_, i) => (i - 2048) / 256), y = new Float32Array(4096), z = new Float32Array(4096);
      a.gelu(x, y); a.softmax(x, 64, 64, z);
      process.stdout.write(JSON.stringify({ isa: a.kernelIsa(), y: Array.from(y), z: Array.from(z) }));`;
    const results = levels.map((isa) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, BMAE_KERNEL_ISA: isa }, encoding: 'utf8' })));
    results.forEach((r, i) => {
      expect(r.isa).toBe(levels[i]);
      expectClose(Float32Array.from(r.y), Float32Array.from(results[0].y), 1e-6);
      expectClose(Float32Array.from(r.z), Float32Array.from(results[0].z), 1e-6);
    });
  });

  it('rejects a thread count below 1', () => {
    expect(() => native().setThreads(0)).toThrow(/threads must be an integer >= 1, got 0/);
  });
});
