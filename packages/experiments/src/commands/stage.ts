/**
 * `bmae stage <stage> <experiment> --profile <name>`: runs one stage of an experiment (what the Nx
 * targets <experiment>-<stage> call; see tools/nx-experiments). Writes runs/<profile>/<experiment>/<stage>/.
 */
import { Option, type Command } from 'commander';
import { parseInteger } from '../cli-options';
import { SEED_OUTCOME_PREFIX } from '../seed-workers';
import { runStage, runStageSeed, type StageOptions } from '../stage';
import { parseStage, STAGES } from '../stage-config';

export interface StageCommandOptions {
  profile: string;
  seeds?: string;
  pretrained?: string;
  runsDir?: string;
  backend?: string;
  cacheDir?: string;
  resume?: boolean;
  seedWorkers?: string;
  seedWorker?: string;
}

export function register(program: Command): void {
  program
    .command('stage')
    .description(`run one stage (${STAGES.join(', ')}) of an experiment under a profile; writes runs/<profile>/<experiment>/<stage>/`)
    .argument('<stage>', STAGES.join(' | '))
    .argument('<experiment>', 'name of a file in packages/experiments/experiments/ (without .json)')
    .option('--profile <name>', 'smoke, quick or paper (packages/experiments/profiles/)', 'quick')
    .option('--seeds <n>', "runs with seeds 0..n-1 (default: the profile's); the summary reports mean +/- std")
    .option('--pretrained <experiment>', "evaluate this experiment's pre-trained encoder (experiments with equal pre-training share one)")
    .option('--runs-dir <dir>', 'runs folder (default: env BMAE_RUNS_DIR, else <workspace>/runs)')
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)')
    .option('--cache-dir <path>', 'decoded-data cache (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .option('--resume', 'pretrain: continue the interrupted runs in the stage folder (default: env BMAE_RESUME=1)')
    .option('--seed-workers <n>', 'seeds run side by side in worker processes (default: env BMAE_SEED_WORKERS, else as many as the cores hold; 1: one after another)')
    .addOption(new Option('--seed-worker <seed>', 'internal: run this seed only, as a worker of the stage process that holds the lock').hideHelp())
    .action(async (stage: string, experiment: string, options: StageCommandOptions) => {
      const request: StageOptions = {
        stage: parseStage(stage),
        experiment,
        profile: options.profile,
        seeds: options.seeds === undefined ? undefined : parseInteger(options.seeds, '--seeds', 1),
        pretrained: options.pretrained,
        runsDir: options.runsDir,
        backend: options.backend,
        cacheDir: options.cacheDir,
        resume: options.resume,
        seedWorkers: options.seedWorkers === undefined ? undefined : parseInteger(options.seedWorkers, '--seed-workers', 1),
      };
      if (options.seedWorker !== undefined) {
        const outcome = await runStageSeed({ ...request, seed: parseInteger(options.seedWorker, '--seed-worker', 0) });
        console.log(`${SEED_OUTCOME_PREFIX}${JSON.stringify(outcome)}`);
        return;
      }
      const record = await runStage(request);
      console.log(JSON.stringify({ stage: record.stage, experiment: record.experiment, profile: record.profile, status: record.status, seconds: Number(record.seconds.toFixed(2)) }));
    });
}
