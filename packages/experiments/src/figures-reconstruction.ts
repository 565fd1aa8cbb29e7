/**
 * The pixel MAE's reconstruction grid, as in MAE's visualisation demo (He et al. 2022, Fig. 2):
 * for one test image per class, rows are the original, the masked input (removed patches grey) and
 * the reconstruction with the visible patches pasted back. With norm_pix_loss the model predicts
 * per-patch normalised pixels, so each predicted patch is mapped back with the mean and variance of
 * the true patch (what the demo does). Built with sharp directly: no plotting library needed.
 */
import { loadCifar10, normalizeImages, Rng, stratifiedIndices } from '@bmae/data';
import { assignCheckpoint, createMaeParams, disposeParams, forwardMae, patchify, PIXELS_HEAD, randomMasking, readCheckpoint, selectBackend, unpatchify } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { finalCheckpointPath } from './stage';

const SCALE = 3;
const GAP = 4;

/**
 * @param images [N, H, W, 3] RGB in [0, 1], rows of `columns` images each
 * @returns PNG-ready raw RGB [height, width, 3] with a white background, each image upscaled SCALE x (nearest)
 */
export function composeGrid(images: Float32Array, count: number, side: number, columns: number): { raw: Uint8Array; width: number; height: number } {
  const rows = Math.ceil(count / columns);
  const cell = side * SCALE;
  const width = columns * cell + (columns + 1) * GAP;
  const height = rows * cell + (rows + 1) * GAP;
  const raw = new Uint8Array(width * height * 3).fill(255);
  for (let n = 0; n < count; n++) {
    const x0 = GAP + (n % columns) * (cell + GAP);
    const y0 = GAP + Math.floor(n / columns) * (cell + GAP);
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const src = ((n * side + Math.floor(y / SCALE)) * side + Math.floor(x / SCALE)) * 3;
        const dst = ((y0 + y) * width + x0 + x) * 3;
        for (let c = 0; c < 3; c++) raw[dst + c] = Math.round(Math.min(1, Math.max(0, images[src + c])) * 255);
      }
    }
  }
  return { raw, width, height };
}

/**
 * The data source a pre-training run read, from its config.json ("<path> (<format>)"), when that
 * path still exists; else undefined (loadCifar10 then uses env BMAE_DATA).
 */
function recordedSource(runDir: string): string | undefined {
  try {
    const { data } = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { data?: { source?: string } };
    const path = data?.source?.replace(/ \([^()]*\)$/, '');
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the grid for the final checkpoint of a pre-training run folder (seed-0 of the mae experiment).
 * The test images (one per class) come from env BMAE_DATA, else from the source the run was trained on.
 */
export async function renderReconstructionGrid(runDir: string, file: string): Promise<void> {
  const checkpoint = await readCheckpoint(finalCheckpointPath(runDir));
  const { config, normalization } = checkpoint.info;
  if (!(PIXELS_HEAD in config.heads)) throw new Error(`${runDir}: the model has no pixel head`);
  await selectBackend({ log: () => {} });
  const data = await loadCifar10({ source: process.env.BMAE_DATA || recordedSource(runDir) });
  const indices = stratifiedIndices(data.test.labels, 1, data.classNames.length);
  const n = indices.length;
  const { imageSize: side, patchSize, channels } = config.encoder;
  const params = createMaeParams(config, Rng.fromSeed(0));
  try {
    assignCheckpoint(checkpoint, params);
    const pixels = normalizeImages(data.test.images, normalization, indices);
    const masking = randomMasking(Rng.fromSeed(0).fork('reconstruction-figure'), n, (side / patchSize) ** 2, config.maskRatio);
    const grid = tf.tidy(() => {
      const imgs = tf.tensor4d(pixels, [n, side, side, channels]);
      const { predictions, mask } = forwardMae(params, config, imgs, masking);
      const target = patchify(imgs, patchSize); // [N, L, P*P*3]
      let pred = predictions.get(PIXELS_HEAD)!; // [N, L, P*P*3]
      if (config.normPixLoss) {
        const { mean, variance } = tf.moments(target, -1, true);
        pred = tf.add(tf.mul(pred, tf.sqrt(tf.add(variance, 1e-6))), mean);
      }
      const removed = tf.expandDims(mask, -1); // [N, L, 1], 1 = removed
      const std = tf.tensor1d(normalization.std);
      const mean = tf.tensor1d(normalization.mean);
      const toRgb = (patches: tf.Tensor3D) => tf.add(tf.mul(unpatchify(patches, patchSize, channels), std), mean); // [N, H, W, 3] in [0, 1]
      const original = toRgb(target);
      const grey = tf.tile(tf.div(tf.sub(tf.fill([channels], 0.5), mean), std), [patchSize * patchSize]); // [P*P*3], channel fastest as patchify
      const masked = toRgb(tf.add(tf.mul(target, tf.sub(1, removed)), tf.mul(removed, grey)) as tf.Tensor3D);
      const reconstruction = toRgb(tf.add(tf.mul(target, tf.sub(1, removed)), tf.mul(pred, removed)) as tf.Tensor3D);
      return tf.concat([original, masked, reconstruction], 0); // rows: original, masked, reconstruction
    });
    const values = grid.dataSync() as Float32Array;
    grid.dispose();
    const { raw, width, height } = composeGrid(values, 3 * n, side, n);
    const temp = `${file}.${process.pid}.tmp.png`;
    await sharp(Buffer.from(raw), { raw: { width, height, channels: 3 } }).png().toFile(temp);
    renameSync(temp, file);
  } finally {
    disposeParams(params);
  }
}
