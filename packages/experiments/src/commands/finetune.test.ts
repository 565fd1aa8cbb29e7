import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEvalRecord } from '@bmae/eval';
import { readCheckpoint } from '@bmae/vit-model';
import { runFinetuneCommand, type FinetuneCommandOptions } from './finetune';
import { writeTinyPretrainedCheckpoint } from './test-fixtures';

const quiet = () => {};

describe('bmae finetune', () => {
  let dir: string;
  let source: string;
  let checkpoint: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-finetune-cmd-'));
    ({ source, checkpoint } = await writeTinyPretrainedCheckpoint(dir));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const base = (overrides: Partial<FinetuneCommandOptions>): FinetuneCommandOptions => ({
    checkpoint, source, cacheDir: join(dir, 'cache'), out: join(dir, 'ft'), epochs: '2', batch: '20', blr: '1e-3', warmupEpochs: '1',
    layerDecay: '0.75', weightDecay: '0.05', dropPath: '0.1', mixup: '0.8', cutmix: '1', smoothing: '0.1', pool: 'mean', seed: '0', backend: 'wasm',
    ...overrides,
  });

  it('fine-tunes a pre-trained checkpoint: eval record with a curve, and a classifier checkpoint', async () => {
    const record = await runFinetuneCommand(base({}), quiet);
    expect(record).toMatchObject({ protocol: 'finetune', encoder: { checkpoint, preset: 'micro' }, data: { trainCount: 40, testCount: 20 } });
    expect(record.history).toHaveLength(2);
    expect(readEvalRecord(join(dir, 'ft/finetune.json'))).toEqual(record);
    const saved = await readCheckpoint(join(dir, 'ft/finetuned.safetensors'));
    expect(saved.tensors.get('head.weight')!.shape).toEqual([10, 64]); // PyTorch layout [out, in]
    expect(saved.tensors.has('fc_norm.weight')).toBe(true);
  });

  it('refuses bad options before any work', async () => {
    const out = join(dir, 'never');
    await expect(runFinetuneCommand(base({ out, checkpoint: undefined }), quiet)).rejects.toThrow('give either --checkpoint FILE or --random-init');
    await expect(runFinetuneCommand(base({ out, dropPath: '1' }), quiet)).rejects.toThrow('--drop-path 1: must be below 1');
    await expect(runFinetuneCommand(base({ out, mixup: '-1' }), quiet)).rejects.toThrow('--mixup -1: expected a number >= 0');
    await expect(runFinetuneCommand(base({ out, pool: 'max' }), quiet)).rejects.toThrow('--pool max');
    await expect(runFinetuneCommand(base({ out, checkpoint: undefined, randomInit: true }), quiet)).rejects.toThrow('--random-init needs --preset');
    expect(existsSync(out)).toBe(false);
  });
});
