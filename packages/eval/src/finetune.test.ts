import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, computeChannelStats, type Split } from '@bmae/data';
import { createMaeParams, disposeParams, maeConfig, saveCheckpoint, CIFAR10_NORMALIZATION } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import { runFinetune } from './finetune';
import { useWasmBackend } from '@bmae/vit-model';

beforeAll(useWasmBackend);

/** Images whose class sets the mean colour: learnable in a few steps. */
function colourSplit(count: number, seed: number): Split {
  const rng = Rng.fromSeed(seed);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 2;
    for (let i = 0; i < 3072; i++) images[n * 3072 + i] = (i % 3 === labels[n] ? 200 : 40) + rng.int(40);
  }
  return { images, labels, count };
}

describe('runFinetune (micro)', () => {
  const config = maeConfig('micro');
  const train = colourSplit(64, 1);
  const test = colourSplit(32, 2);
  const stats = computeChannelStats(train.images);

  it('fine-tunes a pre-trained checkpoint (norm.* dropped for fc_norm) and learns an easy task without leaking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-finetune-'));
    const file = join(dir, 'mae.safetensors');
    const mae = createMaeParams(config, Rng.fromSeed(3));
    await saveCheckpoint(file, mae, { preset: 'micro', config, normalization: CIFAR10_NORMALIZATION });
    const blockWeight = Array.from(mae.get('blocks.0.attn.qkv.weight')!.dataSync());
    disposeParams(mae);

    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const result = await runFinetune({
      checkpoint: file, encoder: config.encoder, train, test, stats, numClasses: 2, log: (l) => lines.push(l),
      options: { epochs: 3, batchSize: 16, blr: 5e-3, warmupEpochs: 1, mixup: 0, cutmix: 0, labelSmoothing: 0.1 },
    });
    expect(lines[0]).toMatch(/loaded \d+ encoder tensors .* new: fc_norm.weight, fc_norm.bias, head.weight, head.bias/);
    expect(result.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(result.top1).toBeGreaterThan(0.9);
    expect(result.settings).toMatchObject({ lr: 5e-3 * 16 / 256, layerDecay: 0.75, globalPool: true });
    // it trained: the encoder moved away from the checkpoint
    expect(Array.from(result.params.get('blocks.0.attn.qkv.weight')!.dataSync())).not.toEqual(blockWeight);
    disposeParams(result.params);
    expect(tf.memory().numTensors).toBe(before);
    rmSync(dir, { recursive: true, force: true });
  });

  it('random init with mixup/cutmix and the CLS head runs; a too-large batch is refused', async () => {
    const result = await runFinetune({
      checkpoint: null, encoder: config.encoder, train, test, stats, numClasses: 2,
      options: { epochs: 1, batchSize: 16, globalPool: false },
    });
    expect(result.params.has('norm.weight')).toBe(true);
    expect(Number.isFinite(result.history[0].trainLoss)).toBe(true);
    disposeParams(result.params);
    await expect(runFinetune({ checkpoint: null, encoder: config.encoder, train, test, stats, numClasses: 2, options: { batchSize: 128 } })).rejects.toThrow(
      'batch size 128 is larger than the 64 training images',
    );
  });
});
