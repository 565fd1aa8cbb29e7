/**
 * The stage runner behind the Nx targets: runs one stage of one experiment under one profile, for
 * every seed, into runs/<profile>/<experiment>/<stage>/ (the target's only output):
 *   pretrain/seed-<s>/   the trainers' run folder (config.json, metrics.jsonl, checkpoints/, latest.json)
 *   linprobe|knn|finetune/seed-<s>.json   eval records (@bmae/eval, schema bmae.eval.v1)
 *   <stage>/stage.json   backend, wall time, images/s, seeds, the resolved settings
 *   summary/summary.json the evaluations combined (mean +/- std over seeds), see summary.ts
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkCifar10Source, loadCifar10, Rng, stratifiedIndices, subsetSplit, type Cifar10, type Split } from '@bmae/data';
import { classificationMetrics, describeFinetuneEpoch, EVAL_RECORD_SCHEMA, extractFeatures, knnClassify, knnMonitor, runFinetune, trainLinearProbe, writeEvalRecord, type EvalRecord, type FeatureSet } from '@bmae/eval';
import type { EpochMonitor } from '@bmae/trainers';
import { checkRunFolder, runPretraining, withRunLock } from '@bmae/trainers';
import { assignCheckpoint, checkEncoderCheckpoint, createEncoderParams, disposeParams, maeConfig, PRESET_NAMES, readCheckpoint, selectBackend, type BackendSelection, type DeviceInfo, type EncoderConfig, type Params, type PresetName } from '@bmae/vit-model';
import writeFileAtomic from 'write-file-atomic';
import { BMAE_VERSION, commandLine } from './cli-options';
import { loadExperiment, loadProfile, type Experiment, type Profile } from './experiment';
import { finetuneSettingsFor, knnSettingsFor, linprobeSettingsFor, pretrainConfigFor, type EvalStage, type Stage } from './stage-config';
import { runSeedWorkers, seedWorkerCount, type SeedOutcome } from './seed-workers';
import { writeSummary } from './summary';

/** The `bmae` command's entry point, which seed workers run. */
const BMAE_BIN = resolve(__dirname, '../bin/bmae.js');

/** Where runs are written: env BMAE_RUNS_DIR, else <workspace>/runs (the Nx targets' outputs). */
export function runsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BMAE_RUNS_DIR || resolve(__dirname, '../../../runs'));
}

export function stageDir(root: string, profile: string, experiment: string, stage: Stage): string {
  return join(root, profile, experiment, stage);
}

/** What stage.json records about a stage run. */
export interface StageRecord {
  experiment: string;
  profile: string;
  stage: Stage;
  /** seeds run by this stage: 0..seeds-1 (fine-tuning may run fewer than the experiment has) */
  seeds: number;
  backend: string;
  /** what the backend computed on: CPU model or GPU name, threads, BLAS / TensorFlow version (absent: nothing computed) */
  device?: DeviceInfo;
  /** wall time of the whole stage */
  seconds: number;
  /** images processed per second (pre-training: training images; evaluation: feature extraction + training) */
  imagesPerSecond: number | null;
  /** 'done', or 'not-run' with a reason (e.g. a protocol that is not available) */
  status: 'done' | 'not-run';
  reason?: string;
  settings: unknown;
  createdAt: string;
  /**
   * The Nx task hash this run was made under (env NX_TASK_HASH, set by Nx for every task), absent
   * outside Nx. It is the stage's own record of its cache key: see stageDoneUnder.
   */
  taskHash?: string;
}

export interface StageOptions {
  experiment: string;
  stage: Stage;
  profile: string;
  /** seeds 0..seeds-1 (default: the profile's) */
  seeds?: number;
  /** the experiment whose pre-training this one evaluates (default: itself) */
  pretrained?: string;
  runsDir?: string;
  backend?: string;
  cacheDir?: string;
  /**
   * pretrain: continue the runs an interrupted stage left in its folder (same config, checked by the
   * trainers) instead of starting over. Default: env BMAE_RESUME=1, so `BMAE_RESUME=1 nx run ...`
   * keeps the task's cache key.
   */
  resume?: boolean;
  log?: (line: string) => void;
  /**
   * Seeds run side by side in worker processes (seed-workers.ts); default: env BMAE_SEED_WORKERS, else
   * as many as the cores hold. 1 runs them one after another in this process.
   */
  seedWorkers?: number;
}

