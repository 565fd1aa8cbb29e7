/**
 * NumPy's .npy format, version 1.0, for float32 arrays (numpy.lib.format, NEP 1: "A Simple File Format for
 * NumPy Arrays"): the magic "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length, an ASCII
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (...), } padded with spaces and ended
 * by '\n' so the data starts at a multiple of 64 bytes, then the C-order little-endian values.
 * `np.load(path)` reads what `encodeNpy` writes.
 */
import writeFileAtomic from 'write-file-atomic';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y
const ALIGNMENT = 64;

function shapeLiteral(shape: readonly number[]): string {
  // A Python tuple: (N,) for one dimension, () for a scalar.
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * @param data row-major float32 values
 * @param shape e.g. [N, D]; the product must equal data.length
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (!shape.every((dim) => Number.isInteger(dim) && dim >= 0) || count !== data.length) {
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] does not hold ${data.length} values`);
  }
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1; // + '\n'
  const headerLength = dict.length + 1 + ((ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT);
  if (headerLength > 0xffff) throw new Error(`encodeNpy: header of ${headerLength} bytes does not fit format 1.0`);
  const headerText = dict.padEnd(headerLength - 1, ' ') + '\n';

  const bytes = new Uint8Array(MAGIC.length + 4 + headerLength + 4 * data.length);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // major version
  bytes[7] = 0; // minor version
  view.setUint16(8, headerLength, true);
  for (let i = 0; i < headerText.length; i++) bytes[10 + i] = headerText.charCodeAt(i);
  const start = 10 + headerLength;
  for (let i = 0; i < data.length; i++) view.setFloat32(start + 4 * i, data[i], true);
  return bytes;
}

/** Reads a little-endian float32 C-order .npy (version 1.0 or 2.0) as written by `encodeNpy` or numpy. */
export function decodeNpy(bytes: Uint8Array, source = '.npy buffer'): { data: Float32Array; shape: number[] } {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new Error(`${source}: not a .npy file (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + start - headerLength, headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`${source}: only little-endian float32 C-order arrays are supported, header is ${header.trim()}`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (bytes.length - start !== 4 * count) throw new Error(`${source}: ${bytes.length - start} data bytes, shape (${shape}) needs ${4 * count}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(start + 4 * i, true);
  return { data, shape };
}

/** Writes a float32 .npy file atomically (temporary file in the same folder, then rename). */
export async function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  const bytes = encodeNpy(data, shape);
  await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
