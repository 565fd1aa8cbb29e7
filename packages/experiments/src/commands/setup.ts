/**
 * `bmae setup tensorflow [--gpu]`: TensorFlow's libraries through pip into the cache folder and the
 * tfjs-node(-gpu) binding built against them (../tensorflow/setup.ts). Prints what loaded as JSON.
 */
import type { Command } from 'commander';
import { resolveCacheDir } from '@bmae/data';
import { setupTensorflow } from '../tensorflow/setup';

interface SetupCommandOptions {
  gpu?: boolean;
  force?: boolean;
  stock?: boolean;
  cacheDir?: string;
}

export function register(program: Command): void {
  const setup = program.command('setup').description('install optional parts: the TensorFlow backends');
  setup
    .command('tensorflow')
    .description('get TensorFlow (pip, pinned) into the cache and build @tensorflow/tfjs-node against it; a no-op when done')
    .option('--gpu', 'the GPU wheel with its CUDA 12 / cuDNN 9 wheels, for @tensorflow/tfjs-node-gpu')
    .option('--force', 're-install the wheel and rebuild the binding')
    .option('--stock', "run tfjs-node's own install script instead (downloads libtensorflow 2.9.1; needs internet)")
    .option('--cache-dir <path>', 'cache folder (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .action(async (options: SetupCommandOptions) => {
      const result = await setupTensorflow({ gpu: options.gpu, force: options.force, stock: options.stock, cacheDir: resolveCacheDir(options.cacheDir) });
      console.log(JSON.stringify(result, null, 2));
    });
}
