/**
 * Benchmark (not a test): the built-in SGEMM against OpenBLAS on the matmul shapes of a bmae training
 * step, in one process, so both see the same machine load.
 *
 *   npx tsx tools/bench/gemm.ts [--threads 1,2] [--repeats 7] [--isa avx512] [--preset all|deit-tiny|small] [--json]
 *
 * Needs an addon built with OpenBLAS (the default where libopenblas-dev is installed): the built-in
 * GEMM is compiled into every build, so `sgemm('builtin:<isa>')` and `sgemm('openblas')` run side by
 * side. Shapes: DeiT-Tiny at batch 64 (4160 = 64 x 65 tokens, width 192, MLP 768, 3 heads of 64) and the
 * small preset at batch 128 (8320 tokens, width 128, MLP 512, 4 heads of 32): every Linear's forward
 * (x W), its input gradient (dY W^T) and weight gradient (X^T dY), and the attention products, which
 * batchMatMul runs one single-threaded GEMM per head and image (timed here as a loop of 3 x 64 calls).
 * Each repeat times builtin and OpenBLAS back to back, alternating which goes first; a measurement is
 * the median over repeats of the time for enough calls to last >= 40 ms. Ratio = builtin / OpenBLAS
 * GFLOP/s (> 1: builtin faster).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ADDON_PATH } from '@bmae/tfjs-backend-native';

interface Addon {
  sgemm(impl: string, tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): void;
  setThreads(n: number): void;
  builtinIsas(): string[];
  gemmInfo(): string;
  blasConfig(): string;
}

interface Shape { preset: string; name: string; M: number; N: number; K: number; transA: boolean; transB: boolean; batch: number }

function linear(preset: string, name: string, tokens: number, din: number, dout: number): Shape[] {
  return [
    { preset, name: `${name} x W`, M: tokens, N: dout, K: din, transA: false, transB: false, batch: 1 },
    { preset, name: `${name} dY W^T`, M: tokens, N: din, K: dout, transA: false, transB: true, batch: 1 },
    { preset, name: `${name} X^T dY`, M: din, N: dout, K: tokens, transA: true, transB: false, batch: 1 },
  ];
}

function attention(preset: string, heads: number, batch: number, tokens: number, headDim: number): Shape[] {
  return [
    { preset, name: 'attn Q K^T', M: tokens, N: tokens, K: headDim, transA: false, transB: true, batch: heads * batch },
    { preset, name: 'attn P V', M: tokens, N: headDim, K: tokens, transA: false, transB: false, batch: heads * batch },
    { preset, name: 'attn dP^T Q', M: tokens, N: headDim, K: tokens, transA: true, transB: false, batch: heads * batch },
  ];
}

const SHAPES: Shape[] = [
  ...linear('deit-tiny', 'qkv', 64 * 65, 192, 576),
  ...linear('deit-tiny', 'mlp1', 64 * 65, 192, 768),
  ...linear('deit-tiny', 'mlp2', 64 * 65, 768, 192),
  ...attention('deit-tiny', 3, 64, 65, 64),
  ...linear('small', 'qkv', 128 * 65, 128, 384),
  ...linear('small', 'mlp1', 128 * 65, 128, 512),
  ...linear('small', 'mlp2', 128 * 65, 512, 128),
];

function operands(s: Shape) {
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  return { a: fill(s.M * s.K * (s.batch > 1 ? 1 : 1)), b: fill(s.K * s.N), c: new Float32Array(s.M * s.N) };
}

/** Seconds for one evaluation of the shape (all `batch` products) on `impl`. */
function runOnce(addon: Addon, impl: string, s: Shape, m: ReturnType<typeof operands>): void {
  const lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N;
  for (let i = 0; i < s.batch; i++) addon.sgemm(impl, s.transA, s.transB, s.M, s.N, s.K, 1, m.a, lda, m.b, ldb, 0, m.c, s.N);
}

function timeCalls(addon: Addon, impl: string, s: Shape, m: ReturnType<typeof operands>, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) runOnce(addon, impl, s, m);
  return (performance.now() - t0) / 1000 / calls;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

