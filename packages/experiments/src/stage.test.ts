import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEvalRecord } from '@bmae/eval';
import { writeTinyCifar } from './commands/test-fixtures';
import { loadExperiment, loadProfile } from './experiment';
import { evalSeeds, runStage } from './stage';

describe('evalSeeds', () => {
  const mae = loadExperiment('mae');
  const smoke = loadProfile('smoke');

  it('finetune.seeds limits only the fine-tune stage, and never above the seeds run', () => {
    const limited = { ...smoke, finetune: { ...smoke.finetune, seeds: 1 } };
    expect([evalSeeds('linprobe', mae, limited, 3), evalSeeds('finetune', mae, limited, 3), evalSeeds('knn', mae, limited, 3)]).toEqual([3, 1, 3]);
    expect(evalSeeds('finetune', mae, { ...smoke, finetune: { ...smoke.finetune, seeds: 5 } }, 3)).toBe(3);
    expect(evalSeeds('finetune', mae, smoke, 3)).toBe(3); // no limit: every seed
    // an experiment's own finetune.seeds overrides the profile's
    expect(evalSeeds('finetune', { ...mae, finetune: { seeds: 2 } }, limited, 3)).toBe(2);
  });

  it('finetune.seeds 0 runs no fine-tune (the ablations of mae-ema are read off the probe and kNN)', () => {
    expect(evalSeeds('finetune', { ...mae, finetune: { seeds: 0 } }, smoke, 3)).toBe(0);
    for (const name of ['mae-ema-rawfeat', 'mae-ema-prenorm', 'mae-ema-perstep', 'mae-ema-wse2']) {
      const ablation = loadExperiment(name);
      expect([evalSeeds('finetune', ablation, loadProfile('medium'), 3), evalSeeds('linprobe', ablation, loadProfile('medium'), 3)]).toEqual([0, 3]);
    }
  });

  it('the medium profile fine-tunes seed 0 only', () => {
    expect(evalSeeds('finetune', mae, loadProfile('medium'), 3)).toBe(1);
    expect(evalSeeds('linprobe', mae, loadProfile('medium'), 3)).toBe(3);
  });
});

