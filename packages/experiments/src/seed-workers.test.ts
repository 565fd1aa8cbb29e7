import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { announceSeedWorker } from '@bmae/tfjs-backend-native/core-share';
import { mayStartSeed, parseSeedOutcome, runSeedWorkers, SEED_OUTCOME_PREFIX, seedWorkerCount } from './seed-workers';

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

describe('mayStartSeed', () => {
  const shared = (pid: number, seedWorker = false) => ({ pid, threads: null, ...(seedWorker ? { seedWorker } : {}) });
  it('starts a seed while a core is free', () => {
    expect(mayStartSeed([], 0, 2)).toBe(true);
    expect(mayStartSeed([shared(1, true)], 1, 2)).toBe(true);
    expect(mayStartSeed([shared(1, true), shared(2, true)], 2, 2)).toBe(false);
    expect(mayStartSeed([{ pid: 1, threads: 2 }], 1, 4)).toBe(true);
  });

  it('holds a stage\'s first seed back only for other stages\' seed workers, which end', () => {
    expect(mayStartSeed([shared(1, true), shared(2, true)], 0, 2)).toBe(false);
    expect(mayStartSeed([shared(1, true), shared(2)], 0, 2)).toBe(true); // e.g. an idle test runner that once computed
    expect(mayStartSeed([{ pid: 1, threads: 2 }], 0, 2)).toBe(true); // a training started by hand with BMAE_THREADS=2
    expect(mayStartSeed([shared(1, true), shared(2)], 1, 2)).toBe(false); // not a stage's second seed
  });
});

describe('runSeedWorkers', () => {
  const previous = process.env.BMAE_CORE_SHARE_DIR;
  beforeAll(() => (process.env.BMAE_CORE_SHARE_DIR = mkdtempSync(join(tmpdir(), 'bmae-seed-workers-'))));
  afterAll(() => {
    if (previous === undefined) delete process.env.BMAE_CORE_SHARE_DIR;
    else process.env.BMAE_CORE_SHARE_DIR = previous;
  });

  /** JavaScript that prints a worker's outcome line for the seed `seed` (an expression), with `images`. */
  const reportOutcome = (seed: string, images: string | number = 1) =>
    `console.log(${JSON.stringify(SEED_OUTCOME_PREFIX)} + JSON.stringify({ seed: ${seed}, images: ${images}, seconds: 1, settings: {}, backend: 'cpu' }));`;

  /** A worker that logs a line, then reports `images` for its seed (or exits with `code`). */
  const worker = (seed: number, code = 0) => [
    '-e',
    `console.error('working on ' + ${seed}); ` + (code === 0 ? reportOutcome(String(seed), 10 * (seed + 1)) : `console.error('seed ' + ${seed} + ' broke'); process.exit(${code});`),
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

  it('runs two stages\' seeds side by side on no more processes than cores', async () => {
    // Each worker appends "+" when it starts and "-" when it ends, so the file shows how many ran at once.
    const trace = join(mkdtempSync(join(tmpdir(), 'bmae-seed-trace-')), 'trace');
    const slow = (seed: number) => [
      '-e',
      `const fs = require('node:fs'); fs.appendFileSync(${JSON.stringify(trace)}, '+');
       setTimeout(() => { fs.appendFileSync(${JSON.stringify(trace)}, '-'); ${reportOutcome(String(seed))} }, 1500);`,
    ];
    const lines: string[] = [];
    const stage = (label: string) => runSeedWorkers({ seeds: 2, workers: 2, cores: 2, args: slow, log: (l) => lines.push(l), label });
    const [a, b] = await Promise.all([stage('a pretrain'), stage('b pretrain')]);
    expect([a.length, b.length]).toEqual([2, 2]);
    let atOnce = 0;
    let most = 0;
    for (const mark of readFileSync(trace, 'utf8')) most = Math.max(most, (atOnce += mark === '+' ? 1 : -1));
    expect(most).toBe(2);
    expect(lines.filter((l) => l.includes('waiting for a core'))).toHaveLength(1);
  });

  it('waits for a core in a process of its own, then runs its seeds', async () => {
    // Two other stages' seed workers (sleep processes) fill both cores until the launcher says it waits;
    // nothing but the launcher's own wait keeps its process alive meanwhile.
    const dir = mkdtempSync(join(tmpdir(), 'bmae-seed-wait-'));
    const others = [spawn('sleep', ['60']), spawn('sleep', ['60'])];
    for (const other of others) announceSeedWorker(other.pid!, null, dir);
    const workerFile = join(dir, 'worker.js');
    writeFileSync(workerFile, reportOutcome('Number(process.argv[2])'));
    const launcher = `require('tsx/cjs');
      const { runSeedWorkers } = require(${JSON.stringify(join(__dirname, 'seed-workers.ts'))});
      runSeedWorkers({ seeds: 2, workers: 2, cores: 2, args: (seed) => [${JSON.stringify(workerFile)}, String(seed)], log: (l) => console.log(l), label: 'c pretrain' })
        .then((outcomes) => console.log('seeds done: ' + outcomes.map((o) => o.seed).join(',')));`;
    const child = spawn(process.execPath, ['-e', launcher], { env: { ...process.env, BMAE_CORE_SHARE_DIR: dir } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('waiting for a core')) for (const other of others) other.kill();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    for (const other of others) other.kill();
    expect(code).toBe(0);
    expect(out).toContain("c pretrain: waiting for a core (other stages' seed workers fill all 2)");
    expect(out).toContain('seeds done: 0,1');
  }, 30_000);

  it('reads an outcome only from its own seed\'s line', () => {
    const line = `${SEED_OUTCOME_PREFIX}${JSON.stringify({ seed: 2, images: 1, seconds: 1, settings: {}, backend: 'cpu' })}`;
    expect(parseSeedOutcome(`noise\n${line}\n`, 2)?.images).toBe(1);
    expect(parseSeedOutcome(`${line}\n`, 1)).toBeUndefined();
    expect(parseSeedOutcome('nothing', 0)).toBeUndefined();
    expect(parseSeedOutcome(`${SEED_OUTCOME_PREFIX}{"seed": 0, "ima`, 0)).toBeUndefined();
  });
});
