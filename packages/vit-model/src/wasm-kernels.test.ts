import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';

/** Runs `f` on `backend` with fresh tensors from host arrays and returns the host values. */
async function on<T extends tf.Tensor | tf.Tensor[]>(backend: 'cpu' | 'wasm', f: () => T): Promise<Float32Array[]> {
  await selectBackend({ name: backend, log: () => {} });
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  return values;
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  expect(worst).toBeLessThan(tolerance);
}

describe('wasm kernel work-arounds', () => {
  const rng = Rng.fromSeed(3);
  const host = (shape: number[]) => ({ shape, values: rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))) });

  afterAll(async () => {
    await selectBackend({ name: 'cpu', log: () => {} });
  });

  const cases: Array<{ label: string; a: number[]; b: number[] }> = [
    { label: 'rank 2', a: [33, 7], b: [7, 65] },
    { label: 'rank 3', a: [5, 17, 9], b: [5, 9, 13] },
    { label: 'rank 4', a: [2, 3, 6, 8], b: [2, 3, 8, 5] },
    { label: 'rank 3 x rank 2 (broadcast)', a: [4, 6, 8], b: [8, 3] },
    { label: 'batch 1 x batch 4 (broadcast)', a: [1, 6, 8], b: [4, 8, 3] },
    { label: 'attention shape', a: [3, 4, 65, 32], b: [3, 4, 32, 65] },
  ];
  for (const { label, a, b } of cases) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        it(`BatchMatMul ${label}, transposeA=${transposeA} transposeB=${transposeB} equals cpu`, async () => {
          const swap = (shape: number[], t: boolean) => (t ? [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!] : shape);
          // 'rank 3 x rank 2' transposes only make sense on the rank-2 side for A's batch; keep shapes valid.
          const ha = host(swap(a, transposeA));
          const hb = host(swap(b, transposeB));
          const f = () => tf.matMul(tf.tensor(ha.values, ha.shape), tf.tensor(hb.values, hb.shape), transposeA, transposeB);
          const [expected] = await on('cpu', f);
          const [actual] = await on('wasm', f);
          expectClose(actual, expected);
        });
      }
    }
  }

  it('_FusedMatMul with bias and transposes, and its gradients, equal cpu', async () => {
    const ha = host([9, 12]);
    const hb = host([7, 9]);
    const hbias = host([7]);
    const f = () => {
      const x = tf.tensor2d(ha.values, [9, 12]);
      const w = tf.tensor2d(hb.values, [7, 9]);
      const bias = tf.tensor1d(hbias.values); // out = x^T w^T: [12, 7]
      const loss = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: xx as tf.Tensor2D, b: ww as tf.Tensor2D, bias: bb, transposeA: true, transposeB: true, activation: 'relu' })));
      const grads = tf.grads(loss)([x, w, bias]);
      return [loss(x, w, bias), ...grads];
    };
    const expected = await on('cpu', f);
    const actual = await on('wasm', f);
    expected.forEach((e, i) => expectClose(actual[i], e));
  });

  it('gives tf.gather a gradient on wasm (UnsortedSegmentSum) equal to cpu', async () => {
    const hx = host([5, 3]);
    const f = () => {
      const x = tf.tensor2d(hx.values, [5, 3]);
      const indices = tf.tensor1d([4, 0, 4, 2], 'int32');
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), tf.range(1, 13).reshape([4, 3]))))(x);
    };
    const [expected] = await on('cpu', f);
    const [actual] = await on('wasm', f);
    expectClose(actual, expected, 1e-6);
    // row 4 was gathered twice (rows 0 and 2 of the product), rows 1 and 3 never
    expect(Array.from(actual.slice(12, 15))).toEqual([1 + 7, 2 + 8, 3 + 9]);
    expect(Array.from(actual.slice(3, 6))).toEqual([0, 0, 0]);
  });

  it('clones without copying on wasm, and a clone outlives its source', async () => {
    await selectBackend({ name: 'wasm', log: () => {} });
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const source = tf.tensor1d([1, 2, 3]);
    const before = backend.numDataIds();
    const copy = tf.clone(source);
    expect(backend.numDataIds()).toBe(before); // same heap block, one more reference
    source.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(backend.numDataIds()).toBe(before - 1);
  });

  it('does not leak wasm tensors through the wrappers', async () => {
    await selectBackend({ name: 'wasm', log: () => {} });
    const a = tf.randomNormal([3, 4, 5]);
    const before = tf.memory().numTensors;
    const dataBefore = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    for (let i = 0; i < 3; i++) tf.tidy(() => void tf.matMul(a, a, true, false));
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataBefore);
    a.dispose();
  });
});