interface Context {
  name: string;
  profileName: string;
  experiment: Experiment;
  profile: Profile;
  seeds: number;
  /** the experiment whose pre-training is evaluated (null: none, a random-init baseline) */
  pretrainedFrom: string | null;
  root: string;
  dir: string;
  resume: boolean;
  log: (line: string) => void;
}

function checkPreset(preset: string, profileName: string): PresetName {
  if (!(PRESET_NAMES as string[]).includes(preset)) throw new Error(`profile ${profileName}: preset "${preset}" is unknown: choose one of ${PRESET_NAMES.join(', ')}`);
  return preset as PresetName;
}

/** The stratified subset the profile asks for (or the whole split). */
function subset(split: Split, perClass: number | undefined, numClasses: number): Split {
  return perClass === undefined ? split : subsetSplit(split, stratifiedIndices(split.labels, perClass, numClasses));
}

/**
 * The Nx task hash of this stage when it runs as its own Nx target (`<experiment>-<stage>`, env
 * NX_TASK_HASH), else undefined: a stage run by a test or by hand inside another Nx task (e.g.
 * `experiments:test`) must not take that task's hash for its own.
 */
function stageTaskHash(experiment: string, stage: string): string | undefined {
  return process.env.NX_TASK_TARGET_TARGET === `${experiment}-${stage}` ? process.env.NX_TASK_HASH : undefined;
}

function writeStageRecord(dir: string, record: StageRecord): void {
  const taskHash = stageTaskHash(record.experiment, record.stage);
  writeFileAtomic.sync(join(dir, 'stage.json'), `${JSON.stringify(taskHash ? { ...record, taskHash } : record, null, 2)}\n`);
}

/** The stage.json of a stage folder, or null when the stage has not finished there. */
export function readStageRecord(dir: string): StageRecord | null {
  const path = join(dir, 'stage.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StageRecord;
  } catch (error) {
    throw new Error(`${path}: not a stage record (${error instanceof Error ? error.message : String(error)}); delete the folder to re-run the stage`);
  }
}

/**
 * The finished run in `dir` when it was made under the Nx task hash `taskHash`, else null.
 * stage.json is written last, so it exists only for a stage that finished. This record, not Nx's
 * local cache, is what makes a stage that ran elsewhere (a Slurm job on another node, writing the
 * shared run folder) count as done on the submitting machine: Nx's cache is per machine, the run
 * folder is shared. `bmae submit` skips such stages, and `nx run` of one (a local cache miss)
 * returns at once and then caches the folder.
 */
export function stageDoneUnder(dir: string, taskHash: string | undefined): StageRecord | null {
  if (!taskHash) return null;
  const record = readStageRecord(dir);
  return record?.taskHash === taskHash ? record : null;
}

/** The final checkpoint of a pre-training run folder (the one latest.json points at). */
export function finalCheckpointPath(runDir: string): string {
  const latest = join(runDir, 'latest.json');
  if (!existsSync(latest)) throw new Error(`no pre-trained model: ${latest} does not exist (run the pretrain stage first)`);
  const { dir } = JSON.parse(readFileSync(latest, 'utf8')) as { dir: string };
  return join(runDir, dir, 'model.safetensors');
}

/** The final checkpoint of `seed`'s pre-training of experiment `from`. */
function pretrainedCheckpoint(ctx: Context, from: string, seed: number): string {
  return finalCheckpointPath(join(stageDir(ctx.root, ctx.profileName, from, 'pretrain'), `seed-${seed}`));
}

/**
 * The encoder an evaluation starts from: the pre-trained one of `seed`, or (no pre-training) a fresh
 * MAE initialisation from the same seed stream pre-training would have used.
 */
async function loadEncoder(ctx: Context, seed: number): Promise<{ params: Params; encoder: EncoderConfig; checkpoint: string | null; preset: string }> {
  const preset = checkPreset(ctx.profile.preset, ctx.profileName);
  if (ctx.pretrainedFrom === null) {
    const encoder = maeConfig(preset).encoder;
    return { params: createEncoderParams(encoder, Rng.fromSeed(seed).fork('init')), encoder, checkpoint: null, preset };
  }
  const path = pretrainedCheckpoint(ctx, ctx.pretrainedFrom, seed);
  const checkpoint = await readCheckpoint(path);
  const encoder = checkpoint.info.config.encoder;
  const params = createEncoderParams(encoder, Rng.fromSeed(0));
  assignCheckpoint(checkpoint, params, { encoderOnly: true });
  return { params, encoder, checkpoint: path, preset: checkpoint.info.preset ?? preset };
}

