/**
 * A submission: the stages of an Nx task graph that are not done, as Slurm jobs with the graph's
 * dependencies, and the record of those jobs (runs/.slurm/jobs.json in the shared run folder) that
 * `bmae jobs`, `--wait` and the next submission read.
 *
 * Done means: the stage folder's stage.json carries the stage's current Nx task hash (stageDoneUnder).
 * Reports (tasks Nx does not cache) are not submitted: `nx run <target>` builds them afterwards from the
 * stage folders, without re-running a stage.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { batchScript, queryJobs, sbatch, type JobState, type JobStatus, type SlurmOptions } from './slurm';
import { stageDoneUnder } from './stage';
import type { GraphTask } from './task-graph';

/** One submitted job, as recorded. */
export interface JobRecord {
  task: string;
  jobId: string;
  hash: string;
  log: string;
  submittedAt: string;
}

interface JobsFile {
  schema: 'bmae.slurm-jobs.v1';
  /** task id -> its latest job */
  jobs: Record<string, JobRecord>;
}

export function jobsFolder(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.BMAE_RUNS_DIR || join(workspaceRoot, 'runs'), '.slurm');
}

export function readJobs(folder: string): Record<string, JobRecord> {
  const path = join(folder, 'jobs.json');
  if (!existsSync(path)) return {};
  const file = JSON.parse(readFileSync(path, 'utf8')) as JobsFile;
  if (file.schema !== 'bmae.slurm-jobs.v1') throw new Error(`${path}: schema "${String(file.schema)}", expected bmae.slurm-jobs.v1`);
  return file.jobs;
}

function writeJobs(folder: string, jobs: Record<string, JobRecord>): void {
  mkdirSync(folder, { recursive: true });
  const file: JobsFile = { schema: 'bmae.slurm-jobs.v1', jobs };
  writeFileAtomic.sync(join(folder, 'jobs.json'), `${JSON.stringify(file, null, 2)}\n`);
}

/** The stage folder of a task: its one declared output. */
function stageFolder(task: GraphTask): string {
  if (task.outputs.length !== 1) throw new Error(`task ${task.id} declares ${task.outputs.length} outputs; a stage has exactly one (its folder)`);
  return task.outputs[0];
}

/** Whether a (cached) task's stage folder records a finished run under its current hash. */
export function taskDone(task: GraphTask): boolean {
  return stageDoneUnder(stageFolder(task), task.hash) !== null;
}

export interface PlannedJob {
  task: GraphTask;
  /** ids of the graph's stages it waits for that are not done (submitted now or still queued/running) */
  waitsFor: string[];
  log: string;
}

export interface Plan {
  /** stages to submit, dependencies first */
  submit: PlannedJob[];
  /** stages already done (skipped) */
  done: GraphTask[];
  /** stages whose job from an earlier submission is still queued or running (not submitted again) */
  active: { task: GraphTask; job: JobRecord }[];
  /** tasks Nx does not cache (reports): left to `nx run` */
  uncached: GraphTask[];
}

/** What to submit: every cached task of the graph that is neither done nor already in the queue. */
export function planSubmission(graph: GraphTask[], folder: string, previous: Record<string, JobRecord>, states: Map<string, JobStatus>): Plan {
  const plan: Plan = { submit: [], done: [], active: [], uncached: [] };
  const pending = new Set<string>();
  const byId = new Map(graph.map((t) => [t.id, t]));
  for (const task of graph) {
    if (!task.cache) {
      plan.uncached.push(task);
      continue;
    }
    if (taskDone(task)) {
      plan.done.push(task);
      continue;
    }
    pending.add(task.id);
    const job = previous[task.id];
    const state = job && job.hash === task.hash ? states.get(job.jobId)?.state : undefined;
    if (state === 'queued' || state === 'running') {
      plan.active.push({ task, job });
      continue;
    }
    // A stage's dependencies through uncached tasks would be a graph we do not have; stages depend on stages.
    for (const dep of task.dependsOn) if (!byId.get(dep)?.cache) throw new Error(`stage ${task.id} depends on ${dep}, which Nx does not cache: it cannot be a job`);
    const waitsFor = task.dependsOn.filter((dep) => pending.has(dep));
    plan.submit.push({ task, waitsFor, log: join(folder, 'logs', `${task.id.replace(/[^\w.-]+/g, '_')}-%j.log`) });
  }
  return plan;
}

