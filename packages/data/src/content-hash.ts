/**
 * SHA-256 of a source's content, memoised in a small JSON index keyed by path and a cheap signature
 * (size + mtime for a file, the hash of the listing with sizes and mtimes for a folder), so a second
 * run does not re-read 170 MB to learn that nothing changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomically } from './atomic-write';

interface IndexEntry {
  signature: string;
  sha256: string;
}
type HashIndex = Record<string, IndexEntry>;

function readIndex(indexPath: string): HashIndex {
  try {
    const parsed: unknown = JSON.parse(readFileSync(indexPath, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as HashIndex) : {};
  } catch {
    return {}; // missing or damaged index: hashes are recomputed and the index rewritten
  }
}

async function memoised(indexPath: string, key: string, signature: string, compute: () => Promise<string>): Promise<string> {
  const hit = readIndex(indexPath)[key];
  if (hit && hit.signature === signature && typeof hit.sha256 === 'string') return hit.sha256;
  const sha256 = await compute();
  // Re-read just before writing: another process may have added entries meanwhile.
  await writeJsonAtomically(indexPath, { ...readIndex(indexPath), [key]: { signature, sha256 } });
  return sha256;
}

/** Streams a file through a hash: SHA-256 by default, MD5 for the download check. */
export function hashFile(path: string, algorithm = 'sha256'): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash(algorithm);
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (error) => reject(new Error(`${path}: cannot read (${error.message})`)))
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/**
 * SHA-256 of a file, memoised in `indexPath` by absolute path, size and mtime.
 */
export function fileContentHash(path: string, indexPath: string): Promise<string> {
  const absolute = resolve(path);
  const { size, mtimeMs } = statSync(absolute);
  return memoised(indexPath, absolute, `file:${size}:${mtimeMs}`, () => hashFile(absolute));
}

/**
 * SHA-256 over the given files of a folder (relative path and contents of each, in the given order),
 * memoised in `indexPath` by the folder's path and the files' paths, sizes and mtimes.
 * @param relativePaths files to cover, '/'-separated, in a deterministic order
 */
export function folderContentHash(root: string, relativePaths: readonly string[], indexPath: string): Promise<string> {
  const absolute = resolve(root);
  const listing = createHash('sha256');
  for (const path of relativePaths) {
    const { size, mtimeMs } = statSync(join(absolute, path));
    listing.update(`${path}\0${size}\0${mtimeMs}\n`);
  }
  return memoised(indexPath, absolute, `folder:${listing.digest('hex')}`, async () => {
    const hash = createHash('sha256');
    for (const path of relativePaths) {
      const contents = readFileSync(join(absolute, path));
      hash.update(`${path}\0${contents.length}\0`);
      hash.update(contents);
    }
    return hash.digest('hex');
  });
}