/** The profile's kNN learning curve (fixed subsets, see knnCurveSchema), or none. */
function knnCurveMonitor(ctx: Context, data: Cifar10): EpochMonitor | undefined {
  const curve = ctx.profile.knnCurve;
  if (!curve) return undefined;
  const numClasses = data.classNames.length;
  return knnMonitor({
    encoder: maeConfig(checkPreset(ctx.profile.preset, ctx.profileName)).encoder,
    train: subset(data.train, curve.trainPerClass, numClasses),
    test: subset(data.test, curve.testPerClass, numClasses),
    stats: { mean: data.mean, std: data.std },
    numClasses,
    everyEpochs: curve.everyEpochs,
    k: curve.k,
    temperature: curve.temperature,
  });
}

/** One seed's pre-training into <stage>/seed-<s>/. */
async function runPretrainSeed(ctx: Context, data: Cifar10, backend: BackendSelection, monitor: EpochMonitor | undefined, seed: number): Promise<SeedOutcome> {
  const config = pretrainConfigFor(ctx.experiment, ctx.profile, seed, { experiment: ctx.name, profile: ctx.profileName })!;
  const started = performance.now();
  const outDir = join(ctx.dir, `seed-${seed}`);
  const summary = await runPretraining({
    config,
    data: { train: data.train, stats: { mean: data.mean, std: data.std }, source: data.source, fingerprint: data.fingerprint },
    outDir,
    resume: ctx.resume && existsSync(join(outDir, 'latest.json')),
    backend: backend.name,
    device: backend.device,
    bmaeVersion: BMAE_VERSION,
    command: commandLine(),
    monitor,
    log: ctx.log,
  });
  const images = summary.epochsRun * summary.resolved.derived.stepsPerEpoch * config.optim.batchSize;
  return { seed, images, seconds: (performance.now() - started) / 1000, settings: config, backend: backend.name, device: backend.device };
}

/** Features of the train and test subsets for frozen-encoder protocols. */
function frozenFeatures(params: Params, encoder: EncoderConfig, data: Cifar10, profile: Profile, pool: 'cls' | 'mean'): { train: FeatureSet; test: FeatureSet; images: number } {
  const numClasses = data.classNames.length;
  const trainSplit = subset(data.train, profile.data.trainPerClass, numClasses);
  const testSplit = subset(data.test, profile.data.testPerClass, numClasses);
  const stats = { mean: data.mean, std: data.std };
  return {
    train: extractFeatures(params, encoder, trainSplit, stats, { pool }),
    test: extractFeatures(params, encoder, testSplit, stats, { pool }),
    images: trainSplit.count + testSplit.count,
  };
}

/** The pre-training checkpoint of `seed` (null without pre-training) and the encoder's architecture. */
async function encoderSource(ctx: Context, seed: number): Promise<{ checkpoint: string | null; encoder: EncoderConfig; preset: string }> {
  const preset = checkPreset(ctx.profile.preset, ctx.profileName);
  if (ctx.pretrainedFrom === null) return { checkpoint: null, encoder: maeConfig(preset).encoder, preset };
  const checkpoint = pretrainedCheckpoint(ctx, ctx.pretrainedFrom, seed);
  const info = (await readCheckpoint(checkpoint)).info;
  return { checkpoint, encoder: info.config.encoder, preset: info.preset ?? preset };
}

/** One seed of a protocol: test-split predictions, the per-epoch history and the resolved settings. */
interface ProtocolRun {
  predicted: Int32Array;
  testLabels: Uint8Array;
  trainCount: number;
  history: EvalRecord['history'];
  settings: Record<string, unknown>;
  checkpoint: string | null;
  preset: string;
  /** images processed (feature extraction or training) */
  images: number;
}

