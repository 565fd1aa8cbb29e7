/**
 * Benchmark (not a test): would folding bias + GELU into fc1's GEMM epilogue pay on native?
 *
 *   npx tsx tools/bench/epilogue.ts [--repeats 20] [--block 64]
 *
 * On the MLP's fc1 shapes (deit-tiny batch 64: encoder [1088, 192] x [192, 768], decoder [4160, 128] x
 * [128, 512]; small batch 128: [2176, 128] x [128, 512], [8320, 64] x [64, 256]) it times, alternating in
 * one process, with the addon's own sgemm and GELU:
 *   separate  what the model runs now: the bias copied into C, sgemm (beta 1), then GELU over all of C;
 *   blocked   the same work a block of rows at a time, GELU right after each block's sgemm while the
 *             block is in cache: the best an epilogue could do, short of fusing into the micro-kernel.
 * The bias copy is timed on its own too (an epilogue would add the bias in the GELU pass instead).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { addon } from '../../packages/tfjs-backend-native/src/addon';

const SHAPES: Array<[string, number, number, number]> = [
  ['deit-tiny enc fc1', 1088, 768, 192],
  ['deit-tiny dec fc1', 4160, 512, 128],
  ['small enc fc1', 2176, 512, 128],
  ['small dec fc1', 8320, 256, 64],
];

function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed + i * 0.37);
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '20' }, block: { type: 'string', default: '64' } } });
  const repeats = Number(values.repeats);
  const block = Number(values.block);
  console.log(`fc1 + bias + GELU, ${addon.getThreads()} thread(s), ${addon.gemmInfo().split(' ').slice(0, 2).join(' ')}, median of ${repeats}, blocks of ${block} rows`);
  for (const [name, M, N, K] of SHAPES) {
    const a = fill(M * K, 1), w = fill(K * N, 2), bias = fill(N, 3);
    const c = new Float32Array(M * N), y = new Float32Array(M * N);
    const copyBias = (r0: number, r1: number) => {
      for (let r = r0; r < r1; r++) c.set(bias, r * N);
    };
    const gemmRows = (r0: number, r1: number) =>
      addon.sgemm('default', false, false, r1 - r0, N, K, 1, a.subarray(r0 * K), K, w, N, 1, c.subarray(r0 * N), N);
    const separate = () => {
      copyBias(0, M);
      gemmRows(0, M);
      addon.gelu(c, y);
    };
    const blocked = () => {
      for (let r0 = 0; r0 < M; r0 += block) {
        const r1 = Math.min(M, r0 + block);
        copyBias(r0, r1);
        gemmRows(r0, r1);
        addon.gelu(c.subarray(r0 * N, r1 * N), y.subarray(r0 * N, r1 * N));
      }
    };
    const times: Record<string, number[]> = { separate: [], blocked: [], gemm: [], gelu: [], bias: [] };
    const parts: Record<string, () => void> = { separate, blocked, gemm: () => gemmRows(0, M), gelu: () => addon.gelu(c, y), bias: () => copyBias(0, M) };
    for (let i = 0; i <= repeats; i++) {
      for (const [key, fn] of Object.entries(parts)) {
        const t0 = performance.now();
        fn();
        if (i > 0) times[key].push(performance.now() - t0); // the first round warms up
      }
    }
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    console.log(
      `${name.padEnd(18)} [${M}, ${K}] x [${K}, ${N}]: separate ${m.separate.toFixed(2)} ms, blocked ${m.blocked.toFixed(2)} ms ` +
        `(${((1 - m.blocked / m.separate) * 100).toFixed(1)}% saved); parts: sgemm ${m.gemm.toFixed(2)}, GELU ${m.gelu.toFixed(2)}, bias copy ${m.bias.toFixed(2)} ms`,
    );
  }
}

main();
