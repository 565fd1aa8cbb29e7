import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@bmae/data';
import {
  assignCheckpoint,
  CIFAR10_NORMALIZATION,
  headsFromTensors,
  METADATA_KEYS,
  readCheckpoint,
  saveCheckpoint,
  type CheckpointInfo,
} from './checkpoint';
import { maeConfig } from './config';
import { createEncoderParams, createMaeParams, disposeParams, type Params } from './params';
import { readSafetensors, writeSafetensors, type HostTensor } from './safetensors';
import { describeOnBackends } from './testing';

const config = maeConfig('micro', { heads: { pixels: 48, ema: 64 } });
const info: CheckpointInfo = {
  preset: 'micro',
  config,
  normalization: { mean: [0.5, 0.25, 0.125], std: [0.2, 0.3, 0.4] },
  provenance: { bmaeVersion: '0.1.0', backend: 'cpu', seed: 7, createdAt: '2026-01-01T00:00:00.000Z', command: 'bmae init' },
};

function bits(params: Params): Map<string, number[]> {
  return new Map([...params].map(([name, v]) => [name, Array.from(new Uint32Array((v.dataSync() as Float32Array).slice().buffer))]));
}

// On cpu, and on tfjs-node: its tensors live in TensorFlow, and a round trip must still be bit-exact.
describeOnBackends(['cpu', 'tfjs-node'], 'checkpoints', () => {
  let dir: string;
  const live: Params[] = [];
  const track = (params: Params) => (live.push(params), params);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bmae-checkpoint-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    live.splice(0).forEach(disposeParams);
  });

  it('round-trips a model exactly, with its config, statistics and provenance', async () => {
    const path = join(dir, 'model.safetensors');
    const saved = track(createMaeParams(config, Rng.fromSeed(1)));
    await saveCheckpoint(path, saved, info);

    const restored = track(createMaeParams(config, Rng.fromSeed(2)));
    const checkpoint = await readCheckpoint(path);
    expect(checkpoint.info).toEqual(info);
    expect(checkpoint.configFromFile).toBe(true);
    const before = tf.memory().numTensors;
    const report = assignCheckpoint(checkpoint, restored);
    expect(tf.memory().numTensors).toBe(before);
    expect(report).toEqual({ loaded: [...saved.keys()], ignored: [], kept: [] });
    expect(bits(restored)).toEqual(bits(saved));
  });

  it('stores PyTorch names, layouts and order, and the metadata as JSON strings', async () => {
    const path = join(dir, 'model.safetensors');
    const saved = track(createMaeParams(config, Rng.fromSeed(1)));
    await saveCheckpoint(path, saved, info);
    const { tensors, metadata } = await readSafetensors(path);

    expect([...tensors.keys()]).toEqual([...saved.keys()]);
    expect(tensors.get('patch_embed.proj.weight')!.shape).toEqual([64, 3, 4, 4]);
    expect(tensors.get('blocks.0.attn.qkv.weight')!.shape).toEqual([192, 64]);
    expect(tensors.get('decoder_pred.weight')!.shape).toEqual([48, 32]);
    expect(tensors.get('decoder_pred_ema.weight')!.shape).toEqual([64, 32]);
    expect(tensors.get('pos_embed')!.shape).toEqual([1, 65, 64]);
    // torch weight[out, in] = bmae weight[in, out]
    const fc1 = saved.get('blocks.1.mlp.fc1.weight')!.arraySync() as number[][];
    const stored = tensors.get('blocks.1.mlp.fc1.weight')!;
    expect(stored.data[5 * 64 + 3]).toBe(fc1[3][5]);

    expect(metadata.format).toBe('pt');
    expect(JSON.parse(metadata[METADATA_KEYS.model])).toEqual({ preset: 'micro', config });
    expect(JSON.parse(metadata[METADATA_KEYS.normalization])).toEqual(info.normalization);
  });

  /** Saves a micro MAE, lets `edit` change its tensors, rewrites the file (with or without bmae metadata). */
  async function editedFile(edit: (tensors: Map<string, HostTensor>) => void, keepMetadata = true): Promise<string> {
    const path = join(dir, 'edited.safetensors');
    await saveCheckpoint(path, track(createMaeParams(config, Rng.fromSeed(1))), info);
    const { tensors, metadata } = await readSafetensors(path);
    edit(tensors);
    await writeSafetensors(path, tensors, keepMetadata ? metadata : {});
    return path;
  }

  it('refuses a mis-shaped, missing or extra tensor by name, before assigning anything', async () => {
    const model = track(createMaeParams(config, Rng.fromSeed(3)));
    const original = bits(model);
    const assignEdited = async (edit: (tensors: Map<string, HostTensor>) => void) => {
      const checkpoint = await readCheckpoint(await editedFile(edit));
      return () => assignCheckpoint(checkpoint, model);
    };

    const misShaped = await assignEdited((t) => t.set('blocks.1.attn.proj.weight', { shape: [64, 32], data: new Float32Array(64 * 32) }));
    expect(misShaped).toThrow(
      `${join(dir, 'edited.safetensors')} does not fit the model: tensor "blocks.1.attn.proj.weight" has shape [64, 32], expected [64, 64]`,
    );
    expect(await assignEdited((t) => t.delete('norm.bias'))).toThrow('missing tensor "norm.bias" (expected shape [64])');
    expect(await assignEdited((t) => t.set('blocks.9.norm1.weight', { shape: [64], data: new Float32Array(64) }))).toThrow(
      'unexpected tensor "blocks.9.norm1.weight" (the model has no such parameter)',
    );
    expect(bits(model)).toEqual(original);
  });

  it('reads a file without bmae metadata (as PyTorch writes it) with --preset and CIFAR-10 statistics', async () => {
    const path = await editedFile(() => undefined, false);
    await expect(readCheckpoint(path)).rejects.toThrow(
      `${path} has no "bmae.model" metadata (not written by bmae): name its architecture with --preset (one of deit-tiny, small, micro)`,
    );
    await expect(readCheckpoint(path, { preset: 'tiny' })).rejects.toThrow("Unknown model preset 'tiny'");
    const checkpoint = await readCheckpoint(path, { preset: 'micro' });
    expect(checkpoint.configFromFile).toBe(false);
    expect(checkpoint.info.normalization).toEqual(CIFAR10_NORMALIZATION);
    expect(checkpoint.info.config.heads).toEqual({ pixels: 48, ema: 64 });
    expect(checkpoint.info.provenance).toBeUndefined();
    const model = track(createMaeParams(checkpoint.info.config, Rng.fromSeed(5)));
    expect(assignCheckpoint(checkpoint, model).loaded).toHaveLength(model.size);
  });

  it('loads only the encoder when asked: decoder tensors ignored, a missing classifier head kept', async () => {
    const path = join(dir, 'model.safetensors');
    const mae = track(createMaeParams(config, Rng.fromSeed(1)));
    await saveCheckpoint(path, mae, info);
    const encoder = track(createEncoderParams(config.encoder, Rng.fromSeed(9)));
    const head = tf.variable(tf.zeros([64, 10]));
    encoder.set('head.weight', head);

    const report = assignCheckpoint(await readCheckpoint(path), encoder, { encoderOnly: true });
    expect(report.kept).toEqual(['head.weight']);
    expect(report.ignored).toContain('decoder_pred_ema.bias');
    expect(report.ignored).toContain('mask_token');
    expect(report.loaded).toEqual([...encoder.keys()].filter((n) => n !== 'head.weight'));
    for (const name of report.loaded) expect(encoder.get(name)!.dataSync()).toEqual(mae.get(name)!.dataSync());
    // Without encoderOnly the same file does not fit an encoder.
    const checkpoint = await readCheckpoint(path);
    expect(() => assignCheckpoint(checkpoint, encoder)).toThrow('unexpected tensor "mask_token"');

    // A classifier head of another size in the file is left out, as MAE's fine-tuning does; a matching one loads.
    checkpoint.tensors.set('head.weight', { shape: [5, 64], data: new Float32Array(320).fill(1) });
    expect(assignCheckpoint(checkpoint, encoder, { encoderOnly: true })).toMatchObject({ kept: ['head.weight'] });
    expect(assignCheckpoint(checkpoint, encoder, { encoderOnly: true }).ignored).toContain('head.weight');
    checkpoint.tensors.set('head.weight', { shape: [10, 64], data: new Float32Array(640).fill(1) });
    expect(assignCheckpoint(checkpoint, encoder, { encoderOnly: true }).loaded).toContain('head.weight');
    expect(head.dataSync().every((v) => v === 1)).toBe(true);
  });

  it('names the metadata key and field of an invalid config', async () => {
    const path = join(dir, 'bad.safetensors');
    await writeSafetensors(path, new Map(), {
      [METADATA_KEYS.model]: JSON.stringify({ preset: 'micro', config: { ...config, encoder: { ...config.encoder, width: 'wide' } } }),
    });
    await expect(readCheckpoint(path)).rejects.toThrow(`${path}: metadata "bmae.model" is invalid: config.encoder.width:`);
    await writeSafetensors(path, new Map(), {
      [METADATA_KEYS.model]: JSON.stringify({ preset: null, config: { ...config, encoder: { ...config.encoder, width: 63 } } }),
    });
    await expect(readCheckpoint(path)).rejects.toThrow(`${path}: metadata "bmae.model": MaeConfig.encoder.width 63 is not divisible by heads 2`);
  });

  it('infers prediction heads from decoder_pred tensors', () => {
    const t = (shape: number[]): HostTensor => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    expect(headsFromTensors(new Map([['decoder_pred.weight', t([48, 32])], ['decoder_pred_slow.weight', t([192, 32])], ['decoder_pred.bias', t([48])]]))).toEqual({
      pixels: 48,
      slow: 192,
    });
  });
});
