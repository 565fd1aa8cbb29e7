/**
 * Benchmark (not a test): MAE pre-training step throughput and memory, per backend, and PyTorch's on
 * the same CPU in the same invocation.
 *
 *   npx tsx tools/bench/mae-step.ts [--backends native,wasm,cpu] [--batch 64] [--preset deit-tiny]
 *       [--modes pixel,bootstrap] [--steps 5] [--cpu-steps 1] [--checkpoint]
 *       [--torch] [--torch-threads 1,2] [--python PYTHON] [--threads 1,2] [--json]
 *
 * --threads 1,2 (native): steps at each thread count alternate in one process (a burst of load from
 * elsewhere then hits every count alike); each count gets its own line. Every line also gives the
 * process's CPU time per step (user, sys), its minor page faults per step and, on Linux, how many cores
 * other processes kept busy meanwhile (/proc/stat minus this process): a figure taken while others
 * used a core is not a thread-scaling figure.
 * --torch also times the same step in PyTorch (tools/bench/torch_mae_step.py, the preset's sizes) once
 * per thread setting, keeps the best, and prints each backend's ratio to it. --json prints one JSON
 * document (results, PyTorch's, ratios, the CPU and the load average before and after: how busy the
 * machine was) instead of the table.
 *
 * One step = random masking (75%) -> encoder on visible patches -> decoder -> loss on removed patches
 * -> gradients -> AdamW(betas 0.9, 0.95, weight decay 0.05) update, the loss read back once (a sync point,
 * as a logged step). The optimiser is @bmae/trainers' AdamW, the one pre-training uses (native's fused
 * update on the native backend), as PyTorch's side uses torch.optim.AdamW.
 * Modes, as /work/shared/bench/torch_mae_step.py (PyTorch's reference on this machine):
 *   pixel      normalised-pixel target, decoder_pred with P*P*3 outputs;
 *   bootstrap  adds a full-image forward of a frozen target encoder (no gradient), its per-patch tokens
 *              (LayerNorm-normalised, CLS dropped) as the target of a width-D head.
 * --checkpoint recomputes each block in the backward pass (activation checkpointing: less memory, more compute).
 * Inputs are random normal images (throughput does not depend on content). Memory: peak process RSS
 * (each backend runs in its own child process, so one backend's memory does not hide in the next
 * one's RSS), tf.memory().numBytes after the steps (weights + optimiser state; counts a shared view
 * twice) and, on wasm, the heap size (it grows to the step's peak and never shrinks).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { AdamW, weightDecayGroups } from '@bmae/trainers';
import {
  copyParams, createMaeParams, disposeParams, encoderParamNames, forwardFeatures, forwardLoss, forwardMae,
  maeConfig, normaliseFeatureTarget, parseBackendName, patchify, PRESET_NAMES, randomMasking, selectBackend,
  type BackendName, type MaeConfig, type Params, type PresetName,
} from '@bmae/vit-model';

type Mode = 'pixel' | 'bootstrap';

interface Result {
  backend: BackendName;
  mode: Mode;
  checkpoint: boolean;
  preset: PresetName;
  batch: number;
  steps: number;
  secondsPerStep: number;
  imagesPerSecond: number;
  rssMiB: number;
  tfMiB: number;
  /** wasm only: the wasm heap, which grows to the peak and never shrinks (max over this process so far). */
  wasmHeapMiB?: number;
  liveTensors: number;
  /** Process CPU time per timed step (all threads): user and kernel (sys), ms. */
  userMsPerStep: number;
  sysMsPerStep: number;
  /** Minor page faults per timed step (first touches of fresh memory: one sys-time cost of big allocations). */
  minorFaultsPerStep: number;
  /** native: the thread count of these steps. */
  threads?: number;
  /** Cores busy with other processes (and hypervisor steal) while these steps ran, on average (Linux). */
  otherCores?: number;
}

const MiB = 1024 * 1024;

