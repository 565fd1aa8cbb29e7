/**
 * `bmae run <target> [--workers N]`: the target's Nx task graph on this machine with N stages at once,
 * the cores split between them (BMAE_THREADS = cores / N). Nx schedules (`--parallel=N`) and caches as
 * usual; this command only picks the split. Two one-thread processes train faster than one two-thread
 * process on a 2-core machine (README, "On one machine"). Without --workers: Nx's default (nx.json's
 * `parallel`), each stage taking its share of the cores as it goes (the native backend's core share).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { parseInteger } from '../cli-options';
import { parseTarget, WORKSPACE_ROOT, type TargetOptions } from '../graph-target';

interface RunOptions extends TargetOptions {
  workers?: string;
  threads?: string;
}

/** Threads per worker: the cores split evenly, at least one. */
export function threadsPerWorker(workers: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** What `bmae run` starts: the `npx` arguments of the Nx run and the BMAE_THREADS each stage gets. */
export interface RunPlan {
  /** the Nx task run, <project>:<target>[:<configuration>] */
  id: string;
  /** stages at once; null: Nx's default (nx.json) */
  workers: number | null;
  args: string[];
  /** BMAE_THREADS of every stage; null: each takes its share of the cores */
  threads: number | null;
}

/**
 * The Nx run for a target with `--workers` stages at once. Threads: `--threads`, else the caller's
 * BMAE_THREADS, else the cores split between the workers (without --workers: shared as they go).
 */
export function planRun(spec: string, options: RunOptions, env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): RunPlan {
  const target = parseTarget(spec, options);
  const workers = options.workers === undefined ? null : parseInteger(options.workers, '--workers', 1);
  const threads =
    options.threads !== undefined ? parseInteger(options.threads, '--threads', 1)
    : env.BMAE_THREADS ? parseInteger(env.BMAE_THREADS, 'BMAE_THREADS', 1)
    : workers === null ? null
    : threadsPerWorker(workers, cores);
  const id = [target.project, target.target, target.configuration].filter((p) => p !== undefined).join(':');
  const overrides = Object.entries(target.overrides).map(([k, v]) => `--${k}=${v}`);
  const parallel = workers === null ? [] : [`--parallel=${workers}`];
  return { id, workers, args: ['--no-install', 'nx', 'run', id, ...parallel, '--outputStyle=stream', ...overrides], threads };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a target (e.g. sweep-k) through Nx with N stages at once and the cores split between them')
    .argument('<target>', 'an experiments target (sweep-k, mae-ema, ...) or <project>:<target>[:<configuration>]')
    .option('-c, --configuration <profile>', 'the profile (Nx configuration); default: the target\'s (quick)')
    .option('--seeds <n>', 'seeds 0..n-1, forwarded to every stage')
    .option('--workers <n>', "stages run at once (default: nx.json's parallel, threads shared as they go)")
    .option('--threads <n>', 'BMAE_THREADS of each stage (default: env BMAE_THREADS, else cores / workers)')
    .action(async (spec: string, options: RunOptions) => {
      const { id, workers, args, threads } = planRun(spec, options);
      const how = `${workers === null ? "nx.json's parallel" : `${workers} worker${workers > 1 ? 's' : ''}`}, ${threads === null ? 'threads shared' : `BMAE_THREADS=${threads} each`}`;
      console.error(`bmae run: ${id} with ${how}: npx ${args.join(' ')}`);
      const env = threads === null ? process.env : { ...process.env, BMAE_THREADS: String(threads) };
      const child = spawn('npx', args, { cwd: WORKSPACE_ROOT, stdio: 'inherit', env });
      const code = await new Promise<number>((done) => child.on('close', (status, signal) => done(status ?? (signal ? 1 : 0))));
      process.exitCode = code;
    });
}
