/**
 * What each stage of an experiment runs with, resolved from exactly the sections the Nx plugin
 * hashes for it (tools/nx-experiments/stage-keys.js): every stage reads the profile's preset, data
 * subset and seed count; pretrain adds profile.pretrain, profile.knnCurve and experiment.pretrain; an evaluation stage
 * adds profile.<stage> + experiment.<stage> (and reads the pre-trained encoder). Reading anything
 * else here would make Nx restore a stale result from its cache.
 */
import { parsePretrainConfig, type PretrainConfig } from '@bmae/trainers';
import {
  finetuneSettingsSchema, knnSettingsSchema, linprobeSettingsSchema,
  type Experiment, type FinetuneSettings, type KnnSettings, type LinprobeSettings, type Profile,
} from './experiment';

export const STAGES = ['pretrain', 'linprobe', 'finetune', 'knn', 'summary'] as const;
export type Stage = (typeof STAGES)[number];
export const EVAL_STAGES = ['linprobe', 'finetune', 'knn'] as const;
export type EvalStage = (typeof EVAL_STAGES)[number];

export function parseStage(value: string): Stage {
  if (!(STAGES as readonly string[]).includes(value)) throw new Error(`unknown stage "${value}": choose one of ${STAGES.join(', ')}`);
  return value as Stage;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged into `base` key by key (objects recursively; arrays and values replaced). */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Json, value) : value;
  return out;
}

/**
 * The pre-training config of one seed: profile.pretrain, then experiment.pretrain, then the profile's
 * preset and training subset and the seed. Errors name the experiment and profile.
 * @returns null for an experiment without pre-training
 */
export function pretrainConfigFor(experiment: Experiment, profile: Profile, seed: number, names = { experiment: '?', profile: '?' }): PretrainConfig | null {
  if (experiment.pretrain === null) return null;
  const merged = deepMerge(deepMerge(profile.pretrain, experiment.pretrain), {
    seed,
    model: { preset: profile.preset },
    data: profile.data.trainPerClass === undefined ? {} : { trainPerClass: profile.data.trainPerClass },
  });
  try {
    return parsePretrainConfig(merged);
  } catch (error) {
    throw new Error(`experiment ${names.experiment} under profile ${names.profile}: ${(error as Error).message}`);
  }
}

function evalSettings<T>(schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, stage: EvalStage, experiment: Experiment, profile: Profile): T {
  const merged = { ...(profile[stage] ?? {}), ...(experiment[stage] ?? {}) };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) throw new Error(`${stage} settings: ${parsed.error.issues.map((i) => `${stage}.${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function linprobeSettingsFor(experiment: Experiment, profile: Profile): LinprobeSettings {
  return evalSettings(linprobeSettingsSchema, 'linprobe', experiment, profile);
}

export function finetuneSettingsFor(experiment: Experiment, profile: Profile): FinetuneSettings {
  return evalSettings(finetuneSettingsSchema, 'finetune', experiment, profile);
}

export function knnSettingsFor(experiment: Experiment, profile: Profile): KnnSettings {
  return evalSettings(knnSettingsSchema, 'knn', experiment, profile);
}
