/**
 * Pre-training, in one file: `trainOneEpoch` is MAE's engine_pretrain.train_one_epoch (He et al.
 * 2022) with the reconstruction target opened up (Bootstrap-MAE: pixels, MAE-K, EMA, MAE-new), and
 * `runPretraining` is main_pretrain.py's epoch loop: build, maybe resume, train, log, checkpoint.
 *
 * Per step: lr from the fractional epoch -> augment a batch on the host -> target terms for the
 * full images (no gradient) -> mask -> loss and gradients of the online MAE -> AdamW -> target's
 * step hook. Randomness: data order, augmentation and masking draw from streams forked per epoch
 * from the run seed, so any epoch boundary is an exact resume point.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  batchIndices, epochOrder, gatherBatch, pretrainAugmentation, Rng, stratifiedIndices, subsetSplit,
  type BatchTransform, type ChannelStats, type Split,
} from '@bmae/data';
import { createTarget, meanFeatureStd, unprefixed, vitEncoderAccess, weightCosine, type Target, type TargetState } from '@bmae/targets';
import {
  assignCheckpoint, createMaeParams, disposeParams, forwardLoss, forwardMae, maeConfig, PRESET_NAMES, randomMasking,
  type CheckpointInfo, type DeviceInfo, type MaeConfig, type Params, type PresetName, type Provenance,
} from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import writeFileAtomic from 'write-file-atomic';
import { AdamW } from './adamw';
import { clipGradNorm } from './grad-clip';
import { lrAt, type LrSchedule } from './lr-schedule';
import { MetricsLog } from './metrics-log';
import { weightDecayGroups } from './param-groups';
import { resolvePretrainConfig, type PretrainConfig, type ResolvedPretrainConfig } from './pretrain-config';
import { createProgress, type Progress } from './progress';
import { checkRunFolder, loadLatestRunCheckpoint, resumableConfig, saveRunCheckpoint, type TrainState, type WriteFile } from './run-checkpoint';
import { withRunLock, type RunLock } from './run-lock';

/** The training images and their normalisation statistics. */
export interface PretrainData {
  train: Split;
  stats: ChannelStats;
  /** human-readable source and content fingerprint, recorded with the run */
  source: string;
  fingerprint: string;
}

export interface PretrainOptions {
  config: PretrainConfig;
  data: PretrainData;
  /** run folder: config.json, metrics.jsonl, checkpoints/, latest.json */
  outDir: string;
  /** continue from <outDir>/latest.json */
  resume?: boolean;
  /** recorded in checkpoints; the caller selected it (vit-model selectBackend) */
  backend: string;
  /** what the backend computes on (selectBackend's device), recorded in config.json */
  device?: DeviceInfo;
  /** provenance: bmae version and the command line */
  bmaeVersion?: string;
  command?: string;
  /** stop after this epoch (0-based) even if config.optim.epochs is larger: tests, time-boxed runs */
  stopAfterEpoch?: number;
  /** a cheap measurement of the online encoder during training (e.g. a kNN learning curve) */
  monitor?: EpochMonitor;
  /** the lock of outDir when the caller already holds it (run-lock.ts); else runPretraining takes it */
  lock?: RunLock;
  /** how checkpoint files are written (default: atomically to disk); tests inject a full disk here */
  writeCheckpointFile?: WriteFile;
  log?: (line: string) => void;
}

/**
 * A measurement of the online encoder taken before training and after every `everyEpochs` epochs
 * (and the last), logged in metrics.jsonl as `{ step, epoch, monitor: { ... } }` records, so a
 * reader sees whether a method is still improving and where bootstrapping starts to pay or hurt.
 * It runs between epochs, outside every random stream of the run, so it changes no training number.
 */
export interface EpochMonitor {
  everyEpochs: number;
  /**
   * @param params the online MAE's parameters (encoder names as in forwardEncoder); read only
   * @returns named values, e.g. `{ knnTop1: 0.412 }`
   */
  measure(params: Params): Record<string, number>;
}

/** Whether the monitor measures after `epoch` (0-based) of a run of `epochs`. */
export function monitorsAfter(epoch: number, everyEpochs: number, epochs: number): boolean {
  return (epoch + 1) % everyEpochs === 0 || epoch === epochs - 1;
}

