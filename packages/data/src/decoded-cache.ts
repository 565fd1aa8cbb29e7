/**
 * The cache of decoded data sets: one folder per source content hash holding one binary file per
 * split (count x 3,072 image bytes, then count label bytes) and meta.json (class names, counts,
 * statistics, fingerprint, source). meta.json is written last, so a folder without it is ignored;
 * every file is written atomically, and a read checks the arrays against the fingerprint.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_BYTES, SPLIT_NAMES, type DecodedDataset, type Split, type SplitName } from './cifar10';
import type { Rgb } from './normalization';
import { writeFileAtomically, writeJsonAtomically } from './atomic-write';
import { errorMessage } from './error-message';

/** Bumped when the cache layout or decoding changes, so old entries are not reused. */
export const CACHE_FORMAT_VERSION = 1;

export interface CacheMeta {
  version: number;
  /** SHA-256 of the source's content (the cache key). */
  sourceHash: string;
  /** SHA-256 of the decoded data (see `fingerprintDataset`). */
  fingerprint: string;
  /** Human-readable: the path and the recognised format. */
  source: string;
  format: string;
  classNames: string[];
  counts: Record<SplitName, number>;
  mean: Rgb;
  std: Rgb;
  createdAt: string;
}

/** Folder of the cache entry for a source content hash. */
export function cacheEntryPath(cacheDir: string, sourceHash: string): string {
  return join(cacheDir, 'cifar10', `${sourceHash.slice(0, 24)}-v${CACHE_FORMAT_VERSION}`);
}

/**
 * SHA-256 of what a model sees: class names, then per split the count, images and labels. The same
 * pixels give the same fingerprint whichever archive or folder they were read from.
 */
export function fingerprintDataset(dataset: DecodedDataset): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(dataset.classNames));
  for (const name of SPLIT_NAMES) {
    const split = dataset[name];
    hash.update(`\0${name}\0${split.count}\0`);
    hash.update(split.images);
    hash.update(split.labels);
  }
  return hash.digest('hex');
}

export async function writeCacheEntry(folder: string, dataset: DecodedDataset, meta: CacheMeta): Promise<void> {
  for (const name of SPLIT_NAMES) {
    const split = dataset[name];
    const bytes = new Uint8Array(split.count * (IMAGE_BYTES + 1));
    bytes.set(split.images, 0);
    bytes.set(split.labels, split.count * IMAGE_BYTES);
    await writeFileAtomically(join(folder, `${name}.u8`), bytes);
  }
  await writeJsonAtomically(join(folder, 'meta.json'), meta);
}

/**
 * Reads a cache entry, or explains why it cannot be used (missing, other version, damaged).
 * Arrays are views into one buffer per split: no copies.
 */
export function readCacheEntry(
  folder: string,
  sourceHash: string,
): { ok: true; meta: CacheMeta; train: Split; test: Split } | { ok: false; reason: string } {
  const metaPath = join(folder, 'meta.json');
  if (!existsSync(metaPath)) return { ok: false, reason: 'not cached yet' };
  let meta: CacheMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
  } catch (error) {
    return { ok: false, reason: `${metaPath} is unreadable (${errorMessage(error)})` };
  }
  if (meta.version !== CACHE_FORMAT_VERSION || meta.sourceHash !== sourceHash) {
    return { ok: false, reason: `${metaPath} is for another source or cache version` };
  }
  const splits = {} as Record<SplitName, Split>;
  for (const name of SPLIT_NAMES) {
    const path = join(folder, `${name}.u8`);
    const count = meta.counts?.[name];
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return { ok: false, reason: `${path} is missing` };
    }
    if (!Number.isInteger(count) || bytes.length !== count * (IMAGE_BYTES + 1)) {
      return { ok: false, reason: `${path} has ${bytes.length} bytes, expected ${count} x ${IMAGE_BYTES + 1}` };
    }
    const all = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const labels = all.subarray(count * IMAGE_BYTES);
    if (labels.some((label) => label >= meta.classNames.length)) return { ok: false, reason: `${path} has labels out of range` };
    splits[name] = { images: all.subarray(0, count * IMAGE_BYTES), labels, count };
  }
  // Sizes catch a truncated file, not flipped bytes: the fingerprint (SHA-256 of the arrays, ~0.1 s
  // for CIFAR-10 where the CPU hashes in hardware) catches those too, before a run trains on them.
  if (fingerprintDataset({ classNames: meta.classNames, train: splits.train, test: splits.test }) !== meta.fingerprint) {
    return { ok: false, reason: `the arrays in ${folder} do not match the fingerprint in ${metaPath}: corrupted on disk, rebuilding` };
  }
  return { ok: true, meta, train: splits.train, test: splits.test };
}
