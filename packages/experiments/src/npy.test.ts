import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, writeNpy } from './npy';

describe('.npy writer', () => {
  it('writes the v1.0 magic, a 64-byte aligned header dict and little-endian values', () => {
    const bytes = encodeNpy(Float32Array.from([1, -2.5, 3, 0.1, NaN, -0]), [2, 3]);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString('latin1');
    expect(header).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(headerLength - 1, ' ') + '\n');
    expect(bytes.length).toBe(10 + headerLength + 24);
    expect(Array.from(bytes.subarray(10 + headerLength, 10 + headerLength + 4))).toEqual([0, 0, 0x80, 0x3f]); // 1.0f
  });

  it('parses back bit-exactly, for 1-D, 2-D and empty arrays', () => {
    const cases: Array<[number[], Float32Array]> = [
      [[5], Float32Array.from([1, 2, 3, 4, 5])],
      [[3, 192], Float32Array.from({ length: 576 }, (_, i) => Math.sin(i) * 1e3)],
      [[0, 4], new Float32Array(0)],
    ];
    for (const [shape, data] of cases) {
      const back = decodeNpy(encodeNpy(data, shape));
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
    const header = Buffer.from(encodeNpy(new Float32Array(5), [5])).toString('latin1');
    expect(header).toContain("'shape': (5,), }");
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow('encodeNpy: shape [2, 3] does not hold 5 values');
  });

  it('writes atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-npy-'));
    try {
      await writeNpy(join(dir, 'f.npy'), Float32Array.from([7, 8]), [1, 2]);
      expect(readdirSync(dir)).toEqual(['f.npy']);
      expect(Array.from(decodeNpy(readFileSync(join(dir, 'f.npy'))).data)).toEqual([7, 8]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
