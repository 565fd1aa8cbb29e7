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

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { addon } = require('./addon') as typeof import('./addon');

  /**
   * Runs compute() at 1, 2 and 3 threads (3: partitions that agree at 1 and 2 can still differ) and
   * expects every output bit for bit the same; restores the thread count.
   */
  const expectThreadIndependent = (compute: () => ArrayLike<number>[]) => {
    const initial = addon.getThreads();
    try {
      const results = [1, 2, 3].map((threads) => {
        addon.setThreads(threads);
        return compute().map((v) => Float32Array.from(v));
      });
      results.slice(1).forEach((r, t) =>
        r.forEach((values, i) => {
          const first = values.findIndex((v, j) => !Object.is(v, results[0][i][j]));
          if (first >= 0) throw new Error(`output ${i} at ${t + 2} threads, element ${first}: ${values[first]} vs ${results[0][i][first]} at 1 thread`);
          expect(values.length).toBe(results[0][i].length);
        }),
      );
    } finally {
      addon.setThreads(initial);
    }
  };

  describe('every kernel gives bit-identical results at 1, 2 and 3 threads', () => {
    it('reductions with few and with many outer slices', () => {
      // [outer, reduced, inner]: reduced-axis partials, column blocks, both, per-slice, innermost.
      const shapes = [[1, 4160, 128], [1, 64, 5000], [3, 300, 700], [2, 33, 1100], [5, 1000, 40], [40, 300, 64], [9, 100, 80], [300, 1000, 1]];
      expectThreadIndependent(() =>
        shapes.flatMap(([outer, reduced, inner], i) => {
          // Values from 2^-1 to 2^40 whose second half of rows cancels the first: a sum is what its
          // rounding left over, so any change of order shows (sums of plain filled() values are exact
          // in double whatever the order).
          const x = filled(outer * reduced * inner, 20 + i);
          const half = Math.floor(reduced / 2);
          for (let o = 0; o < outer; o++)
            for (let r = 0; r < half; r++)
              for (let c = 0; c < inner; c++) {
                const at = (o * reduced + r) * inner + c;
                x[at] *= 2 ** ((r * 7 + c) % 41);
                x[at + half * inner] = -x[at];
              }
          return [0, 1, 2, 3].map((op) => {
            const out = new Float32Array(outer * inner);
            addon.reduce(op, x, outer, reduced, inner, out);
            return out;
          });
        }),
      );
    });

    it('LayerNorm forward and backward, GELU forward and backward', () => {
      const [rows, width] = [2000, 96];
      const x = filled(rows * width, 30), dy = filled(rows * width, 31), w = filled(width, 32), b = filled(width, 33);
      // An odd length: thread ranges start at every offset within a vector (vector body vs remainder).
      const g = filled(300_007, 34, -4, 4), gdy = filled(300_007, 35);
      expectThreadIndependent(() => {
        const y = new Float32Array(rows * width), xhat = new Float32Array(rows * width), rstd = new Float32Array(rows);
        addon.layerNorm(x, w, b, rows, width, 1e-6, y, xhat, rstd);
        const dx = new Float32Array(rows * width), dw = new Float32Array(width), db = new Float32Array(width);
        addon.layerNormGrad(dy, xhat, rstd, w, rows, width, dx, dw, db);
        const gy = new Float32Array(g.length), gdx = new Float32Array(g.length);
        addon.gelu(g, gy);
        addon.geluGrad(g, gdy, gdx);
        return [y, xhat, rstd, dx, dw, db, gy, gdx];
      });
    });

    it('attention forward and backward (many heads; and one large head whose products split)', () => {
      expectThreadIndependent(() =>
        [[8, 65, 4, 32], [1, 256, 1, 64]].flatMap(([n, t, heads, dh], i) => {
          const qkv = filled(n * t * 3 * heads * dh, 40 + i), dy = filled(n * t * heads * dh, 42 + i);
          const out = new Float32Array(n * t * heads * dh), probs = new Float32Array(n * heads * t * t), dqkv = new Float32Array(qkv.length);
          addon.attention(qkv, n, t, heads, dh, dh ** -0.5, out, probs);
          addon.attentionGrad(dy, qkv, probs, n, t, heads, dh, dh ** -0.5, dqkv);
          return [out, probs, dqkv];
        }),
      );
    });

    it('matmul and batched matmul at sizes that split (2, 4 and 8 slabs, rows and columns)', () => {
      // [M, N, K]; the first two gave OpenBLAS different numbers at 1 and 2 threads when slabs followed the thread count.
      // Then 2, 4 and 8 row slabs, 8 column slabs, an odd shape.
      const products = [[150, 200, 64], [2048, 40, 40], [1100, 300, 64], [2100, 64, 64], [4200, 40, 40], [64, 4400, 48], [97, 211, 640]];
      // The matmul kernels' GEMM (with beta = 1, as for a bias), and the built-in one of an OpenBLAS build.
      const impls = ['default', ...(addon.gemmInfo().startsWith('openblas') ? ['builtin'] : [])];
      expectThreadIndependent(() => {
        const outs: Float32Array[] = [];
        products.forEach(([M, N, K], i) => {
          const a = filled(M * K, 50 + i), b = filled(K * N, 60 + i);
          for (const impl of impls)
            for (const [tA, tB] of [[false, false], [true, false], [false, true]]) {
              const c = filled(M * N, 70 + i);
              addon.sgemm(impl, tA, tB, M, N, K, 1, a, tA ? M : K, b, tB ? K : N, impl === 'default' ? 1 : 0, c, N);
              outs.push(c);
            }
        });
        // Batched: large products one after another (each split), small ones several per thread, a bias.
        for (const [batch, M, N, K] of [[3, 300, 300, 64], [96, 17, 17, 32]]) {
          const a = filled(batch * M * K, 80), b = filled(batch * K * N, 81), bias = filled(N, 82);
          const index = Int32Array.from({ length: batch }, (_, i) => i);
          const c = new Float32Array(batch * M * N);
          addon.batchMatMul(a, b, c, index, index, M, N, K, false, false, bias);
          outs.push(c);
        }
        return outs;
      });
    });

    it('binary ops (same shape, broadcast), unary, softmax, transpose, AdamW', () => {
      const x = filled(300_032, 90), y = filled(300_032, 91), row = filled(128, 92); // 2344 rows of 128
      const m = filled(300_032, 93), v = filled(300_032, 94, 0, 1);
      const odd = x.subarray(0, 300_007); // thread ranges start at every offset within a vector
      expectThreadIndependent(() => {
        const sum = new Float32Array(x.length), bc = new Float32Array(x.length), ex = new Float32Array(x.length), sm = new Float32Array(x.length);
        const n = odd.length;
        addon.binary(3, odd, [n], y.subarray(0, n), [n], sum.subarray(0, n), [n]);
        addon.binary(2, x, [x.length / 128, 128], row, [128], bc, [x.length / 128, 128]);
        addon.unary(0, odd, ex.subarray(0, n));
        addon.softmax(x, x.length / 128, 128, sm);
        const tr = new Float32Array(x.length);
        addon.stridedCopy(x, 0, [128, 1], tr, 0, [1, 2344], [2344, 128]);
        const p = new Float32Array(n), m2 = new Float32Array(n), v2 = new Float32Array(n);
        addon.adamW(odd, m.subarray(0, n), v.subarray(0, n), y.subarray(0, n), p, m2, v2, 1e-3, 0.9, 0.999, 1e-8, 0.05, 0.1, 0.001);
        return [sum, bc, ex, sm, tr, p, m2, v2];
      });
    });

    it('tfjs ops through the backend (matMul, Sum over either axis, softmax, transpose)', () => {
      expectThreadIndependent(() =>
        tf.tidy(() => {
          const x = tf.tensor(filled(16 * 65 * 128, 1), [16, 65, 128]);
          const w = tf.tensor(filled(128 * 96, 2), [128, 96]);
          const y = tf.matMul(tf.reshape(x, [-1, 128]), w);
          return [tf.sum(y, 0), tf.sum(y, 1), tf.mean(x, [0, 1]), tf.softmax(y), tf.exp(x), tf.transpose(x, [1, 0, 2]), tf.matMul(x, x, false, true)].map((t) =>
            t.dataSync().slice(),
          );
        }),
      );
    });
  });

  it('gives a transformer block\'s loss and every gradient bit-identical at 1, 2 and 3 threads', () => {
    // A pre-norm ViT block on the fused kernels, wired with their gradients as @bmae/vit-model does,
    // at a size where every kind of split happens: 2080 rows (4-slab Linear products, 8-chunk
    // LayerNorm gradients, 8-part bias-gradient Sums), 128 attention heads over the pool.
    const [n, t, d, heads] = [32, 65, 64, 4];
    const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) =>
      tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
    const layerNorm = tf.customGrad((x, w, b, save) => {
      const [y, xhat, rstd] = run('BmaeLayerNorm', { x: x as tf.Tensor, weight: w as tf.Tensor, bias: b as tf.Tensor }, { eps: 1e-6 }) as tf.Tensor[];
      (save as tf.GradSaveFunc)([xhat, rstd, w as tf.Tensor]);
      return { value: y, gradFunc: (dy: tf.Tensor, [xhat, rstd, weight]: tf.Tensor[]) => run('BmaeLayerNormGrad', { dy, xhat, rstd, weight }) as tf.Tensor[] };
    });
    const gelu = tf.customGrad((x, save) => {
      (save as tf.GradSaveFunc)([x as tf.Tensor]);
      return { value: run('BmaeGelu', { x: x as tf.Tensor }) as tf.Tensor, gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => run('BmaeGeluGrad', { x: saved, dy }) as tf.Tensor };
    });
    const attrs = { heads, scale: (d / heads) ** -0.5 };
    const attention = tf.customGrad((qkv, save) => {
      const [out, probs] = run('BmaeAttention', { qkv: qkv as tf.Tensor }, attrs) as tf.Tensor[];
      (save as tf.GradSaveFunc)([qkv as tf.Tensor, probs]);
      return { value: out, gradFunc: (dy: tf.Tensor, [q, probs]: tf.Tensor[]) => run('BmaeAttentionGrad', { dy, qkv: q, probs }, attrs) as tf.Tensor };
    });
    const shapes: Record<string, number[]> = {
      x: [n, t, d], n1w: [d], n1b: [d], qkvW: [d, 3 * d], qkvB: [3 * d], projW: [d, d], projB: [d],
      n2w: [d], n2b: [d], fc1W: [d, 4 * d], fc1B: [4 * d], fc2W: [4 * d, d], fc2B: [d],
    };
    const names = Object.keys(shapes);
    const block = (...args: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((name, i) => [name, args[i]]));
      const linear = (h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.reshape(tf.add(tf.matMul(tf.reshape(h, [n * t, -1]), w), b), [n, t, -1]);
      const x1 = tf.add(p.x, linear(attention(linear(layerNorm(p.x, p.n1w, p.n1b), p.qkvW, p.qkvB)), p.projW, p.projB));
      const x2 = tf.add(x1, linear(gelu(linear(layerNorm(x1, p.n2w, p.n2b), p.fc1W, p.fc1B)), p.fc2W, p.fc2B));
      return tf.mean(tf.square(tf.sub(x2, tf.tanh(x1)))) as tf.Scalar;
    };
    expectThreadIndependent(() =>
      tf.tidy(() => {
        const inputs = names.map((name, i) => {
          const size = shapes[name].reduce((a, b) => a * b, 1);
          return tf.tensor(filled(size, 100 + i, name === 'x' ? -1 : -0.3, name === 'x' ? 1 : 0.3), shapes[name]);
        });
        const { value, grads } = tf.valueAndGrads(block)(inputs);
        expect(grads.length).toBe(names.length);
        return [value, ...grads].map((g) => g.dataSync().slice());
      }),
    );
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
