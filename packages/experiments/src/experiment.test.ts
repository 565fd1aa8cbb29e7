import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentNames, loadExperiment, loadProfile, profileNames } from './experiment';
import { FINETUNE_DEFAULTS, KNN_DEFAULTS, linearProbeLr, LINPROBE_DEFAULTS } from '@bmae/eval/defaults';
import { deepMerge, finetuneSettingsFor, knnSettingsFor, linprobeSettingsFor, pretrainConfigFor, STAGES, EVAL_STAGES } from './stage-config';

// The Nx plugin's key function (plain CommonJS, no dependencies).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stageKeys = require('../../../tools/nx-experiments/stage-keys.js') as {
  STAGES: readonly string[];
  EVAL_STAGES: readonly string[];
  stageKey(experiment: unknown, profile: unknown, stage: string): string | null;
  pretrainProducers(experiments: Record<string, unknown>): Record<string, string>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plugin = require('../../../tools/nx-experiments/index.js') as {
  buildTargets(experiments: Record<string, unknown>, profiles: string[]): { perExperiment: Record<string, Record<string, { dependsOn?: Array<{ target: string }>; command?: string; options: { command: string } }>>; shared: Record<string, { dependsOn?: Array<{ target: string }> }> };
};

describe('experiment and profile files', () => {
  it('lists the report experiments and the four profiles', () => {
    expect(experimentNames()).toEqual(
      expect.arrayContaining(['scratch', 'mae', 'mae-k1', 'mae-k2', 'mae-k4', 'mae-k10', 'mae-k20', 'mae-ema', 'mae-ema-tau0.1', 'mae-ema-tau0.3', 'mae-ema-wse0', 'mae-ema-wse20', 'mae-new']),
    );
    expect(profileNames()).toEqual(['medium', 'paper', 'quick', 'smoke']);
  });

  it('every experiment resolves to a valid pretrain config and evaluation settings under every profile', () => {
    for (const profileName of profileNames()) {
      const profile = loadProfile(profileName);
      for (const name of experimentNames()) {
        const experiment = loadExperiment(name);
        const config = pretrainConfigFor(experiment, profile, 3, { experiment: name, profile: profileName });
        if (name === 'scratch') expect(config).toBeNull();
        else {
          expect(config!.seed).toBe(3);
          expect(config!.model.preset).toBe(profile.preset);
        }
        expect(linprobeSettingsFor(experiment, profile).epochs).toBeGreaterThan(0);
        expect(knnSettingsFor(experiment, profile).k).toBeGreaterThan(0);
      }
    }
  });

  it('the paper profile is the report protocol', () => {
    const paper = loadProfile('paper');
    const config = pretrainConfigFor(loadExperiment('mae-ema'), paper, 0)!;
    expect(config.model.preset).toBe('deit-tiny');
    expect(config.optim).toMatchObject({ epochs: 200, batchSize: 512, blr: 1.5e-4, warmupEpochs: 40 });
    expect(config.target).toMatchObject({ kind: 'ema', tau: 0.005, warmupEpochs: 5 });
    expect(config.data.trainPerClass).toBeUndefined();
    expect(linprobeSettingsFor(loadExperiment('mae'), paper).epochs).toBe(90);
    expect(config.targetEpochsPerEpoch).toBe(1);
  });

  it("the quick profile counts K and WSE in epochs, as the report", () => {
    const config = pretrainConfigFor(loadExperiment('mae-ema'), loadProfile('quick'), 0)!;
    expect(config.targetEpochsPerEpoch).toBe(1);
    expect(config.optim.epochs).toBe(10);
  });

  it("evaluation settings an experiment leaves out are @bmae/eval's defaults, as the bmae commands use", () => {
    const bare = { description: 'x', pretrain: null };
    const profile = { ...loadProfile('smoke'), linprobe: undefined, finetune: undefined, knn: undefined };
    expect(linprobeSettingsFor(bare, profile)).toEqual({ ...LINPROBE_DEFAULTS, pool: 'cls' });
    const { seed: _seed, ...finetuneDefaults } = FINETUNE_DEFAULTS;
    expect(finetuneSettingsFor(bare, profile)).toEqual(finetuneDefaults);
    expect(knnSettingsFor(bare, profile)).toEqual({ ...KNN_DEFAULTS, pool: 'cls' });
  });

  it('a linear probe blr replaces the absolute lr by the linear batch rule', () => {
    const bare = { description: 'x', pretrain: null };
    expect(linearProbeLr(linprobeSettingsFor(bare, { ...loadProfile('quick') }))).toBe(6.4);
    expect(linearProbeLr(linprobeSettingsFor(bare, loadProfile('smoke')))).toBeCloseTo((0.1 * 50) / 256, 12);
  });

  it('refuses an unknown key naming the file and the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-exp-'));
    try {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ description: 'x', pretrain: null, linprobe: { epoch: 3 } }));
      expect(() => loadExperiment('bad', dir)).toThrow(`experiment file ${join(dir, 'bad.json')}: linprobe: Unrecognized key: "epoch"`);
      expect(() => loadExperiment('nope', dir)).toThrow('unknown experiment "nope"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an ablation names another experiment of its folder and what it varies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-exp-'));
    const write = (name: string, content: object) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(content));
    try {
      write('base', { description: 'x', pretrain: null });
      write('abl', { description: 'x', pretrain: null, ablation: { of: 'base', varies: 'nothing' } });
      expect(loadExperiment('abl', dir).ablation).toEqual({ of: 'base', varies: 'nothing' });
      write('orphan', { description: 'x', pretrain: null, ablation: { of: 'gone', varies: 'v' } });
      expect(() => loadExperiment('orphan', dir)).toThrow(`experiment file ${join(dir, 'orphan.json')}: ablation.of: "gone" is not another experiment (experiments: abl, base)`);
      write('self', { description: 'x', pretrain: null, ablation: { of: 'self', varies: 'v' } });
      expect(() => loadExperiment('self', dir)).toThrow('ablation.of: "self" is not another experiment');
      write('vague', { description: 'x', pretrain: null, ablation: { of: 'base' } });
      expect(() => loadExperiment('vague', dir)).toThrow(`experiment file ${join(dir, 'vague.json')}: ablation.varies:`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the experiment and profile when the merged pretrain config is invalid', () => {
    const experiment = { description: 'x', pretrain: { target: { kind: 'ema', tau: 2 } } };
    expect(() => pretrainConfigFor(experiment, loadProfile('smoke'), 0, { experiment: 'x', profile: 'smoke' })).toThrow(/experiment x under profile smoke: invalid pretrain config:\s+target\.tau: Too big/);
  });
});

