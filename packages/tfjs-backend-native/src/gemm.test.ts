/**
 * The addon's SGEMMs (every built-in micro-kernel this CPU runs, OpenBLAS when built with it, and the
 * default one batchMatMul uses) against a float64 triple loop: odd shapes, edge tiles, K, M and N
 * beyond one cache block, all transposes, row strides, alpha/beta, threaded splits, batched products.
 */
import { addon } from './addon';
import { describeNative, filled } from './test-utils';

interface Case { M: number; N: number; K: number; transA: boolean; transB: boolean; alpha: number; beta: number; pad: number }

/** c = alpha op(a) op(b) + beta c in float64, and a per-element error bound (float32 rounding over K terms). */
function reference(t: Case, a: Float32Array, lda: number, b: Float32Array, ldb: number, c: Float32Array, ldc: number) {
  const out = new Float64Array(t.M * t.N), bound = new Float64Array(t.M * t.N);
  for (let i = 0; i < t.M; i++)
    for (let j = 0; j < t.N; j++) {
      let sum = 0, abs = 0;
      for (let k = 0; k < t.K; k++) {
        const x = (t.transA ? a[k * lda + i] : a[i * lda + k]) * (t.transB ? b[j * ldb + k] : b[k * ldb + j]);
        sum += x;
        abs += Math.abs(x);
      }
      const old = t.beta === 0 ? 0 : t.beta * c[i * ldc + j];
      out[i * t.N + j] = t.alpha * sum + old;
      bound[i * t.N + j] = 3e-7 * (t.K + 2) * (Math.abs(t.alpha) * abs + Math.abs(old)) + 1e-30;
    }
  return { out, bound };
}

/** Runs one case on `impl`; returns the number of wrong elements (0 expected) and the first one. */
function check(impl: string, t: Case, seed: number): string {
  const [ra, ca] = t.transA ? [t.K, t.M] : [t.M, t.K];
  const [rb, cb] = t.transB ? [t.N, t.K] : [t.K, t.N];
  // BLAS's rule: a row stride is >= max(1, columns), also for empty matrices (K = 0).
  const lda = Math.max(1, ca) + t.pad, ldb = Math.max(1, cb) + t.pad, ldc = Math.max(1, t.N) + t.pad;
  const a = filled(Math.max(1, ra * lda), seed), b = filled(Math.max(1, rb * ldb), seed + 1);
  const c = filled(Math.max(1, t.M * ldc), seed + 2);
  // beta 0 must ignore C entirely, NaN included (BLAS semantics; batchMatMul relies on it for fresh buffers).
  if (t.beta === 0) c.fill(Number.NaN);
  const { out, bound } = reference(t, a, lda, b, ldb, c, ldc);
  const before = c.slice();
  addon.sgemm(impl, t.transA, t.transB, t.M, t.N, t.K, t.alpha, a, lda, b, ldb, t.beta, c, ldc);
  for (let i = 0; i < t.M; i++) {
    for (let j = 0; j < t.N; j++) {
      const got = c[i * ldc + j], want = out[i * t.N + j];
      if (!(Math.abs(got - want) <= bound[i * t.N + j])) return `C[${i},${j}] = ${got}, want ${want}`;
    }
    for (let j = t.N; j < ldc; j++)
      if (!Object.is(c[i * ldc + j], before[i * ldc + j])) return `padding C[${i},${j}] was written`;
  }
  return 'ok';
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [17, 65, 3],
  [13, 33, 257], // K beyond one KC block: the second block accumulates
  [203, 37, 30], // M beyond one MC block, not a multiple of any MR
  [5, 4099, 2], // N beyond one NC block
  [65, 65, 64], // an attention head
  [3, 2, 0], // K = 0: C = beta C
];
const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];

