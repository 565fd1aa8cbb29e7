import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, readSafetensors } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import { isMonitorRecord, isStepRecord, readMetrics } from './metrics-log';
import { logSteps, monitorsAfter, runPretraining, targetEpochOf, type EpochMonitor } from './pretrain';
import { parsePretrainConfig, type PretrainConfigInput } from './pretrain-config';
import { writeFileAtomically, type WriteFile } from './run-checkpoint';
import { lockRunFolder } from './run-lock';
import { testTrainData } from './test-data';
import { useWasmBackend } from '@bmae/vit-model';

beforeAll(useWasmBackend);

const quiet = () => {};
function tinyConfig(target: PretrainConfigInput['target'], extra: Partial<PretrainConfigInput> = {}) {
  return parsePretrainConfig({
    seed: 3,
    model: { preset: 'micro' },
    target,
    optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, blr: 1e-3 },
    log: { perEpoch: 2, progress: 'none' },
    checkpoint: { everyEpochs: 2 },
    ...extra,
  });
}

describe('logSteps', () => {
  it('spreads perEpoch records over the epoch, ending on the last step', () => {
    expect([...logSteps(100, 5)]).toEqual([19, 39, 59, 79, 99]);
    expect([...logSteps(3, 5)].sort()).toEqual([0, 1, 2]);
  });
});

describe('monitorsAfter', () => {
  it('measures every everyEpochs epochs and after the last one', () => {
    const after = (every: number, epochs: number) => Array.from({ length: epochs }, (_, e) => e).filter((e) => monitorsAfter(e, every, epochs));
    expect(after(2, 16)).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    expect(after(3, 10)).toEqual([2, 5, 8, 9]);
    expect(after(1, 3)).toEqual([0, 1, 2]);
  });
});

describe('targetEpochOf', () => {
  it('splits an epoch into target epochs of near-equal step counts, each used', () => {
    const of = (epoch: number, steps: number, perEpoch: number) => Array.from({ length: steps }, (_, i) => targetEpochOf(epoch, i, steps, perEpoch));
    expect(of(0, 5, 1)).toEqual([0, 0, 0, 0, 0]);
    expect(of(2, 5, 1)).toEqual([2, 2, 2, 2, 2]);
    expect(of(1, 7, 3)).toEqual([3, 3, 3, 4, 4, 5, 5]);
    // The quick profile: 78 steps, 20 target epochs of 3 or 4 steps, epoch 9 ends on target epoch 199.
    const quick = of(9, 78, 20);
    expect(new Set(quick)).toEqual(new Set(Array.from({ length: 20 }, (_, k) => 180 + k)));
    const counts = quick.reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<number, number>());
    expect([...counts.values()].every((c) => c === 3 || c === 4)).toBe(true);
  });
});

