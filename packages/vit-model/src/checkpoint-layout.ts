/**
 * Tensor layouts of the same weights in bmae (tfjs) and in PyTorch (the official MAE code, He et al. 2022,
 * facebookresearch/mae models_mae.py, on timm's VisionTransformer modules), so a checkpoint holds PyTorch's
 * layout and loads with `model.load_state_dict` unchanged.
 *
 * Only two kinds of tensor differ:
 * - Linear weights: tfjs multiplies `x @ W` with W [in, out]; torch.nn.Linear stores W [out, in]. Transposed.
 * - The patch embedding: bmae flattens each P x P x C patch in MAE's patchify order (p, q, c) and applies a
 *   linear map W [P*P*C, D]; MAE applies a Conv2d(C, D, kernel P, stride P) whose weight is [D, C, P, P].
 *   Both compute sum_{p,q,c} x[p,q,c] * W(p,q,c -> d), so W_tfjs[(p*P + q)*C + c, d] = W_torch[d, c, p, q].
 * Everything else (biases, LayerNorm weight/bias [D], cls_token [1,1,D], pos_embed [1,L+1,D], mask_token)
 * has the same shape and order in both.
 *
 * These functions work on plain arrays (no tfjs), so conversion is exact and backend-independent.
 */
import type { HostTensor } from './safetensors';

/** The patch geometry needed to reshape the patch embedding. */
export interface PatchGeometry {
  patchSize: number;
  inChannels: number;
}

export const PATCH_EMBED_WEIGHT = 'patch_embed.proj.weight';

/** Which conversion a parameter needs, decided by its name and its (tfjs or PyTorch) rank. */
function layoutKind(name: string, rank: number): 'patch' | 'linear' | 'same' {
  if (name === PATCH_EMBED_WEIGHT) return 'patch';
  // Linear layers are the only 2-D `.weight` tensors in MAE/timm ViTs (LayerNorm weights are 1-D).
  if (name.endsWith('.weight') && rank === 2) return 'linear';
  return 'same';
}

/** [rows, cols] -> [cols, rows]. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

/** The PyTorch shape of a parameter whose bmae shape is `shape`. */
export function pytorchShape(name: string, shape: readonly number[], patch: PatchGeometry): number[] {
  switch (layoutKind(name, shape.length)) {
    case 'patch': {
      const { patchSize: P, inChannels: C } = patch;
      if (shape.length !== 2 || shape[0] !== P * P * C) {
        throw new Error(`${name}: expected a bmae shape [${P * P * C}, D] for patch size ${P} and ${C} channels, got [${shape.join(', ')}]`);
      }
      return [shape[1], C, P, P];
    }
    case 'linear':
      return [shape[1], shape[0]];
    case 'same':
      return [...shape];
  }
}

/**
 * bmae layout -> PyTorch layout.
 * @param tensor patch_embed.proj.weight [P*P*C, D] -> [D, C, P, P]; Linear weights [in, out] -> [out, in]
 */
export function toPytorchLayout(name: string, tensor: HostTensor, patch: PatchGeometry): HostTensor {
  const { shape, data } = tensor;
  const kind = layoutKind(name, shape.length);
  if (kind === 'same') return { shape: [...shape], data };
  if (kind === 'linear') return { shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) };

  const torchShape = pytorchShape(name, shape, patch);
  const [D, C, P] = torchShape;
  const out = new Float32Array(data.length);
  for (let d = 0; d < D; d++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < P; p++)
        for (let q = 0; q < P; q++) out[((d * C + c) * P + p) * P + q] = data[((p * P + q) * C + c) * D + d];
  return { shape: torchShape, data: out };
}

/**
 * PyTorch layout -> bmae layout; the inverse of `toPytorchLayout`. The caller checks the PyTorch shape first
 * (`pytorchShape` of the expected bmae shape), so messages can name the shape as the file stores it.
 * @param tensor patch_embed.proj.weight [D, C, P, P] -> [P*P*C, D]; Linear weights [out, in] -> [in, out]
 */
export function fromPytorchLayout(name: string, tensor: HostTensor): HostTensor {
  const { shape, data } = tensor;
  if (name === PATCH_EMBED_WEIGHT) {
    if (shape.length !== 4 || shape[2] !== shape[3]) {
      throw new Error(`${name}: expected a PyTorch conv weight [D, C, P, P], got [${shape.join(', ')}]`);
    }
    const [D, C, P] = shape;
    const out = new Float32Array(data.length);
    for (let d = 0; d < D; d++)
      for (let c = 0; c < C; c++)
        for (let p = 0; p < P; p++)
          for (let q = 0; q < P; q++) out[((p * P + q) * C + c) * D + d] = data[((d * C + c) * P + p) * P + q];
    return { shape: [P * P * C, D], data: out };
  }
  if (layoutKind(name, shape.length) === 'linear') {
    return { shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) };
  }
  return { shape: [...shape], data };
}
