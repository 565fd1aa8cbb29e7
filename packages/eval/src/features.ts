/**
 * Frozen-encoder features for the linear probe and kNN: the CLS token after the final LayerNorm of
 * the un-masked encoder (MAE's linear probe, models_vit.py with global_pool=False), or the mean of
 * the patch tokens. Extracted once per split and cached in the run folder as safetensors (features
 * [N, D] + labels [N]), keyed by the checkpoint and data fingerprint, because a probe trains for
 * tens of epochs on features that never change.
 */
import { existsSync } from 'node:fs';
import { normalizeImages, type ChannelStats, type Split } from '@bmae/data';
import { forwardFeatures, readSafetensors, writeSafetensors, type EncoderConfig, type Params } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';

export type FeaturePool = 'cls' | 'mean';

export interface FeatureSet {
  /** [N, D] */
  features: Float32Array;
  labels: Uint8Array;
  count: number;
  width: number;
}

/**
 * @param split uint8 images [N, 32, 32, 3] and labels
 * @param onProgress called with images done
 */
export function extractFeatures(
  params: Params,
  encoder: EncoderConfig,
  split: Split,
  stats: ChannelStats,
  { batchSize = 256, pool = 'cls' as FeaturePool, onProgress }: { batchSize?: number; pool?: FeaturePool; onProgress?: (done: number) => void } = {},
): FeatureSet {
  const width = encoder.width;
  const features = new Float32Array(split.count * width);
  for (let start = 0; start < split.count; start += batchSize) {
    const rows = Math.min(batchSize, split.count - start);
    const indices = Array.from({ length: rows }, (_, i) => start + i);
    const pixels = normalizeImages(split.images, stats, indices);
    const pooled = tf.tidy(() => {
      const tokens = forwardFeatures(params, encoder, tf.tensor4d(pixels, [rows, encoder.imageSize, encoder.imageSize, encoder.channels]));
      return pool === 'cls' ? tf.reshape(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [rows, width]) : tf.mean(tf.slice(tokens, [0, 1, 0], [-1, -1, -1]), 1);
    });
    features.set(pooled.dataSync(), start * width);
    pooled.dispose();
    onProgress?.(start + rows);
  }
  return { features, labels: split.labels, count: split.count, width };
}

const CACHE_KEY = 'bmae.features';

/** Writes a feature set with a key (what it was computed from) that `readCachedFeatures` checks. */
export async function writeCachedFeatures(path: string, set: FeatureSet, key: string): Promise<void> {
  await writeSafetensors(
    path,
    new Map([
      ['features', { shape: [set.count, set.width], data: set.features }],
      ['labels', { shape: [set.count], data: Float32Array.from(set.labels) }],
    ]),
    { [CACHE_KEY]: key },
  );
}

/** The cached set when `path` exists and was computed for `key`, else null. */
export async function readCachedFeatures(path: string, key: string): Promise<FeatureSet | null> {
  if (!existsSync(path)) return null;
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata[CACHE_KEY] !== key) return null;
  const features = tensors.get('features');
  const labels = tensors.get('labels');
  if (!features || !labels || features.shape.length !== 2) throw new Error(`${path}: not a bmae feature cache (needs features [N, D] and labels [N])`);
  return { features: features.data, labels: Uint8Array.from(labels.data), count: features.shape[0], width: features.shape[1] };
}
