/**
 * Experiments and profiles as data (packages/experiments/experiments/<name>.json and
 * profiles/<name>.json), validated by strict zod schemas: an unknown key or a bad value is refused
 * naming the file and the key. An experiment names its pre-training target (or `null`: no
 * pre-training) and may override evaluation settings; a profile fixes the scale (model preset, data
 * subset, schedules, evaluation settings). The Nx plugin (tools/nx-experiments) hashes the same
 * sections per stage, see stage-config.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { FINETUNE_DEFAULTS as FT, KNN_DEFAULTS, LINPROBE_DEFAULTS as LP } from '@bmae/eval/defaults';
import { z } from 'zod';

/** Repository folders holding the experiment and profile files. */
export const EXPERIMENTS_DIR = resolve(__dirname, '../experiments');
export const PROFILES_DIR = resolve(__dirname, '../profiles');

/** Linear probe on frozen features (MAE main_linprobe.py; notes/method.md). Defaults: @bmae/eval's. */
export const linprobeSettingsSchema = z
  .object({
    epochs: z.number().int().min(1).default(LP.epochs),
    batchSize: z.number().int().min(1).default(LP.batchSize),
    /** absolute LARS lr */
    lr: z.number().positive().default(LP.lr),
    /** base lr: when set, lr = blr * batchSize / 256 replaces `lr` */
    blr: z.number().positive().optional(),
    warmupEpochs: z.number().min(0).default(LP.warmupEpochs),
    weightDecay: z.number().min(0).default(LP.weightDecay),
    pool: z.enum(['cls', 'mean']).default('cls'),
  })
  .strict();

/** Fine-tuning (MAE main_finetune.py). Defaults: @bmae/eval's. */
export const finetuneSettingsSchema = z
  .object({
    epochs: z.number().int().min(1).default(FT.epochs),
    batchSize: z.number().int().min(1).default(FT.batchSize),
    blr: z.number().positive().default(FT.blr),
    layerDecay: z.number().gt(0).max(1).default(FT.layerDecay),
    weightDecay: z.number().min(0).default(FT.weightDecay),
    dropPath: z.number().min(0).lt(1).default(FT.dropPath),
    warmupEpochs: z.number().min(0).default(FT.warmupEpochs),
    labelSmoothing: z.number().min(0).lt(1).default(FT.labelSmoothing),
    mixup: z.number().min(0).default(FT.mixup),
    cutmix: z.number().min(0).default(FT.cutmix),
    minLr: z.number().min(0).default(FT.minLr),
    /** true: mean-pooled patch tokens + fc_norm (MAE's default); false: the CLS token */
    globalPool: z.boolean().default(FT.globalPool),
    /** fine-tune only seeds 0..seeds-1 of the pre-trained encoders (a CPU fine-tune costs minutes per epoch; 0: none, e.g. for an ablation read off the probe and kNN); default: every seed */
    seeds: z.number().int().min(0).optional(),
  })
  .strict();

/** Weighted kNN on frozen features (DINO eval_knn.py). */
export const knnSettingsSchema = z
  .object({
    k: z.number().int().min(1).default(KNN_DEFAULTS.k),
    temperature: z.number().positive().default(KNN_DEFAULTS.temperature),
    pool: z.enum(['cls', 'mean']).default('cls'),
  })
  .strict();

/**
 * A kNN learning curve during pre-training: kNN top-1 of the online encoder's CLS features on
 * fixed stratified subsets (the first trainPerClass training images of each class, which lie inside
 * the pre-training subset, and the first testPerClass test images), before training and every
 * everyEpochs epochs; logged in metrics.jsonl and plotted by the report.
 */
export const knnCurveSchema = z
  .object({
    everyEpochs: z.number().int().min(1),
    trainPerClass: z.number().int().positive(),
    testPerClass: z.number().int().positive(),
    k: z.number().int().min(1).default(KNN_DEFAULTS.k),
    temperature: z.number().positive().default(KNN_DEFAULTS.temperature),
  })
  .strict();

export type KnnCurveSettings = z.infer<typeof knnCurveSchema>;
export type LinprobeSettings = z.infer<typeof linprobeSettingsSchema>;
export type FinetuneSettings = z.infer<typeof finetuneSettingsSchema>;
export type KnnSettings = z.infer<typeof knnSettingsSchema>;

