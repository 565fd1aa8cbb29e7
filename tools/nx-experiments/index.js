// @ts-check
/**
 * Local Nx plugin: the report's experiments as cached targets of project `experiments`.
 * Every packages/experiments/experiments/<name>.json becomes a chain of stage targets, every
 * packages/experiments/profiles/<profile>.json an Nx configuration of each (default: quick):
 *
 *   <name>-pretrain   MAE pre-training (absent for `"pretrain": null`; experiments with equal
 *                     pre-training sections share the first one's)          cached
 *   <name>-linprobe   linear probe on frozen features                        cached
 *   <name>-finetune   end-to-end fine-tuning                                 cached
 *   <name>-knn        kNN on frozen features                                 cached
 *   <name>-summary    the three evaluations (and their seeds) combined       cached
 *   <name>            runs the chain, then writes runs/<profile>/report.md and prints it
 *   sweep-<param>     every experiment with `sweeps.<param>`, then the report
 *   report            the report of every finished experiment of a profile (not cached)
 *
 * A stage's outputs are runs/<profile>/<name>/<stage>/. Its inputs: its configuration section and
 * the data fingerprint (runtime input stage-key.js), env BMAE_DATA, the production sources of
 * the packages the runner imports (^production) and of the runner itself (not the report code,
 * experiment files or tests), and this folder. Nx hashes a project's whole target list into each
 * task, so target definitions never carry configuration values: adding or removing an experiment
 * or profile re-runs stages once, editing one does not.
 */
const { join } = require('node:path');
const { EVAL_STAGES, pretrainProducers, readJsonFolder } = require('./stage-keys');
const { DEFAULT_PROFILE, EXPERIMENTS_DIR, PROFILES_DIR, PROJECT_ROOT, RUNS_DIR } = require('./layout');

const PLUGIN_DIR = 'tools/nx-experiments';
const BMAE = 'node packages/experiments/bin/bmae.js';

/** Inputs of every stage target. */
function stageInputs(experiment, stage) {
  return [
    { runtime: `node ${PLUGIN_DIR}/stage-key.js ${experiment} ${stage}` },
    { env: 'BMAE_DATA' },
    '^production',
    'stageRunner',
    `{workspaceRoot}/${PLUGIN_DIR}/**/*.js`,
  ];
}

/** One configuration per profile; the profile reaches the command as --profile=<name>. */
function profileConfigurations(profiles) {
  return Object.fromEntries(profiles.map((profile) => [profile, { profile }]));
}

/**
 * @param {string[]} profiles
 * @param {string} description
 * @param {string} command
 * @param {object} extra dependsOn, inputs, outputs, cache
 */
function target(profiles, description, command, extra) {
  return {
    executor: 'nx:run-commands',
    options: { command, cwd: '{workspaceRoot}', profile: DEFAULT_PROFILE },
    configurations: profileConfigurations(profiles),
    defaultConfiguration: DEFAULT_PROFILE,
    metadata: { description, technologies: ['bmae'] },
    ...extra,
  };
}

const dependsOn = (targets) => targets.map((t) => ({ target: t, params: 'forward' }));

/**
 * @param {Record<string, any>} experiments name -> parsed experiment file
 * @param {string[]} profiles
 * @returns target name -> target configuration, per experiment file, plus the shared targets
 */
function buildTargets(experiments, profiles) {
  const producers = pretrainProducers(experiments);
  /** @type {Record<string, Record<string, object>>} */
  const perExperiment = {};
  /** @type {Record<string, string[]>} sweep parameter -> experiment names */
  const sweeps = {};
  for (const name of Object.keys(experiments).sort()) {
    const experiment = experiments[name];
    const targets = (perExperiment[name] = /** @type {Record<string, object>} */ ({}));
    const producer = producers[name];
    // An experiment sharing another's pre-training evaluates (and summarises) that one's encoder.
    const shared = producer && producer !== name ? ` --pretrained ${producer}` : '';
    const stageTarget = (stage, description, deps) =>
      target(profiles, description, `${BMAE} stage ${stage} ${name}${stage === 'pretrain' ? '' : shared}`, {
        cache: true,
        dependsOn: dependsOn(deps),
        inputs: stageInputs(name, stage),
        outputs: [`{workspaceRoot}/${RUNS_DIR}/{options.profile}/${name}/${stage}`],
      });
    if (producer === name) targets[`${name}-pretrain`] = stageTarget('pretrain', `${name}: pre-training`, []);
    const evalDeps = producer ? [`${producer}-pretrain`] : [];
    for (const stage of EVAL_STAGES) targets[`${name}-${stage}`] = stageTarget(stage, `${name}: ${stage}`, evalDeps);
    targets[`${name}-summary`] = stageTarget('summary', `${name}: summary of its evaluations`, EVAL_STAGES.map((s) => `${name}-${s}`));
    targets[name] = target(profiles, `${name}: ${experiment.description ?? 'experiment'}`, `${BMAE} report --experiment ${name}`, {
      cache: false,
      dependsOn: dependsOn([`${name}-summary`]),
    });
    for (const param of Object.keys(experiment.sweeps ?? {})) (sweeps[param] ??= []).push(name);
  }
  /** @type {Record<string, object>} */
  const shared = {
    report: target(profiles, 'report of every finished experiment of the profile: runs/<profile>/report.md, report.json, figures', `${BMAE} report`, {
      cache: false,
    }),
  };
  for (const [param, members] of Object.entries(sweeps)) {
    shared[`sweep-${param}`] = target(profiles, `sweep over ${param}: ${members.join(', ')}`, `${BMAE} report --sweep ${param}`, {
      cache: false,
      dependsOn: dependsOn(members.map((m) => `${m}-summary`)),
    });
  }
  return { perExperiment, shared };
}

/** @type {import('nx/src/project-graph/plugins/public-api').CreateNodesV2} */
const createNodesV2 = [
  `${EXPERIMENTS_DIR}/*.json`,
  (files, _options, context) => {
    const experiments = readJsonFolder(join(context.workspaceRoot, EXPERIMENTS_DIR));
    const profiles = Object.keys(readJsonFolder(join(context.workspaceRoot, PROFILES_DIR)));
    if (!profiles.includes(DEFAULT_PROFILE)) throw new Error(`${PROFILES_DIR}/${DEFAULT_PROFILE}.json is missing: it is the default profile`);
    const { perExperiment, shared } = buildTargets(experiments, profiles);
    const sorted = [...files].sort();
    return sorted.map((file, i) => {
      const name = file.slice(EXPERIMENTS_DIR.length + 1, -'.json'.length);
      const targets = { ...perExperiment[name], ...(i === 0 ? shared : {}) };
      return /** @type {const} */ ([file, { projects: { [PROJECT_ROOT]: { targets } } }]);
    });
  },
];

module.exports = { createNodesV2, buildTargets };
