import { sincos2dPositionEmbedding } from './sincos';

describe('sincos2dPositionEmbedding (MAE get_2d_sincos_pos_embed)', () => {
  it('matches a hand-computed 2x2 grid of width 8', () => {
    // quarter = 2 frequencies: omega = [1, 10000^-0.5 = 0.01]
    const emb = sincos2dPositionEmbedding(8, 2, true);
    expect(emb.length).toBe(5 * 8);
    expect(Array.from(emb.slice(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // CLS row
    const row = (i: number) => Array.from(emb.slice(8 * (1 + i), 8 * (2 + i)));
    const f = Math.fround;
    // patch 1 = (row 0, col 1): first half encodes the column
    expect(row(1)).toEqual([f(Math.sin(1)), f(Math.sin(0.01)), f(Math.cos(1)), f(Math.cos(0.01)), 0, 0, 1, 1]);
    // patch 2 = (row 1, col 0): second half encodes the row
    expect(row(2)).toEqual([0, 0, 1, 1, f(Math.sin(1)), f(Math.sin(0.01)), f(Math.cos(1)), f(Math.cos(0.01))]);
  });

  it('matches values of MAE for DeiT-Tiny width 192 on the 8x8 grid', () => {
    const emb = sincos2dPositionEmbedding(192, 8, false);
    expect(emb.length).toBe(64 * 192);
    // patch 63 = (row 7, col 7), frequency k = 5 of 48: omega = 10000^(-5/48)
    const omega = Math.pow(10000, -5 / 48);
    expect(emb[63 * 192 + 5]).toBe(Math.fround(Math.sin(7 * omega)));
    expect(emb[63 * 192 + 48 + 5]).toBe(Math.fround(Math.cos(7 * omega)));
    expect(emb[63 * 192 + 96 + 5]).toBe(Math.fround(Math.sin(7 * omega)));
  });

  it('rejects a width that is not a multiple of 4', () => {
    expect(() => sincos2dPositionEmbedding(6, 2, true)).toThrow('multiple of 4, got 6');
  });
});
