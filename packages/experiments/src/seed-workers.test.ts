import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSeedOutcome, runSeedWorkers, SEED_OUTCOME_PREFIX, seedWorkerCount } from './seed-workers';

describe('seedWorkerCount', () => {
  const noGpu = () => false;
  it('runs as many seeds at once as the cores hold, never more than the seeds', () => {
    expect(seedWorkerCount(3, undefined, {}, 2, noGpu)).toBe(2);
    expect(seedWorkerCount(3, undefined, {}, 8, noGpu)).toBe(3);
    expect(seedWorkerCount(1, undefined, {}, 8, noGpu)).toBe(1);
    expect(seedWorkerCount(4, undefined, { BMAE_THREADS: '2' }, 4, noGpu)).toBe(2); // fixed threads per worker
    expect(seedWorkerCount(4, undefined, { BMAE_THREADS: '4' }, 2, noGpu)).toBe(1);
  });

  it('takes --seed-workers, then BMAE_SEED_WORKERS, and one on a machine with a GPU', () => {
    expect(seedWorkerCount(3, 1, { BMAE_SEED_WORKERS: '3' }, 2, noGpu)).toBe(1);
    expect(seedWorkerCount(3, undefined, { BMAE_SEED_WORKERS: '3' }, 2, noGpu)).toBe(3);
    expect(seedWorkerCount(3, undefined, {}, 16, () => true)).toBe(1);
    expect(() => seedWorkerCount(3, undefined, { BMAE_SEED_WORKERS: 'two' }, 2, noGpu)).toThrow("BMAE_SEED_WORKERS must be an integer >= 1, got 'two'");
  });
});

describe('runSeedWorkers', () => {
  const previous = process.env.BMAE_CORE_SHARE_DIR;
  beforeAll(() => (process.env.BMAE_CORE_SHARE_DIR = mkdtempSync(join(tmpdir(), 'bmae-seed-workers-'))));
  afterAll(() => {
    if (previous === undefined) delete process.env.BMAE_CORE_SHARE_DIR;
    else process.env.BMAE_CORE_SHARE_DIR = previous;
  });

  /** A worker that logs a line, then reports `images` for its seed (or exits with `code`). */
  const worker = (seed: number, code = 0) => [
    '-e',
    `console.error('working on ' + ${seed}); ` +
      (code === 0
        ? `console.log(${JSON.stringify(SEED_OUTCOME_PREFIX)} + JSON.stringify({ seed: ${seed}, images: ${10 * (seed + 1)}, seconds: 1, settings: {}, backend: 'cpu' }));`
        : `console.error('seed ' + ${seed} + ' broke'); process.exit(${code});`),
  ];

  it('collects every seed\'s outcome in seed order and relays their logs', async () => {
    const lines: string[] = [];
    const outcomes = await runSeedWorkers({ seeds: 3, workers: 2, cores: 2, args: (seed) => worker(seed), log: (l) => lines.push(l), label: 'x pretrain' });
    expect(outcomes.map((o) => [o.seed, o.images])).toEqual([[0, 10], [1, 20], [2, 30]]);
    expect(lines.filter((l) => l.startsWith('[seed')).sort()).toEqual(['[seed 0] working on 0', '[seed 1] working on 1', '[seed 2] working on 2']);
  });

  it('names the seed that failed with its last words, and starts no seed after a failure', async () => {
    const started: number[] = [];
    const run = runSeedWorkers({ seeds: 3, workers: 1, cores: 2, args: (seed) => (started.push(seed), worker(seed, seed === 1 ? 3 : 0)), log: () => {}, label: 'x knn' });
    await expect(run).rejects.toThrow('x knn failed: seed 1 (worker exited with code 3: seed 1 broke); not started: seed 2');
    expect(started).toEqual([0, 1]);
  });

  it('reads an outcome only from its own seed\'s line', () => {
    const line = `${SEED_OUTCOME_PREFIX}${JSON.stringify({ seed: 2, images: 1, seconds: 1, settings: {}, backend: 'cpu' })}`;
    expect(parseSeedOutcome(`noise\n${line}\n`, 2)?.images).toBe(1);
    expect(parseSeedOutcome(`${line}\n`, 1)).toBeUndefined();
    expect(parseSeedOutcome('nothing', 0)).toBeUndefined();
    expect(parseSeedOutcome(`${SEED_OUTCOME_PREFIX}{"seed": 0, "ima`, 0)).toBeUndefined();
  });
});
