import { planRun, threadsPerWorker } from './run';

describe('threadsPerWorker', () => {
  it('splits the cores evenly between the workers, at least one thread each', () => {
    expect(threadsPerWorker(1, 2)).toBe(2);
    expect(threadsPerWorker(2, 2)).toBe(1);
    expect(threadsPerWorker(3, 2)).toBe(1);
    expect(threadsPerWorker(2, 8)).toBe(4);
    expect(threadsPerWorker(3, 8)).toBe(2);
  });
});

describe('planRun', () => {
  it('runs the target through Nx with --parallel=workers, the seeds forwarded, the cores split', () => {
    const plan = planRun('sweep-k', { configuration: 'quick', seeds: '2', workers: '2' }, {}, 2);
    expect(plan).toEqual({ id: 'experiments:sweep-k:quick', workers: 2, args: ['--no-install', 'nx', 'run', 'experiments:sweep-k:quick', '--parallel=2', '--outputStyle=stream', '--seeds=2'], threads: 1 });
  });

  it('takes the configuration from the target spec, and one worker gets every core', () => {
    const plan = planRun('experiments:mae-ema:medium', { workers: '1' }, {}, 2);
    expect(plan.args.slice(2, 5)).toEqual(['run', 'experiments:mae-ema:medium', '--parallel=1']);
    expect(plan.threads).toBe(2);
  });

  it('prefers --threads, then the caller\'s BMAE_THREADS, to the split', () => {
    expect(planRun('sweep-k', { workers: '2', threads: '3' }, { BMAE_THREADS: '2' }, 8).threads).toBe(3);
    expect(planRun('sweep-k', { workers: '2' }, { BMAE_THREADS: '2' }, 8).threads).toBe(2);
    expect(planRun('sweep-k', { workers: '2' }, {}, 8).threads).toBe(4);
  });

  it('without --workers leaves the parallelism to nx.json and the threads to the core share', () => {
    const plan = planRun('sweep-k', { configuration: 'quick' }, {}, 2);
    expect(plan).toEqual({ id: 'experiments:sweep-k:quick', workers: null, args: ['--no-install', 'nx', 'run', 'experiments:sweep-k:quick', '--outputStyle=stream'], threads: null });
    expect(planRun('sweep-k', {}, { BMAE_THREADS: '1' }, 2).threads).toBe(1);
  });

  it('refuses bad numbers, naming the option and the value', () => {
    expect(() => planRun('sweep-k', { workers: '0' }, {}, 2)).toThrow('--workers 0: must be at least 1');
    expect(() => planRun('sweep-k', { workers: 'two' }, {}, 2)).toThrow('--workers two: not an integer');
    expect(() => planRun('sweep-k', { workers: '1' }, { BMAE_THREADS: '0' }, 2)).toThrow('BMAE_THREADS 0: must be at least 1');
    expect(() => planRun('experiments:sweep-k:quick', { workers: '1', configuration: 'medium' }, {}, 2)).toThrow('names configuration quick but --configuration is medium');
  });
});
