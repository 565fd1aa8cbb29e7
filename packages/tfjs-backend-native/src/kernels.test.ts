import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import * as tf from '@tensorflow/tfjs-core';

import { describeNative, expectClose, expectSame, filled, runOnBoth } from './test-utils';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const input = (shape: number[], seed: number, lo = -1, hi = 1) => ({ values: filled(size(shape), seed, lo, hi), shape });

/** Kernels the addon implements (a typo here or in the registration would silently fall back to cpu). */
const NATIVE_KERNELS = [
  'BatchMatMul', '_FusedMatMul', 'Exp', 'Tanh', 'Erf', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Reciprocal', 'Log', 'Relu', 'Sigmoid', 'Abs',
  'Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum', 'AddN', 'Sum', 'Mean', 'Max', 'Min', 'Softmax',
  'Transpose', 'Slice', 'PadV2', 'Concat', 'SplitV',
];
/** Fused kernels under bmae's own names (tfjs has none for them; vit-model's layers call them by these names). */
const FUSED_KERNELS = ['BmaeLayerNorm', 'BmaeLayerNormGrad', 'BmaeGelu', 'BmaeGeluGrad', 'BmaeAttention', 'BmaeAttentionGrad'];

describeNative('native kernels equal the cpu backend', () => {
  beforeAll(() => tf.setBackend('native'));

  it('registers every cpu kernel for native, and its own kernels under real tfjs kernel names', () => {
    const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
    const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
    expect([...cpu].filter((name) => !native.has(name))).toEqual([]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { nativeKernelConfigs } = require('./kernels') as typeof import('./kernels');
    const own = nativeKernelConfigs('native').map((k) => k.kernelName).sort();
    expect(own).toEqual([...NATIVE_KERNELS, ...FUSED_KERNELS].sort());
    // a misspelt name of a tfjs kernel would silently never run
    expect(own.filter((name) => !cpu.has(name)).sort()).toEqual([...FUSED_KERNELS].sort());
  });

  it('runs float32 Multiply, Add, SplitV, Transpose natively (their outputs live in the pooled buffers)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NativeBackend } = require('./index') as typeof import('./index');
    const backend = tf.backend() as InstanceType<typeof NativeBackend>;
    expect(backend).toBeInstanceOf(NativeBackend);
    tf.tidy(() => {
      const x = tf.ones([4, 6]);
      const outs = [tf.mul(x, 2), tf.add(x, x), ...tf.split(x, 2, 1), tf.transpose(x)];
      for (const t of outs) expect(backend.pool.isOwned(backend.data.get(t.dataId).values)).toBe(true);
      // ints take the cpu kernel, whose output is an ordinary array
      const i = tf.add(tf.ones([3], 'int32'), tf.ones([3], 'int32'));
      expect(backend.pool.isOwned(backend.data.get(i.dataId).values)).toBe(false);
    });
  });

  describe('BatchMatMul', () => {
    const cases: Array<[number, number, number]> = [
      [1, 1, 1], [7, 33, 65], [65, 7, 1], [33, 65, 7], [1, 128, 64], [3, 0, 4], [0, 5, 3], [100, 300, 150],
    ];
    for (const [M, K, N] of cases) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        it(`[${M}x${K}] x [${K}x${N}] transposeA=${ta} transposeB=${tb}`, () => {
          const a = input(ta ? [K, M] : [M, K], 1);
          const b = input(tb ? [N, K] : [K, N], 2);
          expectSame(runOnBoth([a, b], (x, y) => tf.matMul(x, y, ta, tb)), 1e-5);
        });
      }
    }

    it('batched with equal batches, every transpose combination', () => {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        const a = input(ta ? [5, 33, 7] : [5, 7, 33], 3);
        const b = input(tb ? [5, 17, 33] : [5, 33, 17], 4);
        expectSame(runOnBoth([a, b], (x, y) => tf.matMul(x, y, ta, tb)));
      }
    });

    it('many small matrices (attention heads) on the threaded path', () => {
      const q = input([192, 17, 64], 5);
      const k = input([192, 17, 64], 6);
      expectSame(runOnBoth([q, k], (x, y) => tf.matMul(x, y, false, true)));
    });

    it('a batch of sequences times one weight matrix (one tall sgemm)', () => {
      expectSame(runOnBoth([input([8, 65, 128], 7), input([1, 128, 96], 8)], (x, y) => tf.matMul(x, y)));
    });

    it('broadcasts batch dims like numpy ([2,1] with [3] gives [2,3])', () => {
      const a = input([2, 1, 4, 5], 9);
      const b = input([3, 5, 6], 10);
      tf.setBackend('native');
      const got = tf.tidy(() => tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape)));
      expect(got.shape).toEqual([2, 3, 4, 6]);
      // Reference: explicit tiling to equal batches, where every backend agrees.
      const want = tf.tidy(() => {
        const ta = tf.tile(tf.tensor(a.values, a.shape), [1, 3, 1, 1]);
        const tb = tf.tile(tf.reshape(tf.tensor(b.values, b.shape), [1, 3, 5, 6]), [2, 1, 1, 1]);
        return tf.matMul(tf.reshape(ta, [6, 4, 5]), tf.reshape(tb, [6, 5, 6]));
      });
      expectClose(got.dataSync(), want.dataSync());
      tf.dispose([got, want]);
    });

    it('reports mismatched inner dimensions', () => {
      expect(() => tf.tidy(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5])))).toThrow(/inner shapes \(3\) and \(4\)/);
    });

    it('int32 inputs fall back to the cpu kernel', () => {
      const r = runOnBoth([{ values: new Int32Array([1, 2, 3, 4]), shape: [2, 2] }, { values: new Int32Array([5, 6, 7, 8]), shape: [2, 2] }],
        (x, y) => tf.matMul(x, y));
      expect(Array.from(r.native[0].values)).toEqual([19, 22, 43, 50]);
      expectSame(r);
    });
  });

  describe('_FusedMatMul', () => {
    for (const activation of ['linear', 'relu', 'sigmoid', 'elu', 'relu6', 'leakyrelu'] as const) {
      it(`bias [N] + ${activation}, all transposes`, () => {
        for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
          const a = input(ta ? [33, 7] : [7, 33], 11);
          const b = input(tb ? [65, 33] : [33, 65], 12);
          expectSame(runOnBoth([a, b, input([65], 13)], (x, y, bias) =>
            tf.fused.matMul({ a: x, b: y, bias, activation, transposeA: ta, transposeB: tb })));
        }
      });
    }

    it('a full [M, N] bias (added after the sgemm) and a batched input', () => {
      expectSame(runOnBoth([input([3, 7, 33], 14), input([3, 33, 9], 15), input([7, 9], 16)], (x, y, bias) =>
        tf.fused.matMul({ a: x, b: y, bias, activation: 'relu' })));
    });

    it('gradients with respect to a, b and bias (tfjs builds them from other kernels)', () => {
      expectSame(runOnBoth([input([65, 33], 17), input([33, 17], 18), input([17], 19), input([65, 17], 20)], (x, y, bias, dy) => {
        const g = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r }));
        return g([x, y, bias], dy);
      }), 1e-5);
    });
  });

  describe('unary', () => {
    const ops: Array<[string, (x: tf.Tensor) => tf.Tensor, number, number]> = [
      ['exp', tf.exp, -20, 20], ['tanh', tf.tanh, -6, 6], ['erf', tf.erf, -4, 4], ['sqrt', tf.sqrt, 0, 10],
      ['rsqrt', tf.rsqrt, 0.01, 10], ['square', tf.square, -3, 3], ['neg', tf.neg, -3, 3], ['reciprocal', tf.reciprocal, 0.1, 10],
      ['log', tf.log, 0.001, 100], ['relu', tf.relu, -1, 1], ['sigmoid', tf.sigmoid, -20, 20], ['abs', tf.abs, -2, 2],
    ];
    for (const [name, op, lo, hi] of ops) {
      it(`${name} on odd and threaded sizes`, () => {
        for (const shape of [[1], [7], [33, 65], [300, 301], [0, 4]]) {
          expectSame(runOnBoth([input(shape, 21, lo, hi)], op), 2e-6);
        }
      });
    }

    it('exp, tanh, erf keep NaN and saturate at +-Infinity like the cpu backend', () => {
      const x = { values: new Float32Array([NaN, Infinity, -Infinity, 0, -0, 100, -100, 1e-30]), shape: [8] };
      for (const op of [tf.exp, tf.tanh, tf.erf, tf.sigmoid]) expectSame(runOnBoth([x], op), 1e-6);
    });
  });

  describe('binary with broadcasting', () => {
    const shapes: Array<[number[], number[]]> = [
      [[7, 33], [7, 33]], [[65, 33], [33]], [[4, 1, 33], [1, 7, 1]], [[], [5, 7]], [[5, 7], []], [[1], [1]], [[0, 3], [3]],
      [[16, 65, 128], [128]], [[16, 65, 128], [16, 65, 1]], [[16, 1, 128], [65, 1]], [[2, 3, 1, 5], [3, 4, 1]],
    ];
    const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
      ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['squaredDifference', tf.squaredDifference],
      ['maximum', tf.maximum], ['minimum', tf.minimum],
    ];
    for (const [name, op] of ops) {
      it(name, () => {
        for (const [sa, sb] of shapes) expectSame(runOnBoth([input(sa, 22), input(sb, 23, 0.5, 2)], op), 1e-6);
      });
    }

    it('addN of same-shape tensors', () => {
      expectSame(runOnBoth([input([65, 33], 24), input([65, 33], 25), input([65, 33], 26)], (a, b, c) => tf.addN([a, b, c])));
    });

    it('int32 falls back to the cpu kernel', () => {
      const r = runOnBoth([{ values: new Int32Array([1, 2, 3]), shape: [3] }, { values: new Int32Array([10]), shape: [1] }], tf.add);
      expect(r.native[0].values).toBeInstanceOf(Int32Array);
      expect(Array.from(r.native[0].values)).toEqual([11, 12, 13]);
    });
  });

  describe('reductions', () => {
    const cases: Array<[number[], number | number[] | null]> = [
      [[7, 33], -1], [[7, 33], 0], [[7, 33], null], [[16, 65, 128], -1], [[16, 65, 128], [0, 1]], [[16, 65, 128], 1],
      [[4, 5, 6, 7], [0, 2]], [[4, 5, 6, 7], [1, 3]], [[1, 1], 0], [[3, 1, 5], 1], [[2, 2048, 33], 1], [[1, 1000, 128], [0, 1]],
    ];
    const ops: Array<[string, (x: tf.Tensor, axis: number | number[] | null, keepDims: boolean) => tf.Tensor]> = [
      ['sum', (x, a, k) => tf.sum(x, a ?? undefined, k)], ['mean', (x, a, k) => tf.mean(x, a ?? undefined, k)],
      ['max', (x, a, k) => tf.max(x, a ?? undefined, k)], ['min', (x, a, k) => tf.min(x, a ?? undefined, k)],
    ];
    for (const [name, op] of ops) {
      it(name, () => {
        for (const [shape, axis] of cases) {
          for (const keepDims of [false, true]) expectSame(runOnBoth([input(shape, 27)], (x) => op(x, axis, keepDims)), 2e-6);
        }
      });
    }

    it('sum over an empty axis is 0 and max of NaN is NaN', () => {
      expectSame(runOnBoth([input([3, 0], 28)], (x) => tf.sum(x, 1)));
      expectSame(runOnBoth([{ values: new Float32Array([1, NaN, 3, 4]), shape: [2, 2] }], (x) => [tf.max(x, 1), tf.min(x, 0)]));
    });

    it('moments (LayerNorm statistics) over the last axis', () => {
      expectSame(runOnBoth([input([16, 65, 128], 29)], (x) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return [mean, variance];
      }), 2e-6);
    });
  });

  describe('softmax', () => {
    for (const shape of [[7, 33], [192, 17, 17], [5, 1], [1], [40, 65, 65]]) {
      it(`[${shape}]`, () => expectSame(runOnBoth([input(shape, 30, -10, 10)], (x) => tf.softmax(x)), 2e-6));
    }
  });

  describe('layout', () => {
    it('transpose', () => {
      const cases: Array<[number[], number[]]> = [
        [[65, 33], [1, 0]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[16, 65, 4, 32], [0, 2, 1, 3]], [[16, 17, 3, 3, 64], [2, 0, 3, 1, 4]],
        [[1, 7, 1], [2, 1, 0]], [[0, 3], [1, 0]], [[300, 300], [1, 0]],
      ];
      for (const [shape, perm] of cases) expectSame(runOnBoth([input(shape, 31)], (x) => tf.transpose(x, perm)), 0);
    });

    it('slice (contiguous and strided) and its gradient (pad)', () => {
      expectSame(runOnBoth([input([16, 65, 128], 32)], (x) => [tf.slice(x, [0, 1, 0], [-1, -1, -1]), tf.slice(x, [3, 0, 5], [7, 1, 33]), tf.slice(x, [10], [2])]), 0);
      expectSame(runOnBoth([input([8, 65, 33], 33), input([8, 64, 33], 34)], (x, dy) =>
        tf.grad((t: tf.Tensor) => tf.slice(t, [0, 1, 0], [-1, -1, -1]))(x, dy)), 0);
    });

    it('pad with a constant', () => {
      expectSame(runOnBoth([input([3, 5, 7], 35)], (x) => [tf.pad(x, [[1, 2], [0, 0], [3, 1]]), tf.pad(x, [[0, 0], [2, 2], [0, 0]], -1.5)]), 0);
    });

    it('split into equal and unequal parts (attention q, k, v)', () => {
      expectSame(runOnBoth([input([16, 9, 17, 64], 39)], (x) => tf.split(x, 3, 1)), 0);
      expectSame(runOnBoth([input([16, 65, 128], 40)], (x) => tf.split(x, [1, 64], 1)), 0);
      expectSame(runOnBoth([input([5, 12], 41)], (x) => tf.split(x, [2, 0, 10], -1)), 0);
    });

    it('concat along every axis, including empty parts', () => {
      for (const axis of [0, 1, 2]) {
        const shapeOf = (k: number) => [0, 1, 2].map((d) => (d === axis ? k : [4, 5, 6][d]));
        expectSame(runOnBoth([input(shapeOf(1), 36), input(shapeOf(3), 37), input(shapeOf(0), 38)], (a, b, c) => tf.concat([a, b, c], axis)), 0);
      }
    });
  });
});