export interface PretrainSummary {
  resolved: ResolvedPretrainConfig;
  /** epochs trained by this call */
  epochsRun: number;
  lastEpoch: number;
  globalStep: number;
  /** mean loss of the last epoch */
  lastLoss: number;
  checkpointDir: string | null;
  imagesPerSecond: number;
}

/** Thrown when a loss is NaN or infinite; the run folder keeps the last good checkpoint. */
export class NonFiniteLossError extends Error {}

/** Everything a training step touches, built once per run. */
interface Run {
  resolved: ResolvedPretrainConfig;
  modelConfig: MaeConfig;
  params: Params;
  /** variable.name (tfjs, unique) -> PyTorch parameter name, for the trainable ones */
  trainable: Map<string, string>;
  /** the variables the optimiser updates (passed to variableGrads: never the engine's global list) */
  trainableList: tf.Variable[];
  optimizer: AdamW;
  target: Target;
  train: Split;
  augment: BatchTransform;
  root: Rng;
  schedule: LrSchedule;
  metrics: MetricsLog;
  progress: Progress;
  globalStep: number;
}

interface StepResult {
  loss: number;
  /** per head, only when monitored */
  headLosses?: Record<string, number>;
  featureStd?: Record<string, number>;
}

/** Which steps of an epoch write a metrics record: `perEpoch` evenly spaced, the last step included. */
export function logSteps(stepsPerEpoch: number, perEpoch: number): Set<number> {
  const steps = new Set<number>();
  for (let k = 1; k <= perEpoch; k++) steps.add(Math.max(0, Math.round((k * stepsPerEpoch) / perEpoch) - 1));
  return steps;
}

/**
 * The target epoch (targets' clock, see `targetEpochsPerEpoch`) of step `i` of training epoch
 * `epoch`: each training epoch holds `perEpoch` target epochs of floor or ceil(steps / perEpoch) steps.
 */
export function targetEpochOf(epoch: number, i: number, stepsPerEpoch: number, perEpoch: number): number {
  return epoch * perEpoch + Math.floor((i * perEpoch) / stepsPerEpoch);
}

/**
 * One optimiser step on a batch.
 * @param pixels [N, 32, 32, 3] normalised, augmented images
 */
function trainStep(run: Run, pixels: Float32Array, n: number, targetEpoch: number, lr: number, maskRng: Rng, monitor: boolean): StepResult {
  const { modelConfig, params, target, optimizer, trainable } = run;
  const masking = randomMasking(maskRng, n, (modelConfig.encoder.imageSize / modelConfig.encoder.patchSize) ** 2, modelConfig.maskRatio);
  const context = { epoch: targetEpoch, step: run.globalStep };
  const kept: tf.Tensor[] = [];
  const { loss, headLosses, featureStd } = tf.tidy(() => {
    const images = tf.tensor4d(pixels, [n, 32, 32, 3]);
    // Targets see the full image, in inference mode, outside the gradient closure: no gradient reaches them.
    const terms = target.compute(images, context);
    const headLosses: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads((): tf.Scalar => {
      const { predictions, mask } = forwardMae(params, modelConfig, images, masking);
      const losses = terms.map((term) => {
        const prediction = predictions.get(term.head);
        if (!prediction) throw new Error(`the model has no prediction head "${term.head}"`);
        return forwardLoss(prediction, term.value, mask);
      });
      if (monitor) losses.forEach((l) => headLosses.push(tf.keep(l)));
      return tf.addN(losses.map((l, i) => tf.mul(l, terms[i].weight))) as tf.Scalar;
    }, run.trainableList);
    kept.push(...headLosses);
    let named = new Map(Object.entries(grads).map(([variableName, g]) => [trainable.get(variableName)!, g]));
    if (run.resolved.config.optim.clipGrad !== null) named = clipGradNorm(named, run.resolved.config.optim.clipGrad).grads;
    optimizer.applyGradients(named, lr);
    const featureStd = monitor ? terms.filter((t) => t.head !== 'pixels').map((t) => ({ head: t.head, std: meanFeatureStd(t.value) })) : [];
    return { loss: value, headLosses: terms.map((t, i) => ({ head: t.head, loss: headLosses[i] })), featureStd };
  });
  // MAE reads loss.item() every step to stop on NaN; on the CPU backends this read costs nothing extra.
  const result: StepResult = { loss: loss.dataSync()[0] };
  if (monitor) {
    result.headLosses = Object.fromEntries(headLosses.map(({ head, loss: l }) => [head, l.dataSync()[0]]));
    result.featureStd = Object.fromEntries(featureStd.map(({ head, std }) => [head, std.dataSync()[0]]));
  }
  loss.dispose();
  kept.forEach((t) => t.dispose());
  featureStd.forEach(({ std }) => std.dispose());
  target.onStepEnd(context);
  run.globalStep++;
  return result;
}