describe('runPretraining (micro preset, tiny data)', () => {
  const variants: Array<[string, PretrainConfigInput['target']]> = [
    ['mae', { kind: 'pixels' }],
    ['mae-k', { kind: 'snapshot', every: 1 }],
    ['ema-mae', { kind: 'ema', warmupEpochs: 1, tau: 0.1 }],
    ['mae-new', { kind: 'sum', terms: [{ weight: 1, target: { kind: 'ema', warmupEpochs: 1 } }, { weight: 0.2, target: { kind: 'snapshot', every: 2 } }] }],
  ];

  it.each(variants)('%s writes metrics, checkpoints and a loadable model', async (name, target) => {
    const data = await testTrainData(12);
    const outDir = mkdtempSync(join(tmpdir(), `bmae-pretrain-${name}-`));
    const before = tf.memory().numTensors;
    const summary = await runPretraining({ config: tinyConfig(target), data, outDir, backend: 'wasm', log: quiet });
    expect(tf.memory().numTensors).toBe(before);
    expect(summary.epochsRun).toBe(3);
    expect(summary.globalStep).toBe(9); // 120 images / 40 per batch x 3 epochs
    expect(Number.isFinite(summary.lastLoss)).toBe(true);

    const records = readMetrics(join(outDir, 'metrics.jsonl'));
    expect(records.map((r) => r.step)).toEqual([2, 3, 5, 6, 8, 9]);
    const last = records[records.length - 1] as Record<string, any>;
    expect(Object.keys(last).sort()).toEqual(['epoch', 'featureStd', 'imagesPerSec', 'loss', 'losses', 'lr', 'step', 'target', 'weightCosine']);
    if (name !== 'mae') {
      expect(last.target.mode).toBe('features');
      expect(Object.values(last.featureStd as Record<string, number>).every((s) => s > 0)).toBe(true);
      expect(Object.values(last.weightCosine as Record<string, number>).every((c) => c > 0.5 && c <= 1.0001)).toBe(true);
    }
    // Checkpoints: the keeper at epoch 1 (everyEpochs 2) and the final epoch 2.
    expect(readdirSync(join(outDir, 'checkpoints')).sort()).toEqual(['epoch-0001', 'epoch-0002']);
    expect(JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8'))).toEqual({ epoch: 2, globalStep: 9, dir: 'checkpoints/epoch-0002' });
    const model = await readCheckpoint(join(outDir, 'checkpoints/epoch-0002/model.safetensors'));
    expect(model.info.preset).toBe('micro');
    expect(model.tensors.has('patch_embed.proj.weight')).toBe(true);
    const state = await readSafetensors(join(outDir, 'checkpoints/epoch-0002/train-state.safetensors'));
    expect(state.tensors.has('exp_avg/blocks.0.attn.qkv.weight')).toBe(true);
    if (name === 'ema-mae') expect(state.tensors.has('ema/blocks.0.attn.qkv.weight')).toBe(true);
    expect(existsSync(join(outDir, 'config.json'))).toBe(true);
  });

  it('resume is exact: 2 epochs + resume for 1 equals 3 straight epochs', async () => {
    const data = await testTrainData(8);
    const config = tinyConfig({ kind: 'sum', terms: [{ weight: 1, target: { kind: 'ema', warmupEpochs: 1 } }, { weight: 0.2, target: { kind: 'snapshot', every: 1 } }] }, { optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, blr: 1e-3 }, checkpoint: { everyEpochs: 1 } });
    const straight = mkdtempSync(join(tmpdir(), 'bmae-straight-'));
    const split = mkdtempSync(join(tmpdir(), 'bmae-split-'));
    await runPretraining({ config, data, outDir: straight, backend: 'wasm', log: quiet });
    await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, stopAfterEpoch: 1 });
    const resumed = await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, resume: true });
    expect(resumed.epochsRun).toBe(1);
    const a = await readSafetensors(join(straight, 'checkpoints/epoch-0002/model.safetensors'));
    const b = await readSafetensors(join(split, 'checkpoints/epoch-0002/model.safetensors'));
    for (const [name, t] of a.tensors) expect(Array.from(b.tensors.get(name)!.data)).toEqual(Array.from(t.data));
    const sa = await readSafetensors(join(straight, 'checkpoints/epoch-0002/train-state.safetensors'));
    const sb = await readSafetensors(join(split, 'checkpoints/epoch-0002/train-state.safetensors'));
    for (const [name, t] of sa.tensors) expect(Array.from(sb.tensors.get(name)!.data)).toEqual(Array.from(t.data));
    expect(readMetrics(join(split, 'metrics.jsonl')).map((r) => [r.step, r.loss])).toEqual(readMetrics(join(straight, 'metrics.jsonl')).map((r) => [r.step, r.loss]));
  });

  it('runs the targets on their own clock with targetEpochsPerEpoch, and resumes it exactly', async () => {
    const data = await testTrainData(12); // 120 images: 3 steps per epoch, 1 per target epoch
    const target: PretrainConfigInput['target'] = { kind: 'sum', terms: [{ weight: 1, target: { kind: 'ema', warmupEpochs: 1, tau: 0.1 } }, { weight: 0.2, target: { kind: 'snapshot', every: 2 } }] };
    const config = tinyConfig(target, { targetEpochsPerEpoch: 3, optim: { epochs: 2, batchSize: 40, warmupEpochs: 1, blr: 1e-3 }, log: { perEpoch: 3, progress: 'none' }, checkpoint: { everyEpochs: 1 } });
    const straight = mkdtempSync(join(tmpdir(), 'bmae-clock-'));
    await runPretraining({ config, data, outDir: straight, backend: 'wasm', log: quiet });
    const records = readMetrics(join(straight, 'metrics.jsonl')) as Array<Record<string, any>>;
    // After each step: the target epoch, then EMA updates (copy at the start of target epoch 1, one
    // update after each later target epoch) and MAE-K copies (start of target epochs 2 and 4).
    const states = records.map((r) => [r.step, ...r.target.components.map((c: any) => `${c.state.epoch}:${c.state.mode}:${c.state.updates}`)]);
    expect(states).toEqual([
      [1, '0:pixels:0', '0:pixels:0'],
      [2, '1:features:1', '1:pixels:0'],
      [3, '2:features:2', '2:features:1'],
      [4, '3:features:3', '3:features:1'],
      [5, '4:features:4', '4:features:2'],
      [6, '5:features:5', '5:features:2'],
    ]);
    const split = mkdtempSync(join(tmpdir(), 'bmae-clock-split-'));
    await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, stopAfterEpoch: 0 });
    await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, resume: true });
    expect(readMetrics(join(split, 'metrics.jsonl'))).toEqual(records.map((r) => expect.objectContaining({ step: r.step, loss: r.loss, target: r.target })));
  });

  it('an epoch monitor logs before training and every everyEpochs epochs, changes no training number, and resumes exactly', async () => {
    const data = await testTrainData(8);
    const config = tinyConfig({ kind: 'ema', warmupEpochs: 1, tau: 0.1 }, { optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, blr: 1e-3 }, checkpoint: { everyEpochs: 1 } });
    // The monitor reads the online weights: the mean of the patch embedding, which training changes.
    const monitor: EpochMonitor = {
      everyEpochs: 2,
      measure: (params) => ({ patchMean: tf.tidy(() => tf.mean(params.get('patch_embed.proj.weight')!).dataSync()[0]) }),
    };
    const plain = mkdtempSync(join(tmpdir(), 'bmae-monitor-plain-'));
    const monitored = mkdtempSync(join(tmpdir(), 'bmae-monitor-'));
    const split = mkdtempSync(join(tmpdir(), 'bmae-monitor-split-'));
    await runPretraining({ config, data, outDir: plain, backend: 'wasm', log: quiet });
    const before = tf.memory().numTensors;
    await runPretraining({ config, data, outDir: monitored, backend: 'wasm', log: quiet, monitor });
    expect(tf.memory().numTensors).toBe(before);
    const records = readMetrics(join(monitored, 'metrics.jsonl'));
    // Before training (epoch 0), after epoch index 1 (2 epochs) and after the last (3 epochs); 2 steps per epoch.
    expect(records.filter(isMonitorRecord).map((r) => [r.epoch, r.step])).toEqual([[0, 0], [2, 4], [3, 6]]);
    const values = records.filter(isMonitorRecord).map((r) => r.monitor.patchMean);
    expect(new Set(values).size).toBe(3);
    expect(records.filter(isStepRecord)).toEqual(readMetrics(join(plain, 'metrics.jsonl')).map((r) => expect.objectContaining({ step: r.step, loss: r.loss })));
    await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, monitor, stopAfterEpoch: 1 });
    await runPretraining({ config, data, outDir: split, backend: 'wasm', log: quiet, monitor, resume: true });
    expect(readMetrics(join(split, 'metrics.jsonl')).map((r) => [r.step, r.loss ?? null, r.monitor ?? null])).toEqual(records.map((r) => [r.step, r.loss ?? null, r.monitor ?? null]));
  });

  it('refuses more target epochs per epoch than steps', async () => {
    const data = await testTrainData(8);
    const outDir = mkdtempSync(join(tmpdir(), 'bmae-clock-bad-'));
    await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }, { targetEpochsPerEpoch: 3 }), data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow(
      'targetEpochsPerEpoch 3 is more than the 2 steps of an epoch: every target epoch needs at least one step',
    );
  });

  it('refuses to resume with a different config or without a checkpoint', async () => {
    const data = await testTrainData(8);
    const outDir = mkdtempSync(join(tmpdir(), 'bmae-resume-'));
    await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }), data, outDir, backend: 'wasm', log: quiet, resume: true })).rejects.toThrow(
      /cannot resume: .*latest\.json does not exist/,
    );
    await runPretraining({ config: tinyConfig({ kind: 'pixels' }), data, outDir, backend: 'wasm', log: quiet, stopAfterEpoch: 0 });
    await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }), data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow(
      'already holds a run (latest.json): continue it with --resume',
    );
    await expect(runPretraining({ config: tinyConfig({ kind: 'ema' }), data, outDir, backend: 'wasm', log: quiet, resume: true })).rejects.toThrow('the config differs');
  });

  it('a failed checkpoint write (disk full) keeps the last good checkpoint, names the file, and --resume ends bit-identical', async () => {
    const data = await testTrainData(8);
    const config = tinyConfig({ kind: 'ema', warmupEpochs: 1, tau: 0.1 }, { optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, blr: 1e-3 }, checkpoint: { everyEpochs: 1 } });
    const straight = mkdtempSync(join(tmpdir(), 'bmae-enospc-straight-'));
    const full = mkdtempSync(join(tmpdir(), 'bmae-enospc-'));
    await runPretraining({ config, data, outDir: straight, backend: 'wasm', log: quiet });
    // The disk fills while epoch 1's training state is written (its model file already went through).
    const diskFull: WriteFile = async (path, bytes) => {
      if (path.includes('.epoch-0001.tmp') && path.endsWith('train-state.safetensors')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return writeFileAtomically(path, bytes);
    };
    const before = tf.memory().numTensors;
    await expect(runPretraining({ config, data, outDir: full, backend: 'wasm', log: quiet, writeCheckpointFile: diskFull })).rejects.toThrow(
      `cannot write checkpoint file ${join(full, 'checkpoints/.epoch-0001.tmp/train-state.safetensors')}: ENOSPC: no space left on device, write; the last good checkpoint is ${join(full, 'checkpoints/epoch-0000')} (latest.json, epoch 0): continue from it with --resume`,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(JSON.parse(readFileSync(join(full, 'latest.json'), 'utf8'))).toEqual({ epoch: 0, globalStep: 2, dir: 'checkpoints/epoch-0000' });
    expect(readdirSync(join(full, 'checkpoints'))).toEqual(['epoch-0000']); // the half-written folder is gone
    await readCheckpoint(join(full, 'checkpoints/epoch-0000/model.safetensors'));
    const resumed = await runPretraining({ config, data, outDir: full, backend: 'wasm', log: quiet, resume: true });
    expect(resumed.epochsRun).toBe(2);
    for (const file of ['model.safetensors', 'train-state.safetensors']) {
      const a = await readSafetensors(join(straight, 'checkpoints/epoch-0002', file));
      const b = await readSafetensors(join(full, 'checkpoints/epoch-0002', file));
      for (const [name, t] of a.tensors) expect(Array.from(b.tensors.get(name)!.data)).toEqual(Array.from(t.data));
    }
    expect(readMetrics(join(full, 'metrics.jsonl')).map((r) => [r.step, r.loss])).toEqual(readMetrics(join(straight, 'metrics.jsonl')).map((r) => [r.step, r.loss]));
  });

  it('refuses a second writer of the run folder before touching it', async () => {
    const data = await testTrainData(8);
    const outDir = mkdtempSync(join(tmpdir(), 'bmae-locked-'));
    const lock = await lockRunFolder(outDir, 'pre-training', quiet);
    try {
      await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }), data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow(
        `${outDir} is being written by another process: pid ${process.pid} on host ${hostname()} (pre-training`,
      );
      expect(readdirSync(outDir)).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  it('stops on a non-finite loss, naming the step and keeping the last checkpoint', async () => {
    const data = await testTrainData(8);
    const outDir = mkdtempSync(join(tmpdir(), 'bmae-nan-'));
    const config = tinyConfig({ kind: 'pixels' }, { optim: { epochs: 3, batchSize: 40, warmupEpochs: 1, lr: 1e30 }, checkpoint: { everyEpochs: 1 } });
    await expect(runPretraining({ config, data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow(/loss is (NaN|Infinity) at epoch \d, step \d+ .*last good checkpoint/);
  });

  it('refuses an unknown preset and a batch larger than the data before training', async () => {
    const data = await testTrainData(2);
    const outDir = mkdtempSync(join(tmpdir(), 'bmae-bad-'));
    await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }, { model: { preset: 'huge' } }), data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow(
      'model.preset "huge" is unknown: choose one of deit-tiny, small, micro',
    );
    await expect(runPretraining({ config: tinyConfig({ kind: 'pixels' }), data, outDir, backend: 'wasm', log: quiet })).rejects.toThrow('optim.batchSize 40 is larger than the 20 training images');
  });
});
