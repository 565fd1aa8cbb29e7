import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEvalRecord } from '@bmae/eval';
import { runKnnCommand, type KnnCommandOptions } from './knn';
import { runLinprobeCommand } from './linprobe';
import { writeTinyPretrainedCheckpoint } from './test-fixtures';

const quiet = () => {};

describe('bmae knn / bmae linprobe', () => {
  let dir: string;
  let source: string;
  let checkpoint: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-frozen-cmd-'));
    ({ source, checkpoint } = await writeTinyPretrainedCheckpoint(dir));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const base = (overrides: Partial<KnnCommandOptions>): KnnCommandOptions => ({
    checkpoint,
    source,
    cacheDir: join(dir, 'cache'),
    out: join(dir, 'eval'),
    pool: 'cls',
    batch: '16',
    seed: '0',
    backend: 'wasm',
    k: '5',
    temperature: '0.07',
    ...overrides,
  });

  it('knn writes an eval record and caches the features; linprobe reuses them', async () => {
    const knn = await runKnnCommand(base({}), quiet);
    expect(knn).toMatchObject({ protocol: 'knn', encoder: { checkpoint, preset: 'micro' }, data: { trainCount: 40, testCount: 20 } });
    expect(knn.metrics.perClass).toHaveLength(10);
    expect(readEvalRecord(join(dir, 'eval/knn.json'))).toEqual(knn);
    expect(readdirSync(join(dir, 'eval')).sort()).toEqual(['features-test-cls.safetensors', 'features-train-cls.safetensors', 'knn.json']);
    const lines: string[] = [];
    const probe = await runLinprobeCommand({ ...base({}), epochs: '3', probeBatch: '8', lr: '6.4', warmupEpochs: '1' }, (l) => lines.push(l));
    expect(lines.some((l) => l.includes('features: train from cache'))).toBe(true);
    expect(probe.history).toHaveLength(3);
    expect(probe.settings).toMatchObject({ lr: 6.4, epochs: 3, batchSize: 8 });
    expect(existsSync(join(dir, 'eval/linprobe.json'))).toBe(true);
  });

  it('the random-init baseline needs --preset; --checkpoint and --random-init exclude each other', async () => {
    const rand = await runKnnCommand(base({ checkpoint: undefined, randomInit: true, preset: 'micro', out: join(dir, 'rand') }), quiet);
    expect(rand.encoder).toEqual({ checkpoint: null, preset: 'micro' });
    await expect(runKnnCommand(base({ checkpoint: undefined, randomInit: true, out: join(dir, 'x') }), quiet)).rejects.toThrow('--random-init needs --preset');
    await expect(runKnnCommand(base({ randomInit: true }), quiet)).rejects.toThrow('give either --checkpoint FILE or --random-init');
    await expect(runKnnCommand(base({ k: '0' }), quiet)).rejects.toThrow('--k 0: must be at least 1');
    await expect(runKnnCommand(base({ pool: 'max' }), quiet)).rejects.toThrow('--pool max: choose cls or mean');
  });
});
