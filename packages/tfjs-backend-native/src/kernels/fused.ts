/**
 * Fused LayerNorm, GELU and self-attention kernels, forward and backward, under names of their own (tfjs has no
 * such kernels). @bmae/vit-model's layerNormOp, gelu and attention run them through tf.engine().runKernel
 * when the active backend registers them, and their composite of plain tfjs ops otherwise, so
 * every other backend is unchanged. The names and the inputs/outputs below are that contract
 * (FUSED_KERNEL_NAMES in vit-model's fused.ts); the gradients are wired there, in tf.customGrad.
 *
 *   BmaeLayerNorm      {x [..., D], weight [D], bias [D]}, attrs {eps} -> [y [..., D], xhat [..., D], rstd [...]]
 *   BmaeLayerNormGrad  {dy [..., D], xhat [..., D], rstd [...], weight [D]} -> [dx [..., D], dweight [D], dbias [D]]
 *   BmaeGelu           {x}      -> y
 *   BmaeGeluGrad       {x, dy}  -> dx
 *   BmaeAttention      {qkv [N, T, 3D]}, attrs {heads, scale} -> [out [N, T, D], probs [N, heads, T, T]]
 *   BmaeAttentionGrad  {dy [N, T, D], qkv [N, T, 3D], probs [N, heads, T, T]}, attrs {heads, scale} -> dqkv [N, T, 3D]
 *
 * qkv is the qkv Linear's output as it is: columns [q | k | v], each D = heads * dh wide with the heads
 * contiguous (timm's layout); out has the heads as contiguous columns again, ready for proj.
 */
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

import { addon } from '../addon';
import { CpuLikeBackend, KernelArgs, alloc, f32, output, sizeOf } from './util';

export const FUSED_KERNEL_NAMES = {
  layerNorm: 'BmaeLayerNorm',
  layerNormGrad: 'BmaeLayerNormGrad',
  gelu: 'BmaeGelu',
  geluGrad: 'BmaeGeluGrad',
  attention: 'BmaeAttention',
  attentionGrad: 'BmaeAttentionGrad',
} as const;

/** The float32 values of every input; the fused kernels have no cpu fallback, so anything else is an error. */
function values(backend: CpuLikeBackend, kernel: string, inputs: Record<string, TensorInfo>, names: string[]): Float32Array[] {
  return names.map((name) => {
    const v = f32(backend, inputs[name]);
    if (v == null) throw new Error(`${kernel}: input '${name}' must be a float32 tensor`);
    return v;
  });
}

/** [rows, width] of a [..., width] tensor. */
function rowsOf(shape: number[]): [number, number] {
  if (shape.length === 0) throw new Error(`LayerNorm needs a tensor of rank >= 1, got a scalar`);
  const width = shape[shape.length - 1];
  return [width === 0 ? 0 : sizeOf(shape) / width, width];
}

function layerNorm({ inputs, backend, attrs }: KernelArgs<{ eps: number }>): TensorInfo[] {
  const [x, weight, bias] = values(backend, FUSED_KERNEL_NAMES.layerNorm, inputs, ['x', 'weight', 'bias']);
  const shape = inputs.x.shape;
  const [rows, width] = rowsOf(shape);
  const y = alloc(backend, rows * width);
  const xhat = alloc(backend, rows * width);
  const rstd = alloc(backend, rows);
  addon.layerNorm(x, weight, bias, rows, width, attrs.eps, y, xhat, rstd);
  return [output(backend, shape, y), output(backend, shape, xhat), output(backend, shape.slice(0, -1), rstd)];
}

function layerNormGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const [dy, xhat, rstd, weight] = values(backend, FUSED_KERNEL_NAMES.layerNormGrad, inputs, ['dy', 'xhat', 'rstd', 'weight']);
  const shape = inputs.dy.shape;
  const [rows, width] = rowsOf(shape);
  const dx = alloc(backend, rows * width);
  const dweight = alloc(backend, width);
  const dbias = alloc(backend, width);
  addon.layerNormGrad(dy, xhat, rstd, weight, rows, width, dx, dweight, dbias);
  return [output(backend, shape, dx), output(backend, [width], dweight), output(backend, [width], dbias)];
}

