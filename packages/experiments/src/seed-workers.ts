/**
 * A stage's seeds side by side, each in a worker process (`bmae stage ... --seed-worker <s>`).
 *
 * Why: on a small machine two one-thread processes train faster than one two-thread process (tfjs's
 * JavaScript between kernels runs on one thread), and the seeds of a stage are independent runs. The
 * stage process keeps its lock and writes stage.json; each worker writes only its seed's output and
 * prints what the record needs (SeedOutcome) as its last stdout line. A worker computes exactly what
 * the same seed computes in the stage's own process: the numbers do not depend on where it runs, nor
 * on the threads it gets.
 *
 * How many at once: at most `workers`, and a new one only while the host's computing processes (the
 * native backend's core share, which the launched workers are entered in at once) leave a core free,
 * so that stages Nx runs side by side do not pile seeds onto the same cores. A stage's first seed waits
 * only for other stages' seed workers, which end; processes that may never end (an idle test runner
 * that once computed, a training started by hand) do not hold it back. Launchers decide one at a time,
 * under a lock in the share folder: two stages Nx starts at the same moment once both saw the cores
 * free and put three seeds on two cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as lockfile from 'proper-lockfile';
import { announceSeedWorker, coresTaken, defaultCoreShareDir, fixedThreadsFromEnv, readCoreShare, type CoreShareEntry } from '@bmae/tfjs-backend-native/core-share';
import { nvidiaGpuName, type DeviceInfo } from '@bmae/vit-model';

/** What one seed of a stage reports to the stage record. */
export interface SeedOutcome {
  seed: number;
  /** images processed: training images (pre-training, fine-tuning) or features extracted */
  images: number;
  /** wall time of this seed's run */
  seconds: number;
  settings: unknown;
  backend: string;
  device?: DeviceInfo;
}

/** The prefix of a worker's stdout line that carries its outcome. */
export const SEED_OUTCOME_PREFIX = 'bmae-seed-outcome ';

/**
 * Workers for `seeds` seeds: `requested` (--seed-workers), else env BMAE_SEED_WORKERS, else one on a
 * machine with a GPU (the seeds would share it), else as many as the cores hold at BMAE_THREADS threads
 * each (one each when unset); never more than the seeds.
 */
export function seedWorkerCount(seeds: number, requested?: number, env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism(), hasGpu: () => boolean = () => nvidiaGpuName() !== undefined): number {
  const fromEnv = env.BMAE_SEED_WORKERS ? Number(env.BMAE_SEED_WORKERS) : undefined;
  if (fromEnv !== undefined && !(Number.isInteger(fromEnv) && fromEnv >= 1)) throw new Error(`BMAE_SEED_WORKERS must be an integer >= 1, got '${env.BMAE_SEED_WORKERS}'`);
  const perWorker = fixedThreadsFromEnv(env) ?? 1;
  if (seeds <= 1) return 1;
  return Math.max(1, Math.min(seeds, requested ?? fromEnv ?? (hasGpu() ? 1 : Math.floor(cores / perWorker))));
}

/** The host's computing processes, counting this launcher's workers that have not computed yet. */
function hostProcesses(running: Iterable<number>, threads: number | null): CoreShareEntry[] {
  const entries: CoreShareEntry[] = readCoreShare();
  const known = new Set(entries.map((e) => e.pid));
  for (const pid of running) if (!known.has(pid)) entries.push({ pid, threads, seedWorker: true });
  return entries;
}

/**
 * Whether another seed may start beside `running` (this stage's workers) on `cores` cores: while a core
 * is free; the stage's first seed also when what fills the cores is not other stages' seed workers.
 */
export function mayStartSeed(host: readonly CoreShareEntry[], running: number, cores: number): boolean {
  if (coresTaken(host) < cores) return true;
  return running === 0 && coresTaken(host.filter((e) => e.seedWorker)) < cores;
}

/**
 * Runs `decide` while no other launcher on the host decides (proper-lockfile's lock in the share
 * folder, held for a folder read and a spawn). Best effort: without the lock it decides anyway.
 */
async function asOnlyLauncher<T>(decide: () => T): Promise<T> {
  const dir = defaultCoreShareDir();
  let release: (() => Promise<void>) | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    release = await lockfile.lock(dir, { lockfilePath: join(dir, 'launch.lock'), realpath: false, stale: 10_000, retries: { retries: 200, minTimeout: 10, maxTimeout: 100 }, onCompromised: () => {} });
  } catch {
    // an unwritable folder, or a launcher stuck for seconds: deciding unlocked only risks one seed too many
  }
  try {
    return decide();
  } finally {
    await release?.().catch(() => {});
  }
}

