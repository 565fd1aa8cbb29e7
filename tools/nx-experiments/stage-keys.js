// @ts-check
/**
 * Which part of an experiment's configuration each stage reads, as one content key per stage and
 * profile. The Nx targets hash these keys (a runtime input, see stage-key.js), so changing the
 * linear-probe settings changes only the linprobe and summary keys, while a pre-training change
 * reaches every stage downstream of it. The stage runner (packages/experiments/src/stage-config.ts)
 * reads exactly these sections: the two must stay in step (a test checks the section names).
 *
 * Plain CommonJS without dependencies: Nx loads it as a plugin without a TypeScript transpiler.
 */
const { createHash } = require('node:crypto');
const { readFileSync, readdirSync } = require('node:fs');
const { basename, join } = require('node:path');

/** Stages of an experiment, in run order. */
const STAGES = /** @type {const} */ (['pretrain', 'linprobe', 'finetune', 'knn', 'summary']);
/** The evaluation stages: each reads the pre-trained encoder (or a random one for `pretrain: null`). */
const EVAL_STAGES = /** @type {const} */ (['linprobe', 'finetune', 'knn']);

/** JSON with object keys sorted at every level, so equal configurations give equal keys. */
function stableStringify(value) {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableStringify(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

/** @returns the parsed JSON object of `file`; errors name the file */
function readJsonObject(file) {
  let value;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}: must hold a JSON object`);
  return value;
}

/** Every `*.json` of a folder as name -> parsed object, sorted by name. */
function readJsonFolder(dir) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) out[basename(file, '.json')] = readJsonObject(join(dir, file));
  return out;
}

/** The profile settings every stage reads: model preset, data subset, number of seeds. */
function commonSection(profile) {
  return { preset: profile.preset, data: profile.data ?? {}, seeds: profile.seeds ?? 1 };
}

/**
 * What a stage of `experiment` reads under `profile`, as one object (hashed into its key).
 * @param {string} stage one of STAGES
 */
function stageSection(experiment, profile, stage) {
  const common = commonSection(profile);
  if (stage === 'pretrain') {
    return experiment.pretrain == null ? null : { common, profile: profile.pretrain ?? {}, knnCurve: profile.knnCurve ?? null, experiment: experiment.pretrain };
  }
  const pretrain = stageKey(experiment, profile, 'pretrain');
  if (stage === 'summary') {
    return {
      common,
      paper: experiment.paper ?? {},
      sweeps: experiment.sweeps ?? {},
      // undefined (and so left out of the key) for an experiment that is not an ablation
      ablation: experiment.ablation,
      evals: Object.fromEntries(EVAL_STAGES.map((s) => [s, stageKey(experiment, profile, s)])),
    };
  }
  return { common, pretrain, profile: profile[stage] ?? {}, experiment: experiment[stage] ?? {} };
}

/** sha256 of the stage's section; null for the pre-training of an experiment without one. */
function stageKey(experiment, profile, stage) {
  const section = stageSection(experiment, profile, stage);
  return section === null ? null : sha256(stableStringify(section));
}

/**
 * Experiments whose pre-training sections are equal share one pre-training stage: the first of
 * them by name produces it. @returns experiment name -> producer name (absent: no pre-training)
 */
function pretrainProducers(experiments) {
  /** @type {Map<string, string>} */
  const bySection = new Map();
  /** @type {Record<string, string>} */
  const producers = {};
  for (const name of Object.keys(experiments).sort()) {
    const section = experiments[name].pretrain;
    if (section == null) continue;
    const key = stableStringify(section);
    if (!bySection.has(key)) bySection.set(key, name);
    producers[name] = /** @type {string} */ (bySection.get(key));
  }
  return producers;
}

module.exports = { STAGES, EVAL_STAGES, stableStringify, sha256, readJsonObject, readJsonFolder, stageSection, stageKey, pretrainProducers };