/** Cosine between the online encoder and each target encoder (1 = identical weights). */
function targetWeightCosines(run: Run): Record<string, number> {
  const weights = run.target.weights();
  const names = new Set([...weights.keys()].map((key) => key.split('/')[0]));
  const out: Record<string, number> = {};
  for (const name of names) {
    const cosine = weightCosine(unprefixed(name, weights), run.params);
    out[name] = cosine.dataSync()[0];
    cosine.dispose();
  }
  return out;
}

/** MAE's train_one_epoch. @returns the epoch's mean loss */
export function trainOneEpoch(run: Run, epoch: number): number {
  const { config, derived } = run.resolved;
  const perEpoch = config.targetEpochsPerEpoch;
  let targetEpoch = epoch * perEpoch;
  run.target.onEpochStart(targetEpoch);
  const order = epochOrder(run.train.count, run.root.fork(`order-${epoch}`));
  const batches = batchIndices(order, config.optim.batchSize, { dropLast: true });
  const augmentRng = run.root.fork(`augment-${epoch}`);
  const maskRng = run.root.fork(`mask-${epoch}`);
  const logAt = logSteps(batches.length, config.log.perEpoch);
  run.progress.start(`epoch ${epoch + 1}/${config.optim.epochs}`, batches.length);
  let lossSum = 0;
  let intervalImages = 0;
  let intervalStart = performance.now();
  batches.forEach((indices, i) => {
    const fractional = epoch + i / derived.stepsPerEpoch;
    const lr = lrAt(fractional, run.schedule);
    const batch = run.augment(gatherBatch(run.train, indices), augmentRng);
    const monitor = logAt.has(i);
    // resolvePretrainConfig guarantees a step per target epoch, so this advances by at most one.
    if (targetEpochOf(epoch, i, batches.length, perEpoch) > targetEpoch) {
      run.target.onEpochEnd(targetEpoch);
      run.target.onEpochStart(++targetEpoch);
    }
    const result = trainStep(run, batch.pixels, batch.count, targetEpoch, lr, maskRng, monitor);
    if (!Number.isFinite(result.loss)) {
      throw new NonFiniteLossError(`loss is ${result.loss} at epoch ${epoch}, step ${run.globalStep - 1} (lr ${lr.toExponential(3)})`);
    }
    lossSum += result.loss;
    intervalImages += batch.count;
    const status = `loss ${result.loss.toFixed(4)}`;
    run.progress.update(i + 1, status);
    if (monitor) {
      const seconds = (performance.now() - intervalStart) / 1000;
      const targetState: TargetState = run.target.state();
      const record = {
        step: run.globalStep,
        epoch: Number((epoch + (i + 1) / derived.stepsPerEpoch).toFixed(4)),
        lr,
        loss: result.loss,
        losses: result.headLosses,
        imagesPerSec: Number((intervalImages / seconds).toFixed(2)),
        target: targetState,
        featureStd: result.featureStd,
        weightCosine: targetWeightCosines(run),
      };
      run.metrics.write(record);
      run.progress.line(`epoch ${record.epoch.toFixed(2)} step ${record.step} loss ${result.loss.toFixed(4)} lr ${lr.toExponential(2)} ${record.imagesPerSec} img/s target ${targetState.mode}`);
      intervalImages = 0;
      intervalStart = performance.now();
    }
  });
  run.target.onEpochEnd(targetEpoch);
  run.progress.stop();
  return lossSum / batches.length;
}

