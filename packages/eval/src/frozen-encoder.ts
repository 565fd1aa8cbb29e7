/**
 * The encoder an evaluation probes: a pre-training checkpoint's encoder (decoder ignored), or a
 * freshly initialised one for the random-init baseline. Plus the per-split features of that
 * encoder, cached in the evaluation folder so a second probe (or kNN after a probe) reuses them.
 */
import { join } from 'node:path';
import { Rng, type ChannelStats, type Split } from '@bmae/data';
import {
  assignCheckpoint, createEncoderParams, maeConfig, PRESET_NAMES, readCheckpoint,
  type EncoderConfig, type Normalization, type Params, type PresetName,
} from '@bmae/vit-model';
import { extractFeatures, readCachedFeatures, writeCachedFeatures, type FeaturePool, type FeatureSet } from './features';

export interface FrozenEncoder {
  params: Params;
  encoder: EncoderConfig;
  preset: string;
  /** the checkpoint path, or null for a random init */
  checkpoint: string | null;
  /** the checkpoint's normalisation statistics (pre-training data), when it has them */
  normalization: Normalization | null;
}

/**
 * @param checkpoint a .safetensors MAE / ViT checkpoint, or null for a random init of `preset`
 * @param preset architecture for a random init, or for a checkpoint without bmae metadata
 */
export async function loadFrozenEncoder(
  { checkpoint, preset, seed = 0 }: { checkpoint: string | null; preset?: string; seed?: number },
  log: (line: string) => void = () => {},
): Promise<FrozenEncoder> {
  if (checkpoint === null) {
    if (!preset || !(PRESET_NAMES as string[]).includes(preset)) {
      throw new Error(`a random-init encoder needs --preset (one of ${PRESET_NAMES.join(', ')}), got ${preset ?? 'none'}`);
    }
    const { encoder } = maeConfig(preset as PresetName);
    return { params: createEncoderParams(encoder, Rng.fromSeed(seed).fork('init')), encoder, preset, checkpoint: null, normalization: null };
  }
  const file = await readCheckpoint(checkpoint, { preset });
  const { encoder } = file.info.config;
  // Initial values are overwritten by the checkpoint.
  const params = createEncoderParams(encoder, Rng.fromSeed(0));
  const report = assignCheckpoint(file, params, { encoderOnly: true });
  log(`loaded ${report.loaded.length} encoder tensors from ${checkpoint} (${report.ignored.length} others ignored)`);
  return {
    params,
    encoder,
    preset: file.info.preset ?? 'custom',
    checkpoint,
    normalization: file.configFromFile ? file.info.normalization : null,
  };
}

/**
 * Features of `split` from the cache in `dir` when they were computed for the same encoder, data and
 * pooling; else extracted now and cached.
 * @param key identifies the encoder and data (e.g. checkpoint path + mtime + data fingerprint + seed)
 */
export async function cachedFeatures(
  dir: string,
  splitName: string,
  frozen: FrozenEncoder,
  split: Split,
  stats: ChannelStats,
  { key, pool = 'cls', batchSize = 256, log = () => {} }: { key: string; pool?: FeaturePool; batchSize?: number; log?: (line: string) => void },
): Promise<FeatureSet> {
  const file = join(dir, `features-${splitName}-${pool}.safetensors`);
  const fullKey = JSON.stringify({ key, pool, count: split.count, stats });
  const cached = await readCachedFeatures(file, fullKey);
  if (cached) {
    log(`features: ${splitName} from cache ${file}`);
    return cached;
  }
  const started = performance.now();
  let lastReport = 0;
  const set = extractFeatures(frozen.params, frozen.encoder, split, stats, {
    batchSize,
    pool,
    onProgress: (done) => {
      if (done === split.count || performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        log(`features: ${splitName} ${done}/${split.count} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  await writeCachedFeatures(file, set, fullKey);
  return set;
}