/** kNN or linear probe on the frozen encoder's features. */
async function runFrozenProtocol(ctx: Context, stage: 'knn' | 'linprobe', data: Cifar10, seed: number): Promise<ProtocolRun> {
  const { params, encoder, checkpoint, preset } = await loadEncoder(ctx, seed);
  try {
    const numClasses = data.classNames.length;
    if (stage === 'knn') {
      const knn = knnSettingsFor(ctx.experiment, ctx.profile);
      const features = frozenFeatures(params, encoder, data, ctx.profile, knn.pool);
      const { predicted } = knnClassify(features.train.features, features.train.labels, features.test.features, { k: knn.k, temperature: knn.temperature, numClasses });
      return { predicted, testLabels: features.test.labels, trainCount: features.train.count, history: [], settings: { ...knn }, checkpoint, preset, images: features.images };
    }
    const lp = linprobeSettingsFor(ctx.experiment, ctx.profile);
    const features = frozenFeatures(params, encoder, data, ctx.profile, lp.pool);
    const result = trainLinearProbe(features.train, features.test, { numClasses, epochs: lp.epochs, batchSize: lp.batchSize, lr: lp.lr, blr: lp.blr, warmupEpochs: lp.warmupEpochs, weightDecay: lp.weightDecay, seed });
    return {
      predicted: result.predicted, testLabels: features.test.labels, trainCount: features.train.count, history: result.history,
      settings: { ...result.settings, pool: lp.pool }, checkpoint, preset, images: features.images,
    };
  } finally {
    disposeParams(params);
  }
}

/** End-to-end fine-tuning of the pre-trained (or a random) encoder with a new head. */
async function runFinetuneProtocol(ctx: Context, data: Cifar10, seed: number): Promise<ProtocolRun> {
  const settings = finetuneSettingsFor(ctx.experiment, ctx.profile);
  const { checkpoint, encoder, preset } = await encoderSource(ctx, seed);
  const numClasses = data.classNames.length;
  const train = subset(data.train, ctx.profile.data.trainPerClass, numClasses);
  const test = subset(data.test, ctx.profile.data.testPerClass, numClasses);
  const result = await runFinetune({
    checkpoint, encoder, train, test, stats: { mean: data.mean, std: data.std }, numClasses, options: { ...settings, seed }, log: ctx.log,
    // A fine-tune epoch takes minutes on a CPU: say how each went.
    onEpoch: (entry) => ctx.log(`${ctx.name} seed ${seed} ${describeFinetuneEpoch(entry, settings.epochs)}`),
  });
  disposeParams(result.params);
  return {
    predicted: result.predicted, testLabels: test.labels, trainCount: train.count, history: result.history,
    settings: { ...result.settings }, checkpoint, preset, images: settings.epochs * train.count + test.count,
  };
}

/** Seeds an evaluation stage runs: every seed, or fewer for fine-tuning when its settings say so. */
export function evalSeeds(stage: EvalStage, experiment: Experiment, profile: Profile, seeds: number): number {
  const limit = stage === 'finetune' ? finetuneSettingsFor(experiment, profile).seeds : undefined;
  return Math.min(seeds, limit ?? seeds);
}

/** One seed of an evaluation: its eval record, <stage>/seed-<s>.json. */
async function runEvalSeed(ctx: Context, stage: EvalStage, data: Cifar10, backend: BackendSelection, seed: number): Promise<SeedOutcome> {
  const started = performance.now();
  const run = stage === 'finetune' ? await runFinetuneProtocol(ctx, data, seed) : await runFrozenProtocol(ctx, stage, data, seed);
  const record: EvalRecord = {
    schema: EVAL_RECORD_SCHEMA,
    protocol: stage,
    encoder: { checkpoint: run.checkpoint, preset: run.preset },
    data: { source: data.source, fingerprint: data.fingerprint, trainCount: run.trainCount, testCount: run.testLabels.length },
    metrics: classificationMetrics(run.predicted, run.testLabels, data.classNames),
    history: run.history,
    settings: run.settings,
    backend: backend.name,
    seed,
    seconds: (performance.now() - started) / 1000,
    createdAt: new Date().toISOString(),
  };
  writeEvalRecord(join(ctx.dir, `seed-${seed}.json`), record);
  ctx.log(`${ctx.name} ${stage} seed ${seed}: top-1 ${(record.metrics.top1 * 100).toFixed(2)}% on ${record.data.testCount} test images`);
  return { seed, images: run.images, seconds: record.seconds, settings: run.settings, backend: backend.name, device: backend.device };
}

