/**
 * Batch augmentations over typed arrays, seeded by an `Rng`. Image batches are NHWC float32.
 *
 * RandomResizedCrop follows torchvision's `RandomResizedCrop.get_params` (torchvision/transforms/
 * transforms.py): up to 10 tries of area ~ U(scale) x image area and log aspect ratio ~ U(log ratio),
 * w = round(sqrt(area * ratio)), h = round(sqrt(area / ratio)) (Python's round: half to even), kept
 * when it fits, at a uniform position; otherwise a center crop clamped to the ratio range. The crop
 * is resized with bilinear sampling at pixel centers (src = (dst + 0.5) * crop / size - 0.5, clamped to
 * the crop), which is what PIL's bilinear filter does when enlarging, and crops are never larger
 * than the image. MAE pre-trains with RandomResizedCrop(scale=(0.2, 1.0)) + RandomHorizontalFlip
 * (He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners", main_pretrain.py).
 *
 * The seam for later augmentations (mixup/cutmix, RandAugment): a pipeline is a `BatchSampler`
 * (stored uint8 images + indices -> a float batch: `gatherBatch`, or the fused `pretrainSampler`)
 * followed by `BatchTransform`s, functions from a batch and an `Rng` to a batch, chained with
 * `composeTransforms`; all draw from one stream in order, so a pipeline is reproducible from one seed.
 */
import { IMAGE_BYTES, IMAGE_CHANNELS, IMAGE_HEIGHT, IMAGE_WIDTH, type Split } from './cifar10';
import type { ChannelStats } from './normalization';
import type { Rng } from './random';

/** A batch of images being augmented. Transforms may return a new batch or modify `pixels` in place. */
export interface ImageBatch {
  /** [count, height, width, 3] NHWC float32: [0, 1] pixel scale until `normalizeBatch`. */
  pixels: Float32Array;
  count: number;
  height: number;
  width: number;
  /** [count] class indices. (Mixup/cutmix will add soft targets beside these.) */
  labels: Uint8Array;
}

export type BatchTransform = (batch: ImageBatch, rng: Rng) => ImageBatch;

/** Applies transforms left to right, all drawing from the one `rng`. */
export function composeTransforms(...transforms: BatchTransform[]): BatchTransform {
  return (batch, rng) => transforms.reduce((current, transform) => transform(current, rng), batch);
}

/**
 * Takes images of a split into a [0, 1] float batch.
 * @param indices images to take, in this order
 */
export function gatherBatch(split: Split, indices: ArrayLike<number>): ImageBatch {
  // Locals, not imported bindings, in hot loops: transpiled CommonJS reads imports through getters.
  const imageBytes = IMAGE_BYTES;
  const images = split.images;
  const pixels = new Float32Array(indices.length * imageBytes);
  const labels = new Uint8Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const index = indices[b];
    if (!(index >= 0 && index < split.count)) throw new Error(`gatherBatch: index ${index} out of range 0..${split.count - 1}`);
    labels[b] = split.labels[index];
    const src = index * imageBytes;
    const dst = b * imageBytes;
    for (let i = 0; i < imageBytes; i++) pixels[dst + i] = images[src + i] * (1 / 255);
  }
  return { pixels, count: indices.length, height: IMAGE_HEIGHT, width: IMAGE_WIDTH, labels };
}

/** A crop box in pixels: rows top..top+height-1, columns left..left+width-1. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * torchvision's RandomResizedCrop.get_params.
 * @param scale range of the crop area as a fraction of the image area
 * @param ratio range of the crop aspect ratio (width / height)
 */
