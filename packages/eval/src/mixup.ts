/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a whole batch with label smoothing, as
 * timm's Mixup in 'batch' mode used by MAE fine-tuning (mixup 0.8, cutmix 1.0, switch prob 0.5,
 * label smoothing 0.1): one lambda per batch, each image mixed with the batch in reverse order;
 * CutMix's lambda is corrected to the pasted box's true area. Lambdas come from an `Rng`.
 */
import type { Rng } from '@bmae/data';

export interface MixupOptions {
  /** Beta(alpha, alpha) for mixup; 0 disables it */
  mixupAlpha: number;
  /** Beta(alpha, alpha) for cutmix; 0 disables it */
  cutmixAlpha: number;
  /** probability that a batch is mixed at all */
  prob?: number;
  /** probability of cutmix when both are enabled */
  switchProb?: number;
  labelSmoothing: number;
  numClasses: number;
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via Gamma(shape + 1) * U^(1/shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new Error(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

/** Smoothed one-hot targets: 1 - s + s / C on the label, s / C elsewhere. @returns [N, C] */
export function smoothOneHot(labels: ArrayLike<number>, numClasses: number, smoothing: number): Float32Array {
  const off = smoothing / numClasses;
  const out = new Float32Array(labels.length * numClasses).fill(off);
  for (let i = 0; i < labels.length; i++) out[i * numClasses + labels[i]] = 1 - smoothing + off;
  return out;
}

/** timm rand_bbox: a box of side ratio sqrt(1 - lambda) centred uniformly, clipped to the image. */
function cutBox(rng: Rng, height: number, width: number, lambda: number) {
  const ratio = Math.sqrt(1 - lambda);
  const cutH = Math.floor(height * ratio);
  const cutW = Math.floor(width * ratio);
  const cy = rng.int(height);
  const cx = rng.int(width);
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  return { y0: clip(cy - Math.floor(cutH / 2), height), y1: clip(cy + Math.floor(cutH / 2), height), x0: clip(cx - Math.floor(cutW / 2), width), x1: clip(cx + Math.floor(cutW / 2), width) };
}

/**
 * Mixes a batch in place and returns its soft targets.
 * @param pixels [N, H, W, 3] normalised images (modified)
 * @returns targets [N, numClasses] and the lambda used (1 = not mixed)
 */
export function mixBatch(
  pixels: Float32Array,
  labels: Uint8Array,
  dims: { count: number; height: number; width: number },
  rng: Rng,
  { mixupAlpha, cutmixAlpha, prob = 1, switchProb = 0.5, labelSmoothing, numClasses }: MixupOptions,
): { targets: Float32Array; lambda: number; kind: 'none' | 'mixup' | 'cutmix' } {
  const { count, height, width } = dims;
  const single = smoothOneHot(labels, numClasses, labelSmoothing);
  let kind: 'none' | 'mixup' | 'cutmix' = 'none';
  let lambda = 1;
  if ((mixupAlpha > 0 || cutmixAlpha > 0) && rng.uniform() < prob) {
    const useCutmix = mixupAlpha > 0 && cutmixAlpha > 0 ? rng.uniform() < switchProb : cutmixAlpha > 0;
    kind = useCutmix ? 'cutmix' : 'mixup';
    lambda = sampleBeta(rng, useCutmix ? cutmixAlpha : mixupAlpha, useCutmix ? cutmixAlpha : mixupAlpha);
  }
  const imageSize = height * width * 3;
  if (kind === 'mixup') {
    const source = pixels.slice();
    for (let n = 0; n < count; n++) {
      const a = n * imageSize;
      const b = (count - 1 - n) * imageSize;
      for (let i = 0; i < imageSize; i++) pixels[a + i] = lambda * source[a + i] + (1 - lambda) * source[b + i];
    }
  } else if (kind === 'cutmix') {
    const box = cutBox(rng, height, width, lambda);
    const source = pixels.slice();
    for (let n = 0; n < count; n++) {
      const a = n * imageSize;
      const b = (count - 1 - n) * imageSize;
      for (let y = box.y0; y < box.y1; y++) {
        const row = (y * width + box.x0) * 3;
        pixels.set(source.subarray(b + row, b + row + (box.x1 - box.x0) * 3), a + row);
      }
    }
    lambda = 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (height * width);
  }
  if (kind === 'none') return { targets: single, lambda, kind };
  const targets = new Float32Array(count * numClasses);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < numClasses; c++) {
      targets[n * numClasses + c] = lambda * single[n * numClasses + c] + (1 - lambda) * single[(count - 1 - n) * numClasses + c];
    }
  }
  return { targets, lambda, kind };
}
