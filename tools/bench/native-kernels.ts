/**
 * Benchmark (not a test): kernel throughput of the 'native' backend against wasm and cpu.
 *
 *   npx tsx tools/bench/native-kernels.ts [--backends native,wasm,cpu] [--threads N] [--json]
 *   npx tsx tools/bench/native-kernels.ts --profile-mae [--backends native] [--preset deit-tiny] [--batch 64] [--steps 3] [--native-adamw]
 *       [--composite] [--unfuse attention,attentionGrad]
 *
 * matMul: GFLOP/s (2*M*N*K per product) on the shapes of a DeiT-Tiny MAE step at batch 64
 * (1088 encoder tokens x 192 -> 768, 4160 decoder tokens x 128 -> 512, attention heads), every
 * transpose combination tfjs's gradients use. Element-wise: GB/s of output (float32) for a few ops on
 * [64, 17, 768] (the encoder MLP activation). Each measurement is the best of several timed repeats
 * after a warm-up (the machine is shared; the best run is the least disturbed one). The cpu backend
 * gets fewer repeats: it is ~100x slower.
 *
 * --profile-mae: where the time of an MAE pre-training step (default DeiT-Tiny, batch 64, pixel target)
 * goes, per kernel (wall ms per step, calls, the costliest input shapes), and how much of it is spent
 * inside the native addon's calls at all: the rest (tfjs's engine, autodiff, kernel wrappers, cpu-backend
 * kernels) runs on the JavaScript thread whatever BMAE_THREADS is, so it bounds thread scaling (Amdahl).
 * With tf.train.adam or, with
 * --native-adamw, the native adamWUpdate. Kernel functions are wrapped with timers, so the numbers
 * are the backend's own cost plus the wrapper (a few microseconds per call). --composite unregisters
 * the backend's fused kernels (LayerNorm, GELU, attention) first, so the model runs their composites (the
 * step as before the fused kernels, for a comparison in one invocation); --unfuse does it for the listed
 * ones only (keys of FUSED_KERNEL_NAMES).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // gradients (for --profile-mae)
import { Rng } from '@bmae/data';
import { FUSED_KERNEL_NAMES, PRESET_NAMES, createMaeParams, forwardLoss, forwardMae, maeConfig, patchify, randomMasking, trainableVariables, type PresetName } from '@bmae/vit-model';

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

/** Wraps every kernel of `backend` with a timer; returns the per-kernel totals. */
function instrumentKernels(backend: string) {
  const stats = new Map<string, { calls: number; ms: number; byShape: Map<string, number> }>();
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t0 = performance.now();
        const out = inner(args);
        const ms = performance.now() - t0;
        const s = stats.get(k.kernelName) ?? { calls: 0, ms: 0, byShape: new Map<string, number>() };
        s.calls++;
        s.ms += ms;
        const shapes = Object.values(args.inputs).map((x) => `[${(x as tf.TensorInfo | undefined)?.shape ?? ''}]`).join('');
        s.byShape.set(shapes, (s.byShape.get(shapes) ?? 0) + ms);
        stats.set(k.kernelName, s);
        return out;
      },
    });
  }
  return stats;
}

/**
 * Wraps every function of the loaded addon with a timer (the kernels look them up on the addon object
 * at each call); returns the running total of ms spent inside them. Undefined off the native backend.
 */
function instrumentAddon(backend: string): { ms: number } | undefined {
  if (backend !== 'native') return undefined;
  const { ADDON_PATH } = require('@bmae/tfjs-backend-native') as typeof import('@bmae/tfjs-backend-native');
  const addon = require(ADDON_PATH) as Record<string, unknown>;
  const total = { ms: 0 };
  for (const [name, fn] of Object.entries(addon)) {
    if (typeof fn !== 'function') continue;
    addon[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } finally {
        total.ms += performance.now() - t0;
      }
    };
  }
  return total;
}

