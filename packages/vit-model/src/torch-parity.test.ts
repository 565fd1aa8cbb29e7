/**
 * Parity with the official MAE in PyTorch (torch-parity.py): same checkpoint, same images, same masking ->
 * same predictions of both heads, same norm-pix loss, same gradients. Needs a python3 with torch (Debian's
 * python3-torch in /usr/bin/python3) and tools/torch; skipped, saying so, where there is none.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@bmae/data';
import { selectBackend } from './backend';
import { CIFAR10_NORMALIZATION, saveCheckpoint } from './checkpoint';
import { maeConfig } from './config';
import { forwardLoss, forwardMae } from './mae';
import { randomMasking } from './masking';
import { createMaeParams, disposeParams, trainableVariables } from './params';
import { patchify } from './patchify';

const python = ['/usr/bin/python3', 'python3'].find((exe) => spawnSync(exe, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
const describeWithTorch = python ? describe : describe.skip;
if (!python) console.log('torch-parity.test.ts skipped: no python3 with torch (apt-get install python3-torch)');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describeWithTorch('parity with the official MAE in PyTorch', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend({ name: 'cpu', log: () => {} });
    dir = mkdtempSync(join(tmpdir(), 'bmae-torch-parity-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same predictions, loss and gradients', async () => {
    const config = maeConfig('micro', { heads: { pixels: 48, ema: 64 } });
    const params = createMaeParams(config, Rng.fromSeed(5));
    // Move every tensor off its init value (LayerNorm 1/0, zero biases would hide layout mistakes).
    const perturb = Rng.fromSeed(9);
    for (const v of params.values()) v.assign(tf.tidy(() => tf.add(v, tf.tensor(perturb.fillNormal(new Float32Array(v.size), 0, 0.05), v.shape))));
    const checkpoint = join(dir, 'model.safetensors');
    await saveCheckpoint(checkpoint, params, { preset: null, config, normalization: CIFAR10_NORMALIZATION });

    const n = 3;
    const images = tf.tensor4d(Rng.fromSeed(6).fillNormal(new Float32Array(n * 32 * 32 * 3)), [n, 32, 32, 3]);
    const masking = randomMasking(Rng.fromSeed(7), n, 64, config.maskRatio);
    const gradNames = ['patch_embed.proj.weight', 'cls_token', 'blocks.0.attn.qkv.weight', 'blocks.1.mlp.fc2.bias', 'norm.weight',
      'mask_token', 'decoder_blocks.0.norm1.weight', 'decoder_blocks.0.attn.proj.weight', 'decoder_pred.weight'];
    const lossOf = () => {
      const { predictions, mask } = forwardMae(params, config, images, masking);
      return forwardLoss(predictions.get('pixels')!, patchify(images, 4), mask, { normPix: true });
    };
    const { predictions, mask } = forwardMae(params, config, images, masking);
    const { value: loss, grads } = tf.variableGrads(lossOf, trainableVariables(params));

    const input = join(dir, 'input.json');
    writeFileSync(input, JSON.stringify({
      images: Array.from(images.dataSync()), n, idsKeep: Array.from(masking.idsKeep), idsRestore: Array.from(masking.idsRestore),
      mask: Array.from(masking.mask), gradNames,
    }));
    const run = spawnSync(python!, [join(__dirname, 'torch-parity.py'), checkpoint, input], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`torch-parity.py failed (${run.status}): ${run.stderr}`);
    const torch = JSON.parse(run.stdout) as { predictions: Record<string, number[]>; loss: number; grads: Record<string, number[]> };

    for (const [name, pred] of predictions) expect([name, maxAbsDiff(pred.dataSync(), torch.predictions[name]) < 1e-5]).toEqual([name, true]);
    expect(loss.dataSync()[0]).toBeCloseTo(torch.loss, 5);
    for (const name of gradNames) {
      const ours = grads[params.get(name)!.name].dataSync();
      const scale = Math.max(...Array.from(ours, Math.abs));
      expect([name, maxAbsDiff(ours, torch.grads[name]) / scale < 1e-4]).toEqual([name, true]);
    }
    tf.dispose([images, mask, loss, ...predictions.values(), ...Object.values(grads)]);
    disposeParams(params);
  });
});
