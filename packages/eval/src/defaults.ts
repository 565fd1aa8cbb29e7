/**
 * The evaluation protocols' defaults, once, for every caller: the eval functions, the `bmae`
 * commands and the experiments' config schemas. This module imports nothing, so configuration
 * code reads it (as `@bmae/eval/defaults`) without loading TensorFlow.js.
 */

/** Linear probe (MAE main_linprobe.py; the lr choice is explained in linear-probe.ts). */
export const LINPROBE_DEFAULTS = {
  epochs: 90,
  batchSize: 256,
  /** absolute LARS lr: MAE's blr 0.1 x 16384 / 256, kept at smaller batches */
  lr: 6.4,
  warmupEpochs: 10,
  weightDecay: 0,
} as const;

/** MAE's linear-probe lr: blr 0.1 x 16384 / 256. */
export const MAE_LINPROBE_LR = LINPROBE_DEFAULTS.lr;

/** The linear probe's absolute lr: `blr * batchSize / 256` when blr is given, else `lr`, else MAE's 6.4. */
export function linearProbeLr({ lr, blr, batchSize }: { lr?: number; blr?: number; batchSize: number }): number {
  if (blr !== undefined) return (blr * batchSize) / 256;
  return lr ?? LINPROBE_DEFAULTS.lr;
}

export interface FinetuneOptions {
  epochs?: number;
  batchSize?: number;
  blr?: number;
  minLr?: number;
  warmupEpochs?: number;
  weightDecay?: number;
  layerDecay?: number;
  dropPath?: number;
  labelSmoothing?: number;
  mixup?: number;
  cutmix?: number;
  /** true: mean-pooled patch tokens + fc_norm (MAE default); false: CLS token after norm */
  globalPool?: boolean;
  seed?: number;
}

/** Fine-tuning: MAE main_finetune.py's defaults at the report's batch (512) and length (100 epochs). */
export const FINETUNE_DEFAULTS: Required<FinetuneOptions> = {
  epochs: 100, batchSize: 512, blr: 1e-3, minLr: 1e-6, warmupEpochs: 5, weightDecay: 0.05, layerDecay: 0.75,
  dropPath: 0.1, labelSmoothing: 0.1, mixup: 0.8, cutmix: 1.0, globalPool: true, seed: 0,
};

/** Weighted kNN on frozen features (DINO eval_knn.py). */
export const KNN_DEFAULTS = { k: 20, temperature: 0.07 } as const;