/** Seeds 0..n-1 of a stage in this process, one after another, on one backend and one load of the data. */
async function runSeedsHere(ctx: Context, stage: 'pretrain' | EvalStage, seeds: readonly number[], options: Pick<StageOptions, 'backend' | 'cacheDir'>): Promise<SeedOutcome[]> {
  const backend = await selectBackend({ name: options.backend, log: ctx.log });
  const data = await loadCifar10({ cacheDir: options.cacheDir, log: ctx.log });
  ctx.log(`${ctx.name} ${stage} (profile ${ctx.profileName}, seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}) on ${backend.name}: data ${data.source}`);
  const monitor = stage === 'pretrain' ? knnCurveMonitor(ctx, data) : undefined;
  const outcomes: SeedOutcome[] = [];
  for (const seed of seeds) {
    outcomes.push(stage === 'pretrain' ? await runPretrainSeed(ctx, data, backend, monitor, seed) : await runEvalSeed(ctx, stage, data, backend, seed));
  }
  return outcomes;
}

/** The worker command of a seed: this stage, this seed only (see seed-workers.ts). */
function seedWorkerArgs(ctx: Context, options: StageOptions, seed: number): string[] {
  return [
    BMAE_BIN, 'stage', options.stage, options.experiment, '--profile', options.profile, '--seeds', String(ctx.seeds), '--seed-worker', String(seed),
    '--runs-dir', ctx.root,
    ...(ctx.pretrainedFrom !== null && ctx.pretrainedFrom !== options.experiment ? ['--pretrained', ctx.pretrainedFrom] : []),
    ...(options.backend ? ['--backend', options.backend] : []),
    ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
    ...(ctx.resume ? ['--resume'] : []),
  ];
}

/**
 * Everything a stage will read, checked before it loads data or builds a model: the settings of
 * its protocol, the data source, and the pre-training checkpoint of every seed it evaluates
 * (header, tensor names and shapes), or (resumed pre-training) the run folders it continues.
 */
async function checkStageInputs(ctx: Context, stage: Stage): Promise<void> {
  checkCifar10Source();
  if (stage === 'pretrain') {
    for (let seed = 0; seed < ctx.seeds; seed++) {
      const outDir = join(ctx.dir, `seed-${seed}`);
      if (ctx.resume && existsSync(join(outDir, 'latest.json'))) await checkRunFolder(outDir, pretrainConfigFor(ctx.experiment, ctx.profile, seed, { experiment: ctx.name, profile: ctx.profileName })!, true);
    }
    return;
  }
  if (stage === 'summary') return;
  if (stage === 'knn') knnSettingsFor(ctx.experiment, ctx.profile);
  else if (stage === 'linprobe') linprobeSettingsFor(ctx.experiment, ctx.profile);
  else finetuneSettingsFor(ctx.experiment, ctx.profile);
  if (ctx.pretrainedFrom === null) return;
  for (let seed = 0; seed < evalSeeds(stage, ctx.experiment, ctx.profile, ctx.seeds); seed++) {
    await checkEncoderCheckpoint(pretrainedCheckpoint(ctx, ctx.pretrainedFrom, seed));
  }
}

/**
 * One seed of a stage, as a worker of the stage process that holds the folder's lock and writes its
 * record (seed-workers.ts): no lock, no emptying of the folder, no stage.json.
 */
export async function runStageSeed(options: StageOptions & { seed: number }): Promise<SeedOutcome> {
  const ctx = stageContext(options);
  if (options.stage === 'summary') throw new Error('--seed-worker: the summary stage has no seeds');
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed >= ctx.seeds) throw new Error(`--seed-worker ${options.seed}: expected a seed in 0..${ctx.seeds - 1}`);
  const [outcome] = await runSeedsHere(ctx, options.stage, [options.seed], options);
  return outcome;
}