/** Evaluation sections as files write them: every key optional, merged profile first, then experiment. */
const evalSections = {
  linprobe: linprobeSettingsSchema.partial().optional(),
  finetune: finetuneSettingsSchema.partial().optional(),
  knn: knnSettingsSchema.partial().optional(),
};

/** A pre-training section: any part of the pretrain config (trainers' schema checks it when resolved). */
const pretrainSection = z.record(z.string(), z.unknown());

export const SWEEP_PARAMS = ['k', 'tau', 'wse'] as const;
export type SweepParam = (typeof SWEEP_PARAMS)[number];

export const profileSchema = z
  .object({
    description: z.string(),
    /** vit-model preset of the encoder (and decoder) */
    preset: z.string().min(1),
    data: z
      .object({
        /** stratified subset: the first N training images of each class */
        trainPerClass: z.number().int().positive().optional(),
        /** stratified subset of the test split for evaluation */
        testPerClass: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    /** runs per experiment (seed 0..seeds-1); the summary reports mean +/- std */
    seeds: z.number().int().min(1).default(1),
    /** pretrain config keys (optim, log, checkpoint, model.maskRatio) */
    pretrain: pretrainSection.default({}),
    /** kNN learning curve during pre-training (part of the pretrain stage's key); absent: none */
    knnCurve: knnCurveSchema.optional(),
    ...evalSections,
  })
  .strict()
  .refine((p) => !p.knnCurve || p.data.trainPerClass === undefined || p.knnCurve.trainPerClass <= p.data.trainPerClass, {
    message: 'knnCurve.trainPerClass must not exceed data.trainPerClass: the curve\'s neighbours come from the pre-training images',
    path: ['knnCurve', 'trainPerClass'],
  });

export const experimentSchema = z
  .object({
    description: z.string(),
    /** pretrain config keys, at least the target; null = no pre-training (random-init baseline) */
    pretrain: pretrainSection.nullable(),
    /** the experiment's value of each sweep it belongs to (sweep-k, sweep-tau, sweep-wse) */
    sweeps: z.partialRecord(z.enum(SWEEP_PARAMS), z.number()).optional(),
    /** the report's own numbers (top-1, %), shown beside ours */
    paper: z.object({ finetune: z.number().optional(), linprobe: z.number().optional() }).strict().optional(),
    /** an ablation of another experiment: the report pairs it seed by seed with `of`, not with mae */
    ablation: z
      .object({
        /** the experiment this one changes (a file in the same folder) */
        of: z.string().min(1),
        /** what this run changes, in words, e.g. "no LayerNorm on the feature target" */
        varies: z.string().min(1),
      })
      .strict()
      .optional(),
    ...evalSections,
  })
  .strict();

export type Profile = z.infer<typeof profileSchema>;
export type Experiment = z.infer<typeof experimentSchema>;

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) throw new Error(`${what} file ${file} does not exist`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${what} file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseFile<T>(schema: z.ZodType<T>, file: string, what: string): T {
  const parsed = schema.safeParse(readJson(file, what));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`${what} file ${file}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** Names of the `*.json` files of a folder, sorted. */
function namesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

export function experimentNames(dir = EXPERIMENTS_DIR): string[] {
  return namesIn(dir);
}

export function profileNames(dir = PROFILES_DIR): string[] {
  return namesIn(dir);
}

export function loadExperiment(name: string, dir = EXPERIMENTS_DIR): Experiment {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) throw new Error(`unknown experiment "${name}": no ${file} (experiments: ${experimentNames(dir).join(', ')})`);
  const experiment = parseFile(experimentSchema, file, 'experiment');
  const base = experiment.ablation?.of;
  if (base !== undefined && (base === name || !existsSync(join(dir, `${base}.json`)))) {
    throw new Error(`experiment file ${file}: ablation.of: "${base}" is not another experiment (experiments: ${experimentNames(dir).filter((n) => n !== name).join(', ')})`);
  }
  return experiment;
}

export function loadProfile(name: string, dir = PROFILES_DIR): Profile {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) throw new Error(`unknown profile "${name}": no ${file} (profiles: ${profileNames(dir).join(', ')})`);
  return parseFile(profileSchema, file, 'profile');
}
