/**
 * What a decoded CIFAR-10 data set is, independent of where it came from.
 *
 * CIFAR-10 (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images"): 60,000 32x32
 * RGB images in 10 classes, 50,000 for training and 10,000 for test.
 */

/** Class names in CIFAR-10 label order (label = index), as in the official batches.meta.txt. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

export const IMAGE_HEIGHT = 32;
export const IMAGE_WIDTH = 32;
export const IMAGE_CHANNELS = 3;
/** Bytes of one stored image: [32, 32, 3] uint8. */
export const IMAGE_BYTES = IMAGE_HEIGHT * IMAGE_WIDTH * IMAGE_CHANNELS;

/** The two splits every source must provide. */
export type SplitName = 'train' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'test'];

/** One split of decoded images. `images` and `labels` may be views into one larger buffer. */
export interface Split {
  /** [count, 32, 32, 3] NHWC, uint8 RGB. */
  images: Uint8Array;
  /** [count], class index into `classNames`. */
  labels: Uint8Array;
  count: number;
}

/** A data set as decoded from a source, before caching and statistics. */
export interface DecodedDataset {
  classNames: string[];
  train: Split;
  test: Split;
}

/** Images per class, in `classNames` order: [numClasses]. */
export function countPerClass(labels: Uint8Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/**
 * Class order for a set of class-folder names: CIFAR-10 label order when the names are exactly the
 * CIFAR-10 classes (so labels agree with the official files), otherwise sorted.
 */
export function orderClassNames(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  const isCifar10 = unique.length === CIFAR10_CLASS_NAMES.length && CIFAR10_CLASS_NAMES.every((name) => unique.includes(name));
  return isCifar10 ? [...CIFAR10_CLASS_NAMES] : unique.sort(compareCodeUnits);
}

/** Locale-independent string order (the same on every machine), for file and class names. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