export function sampleCropBox(
  rng: Rng, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number],
): CropBox {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniformIn(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniformIn(logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  // Fallback: the largest center crop whose ratio is within range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = roundHalfEven(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Bilinear taps for resizing `cropSize` source pixels starting at `start` to `outSize` pixels.
 * Writes element offsets (index * stride) of the two taps and the weight of the second.
 */
function bilinearTaps(start: number, cropSize: number, outSize: number, stride: number, first: Int32Array, second: Int32Array, weight: Float32Array): void {
  const step = cropSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.min(Math.max((o + 0.5) * step - 0.5, 0), cropSize - 1);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, cropSize - 1);
    first[o] = (start + i0) * stride;
    second[o] = (start + i1) * stride;
    weight[o] = src - i0;
  }
}

interface Taps {
  rowFirst: Int32Array; rowSecond: Int32Array; rowWeight: Float32Array;
  colFirst: Int32Array; colSecond: Int32Array; colWeight: Float32Array;
}
const makeTaps = (height: number, width: number): Taps => ({
  rowFirst: new Int32Array(height), rowSecond: new Int32Array(height), rowWeight: new Float32Array(height),
  colFirst: new Int32Array(width), colSecond: new Int32Array(width), colWeight: new Float32Array(width),
});

/**
 * Crop + optional flip + per-channel affine (v * k[c] + d[c]) of one image in one pass. The flip
 * reverses the column taps; the affine commutes with bilinear weights that sum to 1.
 * @param src [N, 32, 32, 3] float32 (one element type only: a polymorphic read here halves the speed)
 */
function cropFlipAffine(
  src: Float32Array, srcBase: number, height: number, width: number, box: CropBox, flip: boolean,
  out: Float32Array, outBase: number, k: readonly number[], d: readonly number[], taps: Taps,
): void {
  const { rowFirst, rowSecond, rowWeight, colFirst, colSecond, colWeight } = taps;
  bilinearTaps(box.top, box.height, height, width * 3, rowFirst, rowSecond, rowWeight);
  bilinearTaps(box.left, box.width, width, 3, colFirst, colSecond, colWeight);
  if (flip) {
    colFirst.reverse();
    colSecond.reverse();
    colWeight.reverse();
  }
  const [k0, k1, k2] = k;
  const [d0, d1, d2] = d;
  let o = outBase;
  for (let y = 0; y < height; y++) {
    const r0 = srcBase + rowFirst[y];
    const r1 = srcBase + rowSecond[y];
    const wy = rowWeight[y];
    for (let x = 0; x < width; x++) {
      const wx = colWeight[x];
      // The three channels written out: a channel loop here costs about a third of the speed.
      const a = r0 + colFirst[x], b = r0 + colSecond[x], c = r1 + colFirst[x], e = r1 + colSecond[x];
      let top = src[a] + (src[b] - src[a]) * wx;
      let bottom = src[c] + (src[e] - src[c]) * wx;
      out[o] = (top + (bottom - top) * wy) * k0 + d0;
      top = src[a + 1] + (src[b + 1] - src[a + 1]) * wx;
      bottom = src[c + 1] + (src[e + 1] - src[c + 1]) * wx;
      out[o + 1] = (top + (bottom - top) * wy) * k1 + d1;
      top = src[a + 2] + (src[b + 2] - src[a + 2]) * wx;
      bottom = src[c + 2] + (src[e + 2] - src[c + 2]) * wx;
      out[o + 2] = (top + (bottom - top) * wy) * k2 + d2;
      o += 3;
    }
  }
}

export interface RandomResizedCropOptions {
  /** Area fraction range; MAE pre-training uses (0.2, 1.0). */
  scale?: readonly [number, number];
  /** Aspect ratio (width / height) range. */
  ratio?: readonly [number, number];
}

/** RandomResizedCrop back to the batch's own size (32x32 for CIFAR-10): a new batch. Draws all
 * crop boxes of the batch first, then computes them. */
export function randomResizedCrop({ scale = [0.2, 1], ratio = [3 / 4, 4 / 3] }: RandomResizedCropOptions = {}): BatchTransform {
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1)) throw new Error(`randomResizedCrop: scale must satisfy 0 < min <= max <= 1, got [${scale}]`);
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new Error(`randomResizedCrop: ratio must satisfy 0 < min <= max, got [${ratio}]`);
  const identity = [1, 1, 1], zero = [0, 0, 0];
  return (batch, rng) => {
    const { height, width, count } = batch;
    const imageSize = height * width * IMAGE_CHANNELS;
    const boxes = Array.from({ length: count }, () => sampleCropBox(rng, height, width, scale, ratio));
    const out = new Float32Array(batch.pixels.length);
    const taps = makeTaps(height, width); // reused for every image: no allocation per image or pixel
    for (let n = 0; n < count; n++) cropFlipAffine(batch.pixels, n * imageSize, height, width, boxes[n], false, out, n * imageSize, identity, zero, taps);
    return { ...batch, pixels: out };
  };
}

/** Mirrors image `n` left-right, in place. */
export function flipImage(batch: ImageBatch, n: number): void {
  const { pixels, height, width } = batch;
  const rowLength = width * 3;
  for (let y = 0; y < height; y++) {
    const row = (n * height + y) * rowLength;
    for (let x = 0; x < width >> 1; x++) {
      const a = row + x * 3;
      const b = row + (width - 1 - x) * 3;
      let t = pixels[a];
      pixels[a] = pixels[b];
      pixels[b] = t;
      t = pixels[a + 1];
      pixels[a + 1] = pixels[b + 1];
      pixels[b + 1] = t;
      t = pixels[a + 2];
      pixels[a + 2] = pixels[b + 2];
      pixels[b + 2] = t;
    }
  }
}

/** Flips each image left-right with probability `p` (one draw per image), in place. */
export function randomHorizontalFlip(p = 0.5): BatchTransform {
  return (batch, rng) => {
    for (let n = 0; n < batch.count; n++) if (rng.uniform() < p) flipImage(batch, n);
    return batch;
  };
}

