/**
 * Where CIFAR-10 comes from, behind one interface chosen by a string: a path to the official
 * cifar-10-binary.tar.gz (or any .tar/.tar.gz holding its files), its extracted
 * cifar-10-batches-bin/ folder, or an image folder (<split>/<class>/<image>) as a folder or a
 * .tar/.tar.gz. An archive's format is recognised from its contents in the same single pass that
 * reads it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { compareCodeUnits, type DecodedDataset } from './cifar10';
import { BINARY_FILE_NAMES, decodeBinaryDataset, TEST_BATCH_FILE, TRAIN_BATCH_FILES } from './binary-format';
import { isArchivePath, readArchive } from './archive';
import { decodeImageFolder, isImagePath, planImageFolder } from './image-folder';
import { fileContentHash, folderContentHash } from './content-hash';

export type SourceKind = 'archive' | 'binary-folder' | 'image-folder';

/** What a source decoded to: the data and the format that was recognised. */
export interface DecodedSource {
  dataset: DecodedDataset;
  format: 'cifar10-binary' | 'image-folder';
}

export interface DataSource {
  kind: SourceKind;
  /** Absolute path of the archive or folder. */
  path: string;
  /** SHA-256 of the source's content (memoised in the index at `indexPath`): the decode cache key. */
  contentHash(indexPath: string): Promise<string>;
  /** Reads and decodes everything; slow for image sources (tens of seconds for 60,000 JPEGs). */
  decode(log: (message: string) => void): Promise<DecodedSource>;
}

/** `~/x` -> home folder; anything else is resolved against the working folder. */
export function expandPath(path: string): string {
  return resolve(path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path);
}

/** Every file and folder under `root`, relative and '/'-separated, sorted. */
function walk(root: string): { files: string[]; directories: string[] } {
  const files: string[] = [];
  const directories: string[] = [];
  const visit = (relative: string) => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        directories.push(path);
        visit(path);
      } else if (entry.isFile()) {
        files.push(path);
      }
    }
  };
  visit('');
  return { files: files.sort(compareCodeUnits), directories: directories.sort(compareCodeUnits) };
}

function decodeProgress(log: (message: string) => void, where: string) {
  const started = Date.now();
  return (done: number, total: number) => {
    if (done % 10000 === 0 || done === total) log(`${where}: decoded ${done}/${total} images (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
}

function archiveSource(path: string): DataSource {
  return {
    kind: 'archive',
    path,
    contentHash: (indexPath) => fileContentHash(path, indexPath),
    async decode(log) {
      log(`reading ${path}`);
      // One pass keeps both candidates: CIFAR-10 binary files by base name, and image files by path.
      const binaries = new Map<string, Buffer>();
      const images = new Map<string, Buffer>();
      const listing = await readArchive(
        path,
        (entry) => BINARY_FILE_NAMES.has(basename(entry)) || isImagePath(entry),
        (entry, contents) => {
          const name = basename(entry);
          if (BINARY_FILE_NAMES.has(name)) {
            if (binaries.has(name)) throw new Error(`${path}: more than one ${name} in the archive`);
            binaries.set(name, contents);
          } else {
            images.set(entry, contents);
          }
        },
      );
      if (binaries.size > 0) {
        log(`${path}: CIFAR-10 binary format`);
        return { format: 'cifar10-binary', dataset: decodeBinaryDataset(binaries, path) };
      }
      if (images.size === 0) {
        throw new Error(
          `${path}: neither CIFAR-10 binary batches (${TRAIN_BATCH_FILES[0]}, ..., ${TEST_BATCH_FILE}) nor <split>/<class>/<image> files found ` +
            `among ${listing.files.length} archive entries`,
        );
      }
      const plan = planImageFolder(listing.files, listing.directories, path);
      log(`${path}: image folder with classes ${plan.classNames.join(', ')}; decoding ${images.size} images`);
      const dataset = await decodeImageFolder(plan, {
        read: (entry) => images.get(entry)!,
        describe: (entry) => `${path}: ${entry}`,
        onProgress: decodeProgress(log, path),
      });
      return { format: 'image-folder', dataset };
    },
  };
}

function binaryFolderSource(path: string): DataSource {
  const present = () => [...BINARY_FILE_NAMES].filter((name) => existsSync(join(path, name))).sort(compareCodeUnits);
  return {
    kind: 'binary-folder',
    path,
    contentHash: (indexPath) => folderContentHash(path, present(), indexPath),
    async decode(log) {
      log(`reading CIFAR-10 binary files in ${path}`);
      const files = new Map(present().map((name) => [name, readFileSync(join(path, name))] as const));
      return { format: 'cifar10-binary', dataset: decodeBinaryDataset(files, path) };
    },
  };
}

function imageFolderSource(path: string): DataSource {
  let tree: ReturnType<typeof walk> | undefined;
  const listing = () => (tree ??= walk(path));
  return {
    kind: 'image-folder',
    path,
    contentHash: (indexPath) => folderContentHash(path, listing().files.filter(isImagePath), indexPath),
    async decode(log) {
      const { files, directories } = listing();
      const plan = planImageFolder(files, directories, path);
      log(`${path}: image folder with classes ${plan.classNames.join(', ')}`);
      const dataset = await decodeImageFolder(plan, {
        read: (file) => readFileSync(join(path, file)),
        describe: (file) => join(path, file),
        onProgress: decodeProgress(log, path),
      });
      return { format: 'image-folder', dataset };
    },
  };
}

/**
 * The source at `path`: an archive file, a folder of official binary files (directly or in a
 * cifar-10-batches-bin/ subfolder), or an image folder.
 */
export function openSource(path: string): DataSource {
  const absolute = expandPath(path);
  let stats;
  try {
    stats = statSync(absolute);
  } catch {
    throw new Error(`data source ${absolute} does not exist`);
  }
  if (stats.isFile()) {
    if (!isArchivePath(absolute)) {
      throw new Error(`data source ${absolute} is a file but not a .tar, .tar.gz or .tgz archive`);
    }
    return archiveSource(absolute);
  }
  if (!stats.isDirectory()) throw new Error(`data source ${absolute} is neither a file nor a folder`);
  const nested = join(absolute, 'cifar-10-batches-bin');
  const hasBatches = (dir: string) => [...BINARY_FILE_NAMES].some((name) => name.endsWith('.bin') && existsSync(join(dir, name)));
  if (hasBatches(absolute)) return binaryFolderSource(absolute);
  if (existsSync(nested) && hasBatches(nested)) return binaryFolderSource(nested);
  return imageFolderSource(absolute);
}
