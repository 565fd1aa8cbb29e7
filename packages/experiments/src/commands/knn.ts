/**
 * `bmae knn`: weighted kNN accuracy (cosine, k = 20, T = 0.07, as DINO) of a checkpoint's frozen
 * encoder, or of a random-init encoder (--random-init). Writes <out>/knn.json (an eval record) and
 * caches the features in <out> for later probes.
 */
import type { Command } from 'commander';
import { classificationMetrics, EVAL_RECORD_SCHEMA, KNN_DEFAULTS, knnClassify, prepareFrozenEval, writeEvalRecord, type EvalRecord } from '@bmae/eval';
import { checkCifar10Source } from '@bmae/data';
import { withRunLock } from '@bmae/trainers';
import { checkEncoderCheckpoint, parseBackendName, PRESET_NAMES, selectBackend } from '@bmae/vit-model';
import { join } from 'node:path';
import { parseInteger, parsePositive } from '../cli-options';

/** The options of every command that evaluates an encoder (knn, linprobe, finetune), as typed. */
export interface EvaluationCommandOptions {
  checkpoint?: string;
  randomInit?: boolean;
  preset?: string;
  source?: string;
  cacheDir?: string;
  out: string;
  trainPerClass?: string;
  testPerClass?: string;
  pool: string;
  batch: string;
  seed: string;
  backend?: string;
}

export interface KnnCommandOptions extends EvaluationCommandOptions {
  k: string;
  temperature: string;
}

/** Checks the options linprobe and knn share; returns them parsed. */
export function parseFrozenOptions(options: EvaluationCommandOptions) {
  if ((options.checkpoint === undefined) === !options.randomInit) {
    throw new Error('give either --checkpoint FILE or --random-init (with --preset) for the random-init baseline');
  }
  if (options.pool !== 'cls' && options.pool !== 'mean') throw new Error(`--pool ${options.pool}: choose cls or mean`);
  if (options.backend !== undefined) parseBackendName(options.backend, '--backend');
  return {
    checkpoint: options.checkpoint ?? null,
    preset: options.preset,
    source: options.source,
    cacheDir: options.cacheDir,
    outDir: options.out,
    trainPerClass: options.trainPerClass === undefined ? undefined : parseInteger(options.trainPerClass, '--train-per-class', 1),
    testPerClass: options.testPerClass === undefined ? undefined : parseInteger(options.testPerClass, '--test-per-class', 1),
    pool: options.pool as 'cls' | 'mean',
    batchSize: parseInteger(options.batch, '--batch', 1),
    seed: parseInteger(options.seed, '--seed'),
  };
}

/**
 * What a frozen-encoder command reads, checked before any long work: the checkpoint's header
 * against its own architecture (or the preset of a random init) and the data source.
 */
export async function checkFrozenInputs(frozen: ReturnType<typeof parseFrozenOptions>): Promise<void> {
  if (frozen.checkpoint !== null) await checkEncoderCheckpoint(frozen.checkpoint, { preset: frozen.preset });
  else if (!frozen.preset || !(PRESET_NAMES as string[]).includes(frozen.preset)) {
    throw new Error(`--random-init needs --preset (one of ${PRESET_NAMES.join(', ')}), got ${frozen.preset ?? 'none'}`);
  }
  checkCifar10Source({ source: frozen.source });
}

/** Options of the frozen-encoder commands, added to `command`. */
export function frozenEncoderOptions(command: Command): Command {
  return command
    .option('--checkpoint <file>', 'pre-training checkpoint (.safetensors; bmae, or PyTorch MAE with --preset)')
    .option('--random-init', 'evaluate a freshly initialised encoder (the random-init baseline; needs --preset)')
    .option('--preset <name>', 'architecture for --random-init, or for a checkpoint without bmae metadata')
    .option('--source <path>', 'CIFAR-10 source (default: env BMAE_DATA, else download)')
    .option('--cache-dir <path>', 'decoded-data cache (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .requiredOption('--out <dir>', 'evaluation folder: result record and cached features')
    .option('--train-per-class <n>', 'use only the first n training images of each class')
    .option('--test-per-class <n>', 'use only the first n test images of each class')
    .option('--pool <kind>', 'feature: cls (CLS token after the final norm, MAE linear probe) or mean (patch tokens)', 'cls')
    .option('--batch <n>', 'images per forward pass when extracting features', '256')
    .option('--seed <n>', 'seed (random-init weights, probe init and order)', '0')
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)');
}

export async function runKnnCommand(options: KnnCommandOptions, log: (line: string) => void = (l) => console.error(l)): Promise<EvalRecord> {
  const frozen = parseFrozenOptions(options);
  const k = parseInteger(options.k, '--k', 1);
  const temperature = parsePositive(options.temperature, '--temperature');
  await checkFrozenInputs(frozen);
  return withRunLock(frozen.outDir, 'knn', async () => {
    const backend = await selectBackend({ name: options.backend, log });
    const started = performance.now();
    const inputs = await prepareFrozenEval({ ...frozen, log });
    const { predicted } = knnClassify(inputs.train.features, inputs.train.labels, inputs.test.features, { k, temperature, numClasses: inputs.classNames.length });
    const record: EvalRecord = {
      schema: EVAL_RECORD_SCHEMA,
      protocol: 'knn',
      encoder: { checkpoint: frozen.checkpoint, preset: inputs.preset },
      data: inputs.data,
      metrics: classificationMetrics(predicted, inputs.test.labels, inputs.classNames),
      history: [],
      settings: { k, temperature, pool: frozen.pool, trainPerClass: frozen.trainPerClass ?? null, testPerClass: frozen.testPerClass ?? null },
      backend: backend.name,
      seed: frozen.seed,
      seconds: (performance.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    };
    writeEvalRecord(join(frozen.outDir, 'knn.json'), record);
    log(`kNN (k ${k}, T ${temperature}) top-1 ${(100 * record.metrics.top1).toFixed(2)}% on ${inputs.test.count} test images -> ${join(frozen.outDir, 'knn.json')}`);
    return record;
  }, log);
}

export function register(program: Command): void {
  frozenEncoderOptions(program.command('knn').description('weighted kNN accuracy of a frozen encoder (cosine, k 20, T 0.07 as DINO)'))
    .option('--k <n>', 'neighbours', String(KNN_DEFAULTS.k))
    .option('--temperature <t>', 'vote weight exp(similarity / t)', String(KNN_DEFAULTS.temperature))
    .action(async (options: KnnCommandOptions) => {
      const record = await runKnnCommand(options);
      console.log(JSON.stringify({ protocol: 'knn', top1: record.metrics.top1, out: options.out }));
    });
}
