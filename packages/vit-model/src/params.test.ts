import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { maeConfig } from './config';
import {
  copyParams,
  countParameters,
  createMaeParams,
  disposeParams,
  encoderParamNames,
  maeParamShapes,
  predictionHeadName,
  trainableVariables,
} from './params';

describe('MAE parameters', () => {
  beforeAll(() => selectBackend({ name: 'cpu', log: () => {} }));

  it('uses the official names, order and tfjs layouts (DeiT-Tiny shapes)', () => {
    const shapes = maeParamShapes(maeConfig('deit-tiny', { heads: { pixels: 48, ema: 192 } }));
    const names = [...shapes.keys()];
    expect(names.slice(0, 5)).toEqual(['patch_embed.proj.weight', 'patch_embed.proj.bias', 'cls_token', 'pos_embed', 'blocks.0.norm1.weight']);
    expect(names.slice(-4)).toEqual(['decoder_pred.weight', 'decoder_pred.bias', 'decoder_pred_ema.weight', 'decoder_pred_ema.bias']);
    const expected: Record<string, number[]> = {
      'patch_embed.proj.weight': [48, 192],
      cls_token: [1, 1, 192],
      pos_embed: [1, 65, 192],
      'blocks.11.attn.qkv.weight': [192, 576],
      'blocks.11.attn.qkv.bias': [576],
      'blocks.0.attn.proj.weight': [192, 192],
      'blocks.0.mlp.fc1.weight': [192, 768],
      'blocks.0.mlp.fc2.weight': [768, 192],
      'norm.weight': [192],
      'decoder_embed.weight': [192, 128],
      mask_token: [1, 1, 128],
      'decoder_pos_embed': [1, 65, 128],
      'decoder_blocks.3.mlp.fc2.bias': [128],
      'decoder_norm.bias': [128],
      'decoder_pred.weight': [128, 48],
      'decoder_pred_ema.weight': [128, 192],
    };
    for (const [name, shape] of Object.entries(expected)) expect([name, shapes.get(name)]).toEqual([name, shape]);
    expect(shapes.has('blocks.12.norm1.weight')).toBe(false);
    expect(shapes.has('decoder_blocks.4.norm1.weight')).toBe(false);
    expect(predictionHeadName('pixels')).toBe('decoder_pred');
  });

  it('lists encoder names as a prefix of the MAE names', () => {
    const config = maeConfig('micro');
    const names = encoderParamNames(config.encoder);
    expect(names).toEqual([...maeParamShapes(config).keys()].slice(0, names.length));
    expect(names.at(-1)).toBe('norm.bias');
    expect(encoderParamNames(config.encoder, { finalNorm: 'fc_norm' }).at(-1)).toBe('fc_norm.bias');
  });

  it('initialises as MAE: xavier-uniform linears, zero biases, LayerNorm 1/0, tokens normal(0.02), fixed pos embeds', () => {
    const params = createMaeParams(maeConfig('micro'), Rng.fromSeed(0));
    const qkv = params.get('blocks.0.attn.qkv.weight')!.dataSync();
    const limit = Math.sqrt(6 / (64 + 192));
    expect(Math.max(...qkv)).toBeLessThanOrEqual(limit);
    expect(Math.min(...qkv)).toBeGreaterThanOrEqual(-limit);
    expect(Math.max(...qkv)).toBeGreaterThan(0.95 * limit); // uniform fills the range
    const pe = params.get('patch_embed.proj.weight')!.dataSync(); // fan in 48, fan out 64
    expect(Math.max(...pe.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (48 + 64)));
    expect(Array.from(params.get('blocks.0.attn.qkv.bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(params.get('norm.weight')!.dataSync()).every((v) => v === 1)).toBe(true);
    const token = Array.from(params.get('mask_token')!.dataSync());
    const std = Math.sqrt(token.reduce((a, v) => a + v * v, 0) / token.length);
    expect(std).toBeGreaterThan(0.01);
    expect(std).toBeLessThan(0.03);
    expect(params.get('pos_embed')!.trainable).toBe(false);
    expect(params.get('decoder_pos_embed')!.trainable).toBe(false);
    expect(trainableVariables(params)).toHaveLength(params.size - 2);
    expect(countParameters(params, false) - countParameters(params)).toBe(65 * 64 + 65 * 32);
    disposeParams(params);
  });

  it('is reproducible from the seed, and per-parameter streams are independent of the heads', () => {
    const a = createMaeParams(maeConfig('micro'), Rng.fromSeed(7));
    const b = createMaeParams(maeConfig('micro', { heads: { pixels: 48, ema: 64 } }), Rng.fromSeed(7));
    const c = createMaeParams(maeConfig('micro'), Rng.fromSeed(8));
    const values = (p: typeof a, n: string) => Array.from(p.get(n)!.dataSync());
    expect(values(a, 'blocks.1.mlp.fc1.weight')).toEqual(values(b, 'blocks.1.mlp.fc1.weight'));
    expect(values(a, 'decoder_pred.weight')).toEqual(values(b, 'decoder_pred.weight'));
    expect(values(a, 'blocks.1.mlp.fc1.weight')).not.toEqual(values(c, 'blocks.1.mlp.fc1.weight'));
    [a, b, c].forEach(disposeParams);
  });

  it('copies an encoder into independent non-trainable variables', () => {
    const config = maeConfig('micro');
    const online = createMaeParams(config, Rng.fromSeed(1));
    const target = copyParams(online, encoderParamNames(config.encoder), { trainable: false });
    expect([...target.keys()]).toEqual(encoderParamNames(config.encoder));
    expect(trainableVariables(target)).toHaveLength(0);
    online.get('norm.weight')!.assign(tf.zerosLike(online.get('norm.weight')!));
    expect(target.get('norm.weight')!.dataSync()[0]).toBe(1);
    expect(() => copyParams(online, ['nope'])).toThrow("copyParams: parameter 'nope' not found");
    disposeParams(online);
    disposeParams(target);
  });

  it('validates configs with messages naming the field', () => {
    expect(() => maeConfig('micro', { maskRatio: 1 })).toThrow('MaeConfig.maskRatio 1 must be in [0, 1)');
    expect(() => maeConfig('micro', { heads: {} })).toThrow('MaeConfig.heads is empty');
    expect(() => maeConfig('micro', { heads: { 'a.b': 3 } })).toThrow("head name 'a.b'");
    expect(() => maeConfig('micro', { heads: { '1st': 3 } })).toThrow('not starting with a digit');
    expect(() => maeConfig('huge' as never)).toThrow("Unknown model preset 'huge': choose one of deit-tiny, small, micro");
  });
});
