import { Rng } from '@bmae/data';
import { createMaeParams, disposeParams, encoderParamNames, forwardFeatures, maeConfig } from '@bmae/vit-model';
import * as tf from '@tensorflow/tfjs-core';
import { parseTargetConfig } from './config';
import { createTarget } from './registry';
import { useCpuBackend } from '@bmae/vit-model';
import { vitEncoderAccess } from './vit-encoder';

beforeAll(useCpuBackend);

describe('targets on the real ViT (micro preset)', () => {
  it('an EMA target right after its copy regresses the online encoder\'s LayerNorm-ed patch tokens', () => {
    const config = maeConfig('micro');
    const online = createMaeParams(config, Rng.fromSeed(1));
    const encoder = vitEncoderAccess(online, config.encoder);
    expect(encoder.encoderNames).toEqual(encoderParamNames(config.encoder));
    expect(encoder.encoderNames).not.toContain('decoder_embed.weight');
    const target = createTarget(parseTargetConfig({ kind: 'ema', warmupEpochs: 0, features: { norm: 'none' } }), encoder);
    expect([...target.heads]).toEqual([['pixels', 48], ['ema', 64]]);
    target.onEpochStart(0);
    const images = tf.tidy(() => tf.tensor4d(Rng.fromSeed(2).fillNormal(new Float32Array(2 * 32 * 32 * 3)), [2, 32, 32, 3]));
    const [term] = target.compute(images, { epoch: 0, step: 0 });
    const expected = tf.tidy(() => tf.slice(forwardFeatures(online, config.encoder, images), [0, 1, 0], [-1, -1, -1]));
    expect(term.head).toBe('ema');
    expect(term.value.shape).toEqual([2, 64, 64]);
    expect(Array.from(term.value.dataSync())).toEqual(Array.from(expected.dataSync()));
    [term.value, expected, images].forEach((t) => t.dispose());
    target.dispose();
    disposeParams(online);
  });
});
