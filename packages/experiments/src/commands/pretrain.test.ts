import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPretrainCommand, type PretrainCommandOptions } from './pretrain';
import { writeTinyCifar } from './test-fixtures';

const quiet = () => {};

describe('bmae pretrain', () => {
  let dir: string;
  let source: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-pretrain-cmd-'));
    source = writeTinyCifar(dir, 8);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const options = (overrides: Partial<PretrainCommandOptions>): PretrainCommandOptions => ({
    set: ['model.preset=micro', 'optim.epochs=2', 'optim.batchSize=20', 'log.progress=none'],
    out: join(dir, 'run'),
    source,
    cacheDir: join(dir, 'cache'),
    backend: 'wasm',
    ...overrides,
  });

  it('trains from the CLI options, then resumes to the end', async () => {
    const first = await runPretrainCommand(options({ stopAfterEpoch: '0' }), quiet);
    expect(first.epochsRun).toBe(1);
    expect(first.resolved.derived).toMatchObject({ trainCount: 40, stepsPerEpoch: 2 });
    const second = await runPretrainCommand(options({ resume: true }), quiet);
    expect(second).toMatchObject({ epochsRun: 1, lastEpoch: 1, globalStep: 4 });
    expect(existsSync(join(dir, 'run/checkpoints/epoch-0001/model.safetensors'))).toBe(true);
  });

  it('refuses bad config keys, values and flags before loading data', async () => {
    const out = join(dir, 'never');
    await expect(runPretrainCommand(options({ out, set: ['optim.epoch=3'] }), quiet)).rejects.toThrow('optim.epoch: unknown key');
    await expect(runPretrainCommand(options({ out, set: ['target.kind=ema', 'target.tau=3'] }), quiet)).rejects.toThrow(/target\.tau: Too big/);
    await expect(runPretrainCommand(options({ out, config: join(dir, 'nope.json') }), quiet)).rejects.toThrow(/cannot read config file .*nope\.json/);
    await expect(runPretrainCommand(options({ out, backend: 'gpu' }), quiet)).rejects.toThrow("Unknown --backend 'gpu'");
    await expect(runPretrainCommand(options({ out, stopAfterEpoch: '-1' }), quiet)).rejects.toThrow('--stop-after-epoch -1: expected an epoch number >= 0');
    expect(existsSync(out)).toBe(false);
  });

  it('the shipped configs parse', async () => {
    const { loadPretrainConfig } = await import('@bmae/trainers');
    for (const name of ['mae', 'mae-k', 'ema-mae', 'mae-new', 'quick-micro']) {
      expect(() => loadPretrainConfig(join(__dirname, '../config/pretrain', `${name}.json`))).not.toThrow();
    }
  });
});