async function profileMae(backend: string, preset: PresetName, batch: number, steps: number, nativeAdamW: boolean): Promise<void> {
  const stats = instrumentKernels(backend);
  const inAddon = instrumentAddon(backend);
  const config = maeConfig(preset, { heads: { pixels: 48 } });
  const { patchSize, imageSize } = config.encoder;
  const params = createMaeParams(config, Rng.fromSeed(0));
  const variables = trainableVariables(params);
  const rng = Rng.fromSeed(1);
  const imgs = tf.tensor4d(rng.fork('images').fillNormal(new Float32Array(batch * imageSize * imageSize * 3)), [batch, imageSize, imageSize, 3]);
  const maskRng = rng.fork('masking');
  const adam = tf.train.adam(1.5e-4, 0.9, 0.95);
  const native = nativeAdamW ? (require('@bmae/tfjs-backend-native') as typeof import('@bmae/tfjs-backend-native')) : undefined;
  const moments = new Map(variables.map((v) => [v.name, native?.zeroMoments(v)]));
  let t = 0;
  const step = () =>
    tf.tidy(() => {
      const masking = randomMasking(maskRng, batch, (imageSize / patchSize) ** 2, 0.75);
      const target = patchify(imgs, patchSize);
      const loss = () => {
        const { predictions, mask } = forwardMae(params, config, imgs, masking);
        return forwardLoss(predictions.get('pixels')!, target, mask, { normPix: true }) as tf.Scalar;
      };
      if (native === undefined) return adam.minimize(loss, true, variables)!.dataSync()[0];
      const { value, grads } = tf.variableGrads(loss, variables);
      t++;
      for (const v of variables) native.adamWUpdate(v, grads[v.name], moments.get(v.name)!, t, { learningRate: 1.5e-4, beta1: 0.9, beta2: 0.95, weightDecay: 0.05 });
      return value.dataSync()[0];
    });
  step(); // warm-up: optimiser slots, pooled buffers
  stats.clear();
  if (inAddon) inAddon.ms = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(cpu0);
  const kernelMs = [...stats.values()].reduce((a, s) => a + s.ms, 0) / steps;
  const fusedNames = Object.entries(FUSED_KERNEL_NAMES).filter(([, name]) => tf.getKernel(name, backend)).map(([key]) => key);
  const fused = `fused: ${fusedNames.join(', ') || 'none'}`;
  const threads = backend === 'native' ? `, ${require('@bmae/tfjs-backend-native').getThreads()} threads` : '';
  const inNative = inAddon ? `; in native code ${(inAddon.ms / steps).toFixed(0)} ms, outside it ${(ms - inAddon.ms / steps).toFixed(0)} ms (${((1 - inAddon.ms / steps / ms) * 100).toFixed(1)}%)` : '';
  console.log(`MAE step (${preset}, batch ${batch}, ${nativeAdamW ? 'native adamWUpdate' : 'tf.train.adam'}, ${fused}${threads}) on ${backend}: ` +
    `${ms.toFixed(0)} ms/step = ${((batch / ms) * 1000).toFixed(1)} img/s; kernels ${kernelMs.toFixed(0)} ms${inNative}; ` +
    `process cpu user ${(cpu.user / 1000 / steps).toFixed(0)} + sys ${(cpu.system / 1000 / steps).toFixed(0)} ms/step`);
  for (const [name, s] of [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
    const top = [...s.byShape.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([k, v]) => `${k} ${(v / steps).toFixed(1)} ms`);
    console.log(`  ${name.padEnd(18)} ${(s.ms / steps).toFixed(1).padStart(8)} ms ${String(s.calls / steps).padStart(6)} calls   ${top.join(', ')}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'native,wasm,cpu' },
      threads: { type: 'string' },
      repeats: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      'profile-mae': { type: 'boolean', default: false },
      'native-adamw': { type: 'boolean', default: false },
      composite: { type: 'boolean', default: false },
      unfuse: { type: 'string', default: '' },
      steps: { type: 'string', default: '3' },
      preset: { type: 'string', default: 'deit-tiny' },
      batch: { type: 'string', default: '64' },
    },
  });
  if (values.threads !== undefined) process.env.BMAE_THREADS = values.threads; // read when the addon loads
  if (values['profile-mae']) {
    for (const backend of values.backends.split(',').map((s) => s.trim())) {
      const skipped = await loadBackend(backend);
      if (skipped !== undefined) console.log(`${backend}: skipped (${skipped})`);
      else {
        const unfused = values.composite
          ? Object.values(FUSED_KERNEL_NAMES)
          : values.unfuse.split(',').filter((k) => k !== '').map((k) => {
            if (!(k in FUSED_KERNEL_NAMES)) throw new Error(`--unfuse: '${k}' is not one of ${Object.keys(FUSED_KERNEL_NAMES).join(', ')}`);
            return FUSED_KERNEL_NAMES[k as keyof typeof FUSED_KERNEL_NAMES];
          });
        for (const name of unfused) if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend);
        if (!PRESET_NAMES.includes(values.preset as PresetName)) throw new Error(`--preset '${values.preset}': choose one of ${PRESET_NAMES.join(', ')}`);
        await profileMae(backend, values.preset as PresetName, Number(values.batch), Number(values.steps), values['native-adamw']);
      }
    }
    return;
  }
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
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
