import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchScript, jobState } from './slurm';
import { planSubmission, stageState } from './submission';
import { topologicalOrder, type GraphTask } from './task-graph';

const root = mkdtempSync(join(tmpdir(), 'bmae-submission-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function task(name: string, dependsOn: string[], cache = true): GraphTask {
  return {
    id: `experiments:${name}:smoke`, project: 'experiments', target: name, configuration: 'smoke', hash: `hash-${name}`, cache,
    dependsOn: dependsOn.map((d) => `experiments:${d}:smoke`), outputs: cache ? [join(root, name)] : [], overrideArgs: ['--seeds=2'],
  };
}
const graph = topologicalOrder([
  task('sweep-k', ['a-summary'], false),
  task('a-summary', ['a-knn', 'a-linprobe']),
  task('a-knn', ['a-pretrain']),
  task('a-linprobe', ['a-pretrain']),
  task('a-pretrain', []),
]);
const finish = (name: string, hash: string) => {
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'stage.json'), JSON.stringify({ taskHash: hash, createdAt: 'then' }));
};

describe('planSubmission', () => {
  it('orders the graph dependencies first', () => {
    expect(graph.map((t) => t.target)).toEqual(['a-pretrain', 'a-knn', 'a-linprobe', 'a-summary', 'sweep-k']);
  });

  it('submits every stage that is not done, waiting only for stages that are not done, and leaves reports to nx run', () => {
    finish('a-pretrain', 'hash-a-pretrain');
    finish('a-knn', 'an older hash'); // inputs changed since: not done
    const plan = planSubmission(graph, join(root, '.slurm'), {}, new Map());
    expect(plan.done.map((t) => t.target)).toEqual(['a-pretrain']);
    expect(plan.submit.map((p) => [p.task.target, p.waitsFor])).toEqual([
      ['a-knn', []],
      ['a-linprobe', []],
      ['a-summary', ['experiments:a-knn:smoke', 'experiments:a-linprobe:smoke']],
    ]);
    expect(plan.uncached.map((t) => t.target)).toEqual(['sweep-k']);
  });

  it('does not submit a stage whose job is still queued, and its dependents wait for that job', () => {
    const previous = { 'experiments:a-knn:smoke': { task: 'experiments:a-knn:smoke', jobId: '17', hash: 'hash-a-knn', log: 'l', submittedAt: 't' } };
    const plan = planSubmission(graph, join(root, '.slurm'), previous, new Map([['17', { state: 'running' as const, slurmState: 'RUNNING' }]]));
    expect(plan.active.map((a) => a.job.jobId)).toEqual(['17']);
    expect(plan.submit.map((p) => p.task.target)).toEqual(['a-linprobe', 'a-summary']);
    expect(plan.submit[1].waitsFor).toContain('experiments:a-knn:smoke');
  });
});

describe('stageState', () => {
  const pretrain = graph[0];
  const job = { task: pretrain.id, jobId: '21', hash: 'hash-a-pretrain', log: 'l', submittedAt: 't' };
  const cancelled = { state: 'failed' as const, slurmState: 'CANCELLED by 0' };

  it('calls a stage whose job was killed failed while its stage record is missing', () => {
    rmSync(join(root, 'a-pretrain'), { recursive: true, force: true });
    expect(stageState(pretrain, job, cancelled)).toMatchObject({ state: 'failed', detail: 'CANCELLED by 0' });
    expect(stageState(pretrain, job, undefined)).toMatchObject({ state: 'failed', detail: 'ended without a stage record' });
    expect(stageState(pretrain, undefined, undefined)).toMatchObject({ state: 'not submitted' });
  });

  it('calls a stage whose job completed without writing its record failed, unless its inputs changed since', () => {
    const completed = { state: 'done' as const, slurmState: 'COMPLETED' };
    expect(stageState(pretrain, job, completed)).toMatchObject({ state: 'failed', detail: 'COMPLETED without a stage record under task hash hash-a-pretrain' });
    expect(stageState(pretrain, { ...job, hash: 'an older hash' }, completed)).toMatchObject({ state: 'not submitted', detail: 'inputs changed since its job' });
  });

  it('calls a stage done once its record matches, even when its job was killed after writing it', () => {
    finish('a-pretrain', 'hash-a-pretrain');
    expect(stageState(pretrain, job, cancelled)).toMatchObject({ state: 'done', detail: 'CANCELLED by 0, but its stage record matches' });
    expect(stageState(pretrain, job, { state: 'done', slurmState: 'COMPLETED' })).toMatchObject({ state: 'done', detail: 'COMPLETED' });
    expect(stageState(pretrain, undefined, undefined)).toMatchObject({ state: 'done', detail: 'stage record matches (not run by a job)' });
  });

  it('follows a job still queued or running, whatever the folder holds', () => {
    expect(stageState(pretrain, job, { state: 'running', slurmState: 'RUNNING' })).toMatchObject({ state: 'running' });
    expect(stageState(pretrain, job, { state: 'queued', slurmState: 'PENDING', reason: 'Dependency' })).toMatchObject({ state: 'queued', detail: 'PENDING (Dependency)' });
  });
});

describe('batchScript', () => {
  it('runs the task alone through Nx with its overrides, after its dependencies, in the workspace', () => {
    const script = batchScript(graph[1], { workspaceRoot: '/shared/bmae', log: '/shared/bmae/runs/.slurm/logs/x-%j.log', dependencies: ['11', '12'], gres: 'gpu:1', time: '4:00:00', env: { BMAE_DATA: '/data/cifar 10.tar.gz' } });
    expect(script).toContain('#SBATCH --dependency=afterok:11:12');
    expect(script).toContain('#SBATCH --gres=gpu:1');
    expect(script).toContain('#SBATCH --time=4:00:00');
    expect(script).toContain('#SBATCH --chdir=/shared/bmae');
    expect(script).toContain("export BMAE_DATA='/data/cifar 10.tar.gz'");
    expect(script).toContain('npx --no-install nx run experiments:a-knn:smoke --excludeTaskDependencies --outputStyle=stream --seeds=2');
    expect(script).not.toContain('--partition');
  });
});

describe('jobState', () => {
  it.each([
    ['PENDING', 'queued'], ['RUNNING', 'running'], ['COMPLETING', 'running'], ['COMPLETED', 'done'],
    ['CANCELLED', 'failed'], ['CANCELLED by 0', 'failed'], ['FAILED', 'failed'], ['TIMEOUT', 'failed'], ['OUT_OF_MEMORY', 'failed'],
  ])('%s is %s', (slurm, state) => expect(jobState(slurm)).toBe(state));
});
