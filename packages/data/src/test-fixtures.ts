/**
 * Tiny CIFAR-10-shaped fixtures for the tests: random images written in every source format.
 * Not exported from the package.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { create } from 'tar';
import { CIFAR10_CLASS_NAMES, IMAGE_BYTES, type Split } from './cifar10';
import { encodeBinaryRecords } from './binary-format';
import { Rng } from './random';

const created: string[] = [];

/** A new empty folder under the OS temp folder; `removeTemporaryFolders` deletes them all. */
export function temporaryFolder(label: string): string {
  const path = mkdtempSync(join(tmpdir(), `bmae-data-${label}-`));
  created.push(path);
  return path;
}

export function removeTemporaryFolders(): void {
  for (const path of created.splice(0)) rmSync(path, { recursive: true, force: true });
}

/** `count` random images, labels cycling through the 10 classes. */
export function randomSplit(count: number, seed: number): Split {
  const rng = Rng.fromSeed(seed);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count };
}

export function imageAt(split: Split, index: number): Uint8Array {
  return split.images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES);
}

/**
 * Writes <root>/cifar-10-batches-bin/ in the official format: 5 training batches of `perBatch`
 * images each and a test batch of `testCount`.
 */
export function writeBinaryFolder(root: string, { perBatch = 4, testCount = 10 } = {}): { train: Split; test: Split; folder: string } {
  const train = randomSplit(5 * perBatch, 1);
  const test = randomSplit(testCount, 2);
  const folder = join(root, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  for (let k = 0; k < 5; k++) {
    const slice = (a: Uint8Array, size: number) => a.subarray(k * perBatch * size, (k + 1) * perBatch * size);
    writeFileSync(join(folder, `data_batch_${k + 1}.bin`), encodeBinaryRecords(slice(train.images, IMAGE_BYTES), slice(train.labels, 1)));
  }
  writeFileSync(join(folder, 'test_batch.bin'), encodeBinaryRecords(test.images, test.labels));
  writeFileSync(join(folder, 'batches.meta.txt'), `${CIFAR10_CLASS_NAMES.join('\n')}\n\n`);
  writeFileSync(join(folder, 'readme.html'), '<html></html>');
  return { train, test, folder };
}

/** A .tar or .tar.gz of `entries` (paths relative to `cwd`). */
export async function writeTar(cwd: string, entries: string[], file: string): Promise<string> {
  await create({ gzip: file.endsWith('gz'), file, cwd, portable: true }, entries);
  return file;
}

/** Writes one raw RGB image as a PNG (lossless, so pixels round-trip exactly). */
export async function writePng(path: string, pixels: Uint8Array, width = 32, height = 32, channels: 1 | 3 | 4 = 3): Promise<void> {
  await sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toFile(path);
}

/**
 * Writes <root>/<split>/<class>/<NNNN>.png for the given classes: `perClass[split]` images per class.
 * Returns the splits in the order the loader must produce (class by class, files sorted).
 */
export async function writeImageFolder(
  root: string, classNames: readonly string[], perClass: { train: number; test: number },
): Promise<{ train: Split; test: Split }> {
  const result = {} as { train: Split; test: Split };
  for (const [s, split] of (['train', 'test'] as const).entries()) {
    const count = classNames.length * perClass[split];
    const data = randomSplit(count, 10 + s);
    let index = 0;
    for (let label = 0; label < classNames.length; label++) {
      mkdirSync(join(root, split, classNames[label]), { recursive: true });
      for (let k = 0; k < perClass[split]; k++) {
        data.labels[index] = label;
        await writePng(join(root, split, classNames[label], `${String(k).padStart(4, '0')}.png`), imageAt(data, index));
        index++;
      }
    }
    result[split] = data;
  }
  return result;
}
