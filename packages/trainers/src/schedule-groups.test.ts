import { fractionalEpoch, lrAt, scaledLr } from './lr-schedule';
import { layerDecayGroups, skipsWeightDecay, vitLayerId, weightDecayGroups } from './param-groups';

describe('lr schedule (MAE adjust_learning_rate)', () => {
  const schedule = { lr: 1, minLr: 0.1, warmupEpochs: 4, epochs: 12 };
  it('lr = blr * batch / 256', () => {
    expect(scaledLr(1.5e-4, 512)).toBeCloseTo(3e-4, 12);
    expect(scaledLr(1e-3, 256)).toBe(1e-3);
  });
  it('warms up linearly from 0, then decays by a half-cosine to minLr', () => {
    expect(lrAt(0, schedule)).toBe(0);
    expect(lrAt(1, schedule)).toBe(0.25);
    expect(lrAt(4, schedule)).toBe(1);
    expect(lrAt(8, schedule)).toBeCloseTo(0.55, 12);
    expect(lrAt(12, schedule)).toBeCloseTo(0.1, 12);
    expect(lrAt(6, schedule)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
  });
  it('is set per step from the fractional epoch', () => {
    expect(fractionalEpoch(2, 25, 100)).toBe(2.25);
    expect(lrAt(fractionalEpoch(0, 50, 100), schedule)).toBe(0.125);
  });
});

describe('parameter groups from PyTorch names', () => {
  const shapes = new Map<string, { shape: number[] }>([
    ['cls_token', { shape: [1, 1, 8] }],
    ['pos_embed', { shape: [1, 5, 8] }],
    ['mask_token', { shape: [1, 1, 4] }],
    ['decoder_pos_embed', { shape: [1, 5, 4] }],
    ['patch_embed.proj.weight', { shape: [48, 8] }],
    ['patch_embed.proj.bias', { shape: [8] }],
    ['blocks.0.norm1.weight', { shape: [8] }],
    ['blocks.0.attn.qkv.weight', { shape: [8, 24] }],
    ['blocks.1.mlp.fc2.weight', { shape: [32, 8] }],
    ['norm.weight', { shape: [8] }],
    ['head.weight', { shape: [8, 10] }],
    ['head.bias', { shape: [10] }],
  ]);

  it('no weight decay on biases, norms, tokens and position embeddings', () => {
    const decayed = [...weightDecayGroups(shapes, 0.05)].filter(([, g]) => g.weightDecay === 0.05).map(([n]) => n);
    expect(decayed).toEqual(['patch_embed.proj.weight', 'blocks.0.attn.qkv.weight', 'blocks.1.mlp.fc2.weight', 'head.weight']);
    expect(skipsWeightDecay('decoder_pred.bias', [48])).toBe(true);
  });

  it('layer ids follow get_layer_id_for_vit', () => {
    expect(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.0.norm1.weight', 'blocks.11.mlp.fc1.bias', 'norm.weight', 'head.weight', 'fc_norm.bias'].map((n) => vitLayerId(n, 13))).toEqual([0, 0, 0, 1, 12, 13, 13, 13]);
  });

  it('layer-wise lr decay scales = decay^(depth + 1 - layer id)', () => {
    const groups = layerDecayGroups(shapes, { weightDecay: 0.05, layerDecay: 0.5, depth: 2 });
    expect(groups.get('cls_token')).toEqual({ weightDecay: 0, lrScale: 0.125 });
    expect(groups.get('patch_embed.proj.weight')).toEqual({ weightDecay: 0.05, lrScale: 0.125 });
    expect(groups.get('blocks.0.attn.qkv.weight')).toEqual({ weightDecay: 0.05, lrScale: 0.25 });
    expect(groups.get('blocks.1.mlp.fc2.weight')).toEqual({ weightDecay: 0.05, lrScale: 0.5 });
    expect(groups.get('head.bias')).toEqual({ weightDecay: 0, lrScale: 1 });
  });
});
