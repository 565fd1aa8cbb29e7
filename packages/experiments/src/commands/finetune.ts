/**
 * `bmae finetune`: MAE's end-to-end fine-tuning of a pre-trained encoder (or the random-init
 * baseline) with a new linear head; top-1 on the test split after every epoch. Writes
 * <out>/finetune.json (eval record) and <out>/finetuned.safetensors (the classifier, PyTorch names).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { checkCifar10Source, loadCifar10, stratifiedIndices, subsetSplit, type Split } from '@bmae/data';
import { classificationMetrics, describeFinetuneEpoch, EVAL_RECORD_SCHEMA, FINETUNE_DEFAULTS, runFinetune, writeEvalRecord, type EvalRecord } from '@bmae/eval';
import { withRunLock } from '@bmae/trainers';
import { checkEncoderCheckpoint, disposeParams, maeConfig, parseBackendName, PRESET_NAMES, readCheckpoint, saveCheckpoint, selectBackend, type PresetName } from '@bmae/vit-model';
import { BMAE_VERSION, commandLine, parseInteger, parseNonNegative, parsePositive } from '../cli-options';
import type { EvaluationCommandOptions } from './knn';

export interface FinetuneCommandOptions extends EvaluationCommandOptions {
  epochs: string;
  blr: string;
  warmupEpochs: string;
  layerDecay: string;
  weightDecay: string;
  dropPath: string;
  mixup: string;
  cutmix: string;
  smoothing: string;
}

function subset(split: Split, perClass: number | undefined, numClasses: number): Split {
  return perClass === undefined ? split : subsetSplit(split, stratifiedIndices(split.labels, perClass, numClasses));
}

export async function runFinetuneCommand(options: FinetuneCommandOptions, log: (line: string) => void = (l) => console.error(l)): Promise<EvalRecord> {
  if ((options.checkpoint === undefined) === !options.randomInit) throw new Error('give either --checkpoint FILE or --random-init (with --preset)');
  if (options.pool !== 'mean' && options.pool !== 'cls') throw new Error(`--pool ${options.pool}: choose mean (fc_norm, MAE default) or cls`);
  const settings = {
    epochs: parseInteger(options.epochs, '--epochs', 1),
    batchSize: parseInteger(options.batch, '--batch', 1),
    blr: parsePositive(options.blr, '--blr'),
    warmupEpochs: parseInteger(options.warmupEpochs, '--warmup-epochs', 0),
    layerDecay: parsePositive(options.layerDecay, '--layer-decay'),
    weightDecay: parseNonNegative(options.weightDecay, '--weight-decay'),
    dropPath: parseNonNegative(options.dropPath, '--drop-path'),
    mixup: parseNonNegative(options.mixup, '--mixup'),
    cutmix: parseNonNegative(options.cutmix, '--cutmix'),
    labelSmoothing: parseNonNegative(options.smoothing, '--smoothing'),
    globalPool: options.pool === 'mean',
    seed: parseInteger(options.seed, '--seed'),
  };
  if (settings.dropPath >= 1) throw new Error(`--drop-path ${options.dropPath}: must be below 1`);
  const trainPerClass = options.trainPerClass === undefined ? undefined : parseInteger(options.trainPerClass, '--train-per-class', 1);
  const testPerClass = options.testPerClass === undefined ? undefined : parseInteger(options.testPerClass, '--test-per-class', 1);
  if (options.backend !== undefined) parseBackendName(options.backend, '--backend');

  const checkpoint = options.checkpoint ?? null;
  // Every input checked before any long work: the checkpoint against its architecture, the data source.
  if (checkpoint !== null) await checkEncoderCheckpoint(checkpoint, { preset: options.preset });
  checkCifar10Source({ source: options.source });
  const file = checkpoint === null ? null : await readCheckpoint(checkpoint, { preset: options.preset });
  let preset: string;
  let modelConfig;
  if (file) {
    modelConfig = file.info.config;
    preset = file.info.preset ?? 'custom';
  } else {
    if (!options.preset || !(PRESET_NAMES as string[]).includes(options.preset)) {
      throw new Error(`--random-init needs --preset (one of ${PRESET_NAMES.join(', ')}), got ${options.preset ?? 'none'}`);
    }
    preset = options.preset;
    modelConfig = maeConfig(preset as PresetName);
  }
  return withRunLock(options.out, 'fine-tuning', async () => {
    mkdirSync(options.out, { recursive: true });

    const backend = await selectBackend({ name: options.backend, log });
    const data = await loadCifar10({ source: options.source, cacheDir: options.cacheDir, log });
    const numClasses = data.classNames.length;
    const train = subset(data.train, trainPerClass, numClasses);
    const test = subset(data.test, testPerClass, numClasses);
    const stats = file?.configFromFile ? file.info.normalization : { mean: data.mean, std: data.std };
    log(`fine-tune ${preset} (${checkpoint ?? 'random init'}) on ${train.count} train / ${test.count} test images, backend ${backend.name}`);

    const started = performance.now();
    const result = await runFinetune({
      checkpoint, encoder: modelConfig.encoder, train, test, stats, numClasses, options: settings, log,
      onEpoch: (entry) => log(describeFinetuneEpoch(entry, settings.epochs)),
    });
    try {
      await saveCheckpoint(join(options.out, 'finetuned.safetensors'), result.params, {
        preset: preset === 'custom' ? null : (preset as PresetName),
        config: modelConfig,
        normalization: { mean: [...stats.mean], std: [...stats.std] },
        provenance: { bmaeVersion: BMAE_VERSION, backend: backend.name, seed: settings.seed, createdAt: new Date().toISOString(), command: commandLine() },
      });
    } finally {
      disposeParams(result.params);
    }
    const record: EvalRecord = {
      schema: EVAL_RECORD_SCHEMA,
      protocol: 'finetune',
      encoder: { checkpoint, preset },
      data: { source: data.source, fingerprint: data.fingerprint, trainCount: train.count, testCount: test.count },
      metrics: classificationMetrics(result.predicted, test.labels, data.classNames),
      history: result.history,
      settings: { ...result.settings, trainPerClass: trainPerClass ?? null, testPerClass: testPerClass ?? null },
      backend: backend.name,
      seed: settings.seed,
      seconds: (performance.now() - started) / 1000,
      createdAt: new Date().toISOString(),
    };
    writeEvalRecord(join(options.out, 'finetune.json'), record);
    log(`fine-tune top-1 ${(100 * record.metrics.top1).toFixed(2)}% -> ${join(options.out, 'finetune.json')}`);
    return record;
  }, log);
}

export function register(program: Command): void {
  const d = FINETUNE_DEFAULTS;
  program
    .command('finetune')
    .description("MAE's end-to-end fine-tuning (layer-wise lr decay, drop path, mixup/cutmix, label smoothing) of a checkpoint's encoder")
    .option('--checkpoint <file>', 'pre-training checkpoint (.safetensors; bmae, or PyTorch MAE with --preset)')
    .option('--random-init', 'fine-tune a freshly initialised encoder (the no-pre-training baseline; needs --preset)')
    .option('--preset <name>', 'architecture for --random-init, or for a checkpoint without bmae metadata')
    .option('--source <path>', 'CIFAR-10 source (default: env BMAE_DATA, else download)')
    .option('--cache-dir <path>', 'decoded-data cache (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .requiredOption('--out <dir>', 'folder for finetune.json and finetuned.safetensors')
    .option('--train-per-class <n>', 'use only the first n training images of each class')
    .option('--test-per-class <n>', 'use only the first n test images of each class')
    .option('--epochs <n>', 'epochs (report: 100)', String(d.epochs))
    .option('--batch <n>', 'batch size', String(d.batchSize))
    .option('--blr <lr>', 'base lr: lr = blr * batch / 256', String(d.blr))
    .option('--warmup-epochs <n>', 'linear warm-up epochs', String(d.warmupEpochs))
    .option('--layer-decay <f>', 'layer-wise lr decay', String(d.layerDecay))
    .option('--weight-decay <f>', 'AdamW weight decay', String(d.weightDecay))
    .option('--drop-path <f>', 'stochastic depth rate of the last block', String(d.dropPath))
    .option('--mixup <alpha>', 'mixup Beta alpha (0 = off)', String(d.mixup))
    .option('--cutmix <alpha>', 'cutmix Beta alpha (0 = off)', String(d.cutmix))
    .option('--smoothing <f>', 'label smoothing', String(d.labelSmoothing))
    .option('--pool <kind>', 'mean (patch tokens + fc_norm, MAE default) or cls', 'mean')
    .option('--seed <n>', 'seed (head init, data order, augmentation, mixing, drop path)', String(d.seed))
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)')
    .action(async (options: FinetuneCommandOptions) => {
      const record = await runFinetuneCommand(options);
      console.log(JSON.stringify({ protocol: 'finetune', top1: record.metrics.top1, out: options.out }));
    });
}
