/**
 * `bmae embed`: CLS features of a checkpoint's un-masked encoder (the token after the final LayerNorm, as a
 * linear probe or kNN on MAE features uses it) for the images of one split, written as float32 [N, width]
 * .npy in the source's image order. Works on bmae checkpoints and on PyTorch MAE checkpoints (--preset).
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { loadCifar10, normalizeImages, Rng, type SplitName } from '@bmae/data';
import {
  assignCheckpoint,
  createEncoderParams,
  disposeParams,
  forwardFeatures,
  readCheckpoint,
  parseBackendName,
  selectBackend,
  type Normalization,
} from '@bmae/vit-model';
import { checkOutputPath, parseInteger, parseRgb } from '../cli-options';
import { writeNpy } from '../npy';

export interface EmbedOptions {
  checkpoint: string;
  preset?: string;
  source?: string;
  split: string;
  limit?: string;
  mean?: string;
  std?: string;
  batch: string;
  backend?: string;
  cacheDir?: string;
  out: string;
}

/** What `embed` computed, for callers and tests. */
export interface EmbedResult {
  out: string;
  count: number;
  width: number;
  normalization: Normalization;
  seconds: number;
}

export async function runEmbed(options: EmbedOptions, log: (line: string) => void = (line) => console.error(line)): Promise<EmbedResult> {
  // Check every value the user typed before reading data or building the model.
  if (options.split !== 'train' && options.split !== 'test') throw new Error(`--split ${options.split}: choose train or test`);
  const split: SplitName = options.split;
  const limit = options.limit === undefined ? Infinity : parseInteger(options.limit, '--limit', 1);
  const batchSize = parseInteger(options.batch, '--batch', 1);
  const mean = options.mean === undefined ? undefined : parseRgb(options.mean, '--mean');
  const std = options.std === undefined ? undefined : parseRgb(options.std, '--std', true);
  const out = checkOutputPath(options.out, '.npy');
  if (options.backend !== undefined) parseBackendName(options.backend, '--backend');

  const checkpoint = await readCheckpoint(options.checkpoint, { preset: options.preset });
  const { config, preset } = checkpoint.info;
  if (checkpoint.configFromFile && options.preset !== undefined && options.preset !== preset) {
    log(`note: ignoring --preset ${options.preset}: ${options.checkpoint} names its own config (preset ${preset ?? 'custom'})`);
  }
  const normalization: Normalization = { mean: mean ?? checkpoint.info.normalization.mean, std: std ?? checkpoint.info.normalization.std };

  const backend = await selectBackend({ name: options.backend, log });
  // The initial values are overwritten by the checkpoint; the seed only makes the (unused) draw reproducible.
  const params = createEncoderParams(config.encoder, Rng.fromSeed(0));
  try {
    const report = assignCheckpoint(checkpoint, params, { encoderOnly: true });
    log(`loaded ${report.loaded.length} encoder tensors from ${options.checkpoint} (${report.ignored.length} decoder/head tensors ignored)`);

    const data = await loadCifar10({ source: options.source, cacheDir: options.cacheDir, log });
    const images = data[split];
    const count = Math.min(limit, images.count);
    const width = config.encoder.width;
    const { imageSize, channels } = config.encoder;
    log(
      `embedding ${count} ${split} images of ${data.source} on ${backend.name}, batch ${batchSize}, ` +
        `mean (${normalization.mean.join(', ')}) std (${normalization.std.join(', ')})`,
    );

    const features = new Float32Array(count * width);
    const started = Date.now();
    for (let start = 0; start < count; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
      const pixels = normalizeImages(images.images, normalization, indices);
      const cls = tf.tidy(() => {
        const batch = tf.tensor4d(pixels, [indices.length, imageSize, imageSize, channels]);
        const tokens = forwardFeatures(params, config.encoder, batch); // [B, 1+L, D]
        return tf.squeeze(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [1]); // [B, D]
      });
      features.set(await cls.data(), start * width);
      cls.dispose();
      const done = start + indices.length;
      if (done === count || Math.floor(done / 1000) > Math.floor(start / 1000)) {
        log(`  ${done}/${count} images (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
    }
    await writeNpy(out, features, [count, width]);
    const seconds = (Date.now() - started) / 1000;
    log(`wrote ${out}: float32 [${count}, ${width}] CLS features in ${seconds.toFixed(1)} s`);
    return { out, count, width, normalization, seconds };
  } finally {
    disposeParams(params);
  }
}

export function register(program: Command): void {
  program
    .command('embed')
    .description("write the CLS features of a checkpoint's un-masked encoder for one split as float32 [N, width] .npy")
    .requiredOption('--checkpoint <file>', '.safetensors checkpoint (bmae, or PyTorch MAE with --preset)')
    .option('--preset <name>', 'architecture of a checkpoint without bmae metadata (deit-tiny, small, micro)')
    .option('--source <path>', 'CIFAR-10 source: cifar-10-binary.tar.gz, its folder, an image folder/.tar.gz, or "download" (default: env BMAE_DATA)')
    .option('--split <name>', 'train or test', 'test')
    .option('--limit <n>', 'embed only the first n images of the split')
    .option('--mean <r,g,b>', "per-channel mean in [0, 1] (default: the checkpoint's, else CIFAR-10's)")
    .option('--std <r,g,b>', "per-channel std in [0, 1] (default: the checkpoint's, else CIFAR-10's)")
    .option('--batch <n>', 'images per forward pass', '128')
    .option('--backend <name>', 'tfjs backend (default: env BMAE_BACKEND, else the fastest available)')
    .option('--cache-dir <path>', 'decoded-data cache (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .requiredOption('--out <file>', 'features file to write (.npy)')
    .action(async (options: EmbedOptions) => {
      await runEmbed(options);
    });
}
