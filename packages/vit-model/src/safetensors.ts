/**
 * Reader and writer of the safetensors format (Hugging Face, https://github.com/huggingface/safetensors,
 * "Format" section of its README), so that PyTorch users can open bmae checkpoints with
 * `safetensors.torch.load_file` and bmae can open theirs.
 *
 * Layout of a file:
 *   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8 + N)    a UTF-8 JSON object: for each tensor `{"dtype", "shape", "data_offsets": [begin, end]}`,
 *                       plus an optional "__metadata__" map of string -> string; padded with spaces so that the
 *                       data starts 8-byte aligned (the reference writer does so)
 *   bytes [8 + N, end)  the data buffer: each tensor's elements, row-major, little-endian; offsets are relative
 *                       to the buffer's start, tensors do not overlap and cover the buffer without holes.
 *
 * bmae writes float32 only; the reader also accepts F64, F16 and BF16 and converts them to float32, the one
 * precision the model uses. No tfjs here: checkpoint.ts turns these arrays into tensors.
 */
import { open, readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';

/** Element types the reader converts to float32 (bytes per element). */
const FLOAT_DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsFloatDtype = keyof typeof FLOAT_DTYPE_BYTES;

/** Every dtype of the safetensors specification; the non-float ones are recognised but refused. */
const KNOWN_DTYPES = new Set([
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
]);

/** The reference implementation refuses headers above 100 MB; a larger length means a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

/** One tensor: row-major float32 values and their shape (`[]` for a scalar). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** A whole file: tensors in file order plus the string -> string metadata (empty when the file has none). */
export interface SafetensorsContents {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
  /** The stored dtype of each tensor, before conversion to float32. */
  dtypes: Map<string, SafetensorsFloatDtype>;
}

/** The product of a shape's dimensions (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/**
 * Serialises float32 tensors and metadata to safetensors bytes. Tensors are laid out in the Map's order, so a
 * model's parameter order (PyTorch's state_dict order) is kept.
 * @param source named in error messages (a file path or a description)
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Readonly<Record<string, string>> = {},
  source = 'safetensors buffer',
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`${source}: metadata "${key}" must be a string, got ${typeof value}`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === METADATA_KEY) throw new Error(`${source}: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (!shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
      throw new Error(`${source}: tensor "${name}" has an invalid shape [${shape.join(', ')}]`);
    }
    if (elementCount(shape) !== data.length) {
      throw new Error(`${source}: tensor "${name}" has shape [${shape.join(', ')}] but ${data.length} values`);
    }
    const end = offset + data.length * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, end] };
    offset = end;
  }

  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headerLength = Math.ceil(json.length / 8) * 8; // data 8-byte aligned, as the reference writer pads
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);

  let position = 8 + headerLength;
  for (const { data } of tensors.values()) {
    for (let i = 0; i < data.length; i++, position += 4) view.setFloat32(position, data[i], true);
  }
  return bytes;
}

/** One tensor's header entry, checked against the file's size. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsFloatDtype;
  shape: number[];
  /** byte offsets relative to the data buffer */
  begin: number;
  end: number;
}

/** What the header of a file says, checked against the file's length (no tensor data read). */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** byte offset of the data buffer in the file */
  dataStart: number;
}