/** Submits the plan's jobs in order, each after the jobs it waits for; records them; returns the records. */
export function submitPlan(plan: Plan, options: SlurmOptions & { workspaceRoot: string; folder: string; log?: (line: string) => void }): JobRecord[] {
  const log = options.log ?? ((line: string) => console.error(line));
  const jobs = readJobs(options.folder);
  const jobIds = new Map(plan.active.map(({ task, job }) => [task.id, job.jobId]));
  mkdirSync(join(options.folder, 'logs'), { recursive: true });
  const submitted: JobRecord[] = [];
  for (const planned of plan.submit) {
    const dependencies = planned.waitsFor.map((dep) => {
      const id = jobIds.get(dep);
      if (id === undefined) throw new Error(`internal: ${planned.task.id} waits for ${dep}, which has no job`);
      return id;
    });
    const jobId = sbatch(batchScript(planned.task, { ...options, log: planned.log, dependencies }));
    jobIds.set(planned.task.id, jobId);
    const record: JobRecord = { task: planned.task.id, jobId, hash: planned.task.hash, log: planned.log.replace('%j', jobId), submittedAt: new Date().toISOString() };
    jobs[planned.task.id] = record;
    submitted.push(record);
    // Recorded after every sbatch, so an error half-way still leaves the submitted jobs on record.
    writeJobs(options.folder, jobs);
    log(`submitted ${planned.task.id}: job ${jobId}${dependencies.length ? ` after ${dependencies.join(', ')}` : ''}, log ${record.log}`);
  }
  return submitted;
}

/** A stage's state: from its recorded job (the scheduler's view), or done/not submitted from its folder. */
export interface StageState {
  task: GraphTask;
  state: JobState | 'not submitted';
  job?: JobRecord;
  /** Slurm's state or how the state was decided */
  detail: string;
}

export function stageStates(graph: GraphTask[], jobs: Record<string, JobRecord>): StageState[] {
  const stages = graph.filter((t) => t.cache);
  const known = queryJobs(stages.map((t) => jobs[t.id]?.jobId).filter((id): id is string => id !== undefined));
  return stages.map((task) => {
    const job = jobs[task.id];
    return stageState(task, job, job && known.get(job.jobId));
  });
}

/**
 * One stage's state from its latest job and Slurm's view of that job (undefined: no job, or Slurm
 * no longer knows it). A job still queued or running decides; once it has ended, the stage record
 * does. A job killed after its stage wrote stage.json (a cache hit ends in seconds, and a scancel can
 * land after that) left a finished stage; a job Slurm calls COMPLETED that left no record under the
 * task hash did not finish the stage (its log says what it ran), and `--wait` must say so.
 */
export function stageState(task: GraphTask, job: JobRecord | undefined, status: JobStatus | undefined): StageState {
  if (status && (status.state === 'queued' || status.state === 'running')) return { task, job, state: status.state, detail: slurmDetail(status) };
  if (taskDone(task)) {
    if (!status) return { task, job, state: 'done', detail: job ? 'ended; stage record matches' : 'stage record matches (not run by a job)' };
    return { task, job, state: 'done', detail: status.state === 'failed' ? `${slurmDetail(status)}, but its stage record matches` : slurmDetail(status) };
  }
  if (!job) return { task, state: 'not submitted', detail: 'not done' };
  if (job.hash !== task.hash) return { task, job, state: 'not submitted', detail: 'inputs changed since its job' };
  if (!status) return { task, job, state: 'failed', detail: 'ended without a stage record' };
  return { task, job, state: 'failed', detail: status.state === 'done' ? `${slurmDetail(status)} without a stage record under task hash ${task.hash}` : slurmDetail(status) };
}

const slurmDetail = (status: JobStatus): string => status.slurmState + (status.reason ? ` (${status.reason})` : '');

/** Polls until no stage of the graph is queued or running; returns the final states. */
export async function waitForJobs(graph: GraphTask[], folder: string, pollSeconds: number, log: (line: string) => void): Promise<StageState[]> {
  let last = '';
  for (;;) {
    const states = stageStates(graph, readJobs(folder));
    const counts = new Map<string, number>();
    for (const s of states) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
    const line = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
    if (line !== last) log(`jobs: ${line}`);
    last = line;
    if (!states.some((s) => s.state === 'queued' || s.state === 'running')) return states;
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
  }
}
