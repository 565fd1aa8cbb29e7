/**
 * `bmae init`: writes a freshly initialised MAE (encoder, decoder, pixel head; MAE's initialisation) as a
 * .safetensors checkpoint in PyTorch layout, e.g. as a common starting point or to inspect in PyTorch.
 */
import type { Command } from 'commander';
import { Rng } from '@bmae/data';
import {
  CIFAR10_NORMALIZATION,
  countParameters,
  createMaeParams,
  disposeParams,
  maeConfig,
  PRESET_NAMES,
  saveCheckpoint,
  parseBackendName,
  selectBackend,
  type PresetName,
} from '@bmae/vit-model';
import { BMAE_VERSION, checkOutputPath, commandLine, parseInteger } from '../cli-options';

export interface InitOptions {
  preset: string;
  out: string;
  seed: string;
  backend?: string;
}

/** The Rng stream model weights are drawn from, for a run seed (the same stream `bmae pretrain` starts from). */
export function initRng(seed: number): Rng {
  return Rng.fromSeed(seed).fork('init');
}

export async function runInit(options: InitOptions, log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  // Everything the user typed is checked before anything is built.
  if (!(PRESET_NAMES as string[]).includes(options.preset)) {
    throw new Error(`--preset '${options.preset}' is not a model preset: choose one of ${PRESET_NAMES.join(', ')}`);
  }
  const preset = options.preset as PresetName;
  const seed = parseInteger(options.seed, '--seed');
  const out = checkOutputPath(options.out, '.safetensors');
  if (options.backend !== undefined) parseBackendName(options.backend, '--backend');

  const backend = await selectBackend({ name: options.backend, log });
  const config = maeConfig(preset);
  const params = createMaeParams(config, initRng(seed));
  try {
    await saveCheckpoint(out, params, {
      preset,
      config,
      normalization: CIFAR10_NORMALIZATION,
      provenance: { bmaeVersion: BMAE_VERSION, backend: backend.name, seed, createdAt: new Date().toISOString(), command: commandLine() },
    });
    log(`wrote ${out}: ${preset} MAE, ${params.size} tensors, ${countParameters(params, false).toLocaleString('en-US')} values, seed ${seed}`);
  } finally {
    disposeParams(params);
  }
}

export function register(program: Command): void {
  program
    .command('init')
    .description('write a freshly initialised MAE (encoder + decoder + pixel head) as a PyTorch-layout .safetensors checkpoint')
    .option('--preset <name>', `model preset (${PRESET_NAMES.join(', ')})`, 'deit-tiny')
    .requiredOption('--out <file>', 'checkpoint to write (.safetensors)')
    .option('--seed <n>', 'seed of the initialisation', '0')
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)')
    .action(async (options: InitOptions) => {
      await runInit(options);
    });
}