function buildStep(mode: Mode, config: MaeConfig, params: Params, batch: number, checkpoint: boolean) {
  const target: Params | undefined = mode === 'bootstrap' ? copyParams(params, encoderParamNames(config.encoder), { trainable: false }) : undefined;
  const trainable = new Map([...params].filter(([, v]) => v.trainable));
  const optimizer = new AdamW(trainable, weightDecayGroups(trainable, 0.05), { beta1: 0.9, beta2: 0.95 });
  const nameOf = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const rng = Rng.fromSeed(1);
  const imgs = tf.tidy(() => tf.tensor4d(rng.fork('images').fillNormal(new Float32Array(batch * 32 * 32 * 3)), [batch, 32, 32, 3]));
  const maskRng = rng.fork('masking');
  const { patchSize } = config.encoder;
  const numPatches = (config.encoder.imageSize / patchSize) ** 2;
  const headName = Object.keys(config.heads)[0];
  const step = (): number =>
    tf.tidy(() => {
      const masking = randomMasking(maskRng, batch, numPatches, config.maskRatio);
      // The target is computed outside the gradient closure, as trainers do (no gradient through it).
      const targetTokens = target
        ? normaliseFeatureTarget(tf.slice(forwardFeatures(target, config.encoder, imgs), [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D)
        : patchify(imgs, patchSize);
      const { value: loss, grads } = tf.variableGrads((): tf.Scalar => {
        const { predictions, mask } = forwardMae(params, config, imgs, masking, { checkpoint });
        return forwardLoss(predictions.get(headName)!, targetTokens, mask, { normPix: !target && config.normPixLoss });
      }, [...trainable.values()]);
      optimizer.applyGradients(new Map(Object.entries(grads).map(([variable, g]) => [nameOf.get(variable)!, g])), 1.5e-4);
      return loss.dataSync()[0];
    });
  const dispose = () => {
    optimizer.dispose();
    imgs.dispose();
    if (target) disposeParams(target);
  };
  return { step, dispose };
}

/** Busy CPU time of the whole machine so far (all processes, steal included), ms; undefined off Linux. */
function machineBusyMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return ((user + nice + system + irq + softirq + steal) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** One thread count's timed steps, accumulated. */
interface Tally { ms: number[]; userUs: number; sysUs: number; faults: number; otherMs: number }

/**
 * Times `steps` steps at each thread count. With several counts the steps alternate (1, 2, 1, 2, ...)
 * inside this one process, so a burst of load from other processes hits every count alike: the ratio
 * between counts is then far steadier than one run per count. The step time is the median.
 */
async function bench(backend: BackendName, mode: Mode, preset: PresetName, batch: number, steps: number, checkpoint: boolean, threads: (number | undefined)[]): Promise<Result[]> {
  const native = backend === 'native' ? (require('@bmae/tfjs-backend-native') as typeof import('@bmae/tfjs-backend-native')) : undefined;
  const setThreads = (t: number | undefined) => {
    if (t !== undefined) native?.setThreads(t);
  };
  const width = maeConfig(preset).encoder.width;
  const config = maeConfig(preset, { heads: mode === 'pixel' ? { pixels: 48 } : { bootstrap: width } });
  const params = createMaeParams(config, Rng.fromSeed(0));
  const { step, dispose } = buildStep(mode, config, params, batch, checkpoint);
  for (const t of threads) {
    setThreads(t);
    step(); // warm-up: optimiser slots, kernel setup, pooled buffers (per count: OpenBLAS buffers per thread)
  }
  let rss = process.memoryUsage().rss;
  const tallies = threads.map((): Tally => ({ ms: [], userUs: 0, sysUs: 0, faults: 0, otherMs: 0 }));
  for (let i = 0; i < steps; i++) {
    threads.forEach((t, k) => {
      setThreads(t);
      const usage0 = process.resourceUsage();
      const busy0 = machineBusyMs();
      const start = performance.now();
      const loss = step();
      const ms = performance.now() - start;
      const usage = process.resourceUsage();
      const busy = machineBusyMs();
      if (!Number.isFinite(loss)) throw new Error(`${backend}/${mode}: loss is ${loss} at step ${i}`);
      const tally = tallies[k];
      tally.ms.push(ms);
      tally.userUs += usage.userCPUTime - usage0.userCPUTime;
      tally.sysUs += usage.systemCPUTime - usage0.systemCPUTime;
      tally.faults += usage.minorPageFault - usage0.minorPageFault;
      const own = (usage.userCPUTime - usage0.userCPUTime + usage.systemCPUTime - usage0.systemCPUTime) / 1000;
      if (busy !== undefined && busy0 !== undefined) tally.otherMs += Math.max(0, busy - busy0 - own);
      rss = Math.max(rss, process.memoryUsage().rss);
    });
  }
  const results = threads.map((t, k): Result => {
    const { ms, userUs, sysUs, faults, otherMs } = tallies[k];
    const secondsPerStep = median(ms) / 1000;
    const result: Result = {
      backend, mode, checkpoint, preset, batch, steps, threads: t ?? native?.getThreads(), secondsPerStep,
      imagesPerSecond: batch / secondsPerStep,
      rssMiB: rss / MiB,
      tfMiB: tf.memory().numBytes / MiB,
      liveTensors: tf.memory().numTensors,
      userMsPerStep: userUs / 1000 / steps,
      sysMsPerStep: sysUs / 1000 / steps,
      minorFaultsPerStep: faults / steps,
      otherCores: otherMs / ms.reduce((a, b) => a + b, 0),
    };
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
    if (heap !== undefined) result.wasmHeapMiB = heap / MiB;
    return result;
  });
  dispose();
  disposeParams(params);
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface TorchResult {
  torch: string;
  threads: number;
  mode: Mode;
  batch: number;
  steps: number;
  secondsPerStep: number;
  imagesPerSecond: number;
}

/** The JSON lines a child process printed (its human-readable lines go to stderr). */
function jsonLines<T>(stdout: string): T[] {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as T);
}

/** Runs each backend in its own child process (same node flags, e.g. tsx's loader), for clean memory numbers. */
function benchBackends(backends: BackendName[]): Result[] {
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--backends' && all[i - 1] !== '--backends' && !a.startsWith('--backends='));
  return backends.flatMap((backend) => {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...args, '--backends', backend, '--child'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) console.error(`${backend}: benchmark process exited with ${child.status ?? child.signal}`);
    return jsonLines<Result>(child.stdout ?? '');
  });
}

/**
 * The python to run PyTorch with: --python / BMAE_PYTHON when given, else the first of python3 on PATH
 * and Debian's /usr/bin/python3 (where apt's python3-torch lives) that imports torch.
 */
function torchPython(requested: string | undefined): string {
  if (requested) return requested;
  const candidates = ['python3', '/usr/bin/python3'];
  const found = candidates.find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!found) throw new Error(`--torch: none of ${candidates.join(', ')} imports torch (Debian: apt-get install python3-torch libopenblas0-pthread; or set --python / BMAE_PYTHON)`);
  return found;
}

/** PyTorch's step for `preset` at each thread setting (one process each); throws when python or torch is missing. */
function benchTorch(python: string, preset: PresetName, modes: Mode[], batch: number, steps: number, threads: number[]): TorchResult[] {
  const { encoder, decoder } = maeConfig(preset);
  const script = join(__dirname, 'torch_mae_step.py');
  const sizes = ['--width', encoder.width, '--depth', encoder.depth, '--heads', encoder.heads, '--dec-width', decoder.width, '--dec-depth', decoder.depth, '--dec-heads', decoder.heads];
  const results: TorchResult[] = [];
  for (const mode of modes) {
    for (const t of threads) {
      const args = [script, ...sizes, '--batch', batch, '--mode', mode, '--threads', t, '--steps', steps].map(String);
      const child = spawnSync(python, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      if (child.error) throw new Error(`--torch: cannot run ${python} (${child.error.message}); set --python or BMAE_PYTHON to a python with torch`);
      if (child.status !== 0) {
        const why = /No module named '?torch/.test(child.stderr) ? 'torch is not installed (Debian: apt-get install python3-torch libopenblas0-pthread)' : child.stderr.trim().split('\n').slice(-3).join(' | ');
        throw new Error(`--torch: ${python} ${script} failed: ${why}`);
      }
      results.push(...jsonLines<TorchResult>(child.stdout));
    }
  }
  return results;
}

/** The fastest PyTorch setting per mode. */
function bestTorch(results: TorchResult[]): Map<Mode, TorchResult> {
  const best = new Map<Mode, TorchResult>();
  for (const r of results) if ((best.get(r.mode)?.imagesPerSecond ?? 0) < r.imagesPerSecond) best.set(r.mode, r);
  return best;
}

function describe(r: Result): string {
  return (
    `${r.backend.padEnd(7)} ${(r.mode + (r.checkpoint ? '+ckpt' : '')).padEnd(14)}${r.threads !== undefined ? ` ${r.threads}t` : ''} ${r.imagesPerSecond.toFixed(1).padStart(6)} img/s  (median ${r.secondsPerStep.toFixed(3)} s/step of ${r.steps})` +
    `  cpu user ${r.userMsPerStep.toFixed(0)} + sys ${r.sysMsPerStep.toFixed(0)} ms/step, ${r.minorFaultsPerStep.toFixed(0)} minor faults/step` +
    (r.otherCores !== undefined ? `, others ${r.otherCores.toFixed(2)} cores` : '') +
    `  peak RSS ${r.rssMiB.toFixed(0)} MiB, tf ${r.tfMiB.toFixed(0)} MiB live` +
    (r.wasmHeapMiB !== undefined ? `, wasm heap ${r.wasmHeapMiB.toFixed(0)} MiB` : '')
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'native,wasm,cpu' },
      modes: { type: 'string', default: 'pixel,bootstrap' },
      preset: { type: 'string', default: 'deit-tiny' },
      batch: { type: 'string', default: '64' },
      steps: { type: 'string', default: '5' },
      'cpu-steps': { type: 'string', default: '1' },
      checkpoint: { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      'torch-threads': { type: 'string', default: '1,2' },
      /** native: thread counts whose steps alternate in one process (default: BMAE_THREADS / all cores) */
      threads: { type: 'string' },
      python: { type: 'string', default: process.env.BMAE_PYTHON },
      json: { type: 'boolean', default: false },
      /** internal: this process benchmarks one backend and prints JSON lines */
      child: { type: 'boolean', default: false },
    },
  });
  const backends = values.backends.split(',').map((name) => parseBackendName(name.trim(), '--backends entry'));
  const modes = values.modes.split(',').map((m) => {
    if (m !== 'pixel' && m !== 'bootstrap') throw new Error(`--modes: unknown mode '${m}' (pixel, bootstrap)`);
    return m as Mode;
  });
  if (!PRESET_NAMES.includes(values.preset as PresetName)) throw new Error(`--preset '${values.preset}': choose one of ${PRESET_NAMES.join(', ')}`);
  const preset = values.preset as PresetName;
  const batch = positiveInteger(values.batch, '--batch');
  const steps = positiveInteger(values.steps, '--steps');
  const threads = values.threads === undefined ? [undefined] : values.threads.split(',').map((t) => positiveInteger(t.trim(), '--threads entry'));
  const torchThreads = values['torch-threads'].split(',').map((t) => positiveInteger(t.trim(), '--torch-threads entry'));

  if (values.child) {
    const backend = backends[0];
    try {
      await selectBackend({ name: backend, log: (line) => console.error(line) });
    } catch (error) {
      console.error(`${backend}: skipped (${(error as Error).message})`);
      return;
    }
    for (const mode of modes) {
      const rs = await bench(backend, mode, preset, batch, backend === 'cpu' ? positiveInteger(values['cpu-steps'], '--cpu-steps') : steps, values.checkpoint, backend === 'native' ? threads : [undefined]);
      for (const r of rs) console.log(JSON.stringify(r));
    }
    return;
  }

  const loadBefore = loadavg();
  if (!values.json) console.log(`MAE step, ${preset}, batch ${batch}, mask 0.75, AdamW; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const results = benchBackends(backends);
  if (!values.json) results.forEach((r) => console.log(describe(r)));
  const torch = values.torch ? benchTorch(torchPython(values.python), preset, modes, batch, steps, torchThreads) : [];
  const best = bestTorch(torch);
  const ratios = results.flatMap((r) => {
    const t = best.get(r.mode);
    return t ? [{ backend: r.backend, mode: r.mode, ratio: r.imagesPerSecond / t.imagesPerSecond }] : [];
  });
  if (values.json) {
    const report = {
      schema: 'bmae.bench.mae-step.v1',
      createdAt: new Date().toISOString(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadAverage: { before: loadBefore, after: loadavg() },
      preset, batch, steps, checkpoint: values.checkpoint,
      results,
      torch,
      ratios,
    };
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  for (const r of torch) console.log(`torch   ${r.mode.padEnd(14)} ${r.imagesPerSecond.toFixed(1).padStart(6)} img/s  (${r.secondsPerStep.toFixed(3)} s/step over ${r.steps}, ${r.threads} thread${r.threads > 1 ? 's' : ''}, torch ${r.torch})`);
  for (const { backend, mode, ratio } of ratios) console.log(`${backend} / torch (best threads) ${mode}: ${ratio.toFixed(2)}x`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${text}'`);
  return value;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