/** (x - mean[c]) / std[c] in place: [0, 1] pixels -> normalised network input. Draws nothing. */
export function normalizeBatch({ mean, std }: ChannelStats): BatchTransform {
  // Scalars, not arrays, in the loop.
  const [m0, m1, m2] = mean;
  const [s0, s1, s2] = std.map((s) => 1 / s);
  return (batch) => {
    const { pixels } = batch;
    for (let i = 0; i < pixels.length; i += 3) {
      pixels[i] = (pixels[i] - m0) * s0;
      pixels[i + 1] = (pixels[i + 1] - m1) * s1;
      pixels[i + 2] = (pixels[i + 2] - m2) * s2;
    }
    return batch;
  };
}

/** Makes a batch from stored images: the first stage of a pipeline, before any `BatchTransform`. */
export type BatchSampler = (split: Split, indices: ArrayLike<number>, rng: Rng) => ImageBatch;

/** All crop boxes of a batch, then all flips: the draw order of crop-then-flip transforms. */
function drawCropsAndFlips(rng: Rng, count: number, scale: readonly [number, number], ratio: readonly [number, number]) {
  const boxes = Array.from({ length: count }, () => sampleCropBox(rng, IMAGE_HEIGHT, IMAGE_WIDTH, scale, ratio));
  const flips = Array.from({ length: count }, () => rng.uniform() < 0.5);
  return { boxes, flips };
}

/**
 * MAE's pre-training augmentation as one transform of a [0, 1] batch (from `gatherBatch`):
 * RandomResizedCrop(32, scale (0.2, 1)) -> horizontal flip (p 0.5) -> normalise, fused into one pass.
 * Draws exactly what `composeTransforms(randomResizedCrop(crop), randomHorizontalFlip(0.5),
 * normalizeBatch(stats))` draws and returns the same values up to float rounding.
 * For CIFAR-10's 32x32 images.
 * @returns a new batch, [B, 32, 32, 3] normalised float32
 */
export function pretrainAugmentation(stats: ChannelStats, crop: RandomResizedCropOptions = {}): BatchTransform {
  const { scale = [0.2, 1], ratio = [3 / 4, 4 / 3] } = crop;
  randomResizedCrop(crop); // validates the ranges
  const k = stats.std.map((s) => 1 / s);
  const d = stats.mean.map((m, c) => -m / stats.std[c]);
  const taps = makeTaps(IMAGE_HEIGHT, IMAGE_WIDTH);
  return (batch, rng) => {
    if (batch.height !== IMAGE_HEIGHT || batch.width !== IMAGE_WIDTH) {
      throw new Error(`pretrainAugmentation: expected ${IMAGE_HEIGHT}x${IMAGE_WIDTH} images, got ${batch.height}x${batch.width}`);
    }
    const { boxes, flips } = drawCropsAndFlips(rng, batch.count, scale, ratio);
    const pixels = new Float32Array(batch.pixels.length);
    for (let n = 0; n < batch.count; n++) cropFlipAffine(batch.pixels, n * IMAGE_BYTES, IMAGE_HEIGHT, IMAGE_WIDTH, boxes[n], flips[n], pixels, n * IMAGE_BYTES, k, d, taps);
    return { ...batch, pixels };
  };
}

/**
 * The same augmentation straight from the stored uint8 images, skipping `gatherBatch`'s float copy:
 * `pretrainSampler(stats)(split, indices, rng)` equals `pretrainAugmentation(stats)(gatherBatch(split,
 * indices), rng)` up to float rounding, with the same draws, and is the fastest path.
 * @returns batch of [B, 32, 32, 3] normalised float32
 */
export function pretrainSampler(stats: ChannelStats, crop: RandomResizedCropOptions = {}): BatchSampler {
  const { scale = [0.2, 1], ratio = [3 / 4, 4 / 3] } = crop;
  randomResizedCrop(crop); // validates the ranges
  // uint8 v -> (v / 255 - mean) / std = v * k[c] + d[c]
  const k = stats.std.map((s) => 1 / (255 * s));
  const d = stats.mean.map((m, c) => -m / stats.std[c]);
  const taps = makeTaps(IMAGE_HEIGHT, IMAGE_WIDTH);
  const imageBytes = IMAGE_BYTES;
  const scratch = new Float32Array(imageBytes); // one image as 0..255 floats, reused
  return (split, indices, rng) => {
    const images = split.images;
    const count = indices.length;
    const { boxes, flips } = drawCropsAndFlips(rng, count, scale, ratio);
    const pixels = new Float32Array(count * imageBytes);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const index = indices[n];
      if (!(index >= 0 && index < split.count)) throw new Error(`pretrainSampler: index ${index} out of range 0..${split.count - 1}`);
      labels[n] = split.labels[index];
      const base = index * imageBytes;
      for (let i = 0; i < imageBytes; i++) scratch[i] = images[base + i];
      cropFlipAffine(scratch, 0, IMAGE_HEIGHT, IMAGE_WIDTH, boxes[n], flips[n], pixels, n * imageBytes, k, d, taps);
    }
    return { pixels, count, height: IMAGE_HEIGHT, width: IMAGE_WIDTH, labels };
  };
}
