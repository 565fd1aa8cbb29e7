/**
 * The pre-training run config: one zod schema holding every default (MAE's defaults from
 * main_pretrain.py and notes/method.md), strict at every level so a typo is refused by name.
 * `resolvePretrainConfig` derives the values a run uses (absolute lr, warm-up, steps per epoch)
 * once; the resolved config is logged and saved beside every checkpoint.
 */
import { readFileSync } from 'node:fs';
import { targetConfigSchema, targetPresets } from '@bmae/targets';
import { z } from 'zod';
import { parseConfig } from './config-errors';
import { scaledLr } from './lr-schedule';
import { applyOverrides } from './overrides';

/** MAE's 40 warm-up epochs out of a long (200+) run: short runs keep the same fraction. */
export const AUTO_WARMUP_FRACTION = 0.2;
export const AUTO_WARMUP_MAX_EPOCHS = 40;

export const pretrainConfigSchema = z
  .object({
    seed: z.number().int().default(0),
    data: z
      .object({
        /** archive / folder path; unset = env BMAE_DATA, else the official download */
        source: z.string().min(1).optional(),
        /** train on the first N images of each class (stratified subset), for quick profiles */
        trainPerClass: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        preset: z.string().default('deit-tiny'),
        maskRatio: z.number().gt(0).lt(1).default(0.75),
      })
      .strict()
      .prefault({}),
    /** a target config, or the name of one of the report's methods: mae, mae-k, ema-mae, mae-new */
    target: z
      .preprocess((value, ctx) => {
        if (typeof value !== 'string') return value;
        if (value in targetPresets) return targetPresets[value as keyof typeof targetPresets];
        ctx.addIssue({ code: 'custom', message: `unknown target preset "${value}": choose ${Object.keys(targetPresets).join(', ')} or give a config object`, input: value });
        return value;
      }, targetConfigSchema)
      .prefault({ kind: 'pixels' }),
    /**
     * Target epochs per training epoch. The bootstrapped targets count in target epochs: MAE-K
     * copies every K of them, EMA-MAE reconstructs pixels for the first WSE and updates after each
     * later one. Every training epoch is split into this many target epochs of (nearly) equal step
     * counts, so a short run can replay a long run's target schedule: 10 epochs x 20 = the report's
     * 200 (the quick profile). 1 = the report's own setting.
     */
    targetEpochsPerEpoch: z.number().int().min(1).default(1),
    optim: z
      .object({
        epochs: z.number().int().min(1).default(200),
        batchSize: z.number().int().min(1).default(512),
        /** base lr: lr = blr * batchSize / 256 */
        blr: z.number().positive().default(1.5e-4),
        /** absolute lr; when set, blr is ignored */
        lr: z.number().positive().optional(),
        minLr: z.number().min(0).default(0),
        /** 'auto' = min(40, 0.2 * epochs) */
        warmupEpochs: z.union([z.number().min(0), z.literal('auto')]).default('auto'),
        weightDecay: z.number().min(0).default(0.05),
        betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
        /** max global gradient norm; null = no clipping (MAE pre-training default) */
        clipGrad: z.number().positive().nullable().default(null),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        /** JSON-lines records per epoch (the report logs the loss 5 times per epoch) */
        perEpoch: z.number().int().min(1).default(5),
        progress: z.enum(['auto', 'bar', 'lines', 'none']).default('auto'),
      })
      .strict()
      .prefault({}),
    checkpoint: z
      .object({
        everyEpochs: z.number().int().min(1).default(20),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const { warmupEpochs, epochs } = config.optim;
    if (warmupEpochs !== 'auto' && warmupEpochs >= epochs) {
      ctx.addIssue({ code: 'custom', path: ['optim', 'warmupEpochs'], message: `must be below optim.epochs (${epochs})`, input: warmupEpochs });
    }
  });

export type PretrainConfig = z.infer<typeof pretrainConfigSchema>;
export type PretrainConfigInput = z.input<typeof pretrainConfigSchema>;

/** Values derived once from the config and the data. */
export interface PretrainDerived {
  /** absolute peak lr */
  lr: number;
  warmupEpochs: number;
  stepsPerEpoch: number;
  trainCount: number;
}

export interface ResolvedPretrainConfig {
  config: PretrainConfig;
  derived: PretrainDerived;
}

/** Validates a config object (e.g. parsed JSON plus overrides); errors name every bad key. */
export function parsePretrainConfig(input: unknown): PretrainConfig {
  return parseConfig(pretrainConfigSchema, input, 'pretrain config');
}

/**
 * Reads a JSON config file (or starts from {} without one), applies `--set key=value` overrides,
 * validates. Errors name the file or the key.
 */
export function loadPretrainConfig(file: string | undefined, overrides: readonly string[] = []): PretrainConfig {
  let base: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      base = JSON.parse(text);
    } catch (error) {
      throw new Error(`config file ${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new Error(`config file ${file} must hold a JSON object`);
  }
  const merged = applyOverrides(base as Record<string, unknown>, overrides);
  try {
    return parsePretrainConfig(merged);
  } catch (error) {
    throw new Error(`${file ? `${file}: ` : ''}${(error as Error).message}`);
  }
}

/** MAE's warm-up for a run of `epochs` when 'auto'. */
export function autoWarmupEpochs(epochs: number): number {
  return Math.min(AUTO_WARMUP_MAX_EPOCHS, AUTO_WARMUP_FRACTION * epochs);
}

/**
 * Derives the run's numbers. Pre-training drops the last incomplete batch (MAE's DataLoader
 * drop_last=True), so the data must hold at least one batch.
 */
export function resolvePretrainConfig(config: PretrainConfig, trainCount: number): ResolvedPretrainConfig {
  const { optim } = config;
  const stepsPerEpoch = Math.floor(trainCount / optim.batchSize);
  if (stepsPerEpoch < 1) {
    throw new Error(`optim.batchSize ${optim.batchSize} is larger than the ${trainCount} training images: lower it (--set optim.batchSize=N)`);
  }
  if (config.targetEpochsPerEpoch > stepsPerEpoch) {
    throw new Error(`targetEpochsPerEpoch ${config.targetEpochsPerEpoch} is more than the ${stepsPerEpoch} steps of an epoch: every target epoch needs at least one step`);
  }
  return {
    config,
    derived: {
      lr: optim.lr ?? scaledLr(optim.blr, optim.batchSize),
      warmupEpochs: optim.warmupEpochs === 'auto' ? autoWarmupEpochs(optim.epochs) : optim.warmupEpochs,
      stepsPerEpoch,
      trainCount,
    },
  };
}
