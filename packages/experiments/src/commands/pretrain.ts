/**
 * `bmae pretrain`: MAE / MAE-K / EMA-MAE / MAE-new pre-training on CIFAR-10 from a JSON config
 * (src/config/pretrain/*.json are the report's methods), with `--set key=value` overrides. The
 * config is validated (unknown keys and bad values named) before the data or the model is touched.
 */
import type { Command } from 'commander';
import { checkCifar10Source, loadCifar10 } from '@bmae/data';
import { checkRunFolder, loadPretrainConfig, runPretraining, withRunLock } from '@bmae/trainers';
import { parseBackendName, selectBackend } from '@bmae/vit-model';
import { BMAE_VERSION, commandLine } from '../cli-options';

export interface PretrainCommandOptions {
  config?: string;
  set: string[];
  out: string;
  resume?: boolean;
  source?: string;
  cacheDir?: string;
  backend?: string;
  stopAfterEpoch?: string;
}

export async function runPretrainCommand(options: PretrainCommandOptions, log: (line: string) => void = (l) => console.error(l)) {
  const overrides = [...options.set];
  if (options.source !== undefined) overrides.push(`data.source=${JSON.stringify(options.source)}`);
  const config = loadPretrainConfig(options.config, overrides);
  if (options.backend !== undefined) parseBackendName(options.backend, '--backend');
  let stopAfterEpoch: number | undefined;
  if (options.stopAfterEpoch !== undefined) {
    stopAfterEpoch = Number(options.stopAfterEpoch);
    if (!Number.isInteger(stopAfterEpoch) || stopAfterEpoch < 0) throw new Error(`--stop-after-epoch ${options.stopAfterEpoch}: expected an epoch number >= 0`);
  }

  checkCifar10Source({ source: config.data.source });
  // The run folder is locked, then checked (a resumed run's checkpoint and config), before the data is loaded.
  return withRunLock(options.out, 'pre-training', async (lock) => {
    await checkRunFolder(options.out, config, options.resume ?? false);
    const backend = await selectBackend({ name: options.backend, log });
    const data = await loadCifar10({ source: config.data.source, cacheDir: options.cacheDir, log });
    log(`data: ${data.source} (${data.train.count} train images${data.fromCache ? ', from cache' : ''})`);
    return runPretraining({
      config,
      data: { train: data.train, stats: { mean: data.mean, std: data.std }, source: data.source, fingerprint: data.fingerprint },
      outDir: options.out,
      resume: options.resume,
      backend: backend.name,
      device: backend.device,
      bmaeVersion: BMAE_VERSION,
      command: commandLine(),
      stopAfterEpoch,
      lock,
      log,
    });
  }, log);
}

export function register(program: Command): void {
  program
    .command('pretrain')
    .description('pre-train an MAE with a pixel, MAE-K, EMA or MAE-new target; writes metrics.jsonl and checkpoints to --out')
    .option('--config <file>', 'JSON run config (e.g. packages/experiments/src/config/pretrain/ema-mae.json); default: all defaults')
    .option('--set <key=value>', 'override a config value, dotted keys (repeatable): --set optim.epochs=10 --set target.tau=0.1', (v: string, all: string[]) => [...all, v], [])
    .requiredOption('--out <dir>', 'run folder: config.json, metrics.jsonl, checkpoints/, latest.json')
    .option('--resume', 'continue the run in --out from its latest checkpoint (same config)')
    .option('--source <path>', 'CIFAR-10 source (sets data.source; default: env BMAE_DATA, else download)')
    .option('--cache-dir <path>', 'decoded-data cache (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)')
    .option('--stop-after-epoch <n>', 'stop after this epoch (0-based) without changing the schedule; resume later with --resume')
    .action(async (options: PretrainCommandOptions) => {
      const summary = await runPretrainCommand(options);
      console.log(JSON.stringify({ out: options.out, epochsRun: summary.epochsRun, lastEpoch: summary.lastEpoch, globalStep: summary.globalStep, lastLoss: summary.lastLoss, checkpoint: summary.checkpointDir, imagesPerSecond: Number(summary.imagesPerSecond.toFixed(1)), derived: summary.resolved.derived }, null, 2));
    });
}
