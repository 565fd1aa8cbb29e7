/**
 * Benchmark (not a test): MAE pre-training step throughput and memory, per backend.
 *
 *   npx tsx tools/bench/mae-step.ts [--backends native,wasm,cpu] [--batch 64] [--preset deit-tiny]
 *       [--modes pixel,bootstrap] [--steps 5] [--cpu-steps 1] [--checkpoint] [--json]
 *
 * One step = random masking (75%) -> encoder on visible patches -> decoder -> loss on removed patches
 * -> gradients -> Adam(betas 0.9, 0.95) update, the loss read back once (a sync point, as a logged step).
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
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import {
  BACKEND_NAMES, copyParams, createMaeParams, disposeParams, encoderParamNames, forwardFeatures, forwardLoss, forwardMae,
  maeConfig, normaliseFeatureTarget, parseBackendName, patchify, PRESET_NAMES, randomMasking, selectBackend, trainableVariables,
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
}

const MiB = 1024 * 1024;

function buildStep(mode: Mode, config: MaeConfig, params: Params, batch: number, checkpoint: boolean) {
  const target: Params | undefined = mode === 'bootstrap' ? copyParams(params, encoderParamNames(config.encoder), { trainable: false }) : undefined;
  const optimizer = tf.train.adam(1.5e-4, 0.9, 0.95);
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
      const loss = optimizer.minimize(
        () => {
          const { predictions, mask } = forwardMae(params, config, imgs, masking, { checkpoint });
          return forwardLoss(predictions.get(headName)!, targetTokens, mask, { normPix: !target && config.normPixLoss });
        },
        true,
        trainableVariables(params),
      )!;
      return loss.dataSync()[0];
    });
  const dispose = () => {
    optimizer.dispose();
    imgs.dispose();
    if (target) disposeParams(target);
  };
  return { step, dispose };
}

async function bench(backend: BackendName, mode: Mode, preset: PresetName, batch: number, steps: number, checkpoint: boolean): Promise<Result> {
  const width = maeConfig(preset).encoder.width;
  const config = maeConfig(preset, { heads: mode === 'pixel' ? { pixels: 48 } : { bootstrap: width } });
  const params = createMaeParams(config, Rng.fromSeed(0));
  const { step, dispose } = buildStep(mode, config, params, batch, checkpoint);
  step(); // warm-up: optimiser slots, kernel setup
  let rss = process.memoryUsage().rss;
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const loss = step();
    if (!Number.isFinite(loss)) throw new Error(`${backend}/${mode}: loss is ${loss} at step ${i}`);
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  const secondsPerStep = (performance.now() - start) / 1000 / steps;
  const result: Result = {
    backend, mode, checkpoint, preset, batch, steps, secondsPerStep,
    imagesPerSecond: batch / secondsPerStep,
    rssMiB: rss / MiB,
    tfMiB: tf.memory().numBytes / MiB,
    liveTensors: tf.memory().numTensors,
  };
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
  if (heap !== undefined) result.wasmHeapMiB = heap / MiB;
  dispose();
  disposeParams(params);
  return result;
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
      json: { type: 'boolean', default: false },
    },
  });
  const backends = values.backends.split(',').map((name) => parseBackendName(name.trim(), '--backends entry'));
  const modes = values.modes.split(',').map((m) => {
    if (m !== 'pixel' && m !== 'bootstrap') throw new Error(`--modes: unknown mode '${m}' (pixel, bootstrap)`);
    return m as Mode;
  });
  if (!PRESET_NAMES.includes(values.preset as PresetName)) throw new Error(`--preset '${values.preset}': choose one of ${PRESET_NAMES.join(', ')}`);
  const batch = Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got '${values.batch}'`);
  if (backends.length > 1) {
    console.log(`MAE step, ${values.preset}, batch ${batch}, mask 0.75, Adam; selection order ${BACKEND_NAMES.join(' > ')}`);
    // One child process per backend (same node flags, e.g. tsx's loader), for clean memory numbers.
    for (const backend of backends) {
      const args = process.argv.slice(2).filter((a, i, all) => a !== '--backends' && all[i - 1] !== '--backends' && !a.startsWith('--backends='));
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...args, '--backends', backend], { stdio: 'inherit' });
      if (child.status !== 0) console.log(`${backend}: benchmark process exited with ${child.status ?? child.signal}`);
    }
    return;
  }
  for (const backend of backends) {
    try {
      await selectBackend({ name: backend });
    } catch (error) {
      console.log(`${backend}: skipped (${(error as Error).message})`);
      continue;
    }
    for (const mode of modes) {
      const steps = Number(backend === 'cpu' ? values['cpu-steps'] : values.steps);
      const r = await bench(backend, mode, values.preset as PresetName, batch, steps, values.checkpoint);
      if (values.json) console.log(JSON.stringify(r));
      console.log(
        `${backend.padEnd(7)} ${(mode + (values.checkpoint ? '+ckpt' : '')).padEnd(14)} ${r.imagesPerSecond.toFixed(1).padStart(6)} img/s  (${r.secondsPerStep.toFixed(3)} s/step over ${steps})` +
          `  peak RSS ${r.rssMiB.toFixed(0)} MiB, tf ${r.tfMiB.toFixed(0)} MiB live` +
          (r.wasmHeapMiB !== undefined ? `, wasm heap ${r.wasmHeapMiB.toFixed(0)} MiB` : ''),
      );
    }
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
