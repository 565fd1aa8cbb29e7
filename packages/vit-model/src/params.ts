/**
 * The model's weights: an ordered Map from the official PyTorch MAE / timm parameter names to tfjs
 * variables (the contract the checkpoint code and the trainers rely on). Initialisation follows MAE's
 * models_mae.py (He et al., 2022): xavier-uniform for every Linear (the patch embedding too, viewed as
 * 2-D), zero biases, LayerNorm weight 1 / bias 0, cls and mask tokens from a plain normal(std 0.02)
 * (MAE calls torch.nn.init.normal_ because timm's trunc_normal_ cuts at +-2, i.e. never at std 0.02),
 * fixed sin-cos position embeddings (not trainable).
 *
 * Layouts (tfjs-friendly; the checkpoint writer converts):
 * - Linear `<name>.weight` is [in, out] (y = x W + b); PyTorch stores [out, in].
 * - `patch_embed.proj.weight` is [P*P*C, D] with the patch vector in MAE patchify order (p, q, c);
 *   PyTorch's conv weight [D, C, P, P] maps to it by permute(2, 3, 1, 0).reshape(P*P*C, D).
 * - `blocks.N.attn.qkv.weight` [D, 3D]: columns [q | k | v], heads contiguous inside each, as PyTorch's
 *   Linear(D, 3D) transposed.
 * - cls_token / mask_token [1, 1, D], pos_embed / decoder_pos_embed [1, L+1, D] (CLS row zeros).
 *
 * Randomness: every tensor draws from its own fork of the given Rng, named by the parameter, so adding
 * a head or a block does not change the values of the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@bmae/data';
import { PIXELS_HEAD, patchGrid, type DecoderConfig, type EncoderConfig, type MaeConfig } from './config';
import { sincos2dPositionEmbedding } from './sincos';

/** Model weights keyed by official PyTorch names, in the order a forward pass meets them. */
export type Params = Map<string, tf.Variable>;

/** Std of the normal init of cls_token and mask_token (MAE). */
export const TOKEN_INIT_STD = 0.02;

/** A parameter's host-side initial value, before it becomes a variable. */
interface ParamInit {
  shape: number[];
  values: Float32Array;
  trainable: boolean;
}

type ParamInits = Map<string, ParamInit>;

function xavierUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return rng.fillUniform(new Float32Array(fanIn * fanOut), -limit, limit);
}

function addLinear(inits: ParamInits, rng: Rng, name: string, inDim: number, outDim: number): void {
  inits.set(`${name}.weight`, { shape: [inDim, outDim], values: xavierUniform(rng.fork(`${name}.weight`), inDim, outDim), trainable: true });
  inits.set(`${name}.bias`, { shape: [outDim], values: new Float32Array(outDim), trainable: true });
}

function addLayerNorm(inits: ParamInits, name: string, dim: number): void {
  inits.set(`${name}.weight`, { shape: [dim], values: new Float32Array(dim).fill(1), trainable: true });
  inits.set(`${name}.bias`, { shape: [dim], values: new Float32Array(dim), trainable: true });
}

function addBlock(inits: ParamInits, rng: Rng, prefix: string, width: number, mlpRatio: number): void {
  const hidden = Math.round(width * mlpRatio);
  addLayerNorm(inits, `${prefix}.norm1`, width);
  addLinear(inits, rng, `${prefix}.attn.qkv`, width, 3 * width);
  addLinear(inits, rng, `${prefix}.attn.proj`, width, width);
  addLayerNorm(inits, `${prefix}.norm2`, width);
  addLinear(inits, rng, `${prefix}.mlp.fc1`, width, hidden);
  addLinear(inits, rng, `${prefix}.mlp.fc2`, hidden, width);
}

function addToken(inits: ParamInits, rng: Rng, name: string, width: number): void {
  inits.set(name, { shape: [1, 1, width], values: rng.fork(name).fillNormal(new Float32Array(width), 0, TOKEN_INIT_STD), trainable: true });
}

function addPositionEmbedding(inits: ParamInits, name: string, width: number, gridSide: number): void {
  const values = sincos2dPositionEmbedding(width, gridSide, true);
  inits.set(name, { shape: [1, values.length / width, width], values, trainable: false });
}

export interface EncoderParamOptions {
  /**
   * 'norm' (default): the final LayerNorm `norm.*` (MAE pre-training, CLS-token classifiers);
   * 'fc_norm': timm's `fc_norm.*` after mean-pooling instead; 'none': no final norm.
   */
  finalNorm?: 'norm' | 'fc_norm' | 'none';
}

function addEncoder(inits: ParamInits, rng: Rng, encoder: EncoderConfig, options: EncoderParamOptions): void {
  const { side, dim } = patchGrid(encoder);
  addLinear(inits, rng, 'patch_embed.proj', dim, encoder.width);
  addToken(inits, rng, 'cls_token', encoder.width);
  addPositionEmbedding(inits, 'pos_embed', encoder.width, side);
  for (let i = 0; i < encoder.depth; i++) addBlock(inits, rng, `blocks.${i}`, encoder.width, encoder.mlpRatio);
  const finalNorm = options.finalNorm ?? 'norm';
  if (finalNorm !== 'none') addLayerNorm(inits, finalNorm, encoder.width);
}

