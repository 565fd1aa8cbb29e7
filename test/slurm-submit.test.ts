/**
 * End-to-end on a real Slurm cluster (tools/slurm/start.sh brings up a one-node one; `.ci/run` does):
 * `bmae submit sweep-k --configuration smoke --scheduler slurm --wait` in a temporary copy of the
 * workspace. Proves: every stage of the graph ran exactly once, as a Slurm job, each after the jobs of
 * its dependencies ended; a follow-up `nx run experiments:sweep-k:smoke` with an empty Nx cache (a
 * submitting machine whose cache never saw the jobs) re-runs no stage; a job killed with scancel is
 * reported by `--wait` and `bmae jobs`, and resubmitting submits only what is not done and finishes.
 * Skipped, saying why, where no Slurm controller answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, copyWorkspace, REPO, writeSyntheticCifar } from './workspace-fixtures';

const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
const slurmUp = sinfo.status === 0 && /idle|mix|alloc/.test(sinfo.stdout);
const why = sinfo.error ? 'Slurm is not installed (no sinfo)' : sinfo.status !== 0 ? `no Slurm controller answers (sinfo: ${sinfo.stderr.trim()})` : 'the Slurm node is not up';
if (!slurmUp) console.warn(`slurm-submit.test.ts skipped: ${why}; start one with tools/slurm/install.sh && tools/slurm/start.sh`);
const describeSlurm = slurmUp ? describe : describe.skip;

const EXPERIMENTS = ['mae-k1', 'mae-k10', 'mae-k2', 'mae-k20', 'mae-k4'];
const STAGES = ['pretrain', 'linprobe', 'finetune', 'knn', 'summary'];
// 25 Slurm jobs, each starting Nx: minutes on a quiet machine, far more on a busy one
const TEST_TIMEOUT = 3_600_000;
const TASKS = EXPERIMENTS.flatMap((e) => STAGES.map((s) => `experiments:${e}-${s}:smoke`));

interface Jobs {
  jobs: Record<string, { jobId: string; hash: string; log: string }>;
}

describeSlurm('bmae submit sweep-k --configuration smoke --scheduler slurm', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmae-slurm-'));
  const workspace = join(root, 'workspace');
  /** jobs the tests submit themselves (not through bmae) */
  const ownJobs: string[] = [];
  afterAll(() => {
    const jobs = readJobs();
    // nothing of ours left in the queue
    if (jobs || ownJobs.length > 0) spawnSync('scancel', [...ownJobs, ...Object.values(jobs?.jobs ?? {}).map((j) => j.jobId)]);
    rmSync(root, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = cleanEnv();
  Object.assign(env, {
    NX_DAEMON: 'false',
    NX_TUI: 'false',
    NX_NO_CLOUD: 'true',
    // the jobs' Nx cache: the submitting machine's own (below) never sees it
    NX_CACHE_DIRECTORY: join(root, 'nx-cache-jobs'),
    BMAE_CACHE_DIR: join(root, 'bmae-cache'),
    BMAE_DATA: join(root, 'data'),
    BMAE_THREADS: '1',
  });

  const bmae = (args: string[]) => {
    const result = spawnSync(process.execPath, [join(workspace, 'packages', 'experiments', 'bin', 'bmae.js'), ...args], { cwd: workspace, env, encoding: 'utf8', timeout: 3_000_000 });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  };
  const readJobs = (): Jobs | null => {
    const path = join(workspace, 'runs', '.slurm', 'jobs.json');
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Jobs) : null;
  };
  const stageRecord = (task: string) => {
    const [, name, profile] = task.split(':');
    const stage = STAGES.find((s) => name.endsWith(`-${s}`))!;
    return JSON.parse(readFileSync(join(workspace, 'runs', profile, name.slice(0, -stage.length - 1), stage, 'stage.json'), 'utf8')) as { taskHash?: string; createdAt: string };
  };
  /** Slurm's start and end time (seconds) and state of every job it still knows (MinJobAge is an hour). */
  const slurmJobs = () => {
    const out = spawnSync('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%S|%e'], { encoding: 'utf8' }).stdout;
    return new Map(out.trim().split('\n').map((line) => {
      const [id, state, start, end] = line.split('|');
      return [id, { state, start: Date.parse(`${start}Z`), end: Date.parse(`${end}Z`) }] as const;
    }));
  };

  beforeAll(() => {
    copyWorkspace(workspace);
    writeSyntheticCifar(join(root, 'data'));
  });

  it('runs every stage once as a job in dependency order; a follow-up nx run redoes nothing', () => {
    const dry = bmae(['submit', 'sweep-k', '--configuration', 'smoke', '--scheduler', 'slurm', '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.output.match(/^#!\/bin\/bash$/gm)).toHaveLength(TASKS.length);
    expect(dry.output).toContain('#SBATCH --dependency=afterok:<job of experiments:mae-k1-pretrain:smoke>');

    const submitted = bmae(['submit', 'sweep-k', '--configuration', 'smoke', '--scheduler', 'slurm', '--wait', '--poll', '2']);
    if (submitted.status !== 0) throw new Error(`bmae submit failed (${submitted.status}):\n${submitted.output}`);
    expect(submitted.output).toContain(`${TASKS.length} stages to submit, 0 done`);
    expect(submitted.output).toContain('every stage done');

    const jobs = readJobs()!.jobs;
    expect(Object.keys(jobs).sort()).toEqual([...TASKS].sort());
    expect(new Set(Object.values(jobs).map((j) => j.jobId)).size).toBe(TASKS.length); // one job per stage
    const slurm = slurmJobs();
    for (const task of TASKS) {
      const job = jobs[task];
      expect(slurm.get(job.jobId)?.state).toBe('COMPLETED');
      // the stage ran inside its job, under the hash bmae submit computed
      expect(stageRecord(task).taskHash).toBe(job.hash);
      const created = Date.parse(stageRecord(task).createdAt);
      expect(created).toBeGreaterThanOrEqual(slurm.get(job.jobId)!.start - 1000);
      expect(created).toBeLessThanOrEqual(slurm.get(job.jobId)!.end + 1000);
      expect(readFileSync(job.log, 'utf8')).toContain(`bmae job ${job.jobId}: ${task}`);
    }
    const created = Object.fromEntries(TASKS.map((task) => [task, stageRecord(task).createdAt]));
    // dependency order: a stage's job started after the jobs of the stages it depends on ended
    for (const name of EXPERIMENTS) {
      const after = (later: string, earlier: string) => expect(slurm.get(jobs[`experiments:${name}-${later}:smoke`].jobId)!.start).toBeGreaterThanOrEqual(slurm.get(jobs[`experiments:${name}-${earlier}:smoke`].jobId)!.end);
      for (const stage of ['linprobe', 'finetune', 'knn']) {
        after(stage, 'pretrain');
        after('summary', stage);
      }
    }

    // The submitting machine's Nx cache is empty: every stage is a cache miss, finds its record and stops.
    const followUp = spawnSync(process.execPath, [join(REPO, 'node_modules', 'nx', 'bin', 'nx.js'), 'run', 'experiments:sweep-k:smoke', '--output-style=static'], {
      cwd: workspace,
      env: { ...env, NX_CACHE_DIRECTORY: join(root, 'nx-cache-submitter') },
      encoding: 'utf8',
      timeout: 600_000,
    });
    const output = `${followUp.stdout}\n${followUp.stderr}`;
    if (followUp.status !== 0) throw new Error(`nx run experiments:sweep-k:smoke failed:\n${output}`);
    // No stage ran again: a run empties its folder first and writes stage.json (with its createdAt) last.
    for (const task of TASKS) expect(stageRecord(task)).toMatchObject({ taskHash: jobs[task].hash, createdAt: created[task] });
    expect(output).not.toMatch(/: done in [\d.]+ s ->/);
    expect(output).toContain('mae-k1');
  }, TEST_TIMEOUT);

  it('reports a job killed with scancel, and a resubmission finishes what is not done', async () => {
    // Make mae-k4's stages not done, submit, and cancel its pre-training job. A job that holds the whole node
    // keeps that job pending until the scancel: a smoke pre-training (a cache hit from the jobs' Nx cache, or
    // a run on synthetic data) ends in about two seconds, and a scancel landing after its stage record was
    // written would leave a finished stage (see stageState), not the failure this test is about.
    rmSync(join(workspace, 'runs', 'smoke', 'mae-k4'), { recursive: true, force: true });
    const blocker = spawnSync('sbatch', ['--parsable', '--exclusive', '--job-name=bmae-test-hold', '--output=/dev/null', '--wrap=sleep 600'], { encoding: 'utf8' });
    expect(blocker.status).toBe(0);
    const hold = blocker.stdout.trim().split(';')[0];
    ownJobs.push(hold);
    const slurmState = (id: string) => slurmJobs().get(id)?.state;
    for (let i = 0; i < 600 && slurmState(hold) !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 500));
    expect(slurmState(hold)).toBe('RUNNING');

    const child = spawn(process.execPath, [join(workspace, 'packages', 'experiments', 'bin', 'bmae.js'), 'submit', 'sweep-k', '-c', 'smoke', '--scheduler', 'slurm', '--wait', '--poll', '2'], { cwd: workspace, env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const pretrain = 'experiments:mae-k4-pretrain:smoke';
    const before = readJobs()!.jobs[pretrain].jobId;
    for (let i = 0; i < 1800 && readJobs()!.jobs[pretrain].jobId === before; i++) await new Promise((r) => setTimeout(r, 500));
    const killed = readJobs()!.jobs[pretrain].jobId;
    expect(killed).not.toBe(before);
    expect(slurmState(killed)).toBe('PENDING');
    expect(spawnSync('scancel', [killed]).status).toBe(0);
    expect(spawnSync('scancel', [hold]).status).toBe(0);
    const status = await new Promise<number | null>((done) => child.on('close', done));
    expect(output).toContain('5 stages to submit, 20 done');
    expect(status).toBe(1);
    expect(output).toMatch(new RegExp(`FAILED ${pretrain}: job ${killed} CANCELLED.*, log .*${killed}\\.log`));

    const jobs = bmae(['jobs', 'sweep-k', '-c', 'smoke', '--json']);
    expect(jobs.status).toBe(0);
    const states = Object.fromEntries(jobs.output.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).map((s) => [s.task, s]));
    expect(states[pretrain]).toMatchObject({ state: 'failed', jobId: killed });
    expect(states['experiments:mae-k4-summary:smoke'].state).toBe('failed'); // cancelled: its dependency failed
    expect(states['experiments:mae-k1-summary:smoke'].state).toBe('done');

    const again = bmae(['submit', 'sweep-k', '-c', 'smoke', '--scheduler', 'slurm', '--wait', '--poll', '2']);
    if (again.status !== 0) throw new Error(`resubmission failed:\n${again.output}`);
    expect(again.output).toContain('5 stages to submit, 20 done');
    for (const stage of STAGES) expect(existsSync(join(workspace, 'runs', 'smoke', 'mae-k4', stage, 'stage.json'))).toBe(true);
    // A new job ran the pre-training and wrote its log (the killed job, cancelled while pending, wrote none).
    const resubmitted = readJobs()!.jobs[pretrain];
    expect([before, killed]).not.toContain(resubmitted.jobId);
    expect(existsSync(resubmitted.log)).toBe(true);
    expect(readdirSync(join(workspace, 'runs', '.slurm', 'logs'))).toContain(`experiments_mae-k4-pretrain_smoke-${before}.log`);
  }, TEST_TIMEOUT);
});
