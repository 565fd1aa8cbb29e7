import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  halfToFloat,
  readSafetensors,
  writeSafetensors,
  type HostTensor,
} from './safetensors';

/** Builds a file by hand from a header object and a data buffer, for corruption cases. */
function rawFile(header: unknown, data: Uint8Array, headerLengthOverride?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLengthOverride ?? json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

function tensor(shape: number[], values?: number[]): HostTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from(values ?? Array.from({ length: count }, (_, i) => i * 0.5 - 3)) };
}

describe('safetensors encode/decode', () => {
  it('round-trips tensors bit-exactly, with metadata, odd shapes, scalars and empty tensors', () => {
    const special = new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, Math.fround(0.1)]);
    const tensors = new Map<string, HostTensor>([
      ['blocks.0.attn.qkv.weight', tensor([3, 5, 7])],
      ['scalar', tensor([], [42.25])],
      ['empty', tensor([0, 3], [])],
      ['special', { shape: [7], data: special }],
      ['odd', tensor([1, 1, 13])],
    ]);
    const metadata = { format: 'pt', 'bmae.config': JSON.stringify({ width: 192, name: 'ünïcode' }) };
    const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));

    expect([...decoded.tensors.keys()]).toEqual([...tensors.keys()]);
    expect(decoded.metadata).toEqual(metadata);
    for (const [name, original] of tensors) {
      const got = decoded.tensors.get(name)!;
      expect(got.shape).toEqual(original.shape);
      // Compare bits, so NaN and -0 count too.
      expect(new Uint32Array(got.data.buffer)).toEqual(new Uint32Array(original.data.buffer));
      expect(decoded.dtypes.get(name)).toBe('F32');
    }
  });

  it('writes no __metadata__ entry when the metadata is empty, and reads it back as {}', () => {
    const bytes = encodeSafetensors(new Map([['a', tensor([2])]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    expect(header).toEqual({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(decodeSafetensors(bytes).metadata).toEqual({});
  });

  it('pads the header with spaces so the data starts 8-byte aligned', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const bytes = encodeSafetensors(new Map([[name, tensor([3])]]));
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(headerLength % 8).toBe(0);
      const header = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8');
      expect(header.trimEnd().endsWith('}')).toBe(true);
      expect(header.slice(header.trimEnd().length)).toMatch(/^ *$/);
      expect(header.length - header.trimEnd().length).toBeLessThan(8);
      expect(bytes.length).toBe(8 + headerLength + 12);
    }
  });

  it('lays the data out in Map order, little-endian', () => {
    const bytes = encodeSafetensors(new Map([['z', tensor([1], [1])], ['a', tensor([1], [-2])]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const view = new DataView(bytes.buffer, 8 + headerLength);
    expect([view.getFloat32(0, true), view.getFloat32(4, true)]).toEqual([1, -2]);
    expect(Array.from(bytes.subarray(8 + headerLength, 8 + headerLength + 4))).toEqual([0x00, 0x00, 0x80, 0x3f]);
  });

  it('reads F64, F16 and BF16 tensors as float32', () => {
    const data = new Uint8Array(8 * 2 + 2 * 4 + 2 * 2);
    const view = new DataView(data.buffer);
    view.setFloat64(0, 0.1, true);
    view.setFloat64(8, -1e300, true);
    [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((bits, i) => view.setUint16(16 + 2 * i, bits, true)); // 1, -2, 2^-24, inf
    [0x3f80, 0x4049].forEach((bits, i) => view.setUint16(24 + 2 * i, bits, true)); // 1, 3.140625
    const file = rawFile(
      {
        f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
        f16: { dtype: 'F16', shape: [2, 2], data_offsets: [16, 24] },
        bf16: { dtype: 'BF16', shape: [2], data_offsets: [24, 28] },
      },
      data,
    );
    const { tensors, dtypes } = decodeSafetensors(file);
    expect(Array.from(tensors.get('f64')!.data)).toEqual([Math.fround(0.1), -Infinity]);
    expect(Array.from(tensors.get('f16')!.data)).toEqual([1, -2, 2 ** -24, Infinity]);
    expect(Array.from(tensors.get('bf16')!.data)).toEqual([1, 3.140625]);
    expect(dtypes.get('f16')).toBe('F16');
  });

  it('converts half-precision special values', () => {
    expect(halfToFloat(0x8000)).toBe(-0);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('refuses a shape that does not match the number of values', () => {
    expect(() => encodeSafetensors(new Map([['w', { shape: [2, 3], data: new Float32Array(5) }]]), {}, 'out.safetensors')).toThrow(
      'out.safetensors: tensor "w" has shape [2, 3] but 5 values',
    );
  });
});

describe('safetensors validation errors', () => {
  const good = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const decode = (bytes: Uint8Array) => () => decodeSafetensors(bytes, 'model.safetensors');

  it('names a file shorter than the length prefix', () => {
    expect(decode(new Uint8Array(5))).toThrow('model.safetensors: truncated: 5 bytes, shorter than the 8-byte header length');
  });

  it('names a header length beyond the end of the file', () => {
    expect(decode(rawFile(good, new Uint8Array(8), 4000))).toThrow(
      `model.safetensors: header length 4000 goes beyond the end of the file (${8 + JSON.stringify(good).length + 8} bytes)`,
    );
  });

  it('names a header that is not JSON', () => {
    const bytes = rawFile(good, new Uint8Array(8));
    bytes[8] = 0x21; // '!'
    expect(decode(bytes)).toThrow('model.safetensors: header is not valid JSON');
  });

  it('names an unknown dtype and an unsupported one', () => {
    expect(decode(rawFile({ w: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(
      'model.safetensors: tensor "w": unknown dtype "F17"',
    );
    expect(decode(rawFile({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(
      'model.safetensors: tensor "w": dtype I64 is not supported',
    );
  });

  it('names data offsets beyond the buffer (a truncated file)', () => {
    expect(decode(rawFile(good, new Uint8Array(6)))).toThrow(
      'model.safetensors: tensor "w": data_offsets [0, 8] go beyond the 6-byte data buffer (truncated file?)',
    );
  });

  it('names overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expect(decode(rawFile(header, new Uint8Array(12)))).toThrow(
      'model.safetensors: tensor "b": data_offsets [4, 12] overlap tensor "a"',
    );
  });

  it('names a hole and a tail in the data buffer', () => {
    const hole = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expect(decode(rawFile(hole, new Uint8Array(12)))).toThrow(
      'model.safetensors: tensor "b": bytes [4, 8) of the data buffer belong to no tensor',
    );
    expect(decode(rawFile(good, new Uint8Array(12)))).toThrow('model.safetensors: the last 4 bytes of the data buffer belong to no tensor');
  });

  it('names offsets that disagree with dtype and shape, and malformed fields', () => {
    expect(decode(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(
      'model.safetensors: tensor "w": 8 bytes in data_offsets [0, 8] but F32 [3] needs 12',
    );
    expect(decode(rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(
      'model.safetensors: tensor "w": shape [-2] is not a list of non-negative integers',
    );
    expect(decode(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8)))).toThrow(
      'model.safetensors: tensor "w": data_offsets [8, 0] end before they begin',
    );
    expect(decode(rawFile({ __metadata__: { epoch: 3 } }, new Uint8Array(0)))).toThrow(
      'model.safetensors: "__metadata__" value "epoch" is not a string',
    );
  });
});

describe('safetensors files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-safetensors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically (no temporary file left) and reads back', async () => {
    const path = join(dir, 'model.safetensors');
    const tensors = new Map([['w', tensor([2, 2])]]);
    await writeSafetensors(path, tensors, { note: 'x' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const read = await readSafetensors(path);
    expect(read.tensors.get('w')).toEqual(tensors.get('w'));
    expect(read.metadata).toEqual({ note: 'x' });
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect(bytes.length).toBe(8 + headerLength + 16);
  });

  it('names the path of a missing or corrupt file', async () => {
    await expect(readSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(
      `cannot read safetensors file ${join(dir, 'nope.safetensors')}`,
    );
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, 'abc');
    await expect(readSafetensors(corrupt)).rejects.toThrow(`${corrupt}: truncated: 3 bytes`);
  });
});