function checkPreset(preset: string): PresetName {
  if (!(PRESET_NAMES as string[]).includes(preset)) {
    throw new Error(`model.preset "${preset}" is unknown: choose one of ${PRESET_NAMES.join(', ')}`);
  }
  return preset as PresetName;
}

/** The train split the config asks for (whole, or the first N images of each class). */
function selectTrain(train: Split, trainPerClass: number | undefined): Split {
  if (trainPerClass === undefined) return train;
  const numClasses = Math.max(...train.labels) + 1;
  return subsetSplit(train, stratifiedIndices(train.labels, trainPerClass, numClasses));
}

/** main_pretrain.py: build everything, resume if asked, run the epochs, checkpoint, log; the only writer of outDir. */
export async function runPretraining(options: PretrainOptions): Promise<PretrainSummary> {
  const log = options.log ?? ((line: string) => console.error(line));
  if (options.lock) {
    if (options.lock.folder !== resolve(options.outDir)) throw new Error(`runPretraining: the lock given is for ${options.lock.folder}, not ${resolve(options.outDir)}`);
    return pretrainLocked(options, log);
  }
  return withRunLock(options.outDir, 'pre-training', () => pretrainLocked(options, log), log);
}

async function pretrainLocked(options: PretrainOptions, log: (line: string) => void): Promise<PretrainSummary> {
  const { config, data, outDir } = options;
  const preset = checkPreset(config.model.preset);
  const train = selectTrain(data.train, config.data.trainPerClass);
  const resolved = resolvePretrainConfig(config, train.count);
  const { derived } = resolved;
  await checkRunFolder(outDir, config, options.resume ?? false);
  mkdirSync(outDir, { recursive: true });

  // The online model: its heads are the target's (pixels and/or one per feature target).
  const online: Params = new Map();
  const pixelNormPix = config.target.kind === 'sum' ? config.target.terms[0].target.normPix : config.target.normPix;
  const probe = maeConfig(preset, { maskRatio: config.model.maskRatio });
  const target = createTarget(config.target, vitEncoderAccess(online, probe.encoder));
  const modelConfig = maeConfig(preset, { maskRatio: config.model.maskRatio, normPixLoss: pixelNormPix, heads: Object.fromEntries(target.heads) });
  for (const [name, variable] of createMaeParams(modelConfig, Rng.fromSeed(config.seed).fork('init'))) online.set(name, variable);
  const trainableParams = new Map([...online].filter(([, v]) => v.trainable));
  const optimizer = new AdamW(trainableParams, weightDecayGroups(trainableParams, config.optim.weightDecay), {
    beta1: config.optim.betas[0],
    beta2: config.optim.betas[1],
  });

  // What must match on resume: the resolved config and the data's content (not the path it was read from).
  const configJson = JSON.stringify({ ...resolved, config: resumableConfig(config), fingerprint: data.fingerprint });
  const info: CheckpointInfo = {
    preset,
    config: modelConfig,
    normalization: { mean: [...data.stats.mean], std: [...data.stats.std] },
    provenance: {
      bmaeVersion: options.bmaeVersion ?? '0.0.0',
      backend: options.backend,
      seed: config.seed,
      createdAt: '',
      command: options.command ?? '',
    } satisfies Provenance,
  };

  let startEpoch = 0;
  let globalStep = 0;
  if (options.resume) {
    const saved = await loadLatestRunCheckpoint(outDir);
    try {
      if (saved.state.configJson !== configJson) {
        throw new Error(`cannot resume ${outDir}: the config differs from the one the run started with (see ${join(outDir, 'config.json')})`);
      }
      assignCheckpoint(saved.model, online);
      optimizer.restore(saved.state.optimizer, saved.tensors);
      target.restore(saved.state.target, saved.tensors);
    } finally {
      saved.tensors.forEach((t) => t.dispose());
    }
    startEpoch = saved.state.epoch + 1;
    globalStep = saved.state.globalStep;
    log(`resuming ${outDir} from ${saved.dir}: epoch ${startEpoch}, step ${globalStep}`);
  }
  writeFileAtomic.sync(
    join(outDir, 'config.json'),
    `${JSON.stringify({ ...resolved, data: { source: data.source, fingerprint: data.fingerprint }, backend: options.backend, ...(options.device ? { device: options.device } : {}) }, null, 2)}\n`,
  );
  log(
    `pretrain ${preset} target ${config.target.kind}: ${train.count} images, batch ${config.optim.batchSize}, ` +
      `${derived.stepsPerEpoch} steps/epoch, lr ${derived.lr.toExponential(3)} (blr ${config.optim.blr} x ${config.optim.batchSize}/256), ` +
      `warm-up ${Number(derived.warmupEpochs.toFixed(3))} epochs, heads ${JSON.stringify(modelConfig.heads)}, AdamW kernel ${optimizer.kernel}`,
  );

  const run: Run = {
    resolved,
    modelConfig,
    params: online,
    trainable: new Map([...trainableParams].map(([name, v]) => [v.name, name])),
    trainableList: [...trainableParams.values()],
    optimizer,
    target,
    train,
    augment: pretrainAugmentation(data.stats),
    root: Rng.fromSeed(config.seed),
    schedule: { lr: derived.lr, minLr: config.optim.minLr, warmupEpochs: derived.warmupEpochs, epochs: config.optim.epochs },
    metrics: new MetricsLog(join(outDir, 'metrics.jsonl'), options.resume ? globalStep : undefined),
    progress: createProgress(config.log.progress),
    globalStep,
  };

  const lastEpoch = Math.min(config.optim.epochs - 1, options.stopAfterEpoch ?? Infinity);
  let checkpointDir: string | null = null;
  let lastLoss = NaN;
  let epochsRun = 0;
  const started = performance.now();
  // Written before the epoch's checkpoint, so a resumed run keeps exactly the records up to it.
  const measure = (epoch: number): void => {
    if (!options.monitor) return;
    const values = options.monitor.measure(online);
    run.metrics.write({ step: run.globalStep, epoch, monitor: values });
    log(`epoch ${epoch}: ${Object.entries(values).map(([name, value]) => `${name} ${value.toFixed(4)}`).join(', ')}`);
  };
  try {
    if (startEpoch === 0) measure(0);
    for (let epoch = startEpoch; epoch <= lastEpoch; epoch++) {
      lastLoss = trainOneEpoch(run, epoch);
      epochsRun++;
      if (options.monitor && monitorsAfter(epoch, options.monitor.everyEpochs, config.optim.epochs)) measure(epoch + 1);
      const isKeeper = (epoch + 1) % config.checkpoint.everyEpochs === 0 || epoch === config.optim.epochs - 1;
      if (isKeeper || epoch === lastEpoch) {
        const state: TrainState = { epoch, globalStep: run.globalStep, optimizer: optimizer.state(), target: target.state(), configJson };
        info.provenance!.createdAt = new Date().toISOString();
        const moments = optimizer.moments();
        try {
          checkpointDir = await saveRunCheckpoint(outDir, { params: online, info, moments, targetWeights: target.weights(), state, keep: isKeeper }, options.writeCheckpointFile);
        } finally {
          moments.forEach((t) => t.dispose());
        }
        log(`epoch ${epoch}: mean loss ${lastLoss.toFixed(4)}; checkpoint ${checkpointDir}`);
      } else {
        log(`epoch ${epoch}: mean loss ${lastLoss.toFixed(4)}`);
      }
    }
  } catch (error) {
    run.progress.stop();
    if (error instanceof NonFiniteLossError) {
      throw new NonFiniteLossError(`${error.message}: training stopped; the last good checkpoint is the one ${join(outDir, 'latest.json')} points at`);
    }
    throw error;
  } finally {
    target.dispose();
    optimizer.dispose();
    disposeParams(online);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    resolved,
    epochsRun,
    lastEpoch: startEpoch + epochsRun - 1,
    globalStep: run.globalStep,
    lastLoss,
    checkpointDir,
    imagesPerSecond: epochsRun === 0 ? 0 : (epochsRun * derived.stepsPerEpoch * config.optim.batchSize) / seconds,
  };
}
