/**
 * Seeded epoch orders, mini-batches and stratified subsets.
 */
import { IMAGE_BYTES, type Split } from './cifar10';
import type { Rng } from './random';

/** A uniformly random order of 0..count-1 for one epoch. Draw it from a stream forked per epoch
 * (e.g. `rng.fork(\`epoch-${epoch}\`)`) to make an epoch's order independent of everything else. */
export function epochOrder(count: number, rng: Rng): Uint32Array {
  return rng.permutation(count);
}

/**
 * Splits an order into batches (views, no copies).
 * @param dropLast drop a final batch smaller than `batchSize` (as torch's DataLoader drop_last)
 */
export function batchIndices(order: Uint32Array, batchSize: number, { dropLast = false }: { dropLast?: boolean } = {}): Uint32Array[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  const batches: Uint32Array[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(start + batchSize, order.length);
    if (dropLast && end - start < batchSize) break;
    batches.push(order.subarray(start, end));
  }
  return batches;
}

/**
 * Indices of the first `perClass` images of each class, in data set order: a small balanced
 * subset that is the same on every run.
 * @param labels [N]
 */
export function stratifiedIndices(labels: Uint8Array, perClass: number, numClasses: number): Uint32Array {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`stratifiedIndices: perClass must be a positive integer, got ${perClass}`);
  const taken = new Array<number>(numClasses).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label >= numClasses) throw new Error(`stratifiedIndices: label ${label} at index ${i} is out of range 0..${numClasses - 1}`);
    if (taken[label] < perClass) {
      taken[label]++;
      picked.push(i);
    }
  }
  const short = taken.map((count, label) => ({ count, label })).filter(({ count }) => count < perClass);
  if (short.length > 0) {
    throw new Error(`stratifiedIndices: asked for ${perClass} per class, but class ${short.map(({ label, count }) => `${label} has ${count}`).join(', ')}`);
  }
  return Uint32Array.from(picked);
}

/** A new split holding the images at `indices`, in that order (copied). */
export function subsetSplit(split: Split, indices: ArrayLike<number>): Split {
  const images = new Uint8Array(indices.length * IMAGE_BYTES);
  const labels = new Uint8Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const index = indices[b];
    if (!(index >= 0 && index < split.count)) throw new Error(`subsetSplit: index ${index} out of range 0..${split.count - 1}`);
    images.set(split.images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES), b * IMAGE_BYTES);
    labels[b] = split.labels[index];
  }
  return { images, labels, count: indices.length };
}