/**
 * Parses and checks a header: `prefix` holds at least the file's first 8 + N bytes, `fileLength`
 * is the whole file's. Every problem names `source` and the offending tensor or field, so a
 * truncated or foreign file is refused before any value is read.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength: number, source = 'safetensors buffer'): SafetensorsHeader {
  // A function declaration (not an arrow) so that TypeScript narrows types after `fail(...)` calls.
  function fail(problem: string): never {
    throw new Error(`${source}: ${problem}`);
  }
  if (fileLength < 8 || prefix.length < 8) fail(`truncated: ${fileLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  if (declaredLength > BigInt(fileLength - 8)) {
    fail(`header length ${declaredLength} goes beyond the end of the file (${fileLength} bytes): truncated or not safetensors`);
  }
  const headerLength = Number(declaredLength);
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (prefix.length < 8 + headerLength) fail(`only ${prefix.length} of the header's ${8 + headerLength} bytes were given`);

  let header: unknown;
  const headerText = Buffer.from(prefix.buffer, prefix.byteOffset + 8, headerLength).toString('utf8');
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(`"${METADATA_KEY}" is not an object`);
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`"${METADATA_KEY}" value "${key}" is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (entry === null || typeof entry !== 'object') fail(`tensor "${name}": header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !KNOWN_DTYPES.has(dtype)) fail(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
    if (!(dtype in FLOAT_DTYPE_BYTES)) {
      fail(`tensor "${name}": dtype ${dtype} is not supported (only F32, F64, F16 and BF16 can be read as float32)`);
    }
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    const floatDtype = dtype as SafetensorsFloatDtype;
    const expectedBytes = elementCount(shape as number[]) * FLOAT_DTYPE_BYTES[floatDtype];
    if (end < begin) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) {
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] go beyond the ${dataLength}-byte data buffer (truncated file?)`);
    }
    if (end - begin !== expectedBytes) {
      fail(`tensor "${name}": ${end - begin} bytes in data_offsets [${begin}, ${end}] but ${dtype} [${(shape as number[]).join(', ')}] needs ${expectedBytes}`);
    }
    entries.push({ name, dtype: floatDtype, shape: shape as number[], begin, end });
  }

  // The reference reader requires the tensors to tile the buffer exactly: no overlap, no hole, no tail.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const { name, begin, end } of byOffset) {
    if (begin < covered) fail(`tensor "${name}": data_offsets [${begin}, ${end}] overlap tensor "${previous}"`);
    if (begin > covered) fail(`tensor "${name}": bytes [${covered}, ${begin}) of the data buffer belong to no tensor`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) fail(`the last ${dataLength - covered} bytes of the data buffer belong to no tensor`);
  return { entries, metadata, dataStart };
}

/**
 * Parses safetensors bytes, checking the structure before any value is read: every problem names `source`
 * and the offending tensor or field.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsContents {
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, bytes.length, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, SafetensorsFloatDtype>();
  for (const { name, dtype, shape, begin } of entries) {
    tensors.set(name, { shape, data: readFloats(view, dataStart + begin, elementCount(shape), dtype) });
    dtypes.set(name, dtype);
  }
  return { tensors, metadata, dtypes };
}

/** Reads `count` little-endian values of `dtype` starting at byte `start`, as float32. */
function readFloats(view: DataView, start: number, count: number, dtype: SafetensorsFloatDtype): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(start + 8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(start + 2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the upper half of a float32's bits.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(start + 2 * i, true) << 16;
      break;
    }
  }
  return out;
}

/** IEEE 754 binary16 bits -> number (exact: every half value is a float32 value). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Reads and validates a .safetensors file; errors name the file. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`cannot read safetensors file ${path}: ${(error as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Reads and checks only the header of a .safetensors file (against the file's size): what a command
 * checks before any long work, at the cost of a few kilobytes read.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new Error(`cannot read safetensors file ${path}: ${(error as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    // Past the file's end, the parser reports the problem; otherwise read exactly the header.
    const declared = size >= 8 ? lengthBytes.readBigUInt64LE(0) : 0n;
    const headerBytes = declared <= BigInt(Math.min(size - 8, MAX_HEADER_BYTES)) ? Number(declared) : 0;
    const prefix = Buffer.alloc(8 + headerBytes);
    lengthBytes.copy(prefix);
    await handle.read(prefix, 8, headerBytes, 8);
    return parseSafetensorsHeader(declared === BigInt(headerBytes) ? prefix : lengthBytes, size, path);
  } finally {
    await handle.close();
  }
}

/** Writes a .safetensors file atomically (a temporary file in the same folder, then a rename). */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata, path);
  await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
