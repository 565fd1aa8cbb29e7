/**
 * What the linear probe and kNN share: load the data and the frozen encoder, take the (optionally
 * stratified-subset) train and test splits, and get their cached features. The normalisation is the
 * checkpoint's (its pre-training statistics) when it records them, else the data's training
 * statistics.
 */
import { mkdirSync, statSync } from 'node:fs';
import { loadCifar10, stratifiedIndices, subsetSplit, type Split } from '@bmae/data';
import { disposeParams } from '@bmae/vit-model';
import type { FeaturePool, FeatureSet } from './features';
import { cachedFeatures, loadFrozenEncoder } from './frozen-encoder';

export interface FrozenEvalOptions {
  checkpoint: string | null;
  preset?: string;
  source?: string;
  cacheDir?: string;
  /** evaluation folder: feature caches and the result record */
  outDir: string;
  /** use only the first N images per class of each split (quick runs) */
  trainPerClass?: number;
  testPerClass?: number;
  pool?: FeaturePool;
  batchSize?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface FrozenEvalInputs {
  train: FeatureSet;
  test: FeatureSet;
  classNames: string[];
  preset: string;
  data: { source: string; fingerprint: string; trainCount: number; testCount: number };
}

function subset(split: Split, perClass: number | undefined, numClasses: number): Split {
  return perClass === undefined ? split : subsetSplit(split, stratifiedIndices(split.labels, perClass, numClasses));
}

export async function prepareFrozenEval(options: FrozenEvalOptions): Promise<FrozenEvalInputs> {
  const log = options.log ?? (() => {});
  mkdirSync(options.outDir, { recursive: true });
  const data = await loadCifar10({ source: options.source, cacheDir: options.cacheDir, log });
  const frozen = await loadFrozenEncoder({ checkpoint: options.checkpoint, preset: options.preset, seed: options.seed }, log);
  try {
    const numClasses = data.classNames.length;
    const train = subset(data.train, options.trainPerClass, numClasses);
    const test = subset(data.test, options.testPerClass, numClasses);
    const stats = frozen.normalization ?? { mean: data.mean, std: data.std };
    const checkpointId = options.checkpoint === null ? `random-init:${frozen.preset}:${options.seed ?? 0}` : `${options.checkpoint}@${statSync(options.checkpoint).mtimeMs}`;
    const key = `${checkpointId}|${data.fingerprint}`;
    const common = { key, pool: options.pool, batchSize: options.batchSize, log };
    log(`frozen ${frozen.preset} encoder on ${train.count} train / ${test.count} test images of ${data.source}`);
    return {
      train: await cachedFeatures(options.outDir, 'train', frozen, train, stats, common),
      test: await cachedFeatures(options.outDir, 'test', frozen, test, stats, common),
      classNames: data.classNames,
      preset: frozen.preset,
      data: { source: data.source, fingerprint: data.fingerprint, trainCount: train.count, testCount: test.count },
    };
  } finally {
    disposeParams(frozen.params);
  }
}
