/**
 * Per-channel normalisation, as torchvision's Normalize: x' = (x / 255 - mean[c]) / std[c], with the
 * mean and (population) standard deviation of the TRAINING split in [0, 1] scale. For the official
 * CIFAR-10 training set these are the familiar (0.4914, 0.4822, 0.4465) and (0.2470, 0.2435, 0.2616).
 */
import { IMAGE_BYTES, IMAGE_CHANNELS } from './cifar10';

export type Rgb = [number, number, number];

export interface ChannelStats {
  mean: Rgb;
  std: Rgb;
}

/**
 * Exact per-channel mean and population std over every pixel, in [0, 1] scale. Counts a histogram
 * of byte values per channel first, so the sums are exact whatever the data set size.
 * @param images [N, H, W, 3] uint8
 */
export function computeChannelStats(images: Uint8Array): ChannelStats {
  if (images.length === 0 || images.length % IMAGE_CHANNELS !== 0) {
    throw new Error(`computeChannelStats: ${images.length} bytes is not a non-empty whole number of RGB pixels`);
  }
  const histogram = new Float64Array(IMAGE_CHANNELS * 256);
  for (let i = 0; i < images.length; i += 3) {
    histogram[images[i]]++;
    histogram[256 + images[i + 1]]++;
    histogram[512 + images[i + 2]]++;
  }
  const pixels = images.length / IMAGE_CHANNELS;
  const mean: Rgb = [0, 0, 0];
  const std: Rgb = [0, 0, 0];
  for (let c = 0; c < IMAGE_CHANNELS; c++) {
    let sum = 0;
    let sumSquares = 0;
    for (let v = 0; v < 256; v++) {
      const count = histogram[c * 256 + v];
      sum += count * v;
      sumSquares += count * v * v;
    }
    const m = sum / pixels;
    mean[c] = m / 255;
    std[c] = Math.sqrt(Math.max(0, sumSquares / pixels - m * m)) / 255;
  }
  return { mean, std };
}

/**
 * uint8 -> normalised float, per channel. The scale/offset pair folds /255, -mean and /std into one
 * multiply-add per value.
 * @param images [N, 32, 32, 3] uint8
 * @param indices optional images to take, in this order (a batch); default all
 * @returns [B, 32, 32, 3] float32, B = indices.length or N
 */
export function normalizeImages(images: Uint8Array, stats: ChannelStats, indices?: ArrayLike<number>): Float32Array {
  const imageBytes = IMAGE_BYTES; // a local: transpiled CommonJS reads imports through getters
  const count = images.length / imageBytes;
  const scale = stats.std.map((s) => 1 / (255 * s));
  const offset = stats.mean.map((m, c) => -m / stats.std[c]);
  if (!indices) {
    const out = new Float32Array(images.length);
    for (let i = 0; i < images.length; i += 3) {
      out[i] = images[i] * scale[0] + offset[0];
      out[i + 1] = images[i + 1] * scale[1] + offset[1];
      out[i + 2] = images[i + 2] * scale[2] + offset[2];
    }
    return out;
  }
  const out = new Float32Array(indices.length * imageBytes);
  for (let b = 0; b < indices.length; b++) {
    const index = indices[b];
    if (!(index >= 0 && index < count)) throw new Error(`normalizeImages: index ${index} out of range 0..${count - 1}`);
    const src = index * imageBytes;
    const dst = b * imageBytes;
    for (let i = 0; i < imageBytes; i += 3) {
      out[dst + i] = images[src + i] * scale[0] + offset[0];
      out[dst + i + 1] = images[src + i + 1] * scale[1] + offset[1];
      out[dst + i + 2] = images[src + i + 2] * scale[2] + offset[2];
    }
  }
  return out;
}