function gelu({ inputs, backend }: KernelArgs): TensorInfo {
  const [x] = values(backend, FUSED_KERNEL_NAMES.gelu, inputs, ['x']);
  const y = alloc(backend, x.length);
  addon.gelu(x, y);
  return output(backend, inputs.x.shape, y);
}

function geluGrad({ inputs, backend }: KernelArgs): TensorInfo {
  const [x, dy] = values(backend, FUSED_KERNEL_NAMES.geluGrad, inputs, ['x', 'dy']);
  const dx = alloc(backend, x.length);
  addon.geluGrad(x, dy, dx);
  return output(backend, inputs.x.shape, dx);
}

interface AttentionAttrs {
  heads: number;
  scale: number;
}

/** [batch, tokens, heads, headDim] of qkv [N, T, 3D] split into `heads` heads. */
function attentionShape(kernel: string, qkvShape: number[], heads: number): [number, number, number, number] {
  if (qkvShape.length !== 3) throw new Error(`${kernel}: qkv must be [N, T, 3D], got [${qkvShape}]`);
  const [batch, tokens, columns] = qkvShape;
  if (!(Number.isInteger(heads) && heads >= 1) || columns % (3 * heads) !== 0 || columns === 0) {
    throw new Error(`${kernel}: qkv's ${columns} columns are not 3 x ${heads} heads x a head width >= 1`);
  }
  return [batch, tokens, heads, columns / (3 * heads)];
}

function attention({ inputs, backend, attrs }: KernelArgs<AttentionAttrs>): TensorInfo[] {
  const [qkv] = values(backend, FUSED_KERNEL_NAMES.attention, inputs, ['qkv']);
  const [batch, tokens, heads, headDim] = attentionShape(FUSED_KERNEL_NAMES.attention, inputs.qkv.shape, attrs.heads);
  const out = alloc(backend, batch * tokens * heads * headDim);
  const probs = alloc(backend, batch * heads * tokens * tokens);
  addon.attention(qkv, batch, tokens, heads, headDim, attrs.scale, out, probs);
  return [output(backend, [batch, tokens, heads * headDim], out), output(backend, [batch, heads, tokens, tokens], probs)];
}

function attentionGrad({ inputs, backend, attrs }: KernelArgs<AttentionAttrs>): TensorInfo {
  const [dy, qkv, probs] = values(backend, FUSED_KERNEL_NAMES.attentionGrad, inputs, ['dy', 'qkv', 'probs']);
  const [batch, tokens, heads, headDim] = attentionShape(FUSED_KERNEL_NAMES.attentionGrad, inputs.qkv.shape, attrs.heads);
  const dqkv = alloc(backend, qkv.length);
  addon.attentionGrad(dy, qkv, probs, batch, tokens, heads, headDim, attrs.scale, dqkv);
  return output(backend, inputs.qkv.shape, dqkv);
}

export function fusedKernels(backendName: string): KernelConfig[] {
  const kernels: [string, (args: KernelArgs<never>) => TensorInfo | TensorInfo[]][] = [
    [FUSED_KERNEL_NAMES.layerNorm, layerNorm as never],
    [FUSED_KERNEL_NAMES.layerNormGrad, layerNormGrad],
    [FUSED_KERNEL_NAMES.gelu, gelu],
    [FUSED_KERNEL_NAMES.geluGrad, geluGrad],
    [FUSED_KERNEL_NAMES.attention, attention as never],
    [FUSED_KERNEL_NAMES.attentionGrad, attentionGrad as never],
  ];
  return kernels.map(([kernelName, fn]) => ({ kernelName, backendName, kernelFunc: fn as unknown as KernelFunc }));
}