describe('runStage (smoke profile, synthetic data)', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-stage-'));
  const runsDir = join(root, 'runs');
  const previous = process.env.BMAE_DATA;
  const options = { profile: 'smoke', runsDir, cacheDir: join(root, 'cache'), log: () => {} };
  beforeAll(() => {
    writeTinyCifar(join(root, 'data'), 40, 100); // the smoke profile's 20 training and 10 test images per class
    process.env.BMAE_DATA = join(root, 'data');
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.BMAE_DATA;
    else process.env.BMAE_DATA = previous;
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses bad requests before loading anything', async () => {
    await expect(runStage({ ...options, experiment: 'nope', stage: 'knn' })).rejects.toThrow('unknown experiment "nope"');
    await expect(runStage({ ...options, experiment: 'scratch', stage: 'pretrain' })).rejects.toThrow('experiment scratch has no pre-training ("pretrain": null)');
    await expect(runStage({ ...options, experiment: 'mae', stage: 'knn', profile: 'huge' })).rejects.toThrow('unknown profile "huge"');
  });

  it('pre-trains, evaluates the checkpoint with kNN, and continues an interrupted pre-training exactly', async () => {
    const pretrain = await runStage({ ...options, experiment: 'mae', stage: 'pretrain' });
    expect(pretrain).toMatchObject({ status: 'done', seeds: 1, stage: 'pretrain' });
    const seedDir = join(runsDir, 'smoke', 'mae', 'pretrain', 'seed-0');
    // Training records [step, loss] and the smoke profile's kNN-curve records [epoch, kNN top-1].
    const records = () => readFileSync(join(seedDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const losses = () => records().filter((r) => r.monitor === undefined).map((r) => [r.step, r.loss]);
    const curve = () => records().filter((r) => r.monitor !== undefined).map((r) => [r.epoch, r.monitor.knnTop1]);
    const before = losses();
    expect(before).toHaveLength(10); // 2 epochs, 5 records each
    const curveBefore = curve();
    expect(curveBefore.map(([epoch]) => epoch)).toEqual([0, 1, 2]); // at init, then after every epoch (everyEpochs 1)
    expect(curveBefore.every(([, top1]) => top1 >= 0 && top1 <= 1)).toBe(true);

    const knn = await runStage({ ...options, experiment: 'mae', stage: 'knn' });
    expect(knn.status).toBe('done');
    const record = readEvalRecord(join(runsDir, 'smoke', 'mae', 'knn', 'seed-0.json'));
    expect(record.encoder.checkpoint).toBe(join(seedDir, 'checkpoints', 'epoch-0001', 'model.safetensors'));
    expect(record.data).toMatchObject({ trainCount: 200, testCount: 100 });
    expect(record.settings).toMatchObject({ k: 10, temperature: 0.07 });

    // An experiment sharing mae's pre-training evaluates mae's checkpoint (the plugin passes --pretrained mae).
    await runStage({ ...options, experiment: 'mae-k1', stage: 'knn', pretrained: 'mae' });
    expect(readEvalRecord(join(runsDir, 'smoke', 'mae-k1', 'knn', 'seed-0.json')).encoder.checkpoint).toBe(record.encoder.checkpoint);

    // Interrupted after epoch 0: latest.json still points at it; --resume trains epoch 1 again, identically.
    writeFileSync(join(seedDir, 'latest.json'), JSON.stringify({ epoch: 0, globalStep: 5, dir: 'checkpoints/epoch-0000' }));
    await runStage({ ...options, experiment: 'mae', stage: 'pretrain', resume: true });
    expect(losses()).toEqual(before);
    expect(curve()).toEqual(curveBefore);
    // Without resume the folder starts empty.
    writeFileSync(join(seedDir, 'stray.txt'), 'x');
    await runStage({ ...options, experiment: 'mae', stage: 'pretrain' });
    expect(existsSync(join(seedDir, 'stray.txt'))).toBe(false);
  });

  it('runs seeds side by side in worker processes with the numbers of one process', async () => {
    const seeds = 2;
    const lossesOf = (experiment: string, seed: number) =>
      readFileSync(join(runsDir, 'smoke', experiment, 'pretrain', `seed-${seed}`, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
        .map((r) => (r.monitor === undefined ? [r.step, r.loss] : [r.epoch, r.monitor.knnTop1]));
    const top1Of = (experiment: string, stage: string, seed: number) => readEvalRecord(join(runsDir, 'smoke', experiment, stage, `seed-${seed}.json`)).metrics.top1;
    const lines: string[] = [];
    // mae-k1 pre-trains in two workers, mae (its pixel twin for one epoch, then not) in this process
    const inWorkers = await runStage({ ...options, experiment: 'mae-k1', stage: 'pretrain', seeds, seedWorkers: 2, log: (line) => lines.push(line) });
    const inProcess = await runStage({ ...options, experiment: 'mae-k1', stage: 'linprobe', seeds, seedWorkers: 1 });
    expect(inWorkers).toMatchObject({ status: 'done', seeds, stage: 'pretrain' });
    expect(lines.filter((l) => /^mae-k1 pretrain seed \d: worker process \d+$/.test(l))).toHaveLength(seeds);
    expect(lines.some((l) => l.startsWith('[seed 1] '))).toBe(true);
    expect(inProcess.seeds).toBe(seeds);
    const workerLosses = [0, 1].map((seed) => lossesOf('mae-k1', seed));
    const workerTop1 = [0, 1].map((seed) => top1Of('mae-k1', 'linprobe', seed));
    expect(workerLosses[0]).not.toEqual(workerLosses[1]); // two seeds, two runs

    // the same stages the other way round: pre-training in this process, the probe in workers
    await runStage({ ...options, experiment: 'mae-k1', stage: 'pretrain', seeds, seedWorkers: 1 });
    await runStage({ ...options, experiment: 'mae-k1', stage: 'linprobe', seeds, seedWorkers: 2 });
    expect([0, 1].map((seed) => lossesOf('mae-k1', seed))).toEqual(workerLosses);
    expect([0, 1].map((seed) => top1Of('mae-k1', 'linprobe', seed))).toEqual(workerTop1);
  });
});