function main(): void {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '1,2' }, repeats: { type: 'string', default: '7' }, isa: { type: 'string' }, preset: { type: 'string', default: 'all' }, json: { type: 'boolean', default: false } } });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(ADDON_PATH) as Addon;
  if (!addon.blasConfig().startsWith('OpenBLAS')) throw new Error(`gemm bench: this addon has no OpenBLAS to compare with (${addon.gemmInfo()}); build it with BMAE_NATIVE_BLAS=openblas`);
  const isa = values.isa ?? addon.builtinIsas()[0];
  const builtin = `builtin:${isa}`;
  const repeats = Number(values.repeats);
  const shapes = SHAPES.filter((s) => values.preset === 'all' || s.preset === values.preset);
  const rows: Array<Shape & { threads: number; builtinGflops: number; openblasGflops: number; ratio: number }> = [];
  const load = (): string => require('node:os').loadavg().map((x: number) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  if (!values.json) console.log(`builtin ${isa} vs ${addon.blasConfig()}\nload average before: ${loadBefore}\n`);
  for (const threads of values.threads!.split(',').map(Number)) {
    addon.setThreads(threads);
    if (!values.json) console.log(`threads ${threads}\n${'preset'.padEnd(10)} ${'product'.padEnd(16)} ${'batch x [M, N, K]'.padEnd(24)} ${'builtin GF/s'.padStart(12)} ${'OpenBLAS GF/s'.padStart(13)} ${'ratio'.padStart(6)}`);
    for (const s of shapes) {
      const m = operands(s);
      const flops = 2 * s.M * s.N * s.K * s.batch;
      runOnce(addon, builtin, s, m);
      runOnce(addon, 'openblas', s, m); // warm-up: packing buffers, OpenBLAS's threads
      const calls = Math.max(1, Math.ceil(0.04 / Math.max(1e-6, timeCalls(addon, 'openblas', s, m, 1))));
      const times: Record<string, number[]> = { [builtin]: [], openblas: [] };
      for (let r = 0; r < repeats; r++) {
        const order = r % 2 === 0 ? [builtin, 'openblas'] : ['openblas', builtin];
        for (const impl of order) times[impl].push(timeCalls(addon, impl, s, m, calls));
      }
      const builtinGflops = flops / median(times[builtin]) / 1e9, openblasGflops = flops / median(times.openblas) / 1e9;
      const row = { ...s, threads, builtinGflops, openblasGflops, ratio: builtinGflops / openblasGflops };
      rows.push(row);
      if (!values.json) {
        const dims = `${s.batch > 1 ? `${s.batch} x ` : ''}[${s.M}, ${s.N}, ${s.K}]${s.transA ? ' tA' : ''}${s.transB ? ' tB' : ''}`;
        console.log(`${s.preset.padEnd(10)} ${s.name.padEnd(16)} ${dims.padEnd(24)} ${builtinGflops.toFixed(1).padStart(12)} ${openblasGflops.toFixed(1).padStart(13)} ${row.ratio.toFixed(2).padStart(6)}`);
      }
    }
    const mine = rows.filter((r) => r.threads === threads);
    const geomean = Math.exp(mine.reduce((sum, r) => sum + Math.log(r.ratio), 0) / mine.length);
    // FLOP-weighted: what a training step would see (big products dominate).
    const weighted = mine.reduce((t, r) => t + (2 * r.M * r.N * r.K * r.batch) / r.openblasGflops, 0) / mine.reduce((t, r) => t + (2 * r.M * r.N * r.K * r.batch) / r.builtinGflops, 0);
    if (!values.json) console.log(`threads ${threads}: ratio geometric mean ${geomean.toFixed(2)}, time-weighted (OpenBLAS time / builtin time over all shapes) ${weighted.toFixed(2)}, min ${Math.min(...mine.map((r) => r.ratio)).toFixed(2)}\n`);
  }
  const loadAfter = load();
  if (values.json) console.log(JSON.stringify({ builtin: isa, openblas: addon.blasConfig(), loadBefore, loadAfter, rows }, null, 2));
  else console.log(`load average after: ${loadAfter}`);
}

main();