describeNative('sgemm', () => {
  const impls = [...addon.builtinIsas().map((isa) => `builtin:${isa}`), 'default', ...(addon.blasConfig().startsWith('OpenBLAS') ? ['openblas'] : [])];

  it('lists the built-in kernels this CPU runs, scalar last, and names the GEMM in use', () => {
    const isas = addon.builtinIsas();
    expect(isas[isas.length - 1]).toBe('scalar');
    expect(addon.gemmInfo()).toMatch(/^(openblas OpenBLAS|builtin (avx512|avx2|neon|scalar) \d+x\d+)/);
  });

  it.each(impls)('%s matches the float64 reference on odd shapes and every transpose', (impl) => {
    let seed = 1;
    for (const [M, N, K] of SHAPES)
      for (const [transA, transB] of TRANSPOSES)
        expect([M, N, K, transA, transB, check(impl, { M, N, K, transA, transB, alpha: 1, beta: 0, pad: 0 }, seed++)]).toEqual([M, N, K, transA, transB, 'ok']);
  });

  it.each(impls)('%s applies alpha and beta, with row strides wider than the matrices', (impl) => {
    let seed = 100;
    for (const [alpha, beta] of [[1, 1], [0.5, -2], [0, 0.5], [-1.5, 0]])
      for (const [transA, transB] of TRANSPOSES)
        expect([alpha, beta, transA, transB, check(impl, { M: 19, N: 41, K: 23, transA, transB, alpha, beta, pad: 3 }, seed++)]).toEqual([alpha, beta, transA, transB, 'ok']);
  });

  it.each(impls)('%s splits large products over two threads by rows and by columns', (impl) => {
    const threads = addon.getThreads();
    addon.setThreads(2);
    try {
      // >= 2^20 multiply-adds, so the built-in GEMM threads: M >= N splits rows, M < N columns.
      expect(check(impl, { M: 150, N: 97, K: 100, transA: false, transB: true, alpha: 1, beta: 1, pad: 1 }, 7)).toBe('ok');
      expect(check(impl, { M: 97, N: 150, K: 100, transA: true, transB: false, alpha: 1, beta: 0, pad: 0 }, 8)).toBe('ok');
    } finally {
      addon.setThreads(threads);
    }
  });

  it('rejects matrices smaller than their shape and stride say, and unknown implementations', () => {
    const a = new Float32Array(6), b = new Float32Array(5), c = new Float32Array(4);
    expect(() => addon.sgemm('builtin', false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)).toThrow(/b has 5 elements, needs 6/);
    expect(() => addon.sgemm('builtin', false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2)).toThrow(/leading dimension/);
    expect(() => addon.sgemm('builtin:sse9', false, false, 1, 1, 1, 1, a, 1, b, 1, 0, c, 1)).toThrow(/not available/);
    expect(() => addon.sgemm('mkl', false, false, 1, 1, 1, 1, a, 1, b, 1, 0, c, 1)).toThrow(/unknown implementation/);
  });

  it('batchMatMul (the default GEMM) computes batched and broadcast products with a bias', () => {
    // [3, 17, 5] x [2, 5, 9] broadcast as a[i] x b[i % 2], + bias[9]: per-matrix reference.
    const [batch, M, N, K] = [3, 17, 9, 5];
    const a = filled(batch * M * K, 11), b = filled(2 * K * N, 12), bias = filled(N, 13), c = new Float32Array(batch * M * N);
    const aIndex = Int32Array.from([0, 1, 2]), bIndex = Int32Array.from([0, 1, 0]);
    addon.batchMatMul(a, b, c, aIndex, bIndex, M, N, K, false, false, bias);
    for (let m = 0; m < batch; m++) {
      const want = new Float32Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[i * N + j] = bias[j];
      addon.sgemm('builtin:scalar', false, false, M, N, K, 1, a.subarray(m * M * K), K, b.subarray(bIndex[m] * K * N), N, 1, want, N);
      const got = c.subarray(m * M * N, (m + 1) * M * N);
      for (let i = 0; i < M * N; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
    }
  });
});
