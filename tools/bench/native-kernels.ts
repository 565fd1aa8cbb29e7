/**
 * Benchmark (not a test): kernel throughput of the 'native' backend against wasm and cpu.
 *
 *   npx tsx tools/bench/native-kernels.ts [--backends native,wasm,cpu] [--threads N] [--json]
 *
 * matMul: GFLOP/s (2*M*N*K per product) on the shapes of a DeiT-Tiny MAE step at batch 64
 * (1088 encoder tokens x 192 -> 768, 4160 decoder tokens x 128 -> 512, attention heads), every
 * transpose combination tfjs's gradients use. Element-wise: GB/s of output (float32) for a few ops on
 * [64, 17, 768] (the encoder MLP activation). Each measurement is the best of several timed repeats
 * after a warm-up (the machine is shared; the best run is the least disturbed one). The cpu backend
 * gets fewer repeats: it is ~100x slower.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';

interface Row {
  backend: string;
  kernel: string;
  shape: string;
  ms: number;
  rate: number;
  unit: string;
}

async function loadBackend(name: string): Promise<string | undefined> {
  try {
    if (name === 'native') require('@bmae/tfjs-backend-native');
    else if (name === 'wasm') require('@tensorflow/tfjs-backend-wasm');
    else if (name === 'cpu') require('@tensorflow/tfjs-backend-cpu');
    else return `unknown backend '${name}' (native, wasm, cpu)`;
    if (!(await tf.setBackend(name))) return 'tf.setBackend returned false';
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/** Best time (ms) of fn over `repeats` runs after one warm-up; fn's result is read back (a sync point). */
function time(fn: () => tf.Tensor, repeats: number): number {
  tf.tidy(() => void fn().dataSync());
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    tf.tidy(() => void fn().dataSync());
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function fill(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 12.9898 + seed) * 0.5; // deterministic data
  return tf.tensor(v, shape);
}

function benchBackend(backend: string, repeats: number): Row[] {
  const rows: Row[] = [];
  const matmuls: Array<{ name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { name: 'encoder fc1   x W', a: [1088, 192], b: [192, 768], ta: false, tb: false },
    { name: 'encoder fc1 dX=dY Wt', a: [1088, 768], b: [192, 768], ta: false, tb: true },
    { name: 'encoder fc1 dW=Xt dY', a: [1088, 192], b: [1088, 768], ta: true, tb: false },
    { name: 'decoder fc1   x W', a: [4160, 128], b: [128, 512], ta: false, tb: false },
    { name: 'decoder fc1 dW=Xt dY', a: [4160, 128], b: [4160, 512], ta: true, tb: false },
    { name: 'square 512', a: [512, 512], b: [512, 512], ta: false, tb: false },
    { name: 'dec. attention QKt', a: [256, 65, 32], b: [256, 65, 32], ta: false, tb: true },
    { name: 'enc. attention AV', a: [192, 17, 17], b: [192, 17, 64], ta: false, tb: false },
  ];
  for (const m of matmuls) {
    const [a, b] = [fill(m.a, 1), fill(m.b, 2)];
    const ms = time(() => tf.matMul(a, b, m.ta, m.tb), repeats);
    const r = m.a.length;
    const M = m.ta ? m.a[r - 1] : m.a[r - 2];
    const K = m.ta ? m.a[r - 2] : m.a[r - 1];
    const N = m.tb ? m.b[m.b.length - 2] : m.b[m.b.length - 1];
    const batch = m.a.slice(0, -2).reduce((x, y) => x * y, 1);
    rows.push({ backend, kernel: `matMul ${m.name}`, shape: `[${m.a}]${m.ta ? 'T' : ''} x [${m.b}]${m.tb ? 'T' : ''}`, ms, rate: (2 * batch * M * N * K) / ms / 1e6, unit: 'GFLOP/s' });
    tf.dispose([a, b]);
  }
  const shape = [64, 17, 768];
  const x = fill(shape, 3);
  const y = fill(shape, 4);
  const row = fill([768], 5);
  const elementwise: Array<[string, () => tf.Tensor]> = [
    ['add (same shape)', () => tf.add(x, y)],
    ['mul (row broadcast)', () => tf.mul(x, row)],
    ['exp', () => tf.exp(x)],
    ['erf', () => tf.erf(x)],
    ['softmax (last axis)', () => tf.softmax(x)],
    ['sum (last axis)', () => tf.sum(x, -1)],
    ['sum (leading axes)', () => tf.sum(x, [0, 1])],
    ['transpose [0,2,1]', () => tf.transpose(x, [0, 2, 1])],
  ];
  const n = shape.reduce((a, b) => a * b, 1);
  for (const [name, fn] of elementwise) {
    const ms = time(fn, repeats);
    rows.push({ backend, kernel: name, shape: `[${shape}]`, ms, rate: (n * 4) / ms / 1e6, unit: 'GB/s in' });
  }
  tf.dispose([x, y, row]);
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'native,wasm,cpu' },
      threads: { type: 'string' },
      repeats: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.threads !== undefined) process.env.BMAE_THREADS = values.threads; // read when the addon loads
  const all: Row[] = [];
  for (const backend of values.backends.split(',').map((s) => s.trim())) {
    const skipped = await loadBackend(backend);
    if (skipped !== undefined) {
      console.log(`${backend}: skipped (${skipped})`);
      continue;
    }
    const extra = backend === 'native' ? ` threads=${require('@bmae/tfjs-backend-native').getThreads()}` : '';
    console.log(`\n${backend}${extra}`);
    const rows = benchBackend(backend, backend === 'cpu' ? 2 : Number(values.repeats));
    for (const r of rows) {
      if (values.json) console.log(JSON.stringify(r));
      else console.log(`  ${r.kernel.padEnd(28)} ${r.shape.padEnd(30)} ${r.ms.toFixed(2).padStart(9)} ms ${r.rate.toFixed(1).padStart(8)} ${r.unit}`);
    }
    all.push(...rows);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