describe('stage keys (tools/nx-experiments/stage-keys.js)', () => {
  const profile = loadProfile('smoke');
  const experiment = loadExperiment('mae-ema');
  const keys = (e: unknown, p: unknown) => Object.fromEntries(STAGES.map((s) => [s, stageKeys.stageKey(e, p, s)]));

  it('uses the same stage names as the runner', () => {
    expect(stageKeys.STAGES).toEqual([...STAGES]);
    expect(stageKeys.EVAL_STAGES).toEqual([...EVAL_STAGES]);
  });

  it('a linear-probe change re-keys only linprobe and summary', () => {
    const before = keys(experiment, profile);
    const after = keys({ ...experiment, linprobe: { epochs: 7 } }, profile);
    expect(after.pretrain).toBe(before.pretrain);
    expect(after.knn).toBe(before.knn);
    expect(after.finetune).toBe(before.finetune);
    expect(after.linprobe).not.toBe(before.linprobe);
    expect(after.summary).not.toBe(before.summary);
  });

  it('a pre-training change re-keys every stage; key order does not matter', () => {
    const before = keys(experiment, profile);
    const after = keys({ ...experiment, pretrain: { target: { kind: 'ema', tau: 0.01, warmupEpochs: 5 } } }, profile);
    for (const stage of STAGES) expect(after[stage]).not.toBe(before[stage]);
    const reordered = { paper: experiment.paper, pretrain: { target: { warmupEpochs: 5, tau: 0.005, kind: 'ema' } }, sweeps: experiment.sweeps, description: 'other words' };
    expect(keys(reordered, profile)).toEqual(before);
  });

  it('an ablation key re-keys only the summary (which records it); without one the keys are unchanged', () => {
    const before = keys(experiment, profile);
    const after = keys({ ...experiment, ablation: { of: 'mae', varies: 'v' } }, profile);
    for (const stage of STAGES) expect(after[stage] === before[stage]).toBe(stage !== 'summary');
    expect(keys({ ...experiment, ablation: undefined }, profile)).toEqual(before);
  });

  it('experiments with equal pre-training share the first one by name', () => {
    const ema = { target: { kind: 'ema' } };
    expect(stageKeys.pretrainProducers({ b: { pretrain: ema }, a: { pretrain: ema }, c: { pretrain: { target: { kind: 'pixels' } } }, s: { pretrain: null } })).toEqual({ a: 'a', b: 'a', c: 'c' });
  });
});

describe('inferred targets', () => {
  const experiments = Object.fromEntries(experimentNames().map((n) => [n, loadExperiment(n)]));
  const { perExperiment, shared } = plugin.buildTargets(experiments, profileNames());

  it('chains pretrain -> linprobe, finetune, knn -> summary -> experiment; scratch has no pretrain', () => {
    expect(Object.keys(perExperiment['mae-ema']).sort()).toEqual(['mae-ema', 'mae-ema-finetune', 'mae-ema-knn', 'mae-ema-linprobe', 'mae-ema-pretrain', 'mae-ema-summary']);
    expect(perExperiment['mae-ema']['mae-ema-linprobe'].dependsOn!.map((d) => d.target)).toEqual(['mae-ema-pretrain']);
    expect(perExperiment['mae-ema']['mae-ema-summary'].dependsOn!.map((d) => d.target)).toEqual(['mae-ema-linprobe', 'mae-ema-finetune', 'mae-ema-knn']);
    expect(Object.keys(perExperiment.scratch)).not.toContain('scratch-pretrain');
    expect(perExperiment.scratch['scratch-knn'].dependsOn).toEqual([]);
  });

  it('sweep targets gather their members', () => {
    expect(shared['sweep-k'].dependsOn!.map((d) => d.target)).toEqual(['mae-k1-summary', 'mae-k10-summary', 'mae-k2-summary', 'mae-k20-summary', 'mae-k4-summary']);
    expect(shared['sweep-tau'].dependsOn!.map((d) => d.target)).toEqual(['mae-ema-summary', 'mae-ema-tau0.1-summary', 'mae-ema-tau0.3-summary']);
    expect(Object.keys(shared).sort()).toEqual(['report', 'sweep-k', 'sweep-tau', 'sweep-wse']);
  });
});

describe('helpers', () => {
  it('deepMerge merges objects and replaces arrays and values', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 2 });
  });
});
