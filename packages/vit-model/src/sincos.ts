/**
 * Fixed 2-D sine-cosine position embeddings, exactly as MAE's util/pos_embed.py
 * (get_2d_sincos_pos_embed, He et al. 2022, after the MoCo v3 code): the first half of the width
 * encodes the patch's column, the second half its row; each half is [sin(pos * omega), cos(pos * omega)]
 * with omega_k = 1 / 10000^(k / (D/4)), k = 0..D/4-1. Computed in float64 like numpy, stored as float32.
 */

/**
 * @param width embedding width D (a multiple of 4)
 * @param gridSide patches per side (8 for 32x32 images with patch 4)
 * @param clsToken prepend an all-zero row for the CLS position
 * @returns Float32Array [(clsToken ? 1 : 0) + gridSide^2, D], row-major, patches in row-major order
 */
export function sincos2dPositionEmbedding(width: number, gridSide: number, clsToken: boolean): Float32Array {
  if (width % 4 !== 0) throw new Error(`sin-cos position embedding width must be a multiple of 4, got ${width}`);
  const quarter = width / 4;
  const offset = clsToken ? 1 : 0;
  const out = new Float32Array((offset + gridSide * gridSide) * width);
  for (let row = 0; row < gridSide; row++) {
    for (let col = 0; col < gridSide; col++) {
      const base = (offset + row * gridSide + col) * width;
      for (let k = 0; k < quarter; k++) {
        const omega = 1 / Math.pow(10000, k / quarter);
        // MAE builds the grid with np.meshgrid(grid_w, grid_h): its "emb_h" half uses the column index.
        out[base + k] = Math.sin(col * omega);
        out[base + quarter + k] = Math.cos(col * omega);
        out[base + 2 * quarter + k] = Math.sin(row * omega);
        out[base + 3 * quarter + k] = Math.cos(row * omega);
      }
    }
  }
  return out;
}