/** The experiment, profile and folders of a stage request, checked before anything loads. */
function stageContext(options: StageOptions): Context {
  const log = options.log ?? ((line: string) => console.error(line));
  const experiment = loadExperiment(options.experiment);
  const profile = loadProfile(options.profile);
  const seeds = options.seeds ?? profile.seeds;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds ${seeds}: expected an integer >= 1`);
  const pretrainedFrom = experiment.pretrain === null ? null : (options.pretrained ?? options.experiment);
  if (options.stage === 'pretrain' && pretrainedFrom === null) throw new Error(`experiment ${options.experiment} has no pre-training ("pretrain": null)`);
  if (options.stage === 'pretrain') pretrainConfigFor(experiment, profile, 0, { experiment: options.experiment, profile: options.profile }); // validate before loading anything
  const root = resolve(options.runsDir ?? runsRoot());
  const dir = stageDir(root, options.profile, options.experiment, options.stage);
  const resume = options.stage === 'pretrain' && (options.resume ?? process.env.BMAE_RESUME === '1');
  return { name: options.experiment, profileName: options.profile, experiment, profile, seeds, pretrainedFrom, root, dir, resume, log };
}

/**
 * Runs one stage, holding the lock of its folder (run-lock: a second run of the same stage is
 * refused); the folder is emptied first (see StageOptions.resume), so its content is exactly this run's.
 */
export async function runStage(options: StageOptions): Promise<StageRecord> {
  const ctx = stageContext(options);
  const { dir, log, resume } = ctx;
  const done = stageDoneUnder(dir, stageTaskHash(options.experiment, options.stage));
  if (done) {
    log(`${options.experiment} ${options.stage}: already done under task hash ${done.taskHash} (${join(dir, 'stage.json')}, ${done.createdAt}); not re-run`);
    return done;
  }
  const purpose = `${options.stage} stage of ${options.experiment} (profile ${options.profile})`;
  return withRunLock(dir, purpose, async () => {
    await checkStageInputs(ctx, options.stage);
    // Start from an empty folder, so it holds exactly this run (unless continuing an interrupted pre-training).
    if (!resume) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return runLockedStage(ctx, options);
  }, log);
}

async function runLockedStage(ctx: Context, options: StageOptions): Promise<StageRecord> {
  const { experiment, profile, seeds, root, dir, log, pretrainedFrom } = ctx;
  const started = performance.now();
  const base = { experiment: options.experiment, profile: options.profile, stage: options.stage, seeds };

  if (options.stage === 'summary') {
    writeSummary({ root, profile: options.profile, name: options.experiment, experiment, seeds, out: dir, pretrainedFrom });
    const record: StageRecord = { ...base, backend: 'none', seconds: (performance.now() - started) / 1000, imagesPerSecond: null, status: 'done', settings: {}, createdAt: new Date().toISOString() };
    writeStageRecord(dir, record);
    return record;
  }
  if (options.stage !== 'pretrain' && evalSeeds(options.stage, experiment, profile, seeds) === 0) {
    // e.g. an ablation read off the probe and kNN only (finetune.seeds 0): recorded as not run, so the summary and report say so
    const record: StageRecord = { ...base, seeds: 0, backend: 'none', seconds: 0, imagesPerSecond: null, status: 'not-run', reason: `${options.stage}.seeds is 0 for ${options.experiment} on profile ${options.profile}`, settings: {}, createdAt: new Date().toISOString() };
    writeStageRecord(dir, record);
    log(`${options.experiment} ${options.stage}: not run (${record.reason})`);
    return record;
  }
  const stage = options.stage;
  const seedsRun = stage === 'pretrain' ? seeds : evalSeeds(stage, experiment, profile, seeds);
  const seedList = Array.from({ length: seedsRun }, (_, seed) => seed);
  const workers = seedWorkerCount(seedsRun, options.seedWorkers);
  const outcomes = workers > 1
    ? await runSeedWorkers({ seeds: seedsRun, workers, args: (seed) => seedWorkerArgs(ctx, options, seed), log, label: `${options.experiment} ${stage}` })
    : await runSeedsHere(ctx, stage, seedList, options);
  if (workers > 1) log(`${options.experiment} ${stage}: ${seedsRun} seeds in ${workers} worker processes`);
  const record: StageRecord = {
    ...base,
    seeds: seedsRun,
    backend: outcomes[0].backend,
    device: outcomes[0].device,
    seconds: (performance.now() - started) / 1000,
    // one process's rate: images over the seeds' own wall times (side-by-side workers do not add up)
    imagesPerSecond: outcomes.reduce((sum, o) => sum + o.images, 0) / outcomes.reduce((sum, o) => sum + o.seconds, 0),
    settings: outcomes[0].settings,
    status: 'done',
    createdAt: new Date().toISOString(),
  };
  writeStageRecord(dir, record);
  log(`${options.experiment} ${options.stage}: ${record.status} in ${record.seconds.toFixed(1)} s -> ${dir}`);
  return record;
}
