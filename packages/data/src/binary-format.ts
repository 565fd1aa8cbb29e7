/**
 * The official CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary
 * version"): data_batch_1.bin .. data_batch_5.bin (training) and test_batch.bin, each a sequence of
 * 3,073-byte records: 1 label byte (0-9), then 1,024 red, 1,024 green and 1,024 blue bytes, each
 * plane row-major 32x32. batches.meta.txt lists the class names, one a line.
 *
 * bmae stores images NHWC, so records are transposed from planes to interleaved RGB here.
 */
import { CIFAR10_CLASS_NAMES, IMAGE_BYTES, IMAGE_HEIGHT, IMAGE_WIDTH, type DecodedDataset, type Split } from './cifar10';

export const RECORD_BYTES = 1 + IMAGE_BYTES;
export const TRAIN_BATCH_FILES: readonly string[] = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
export const TEST_BATCH_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';
/** Every file name the binary reader looks for. */
export const BINARY_FILE_NAMES: ReadonlySet<string> = new Set([...TRAIN_BATCH_FILES, TEST_BATCH_FILE, META_FILE]);

const PLANE = IMAGE_HEIGHT * IMAGE_WIDTH;

/**
 * Decodes whole records into `out` starting at image `offset`.
 * @param bytes concatenated 3,073-byte records
 * @param where names the file in error messages
 */
function decodeRecordsInto(bytes: Uint8Array, out: Split, offset: number, numClasses: number, where: string): void {
  const count = bytes.length / RECORD_BYTES;
  const imageBytes = IMAGE_BYTES; // a local: transpiled CommonJS reads imports through getters
  const images = out.images;
  for (let n = 0; n < count; n++) {
    const record = n * RECORD_BYTES;
    const label = bytes[record];
    if (label >= numClasses) {
      throw new Error(`${where}: record ${n} has label ${label}, out of range 0..${numClasses - 1}`);
    }
    out.labels[offset + n] = label;
    const planes = record + 1;
    const image = (offset + n) * imageBytes;
    for (let p = 0; p < PLANE; p++) {
      const o = image + 3 * p;
      images[o] = bytes[planes + p];
      images[o + 1] = bytes[planes + PLANE + p];
      images[o + 2] = bytes[planes + 2 * PLANE + p];
    }
  }
}

function checkRecordLength(bytes: Uint8Array, where: string): void {
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
    throw new Error(
      `${where}: ${bytes.length} bytes is not a whole, non-zero number of ${RECORD_BYTES}-byte CIFAR-10 records ` +
        '(truncated file, or not the CIFAR-10 binary version?)',
    );
  }
}

/** Class names from batches.meta.txt: non-empty lines, trimmed. */
export function parseBatchesMeta(text: string, where: string): string[] {
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (names.length === 0) throw new Error(`${where}: no class names found`);
  if (new Set(names).size !== names.length) throw new Error(`${where}: duplicate class names in ${JSON.stringify(names)}`);
  return names;
}

/**
 * Builds the data set from the official files.
 * @param files file base name -> contents (extra names are ignored)
 * @param where the source (archive or folder) named in error messages
 */
export function decodeBinaryDataset(files: ReadonlyMap<string, Uint8Array>, where: string): DecodedDataset {
  const meta = files.get(META_FILE);
  // The meta file only repeats the fixed CIFAR-10 names; a copy without it is still readable.
  const classNames = meta ? parseBatchesMeta(Buffer.from(meta).toString('utf8'), `${where}/${META_FILE}`) : [...CIFAR10_CLASS_NAMES];
  if (classNames.length > 256) throw new Error(`${where}/${META_FILE}: ${classNames.length} classes do not fit a label byte`);

  const decodeSplit = (names: readonly string[], split: string): Split => {
    const parts = names.map((name) => {
      const bytes = files.get(name);
      if (!bytes) throw new Error(`${where}: missing ${name} (${split} split); found ${[...files.keys()].sort().join(', ') || 'no CIFAR-10 files'}`);
      checkRecordLength(bytes, `${where}/${name}`);
      return { name, bytes };
    });
    const count = parts.reduce((sum, part) => sum + part.bytes.length / RECORD_BYTES, 0);
    const out: Split = { images: new Uint8Array(count * IMAGE_BYTES), labels: new Uint8Array(count), count };
    let offset = 0;
    for (const part of parts) {
      decodeRecordsInto(part.bytes, out, offset, classNames.length, `${where}/${part.name}`);
      offset += part.bytes.length / RECORD_BYTES;
    }
    return out;
  };
  return { classNames, train: decodeSplit(TRAIN_BATCH_FILES, 'train'), test: decodeSplit([TEST_BATCH_FILE], 'test') };
}

/**
 * The inverse of decoding, for test fixtures and tools: NHWC images + labels -> 3,073-byte records.
 * @param images [count, 32, 32, 3] uint8
 */
export function encodeBinaryRecords(images: Uint8Array, labels: Uint8Array): Uint8Array {
  const count = labels.length;
  if (images.length !== count * IMAGE_BYTES) throw new Error(`encodeBinaryRecords: ${images.length} image bytes for ${count} labels`);
  const out = new Uint8Array(count * RECORD_BYTES);
  for (let n = 0; n < count; n++) {
    const record = n * RECORD_BYTES;
    out[record] = labels[n];
    for (let p = 0; p < PLANE; p++) {
      const i = n * IMAGE_BYTES + 3 * p;
      out[record + 1 + p] = images[i];
      out[record + 1 + PLANE + p] = images[i + 1];
      out[record + 1 + 2 * PLANE + p] = images[i + 2];
    }
  }
  return out;
}
