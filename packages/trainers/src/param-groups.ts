/**
 * Per-parameter optimiser settings, decided from the PyTorch parameter names as in MAE:
 * - pre-training: timm's param_groups_weight_decay (used by MAE's main_pretrain.py): no weight
 *   decay on 1-D tensors (biases, norms), on `*.bias`, and on tokens / position embeddings;
 * - fine-tuning: MAE's util/lr_decay.py param_groups_lrd: the same decay rule, plus a layer-wise
 *   lr scale layer_decay^(num_layers - layer_id) with num_layers = depth + 1 and
 *   layer_id 0 for cls_token / pos_embed / patch_embed.*, i + 1 for blocks.i.*, num_layers else
 *   (the final norm, fc_norm, head).
 */

export interface ParamGroup {
  weightDecay: number;
  /** the parameter's lr is lr * lrScale */
  lrScale: number;
}

/** Parameters that never get weight decay, whatever their shape. */
export const NO_WEIGHT_DECAY_NAMES: ReadonlySet<string> = new Set(['cls_token', 'mask_token', 'pos_embed', 'decoder_pos_embed']);

/** True when the parameter gets no weight decay (ndim 1, a bias, a token or a position embedding). */
export function skipsWeightDecay(name: string, shape: readonly number[]): boolean {
  return shape.length === 1 || name.endsWith('.bias') || NO_WEIGHT_DECAY_NAMES.has(name);
}

/** Pre-training groups: weight decay where allowed, lr scale 1. */
export function weightDecayGroups(params: ReadonlyMap<string, { shape: readonly number[] }>, weightDecay: number): Map<string, ParamGroup> {
  return new Map([...params].map(([name, p]) => [name, { weightDecay: skipsWeightDecay(name, p.shape) ? 0 : weightDecay, lrScale: 1 }]));
}

/** MAE's get_layer_id_for_vit. @param numLayers depth + 1 */
export function vitLayerId(name: string, numLayers: number): number {
  if (name === 'cls_token' || name === 'pos_embed' || name.startsWith('patch_embed.')) return 0;
  const block = /^blocks\.(\d+)\./.exec(name);
  if (block) return Number(block[1]) + 1;
  return numLayers;
}

/** Fine-tuning groups with layer-wise lr decay. @param depth number of encoder blocks */
export function layerDecayGroups(
  params: ReadonlyMap<string, { shape: readonly number[] }>,
  { weightDecay, layerDecay, depth }: { weightDecay: number; layerDecay: number; depth: number },
): Map<string, ParamGroup> {
  const numLayers = depth + 1;
  return new Map(
    [...params].map(([name, p]) => [
      name,
      {
        weightDecay: skipsWeightDecay(name, p.shape) ? 0 : weightDecay,
        lrScale: layerDecay ** (numLayers - vitLayerId(name, numLayers)),
      },
    ]),
  );
}