export interface SeedWorkerPlan {
  /** seeds 0..seeds-1 */
  seeds: number;
  workers: number;
  /** node arguments of the worker for a seed */
  args: (seed: number) => string[];
  /** where a worker's log lines go (prefixed with its seed) */
  log: (line: string) => void;
  /** e.g. "mae pretrain", for messages */
  label: string;
  cores?: number;
}

/** Reads a worker's outcome from its stdout. */
export function parseSeedOutcome(stdout: string, seed: number): SeedOutcome | undefined {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(SEED_OUTCOME_PREFIX));
  if (!line) return undefined;
  try {
    const outcome = JSON.parse(line.slice(SEED_OUTCOME_PREFIX.length)) as SeedOutcome;
    return outcome.seed === seed ? outcome : undefined;
  } catch {
    return undefined; // cut short: the worker is reported as failed
  }
}

/** Runs every seed in a worker, `plan.workers` at most at once; resolves with the outcomes in seed order. */
export async function runSeedWorkers(plan: SeedWorkerPlan): Promise<SeedOutcome[]> {
  const cores = plan.cores ?? availableParallelism();
  const fixedThreads = fixedThreadsFromEnv();
  const pending = Array.from({ length: plan.seeds }, (_, seed) => seed);
  const running = new Map<number, { child: ChildProcess; done: Promise<void> }>();
  const outcomes: SeedOutcome[] = [];
  const failures: string[] = [];
  const stopAll = () => {
    for (const { child } of running.values()) child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stopAll();
    process.kill(process.pid, signal);
  };
  process.once('exit', stopAll);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const start = (seed: number) => {
    // env given explicitly: the environment this module sees (a test runner's may differ from the process's)
    const child = spawn(process.execPath, plan.args(seed), { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    if (child.pid !== undefined) announceSeedWorker(child.pid, fixedThreads);
    plan.log(`${plan.label} seed ${seed}: worker process ${child.pid}`);
    let stdout = '';
    let lastError = '';
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.trim()) lastError = line;
        plan.log(`[seed ${seed}] ${line}`);
      }
    });
    const done = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        if (partial) plan.log(`[seed ${seed}] ${partial}`);
        running.delete(seed);
        const outcome = code === 0 ? parseSeedOutcome(stdout, seed) : undefined;
        if (outcome) outcomes.push(outcome);
        else failures.push(`seed ${seed} (worker exited with ${signal ?? `code ${code}`}${lastError || partial ? `: ${(lastError || partial).trim()}` : ''})`);
        resolve();
      });
      child.on('error', (error) => failures.push(`seed ${seed} (worker did not start: ${error.message})`));
    });
    running.set(seed, { child, done });
  };

  let waitingSaid = false;
  try {
    while (pending.length > 0 || running.size > 0) {
      // After a failure no new seed starts; the running ones finish (their output is kept, a pre-training resumable).
      if (failures.length === 0 && pending.length > 0 && running.size < plan.workers) {
        await asOnlyLauncher(() => {
          while (pending.length > 0 && running.size < plan.workers && mayStartSeed(hostProcesses([...running.values()].map((r) => r.child.pid!), fixedThreads), running.size, cores)) {
            start(pending.shift()!);
          }
        });
      }
      if (running.size === 0) {
        if (pending.length === 0 || failures.length > 0) break;
        if (!waitingSaid) plan.log(`${plan.label}: waiting for a core (other stages' seed workers fill all ${cores})`);
        waitingSaid = true;
      }
      // A worker ending, or another process leaving a core free: looked for every few seconds, and four
      // times a second while the stage waits for its first core, so that it takes a freed core before a
      // stage Nx starts in the freed slot (which needs a second or two to load) and is not passed over
      // again and again. The timer is not unref'd: while the stage waits with no worker of its own, it
      // is all that keeps the process alive (unref'd, the stage ended at once with exit code 0 and its
      // seeds never ran).
      let timer: NodeJS.Timeout | undefined;
      const poll = new Promise((resolve) => (timer = setTimeout(resolve, running.size === 0 ? 250 : 3000)));
      await Promise.race([...[...running.values()].map((r) => r.done), poll]);
      clearTimeout(timer);
    }
  } finally {
    process.removeListener('exit', stopAll);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
  if (failures.length > 0) {
    const skipped = pending.length > 0 ? `; not started: seed${pending.length > 1 ? 's' : ''} ${pending.join(', ')}` : '';
    throw new Error(`${plan.label} failed: ${failures.join('; ')}${skipped}`);
  }
  return outcomes.sort((a, b) => a.seed - b.seed);
}
