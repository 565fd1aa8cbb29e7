/**
 * Downloads the official CIFAR-10 archive into the cache folder: streamed to a temporary name,
 * checked against the published MD5, then renamed, so the final name only ever holds a verified file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import { errorMessage, rootCauseMessage } from './error-message';

/** The official binary distribution (https://www.cs.toronto.edu/~kriz/cifar.html). */
export const CIFAR10_BINARY = {
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  fileName: 'cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  bytes: 170_052_171,
} as const;

export interface DownloadOptions {
  url: string;
  /** Final path; written only after the checksum matched. */
  dest: string;
  /** Expected MD5, hex. */
  md5: string;
  /** Show a cli-progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  log?: (message: string) => void;
}

const OFFLINE_HINT =
  'If this machine is offline, point bmae at a local copy: set BMAE_DATA (or pass --source) to ' +
  'cifar-10-binary.tar.gz, its extracted cifar-10-batches-bin/ folder, or an image folder/.tar.gz laid out as <split>/<class>/<image>.';

/** Downloads `url` to `dest` and verifies its MD5; a mismatch deletes the download and throws. */
export async function downloadVerified(options: DownloadOptions): Promise<void> {
  const { url, dest, md5, progress = Boolean(process.stderr.isTTY), log = () => {} } = options;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    const cause = rootCauseMessage(error);
    throw new Error(`cannot download ${url} (${cause}). ${OFFLINE_HINT}`);
  }
  if (!response.ok || !response.body) {
    throw new Error(`cannot download ${url} (HTTP ${response.status} ${response.statusText}). ${OFFLINE_HINT}`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  mkdirSync(dirname(dest), { recursive: true });
  const temporary = `${dest}.download-${process.pid}`;
  log(`downloading ${url} -> ${dest}`);
  const bar = progress
    ? new cliProgress.SingleBar(
        { stream: process.stderr, format: 'CIFAR-10 [{bar}] {percentage}% | {value}/{total} MB | eta {eta}s', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.round(total / 1e6), 0);
  const hash = createHash('md5');
  const out = createWriteStream(temporary);
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.length;
      bar?.update(Math.round(received / 1e6));
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    rmSync(temporary, { force: true });
    throw new Error(`download of ${url} failed after ${received} bytes (${errorMessage(error)})`);
  } finally {
    bar?.stop();
  }
  const actual = hash.digest('hex');
  if (actual !== md5.toLowerCase()) {
    rmSync(temporary, { force: true });
    throw new Error(`checksum mismatch for ${url}: expected MD5 ${md5}, got ${actual} (${received} bytes); the bad download was deleted`);
  }
  renameSync(temporary, dest);
  log(`downloaded ${received} bytes, MD5 verified`);
}

/** Path of the official archive in the cache folder, downloading it first when absent. */
export async function ensureOfficialArchive(
  cacheDir: string,
  options: { url?: string; md5?: string; progress?: boolean; log?: (message: string) => void } = {},
): Promise<string> {
  const dest = `${cacheDir}/${CIFAR10_BINARY.fileName}`;
  if (!existsSync(dest)) {
    await downloadVerified({ url: options.url ?? CIFAR10_BINARY.url, md5: options.md5 ?? CIFAR10_BINARY.md5, dest, progress: options.progress, log: options.log });
  }
  return dest;
}
