/**
 * Slurm as a scheduler of the Nx task graph: one batch job per stage, `afterok` dependencies as in
 * the graph, and the scheduler's view of each job (squeue, else sacct, else the stage's own record).
 *
 * Each job runs its task through Nx on the shared workspace (`nx run <task> --excludeTaskDependencies`),
 * so it runs the very command of the Nx target, with Nx's environment (NX_TASK_HASH, which the stage
 * records in its stage.json: see stageDoneUnder).
 */
import { spawnSync } from 'node:child_process';
import { taskCommand, type GraphTask } from './task-graph';

export interface SlurmOptions {
  partition?: string;
  gres?: string;
  /** wall-time limit, Slurm's format (e.g. 4:00:00) */
  time?: string;
  cpusPerTask?: number;
}

/** Environment variables a stage reads that are written into every script (sbatch also exports the rest). */
const STAGE_ENV = ['BMAE_DATA', 'BMAE_CACHE_DIR', 'BMAE_RUNS_DIR', 'BMAE_BACKEND', 'BMAE_THREADS', 'BMAE_RESUME'] as const;

const quote = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/** Slurm job name of a task: short enough for squeue's default column, unique per task. */
export function jobName(task: GraphTask): string {
  return `bmae:${task.target}${task.configuration ? `:${task.configuration}` : ''}`;
}

/**
 * The batch script of one task. `dependencies` are the job ids (or, for --dry-run, the names) of the
 * jobs it must wait for; `log` is its output file.
 */
export function batchScript(task: GraphTask, options: SlurmOptions & { workspaceRoot: string; log: string; dependencies: string[]; env?: NodeJS.ProcessEnv }): string {
  const env = options.env ?? process.env;
  const header = [
    `--job-name=${jobName(task)}`,
    `--output=${options.log}`,
    `--chdir=${options.workspaceRoot}`,
    // a failed dependency cancels this job instead of leaving it pending forever
    '--kill-on-invalid-dep=yes',
    ...(options.partition ? [`--partition=${options.partition}`] : []),
    ...(options.gres ? [`--gres=${options.gres}`] : []),
    ...(options.time ? [`--time=${options.time}`] : []),
    ...(options.cpusPerTask ? [`--cpus-per-task=${options.cpusPerTask}`] : []),
    ...(options.dependencies.length > 0 ? [`--dependency=afterok:${options.dependencies.join(':')}`] : []),
  ];
  const exports = STAGE_ENV.filter((name) => env[name] !== undefined).map((name) => `export ${name}=${quote(env[name]!)}`);
  return [
    '#!/bin/bash',
    ...header.map((line) => `#SBATCH ${line}`),
    `# bmae: Nx task ${task.id}, task hash ${task.hash} when submitted`,
    'set -euo pipefail',
    // Nx in a job: no daemon (it would outlive the job), no cloud
    'export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false',
    ...exports,
    // a job given CPUs uses that many threads (unless BMAE_THREADS says otherwise)
    'if [ -n "${SLURM_CPUS_PER_TASK:-}" ] && [ -z "${BMAE_THREADS:-}" ]; then export BMAE_THREADS=$SLURM_CPUS_PER_TASK; fi',
    // a job is one allocation (often one GPU): its seeds run one after another inside it
    'export BMAE_SEED_WORKERS=${BMAE_SEED_WORKERS:-1}',
    `echo "bmae job $SLURM_JOB_ID: ${task.id} on $(hostname), started $(date -u +%FT%TZ)"`,
    taskCommand(task).map(quote).join(' '),
    '',
  ].join('\n');
}

function run(command: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/** Whether Slurm's client commands are on PATH and a controller answers. */
export function slurmAvailable(): { ok: boolean; reason?: string } {
  const result = run('sinfo', ['-h', '-o', '%P %a']);
  if (result.error) return { ok: false, reason: `sinfo: ${result.error.message} (Slurm's client commands are not on PATH)` };
  if (result.status !== 0) return { ok: false, reason: `sinfo exited ${result.status}: ${result.stderr.trim()}` };
  return { ok: true };
}

/** Submits a batch script (on stdin); returns the job id. */
export function sbatch(script: string): string {
  const result = run('sbatch', ['--parsable'], script);
  if (result.error) throw new Error(`sbatch: ${result.error.message} (is Slurm installed here?)`);
  if (result.status !== 0) throw new Error(`sbatch exited ${result.status}: ${result.stderr.trim()}`);
  const id = result.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed "${result.stdout.trim()}", expected a job id`);
  return id;
}

/** A job's state as bmae reports it. */
export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobStatus {
  state: JobState;
  /** Slurm's own state (PENDING, RUNNING, COMPLETED, CANCELLED, ...) or how it was decided */
  slurmState: string;
  /** why a job is pending (Dependency, Resources, ...), from squeue */
  reason?: string;
}

/** bmae's state of one of Slurm's job states. */
export function jobState(slurmState: string): JobState {
  const state = slurmState.split(/[ +]/)[0];
  if (state === 'PENDING' || state === 'REQUEUED' || state === 'SUSPENDED' || state === 'REQUEUE_HOLD' || state === 'RESV_DEL_HOLD') return 'queued';
  if (state === 'RUNNING' || state === 'COMPLETING' || state === 'CONFIGURING' || state === 'STAGE_OUT' || state === 'SIGNALING' || state === 'RESIZING') return 'running';
  if (state === 'COMPLETED') return 'done';
  return 'failed'; // CANCELLED, FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, BOOT_FAIL, DEADLINE
}

/**
 * The states of `ids` that Slurm still knows: squeue (every job it holds, finished ones for
 * MinJobAge), then sacct for the rest (only where accounting is on). Ids neither knows are absent.
 */
export function queryJobs(ids: string[]): Map<string, JobStatus> {
  const wanted = new Set(ids);
  const states = new Map<string, JobStatus>();
  if (wanted.size === 0) return states;
  // Without -j: squeue fails on the whole list when one id is no longer known.
  const queue = run('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%r']);
  if (queue.error) throw new Error(`squeue: ${queue.error.message} (is Slurm installed here?)`);
  if (queue.status !== 0) throw new Error(`squeue exited ${queue.status}: ${queue.stderr.trim()}`);
  for (const line of queue.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && wanted.has(id)) states.set(id, { state: jobState(state), slurmState: state, reason: reason && reason !== 'None' ? reason : undefined });
  }
  const rest = ids.filter((id) => !states.has(id));
  if (rest.length > 0) {
    const acct = run('sacct', ['-n', '-P', '-X', '-o', 'JobID,State', '-j', rest.join(',')]);
    if (!acct.error && acct.status === 0) {
      for (const line of acct.stdout.split('\n')) {
        const [id, state] = line.trim().split('|');
        if (id && wanted.has(id) && state) states.set(id, { state: jobState(state), slurmState: state });
      }
    }
  }
  return states;
}

/** Cancels jobs (used by tests and by a user through scancel directly). */
export function scancel(ids: string[]): void {
  if (ids.length === 0) return;
  const result = run('scancel', ids);
  if (result.error || result.status !== 0) throw new Error(`scancel ${ids.join(' ')}: ${result.error?.message ?? result.stderr.trim()}`);
}
