/**
 * The one entry point for data: resolves the source, serves the decoded arrays from the cache when
 * the source's content was decoded before, otherwise decodes once, computes the training statistics
 * and the fingerprint, and caches them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { countPerClass, type Split } from './cifar10';
import { computeChannelStats, type Rgb } from './normalization';
import { cacheEntryPath, CACHE_FORMAT_VERSION, fingerprintDataset, readCacheEntry, writeCacheEntry, type CacheMeta } from './decoded-cache';
import { CIFAR10_BINARY, ensureOfficialArchive } from './download';
import { expandPath, openSource } from './sources';

/** The decoded data set with its statistics, ready for training. */
export interface Cifar10 {
  /** Where the data came from and in which format, e.g. "/data/cifar-10-binary.tar.gz (cifar10-binary)". */
  source: string;
  /** SHA-256 of the decoded class names, images and labels: key experiment caches on it. */
  fingerprint: string;
  classNames: string[];
  train: Split;
  test: Split;
  /** Per-channel mean of the training split, [0, 1] scale. */
  mean: Rgb;
  /** Per-channel population std of the training split, [0, 1] scale. */
  std: Rgb;
  /** Folder holding the decoded arrays. */
  cachePath: string;
  /** True when nothing was decoded this time. */
  fromCache: boolean;
}

export interface LoadCifar10Options {
  /**
   * A path to cifar-10-binary.tar.gz, its extracted folder, or an image folder / .tar(.gz); the
   * word "download" for the official archive. Default: env BMAE_DATA, else "download".
   */
  source?: string;
  /** Cache folder. Default: env BMAE_CACHE_DIR, else ~/.cache/bmae. */
  cacheDir?: string;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /** Where to download from; tests point this at a local server. Default: the official archive. */
  download?: { url: string; md5: string };
  /** Environment to read BMAE_DATA / BMAE_CACHE_DIR from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The cache folder from an option, else env BMAE_CACHE_DIR, else ~/.cache/bmae. */
export function resolveCacheDir(cacheDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return expandPath(cacheDir || env.BMAE_CACHE_DIR || join(homedir(), '.cache', 'bmae'));
}

/**
 * What loadCifar10 would read, checked without reading it (a stat): the source exists and is an
 * archive or a folder. Commands call it before any long work; "download" needs nothing here.
 */
export function checkCifar10Source(options: Pick<LoadCifar10Options, 'source' | 'env'> = {}): void {
  const spec = options.source || (options.env ?? process.env).BMAE_DATA || 'download';
  if (spec !== 'download') openSource(spec);
}

/**
 * Loads CIFAR-10 (or another data set in the same formats) as uint8 NHWC arrays.
 * The first call for a source decodes it (seconds for the binary files, ~25 s for 60,000 JPEGs);
 * later calls read the cache (well under a second).
 */
export async function loadCifar10(options: LoadCifar10Options = {}): Promise<Cifar10> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const cacheDir = resolveCacheDir(options.cacheDir, env);
  const spec = options.source || env.BMAE_DATA || 'download';
  const path =
    spec === 'download'
      ? await ensureOfficialArchive(cacheDir, { url: options.download?.url ?? CIFAR10_BINARY.url, md5: options.download?.md5 ?? CIFAR10_BINARY.md5, log })
      : spec;
  const source = openSource(path);
  const sourceHash = await source.contentHash(join(cacheDir, 'source-hashes.json'));
  const cachePath = cacheEntryPath(cacheDir, sourceHash);

  const cached = readCacheEntry(cachePath, sourceHash);
  if (cached.ok) {
    const { meta } = cached;
    return {
      // The content may have been cached from a copy elsewhere: describe the path given now.
      source: `${source.path} (${meta.format})`, fingerprint: meta.fingerprint, classNames: meta.classNames, train: cached.train, test: cached.test,
      mean: meta.mean, std: meta.std, cachePath, fromCache: true,
    };
  }
  log(`decoding ${source.path} (${cached.reason})`);
  const { dataset, format } = await source.decode(log);
  for (const name of ['train', 'test'] as const) {
    const counts = countPerClass(dataset[name].labels, dataset.classNames.length);
    const missing = dataset.classNames.filter((_, label) => counts[label] === 0);
    if (missing.length > 0) throw new Error(`${source.path}: ${name} split has no images of class ${missing.join(', ')}`);
  }
  const { mean, std } = computeChannelStats(dataset.train.images);
  const description = `${source.path} (${format})`;
  const meta: CacheMeta = {
    version: CACHE_FORMAT_VERSION, sourceHash, fingerprint: fingerprintDataset(dataset), source: description, format,
    classNames: dataset.classNames, counts: { train: dataset.train.count, test: dataset.test.count }, mean, std,
    createdAt: new Date().toISOString(),
  };
  await writeCacheEntry(cachePath, dataset, meta);
  log(`cached decoded arrays in ${cachePath}`);
  return {
    source: description, fingerprint: meta.fingerprint, classNames: dataset.classNames, train: dataset.train, test: dataset.test,
    mean, std, cachePath, fromCache: false,
  };
}
