/**
 * Streaming reads of .tar and .tar.gz archives (the `tar` package detects gzip itself): files are
 * handed over one by one as they stream past, nothing is extracted to disk.
 */
import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { errorMessage } from './error-message';

export interface ArchiveListing {
  /** Every regular file path in the archive, '/'-separated, without a leading './'. */
  files: string[];
  /** Every directory path, without the trailing '/'. */
  directories: string[];
}

/** Archive path normalisation: no leading './', no trailing '/'. */
export function normaliseEntryPath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** True for names that look like a tar or gzipped tar archive. */
export function isArchivePath(path: string): boolean {
  return /\.(tar|tar\.gz|tgz)$/i.test(path);
}

/**
 * Streams the archive once. For each regular file that `wanted(path)` accepts, `onFile` receives its
 * full contents; other files are skipped without buffering.
 * Rejects with a message naming the archive when it is truncated or not a tar archive.
 */
export function readArchive(
  archivePath: string,
  wanted: (path: string) => boolean,
  onFile: (path: string, contents: Buffer) => void,
): Promise<ArchiveListing> {
  const listing: ArchiveListing = { files: [], directories: [] };
  return new Promise((resolve, reject) => {
    let settled = false;
    const input = createReadStream(archivePath);
    const fail = (reason: unknown) => {
      if (settled) return;
      settled = true;
      input.destroy();
      const detail = errorMessage(reason);
      reject(new Error(`${archivePath}: corrupt or truncated archive (${detail})`));
    };
    const onEntry = (entry: ReadEntry) => {
      const path = normaliseEntryPath(entry.path);
      if (entry.type === 'Directory') listing.directories.push(path);
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
        return;
      }
      listing.files.push(path);
      if (!wanted(path)) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      entry.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      entry.on('end', () => {
        // A truncated archive ends an entry early; its size field still says how long it should be.
        if (settled) return;
        if (received !== entry.size) {
          fail(`${path} is cut short: ${received} of ${entry.size} bytes`);
          return;
        }
        try {
          onFile(path, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
        } catch (error) {
          settled = true;
          input.destroy();
          reject(error);
        }
      });
    };
    // strict: damaged headers and truncation are errors, not warnings to skip past.
    const parser = new Parser({ strict: true, onReadEntry: onEntry });
    parser.on('error', fail);
    input.on('error', (error) => {
      if (settled) return;
      settled = true;
      reject(new Error(`${archivePath}: cannot read (${error.message})`));
    });
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(listing);
    });
    input.pipe(parser);
  });
}