/** The name of a target's prediction head: 'pixels' is MAE's decoder_pred, others decoder_pred_<name>. */
export function predictionHeadName(target: string): string {
  return target === PIXELS_HEAD ? 'decoder_pred' : `decoder_pred_${target}`;
}

function addDecoder(inits: ParamInits, rng: Rng, encoder: EncoderConfig, decoder: DecoderConfig, heads: Record<string, number>): void {
  addLinear(inits, rng, 'decoder_embed', encoder.width, decoder.width);
  addToken(inits, rng, 'mask_token', decoder.width);
  addPositionEmbedding(inits, 'decoder_pos_embed', decoder.width, patchGrid(encoder).side);
  for (let i = 0; i < decoder.depth; i++) addBlock(inits, rng, `decoder_blocks.${i}`, decoder.width, decoder.mlpRatio);
  addLayerNorm(inits, 'decoder_norm', decoder.width);
  for (const [target, outDim] of Object.entries(heads)) addLinear(inits, rng, predictionHeadName(target), decoder.width, outDim);
}

function toVariables(inits: ParamInits): Params {
  const params: Params = new Map();
  for (const [name, init] of inits) {
    // tfjs variable names are global and must be unique, so the official name lives only in the Map key.
    params.set(name, tf.tidy(() => tf.variable(tf.tensor(init.values, init.shape, 'float32'), init.trainable)));
  }
  return params;
}

/** Names and shapes of an encoder's parameters, in Map order, without allocating anything. */
export function encoderParamShapes(encoder: EncoderConfig, options: EncoderParamOptions = {}): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const inits: ParamInits = new Map();
  // Shapes only: a throw-away init is cheap next to a model and keeps one definition of the layout.
  addEncoder(inits, dummyRng, encoder, options);
  for (const [name, init] of inits) shapes.set(name, init.shape);
  return shapes;
}

/** The encoder's parameter names (what a target encoder copies from the online model). */
export function encoderParamNames(encoder: EncoderConfig, options: EncoderParamOptions = {}): string[] {
  return [...encoderParamShapes(encoder, options).keys()];
}

/** A fresh MAE (encoder + decoder + one prediction head per target), initialised as MAE. */
export function createMaeParams(config: MaeConfig, rng: Rng): Params {
  const inits: ParamInits = new Map();
  addEncoder(inits, rng, config.encoder, { finalNorm: 'norm' });
  addDecoder(inits, rng, config.encoder, config.decoder, config.heads);
  return toVariables(inits);
}

/** Names and shapes of a full MAE's parameters, in Map order, without allocating tensors. */
export function maeParamShapes(config: MaeConfig): Map<string, number[]> {
  const inits: ParamInits = new Map();
  addEncoder(inits, dummyRng, config.encoder, { finalNorm: 'norm' });
  addDecoder(inits, dummyRng, config.encoder, config.decoder, config.heads);
  return new Map([...inits].map(([name, init]) => [name, init.shape]));
}

/** A fresh encoder only (e.g. the random-init baseline), initialised as MAE. */
export function createEncoderParams(encoder: EncoderConfig, rng: Rng, options: EncoderParamOptions = {}): Params {
  const inits: ParamInits = new Map();
  addEncoder(inits, rng, encoder, options);
  return toVariables(inits);
}

/**
 * New variables holding copies of `names` from `params` (all of them by default): e.g. a target
 * encoder, `copyParams(online, encoderParamNames(cfg), { trainable: false })`.
 */
export function copyParams(params: Params, names: Iterable<string> = params.keys(), options: { trainable?: boolean } = {}): Params {
  const copy: Params = new Map();
  for (const name of names) {
    const source = params.get(name);
    if (!source) throw new Error(`copyParams: parameter '${name}' not found (have ${params.size} parameters)`);
    copy.set(name, tf.tidy(() => tf.variable(source.clone(), options.trainable ?? source.trainable)));
  }
  return copy;
}

/** The variables an optimiser updates (position embeddings and frozen copies are excluded). */
export function trainableVariables(params: Params): tf.Variable[] {
  return [...params.values()].filter((v) => v.trainable);
}

export function disposeParams(params: Params): void {
  for (const variable of params.values()) variable.dispose();
  params.clear();
}

/** Total number of scalars in trainable variables (for logs; MAE prints the same). */
export function countParameters(params: Params, trainableOnly = true): number {
  let total = 0;
  for (const v of params.values()) if (!trainableOnly || v.trainable) total += v.size;
  return total;
}

/** Any name -> tensor map the forward functions read weights from (a Params, or plain tensors). */
export type TensorMap = ReadonlyMap<string, tf.Tensor>;

/** Looks a parameter up, failing with its name (and the model's first names) when absent. */
export function param(params: TensorMap, name: string): tf.Tensor {
  const found = params.get(name);
  if (!found) throw new Error(`Parameter '${name}' is missing from the model (it has: ${[...params.keys()].slice(0, 6).join(', ')}, ...)`);
  return found;
}

/** A stand-in Rng for shape-only walks: values are never read. */
const dummyRng = { fork: () => dummyRng, fillUniform: (a: Float32Array) => a, fillNormal: (a: Float32Array) => a } as unknown as Rng;
