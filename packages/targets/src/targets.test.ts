import * as tf from '@tensorflow/tfjs-core';
import { parseTargetConfig, targetPresets, type TargetConfigInput } from './config';
import { weightCosine, meanFeatureStd } from './monitors';
import { createTarget } from './registry';
import { TargetEncoder } from './target-encoder';
import type { Target, TargetTerm } from './target';
import { useCpuBackend } from '@bmae/vit-model';
import { disposeAll, makeTestEncoder, setOnline } from './test-encoder';

beforeAll(useCpuBackend);

const images = () => tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 1, 1, 2, 2, 3, 3, 4, 4], [2, 2, 2, 2]);
const build = (input: TargetConfigInput) => {
  const encoder = makeTestEncoder();
  return { encoder, target: createTarget(parseTargetConfig(input), encoder) };
};
/** The terms of one batch as plain data (heads, weights, values). */
function termsAt(target: Target, epoch: number): Array<{ head: string; weight: number; value: number[][][] }> {
  return tf.tidy(() => {
    const input = images();
    const terms = target.compute(input, { epoch, step: 0 });
    const out = terms.map((t: TargetTerm) => ({ head: t.head, weight: t.weight, value: t.value.arraySync() }));
    terms.forEach((t) => t.value.dispose());
    return out;
  });
}
/** What a fresh target encoder copied from `online` would produce (the reference). */
function featuresOf(encoder: ReturnType<typeof makeTestEncoder>, norm: 'layernorm' | 'none' = 'layernorm') {
  const copy = TargetEncoder.copyOf(encoder.online, encoder.encoderNames);
  const out = tf.tidy(() => copy.features(encoder, images(), { norm, tokens: 'afterNorm' }).arraySync());
  copy.dispose();
  return out;
}
const values = (v: tf.Tensor) => Array.from(v.dataSync());

describe('TargetEncoder', () => {
  it('EMA on known weights: tau 0 keeps, tau 1 copies exactly, tau 0.25 interpolates', () => {
    const online = new Map([['w', tf.variable(tf.tensor1d([3, 6]))]]);
    const start = new Map([['w', tf.tensor1d([1, 2])]]);
    const target = TargetEncoder.copyOf(start, ['w']);
    target.emaUpdate(online, 0);
    expect(values(target.variables.get('w')!)).toEqual([1, 2]);
    target.emaUpdate(online, 0.25);
    expect(values(target.variables.get('w')!)).toEqual([1.5, 3]);
    target.emaUpdate(online, 1);
    expect(values(target.variables.get('w')!)).toEqual([3, 6]);
    expect(() => target.emaUpdate(online, 1.5)).toThrow('EMA tau must be in [0, 1], got 1.5');
    target.dispose();
    disposeAll(online);
    start.get('w')!.dispose();
  });

  it('is non-trainable and independent of later changes to the online weights', () => {
    const encoder = makeTestEncoder();
    const target = TargetEncoder.copyOf(encoder.online, encoder.encoderNames);
    expect(target.names).toEqual(['w', 'b']);
    expect([...target.variables.values()].every((v) => !v.trainable)).toBe(true);
    setOnline(encoder.online, 7);
    expect(values(target.variables.get('b')!)).toEqual([0.5, -0.5, 0]);
    target.dispose();
    disposeAll(encoder.online);
  });

  it('features are the patch tokens (CLS dropped), after or before the final norm', () => {
    const encoder = makeTestEncoder();
    const target = TargetEncoder.copyOf(encoder.online, encoder.encoderNames);
    const after = tf.tidy(() => target.features(encoder, images(), { norm: 'none', tokens: 'afterNorm' }).arraySync());
    const before = tf.tidy(() => target.features(encoder, images(), { norm: 'none', tokens: 'beforeNorm' }).arraySync());
    // first patch of image 0 is (0, 1): tokens = (0,1) @ w + b = (0, 1, -1) + (0.5, -0.5, 0)
    expect(before[0][0]).toEqual([0.5, 0.5, -1]);
    expect(after[0][0]).toEqual([1, 1, -2]);
    expect(after[0].length).toBe(4);
    target.dispose();
    disposeAll(encoder.online);
  });
});

describe('pixels target', () => {
  it('regresses the (norm-pix) patches on the pixels head', () => {
    const { encoder, target } = build({ kind: 'pixels', normPix: false });
    expect([...target.heads]).toEqual([['pixels', 2]]);
    const [term] = termsAt(target, 0);
    expect(term.head).toBe('pixels');
    expect(term.value[0][1]).toEqual([2, 3]);
    const normed = termsAt(build({ kind: 'pixels' }).target, 0)[0].value[0][1];
    expect(normed[0]).toBeCloseTo(-0.5 / Math.sqrt(0.5 + 1e-6), 5);
    expect(target.state()).toEqual({ kind: 'pixels', name: 'pixels', epoch: 0, mode: 'pixels', updates: 0, tau: null });
    disposeAll(encoder.online);
  });
});

describe('MAE-K snapshot target', () => {
  it('reconstructs pixels for K epochs, then the online encoder copied at the start of K, 2K', () => {
    const { encoder, target } = build({ kind: 'snapshot', every: 2, features: { norm: 'none' } });
    expect([...target.heads]).toEqual([['pixels', 2], ['snapshot', 3]]);
    const seen: Array<{ epoch: number; head: string; updates: number }> = [];
    const copiedAt: Record<number, number[][][]> = {};
    for (let epoch = 0; epoch < 6; epoch++) {
      setOnline(encoder.online, epoch); // the online weights at the start of this epoch
      target.onEpochStart(epoch);
      if (epoch % 2 === 0) copiedAt[epoch] = featuresOf(encoder, 'none');
      setOnline(encoder.online, epoch + 0.5); // training moves the online weights
      const [term] = termsAt(target, epoch);
      seen.push({ epoch, head: term.head, updates: target.state().updates });
      if (epoch >= 2) expect(term.value).toEqual(copiedAt[epoch - (epoch % 2)]);
      target.onEpochEnd(epoch);
    }
    expect(seen.map((s) => s.head)).toEqual(['pixels', 'pixels', 'snapshot', 'snapshot', 'snapshot', 'snapshot']);
    expect(seen.map((s) => s.updates)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(target.state()).toMatchObject({ kind: 'snapshot', mode: 'features', epoch: 5, tau: null });
    target.dispose();
    disposeAll(encoder.online);
  });

  it('says what is wrong when features are asked for before the first copy', () => {
    const { encoder, target } = build({ kind: 'snapshot', every: 1 });
    expect(() => termsAt(target, 3)).toThrow('MAE-K target "snapshot" has no target encoder at epoch 3: call onEpochStart(epoch) first');
    disposeAll(encoder.online);
  });
});

describe('EMA target', () => {
  it('pixels during WSE, copy at the end of warm-up, then (1 - tau) * target + tau * online per epoch', () => {
    const { encoder, target } = build({ kind: 'ema', tau: 0.5, warmupEpochs: 2, features: { norm: 'none' } });
    const heads: string[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      setOnline(encoder.online, 2 * epoch);
      target.onEpochStart(epoch);
      heads.push(termsAt(target, epoch)[0].head);
      target.onStepEnd({ epoch, step: epoch }); // per-epoch mode: steps do nothing
      target.onEpochEnd(epoch);
    }
    // copy of 4 at the start of epoch 2; after epoch 2: 0.5*4 + 0.5*4 = 4; after epoch 3: 0.5*4 + 0.5*6 = 5
    expect(heads).toEqual(['pixels', 'pixels', 'ema', 'ema']);
    const weights = target.weights();
    expect([...weights.keys()]).toEqual(['ema/w', 'ema/b']);
    expect(values(weights.get('ema/b')!)).toEqual([5, 5, 5]);
    expect(target.state()).toEqual({ kind: 'ema', name: 'ema', epoch: 3, mode: 'features', updates: 3, tau: 0.5 });
    target.dispose();
    disposeAll(encoder.online);
  });

  it('per-step updates move the target after every step once bootstrapping', () => {
    const { encoder, target } = build({ kind: 'ema', tau: 0.5, warmupEpochs: 0, updateEvery: 'step' });
    setOnline(encoder.online, 0);
    target.onEpochStart(0);
    setOnline(encoder.online, 8);
    target.onStepEnd({ epoch: 0, step: 0 });
    target.onStepEnd({ epoch: 0, step: 1 });
    target.onEpochEnd(0); // no extra epoch update
    expect(values(target.weights().get('ema/w')!)).toEqual(new Array(6).fill(6));
    expect(target.state().updates).toBe(3);
    target.dispose();
    disposeAll(encoder.online);
  });
});

describe('weighted sum (MAE-new)', () => {
  it('merges pixel terms while warming up, then one term per head with lambda', () => {
    const { encoder, target } = build({
      kind: 'sum',
      terms: [
        { weight: 1, target: { kind: 'ema', tau: 0.005, warmupEpochs: 1 } },
        { weight: 0.2, target: { kind: 'snapshot', every: 2 } },
      ],
    });
    expect([...target.heads]).toEqual([['pixels', 2], ['ema', 3], ['snapshot', 3]]);
    const summary: string[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      target.onEpochStart(epoch);
      summary.push(termsAt(target, epoch).map((t) => `${t.head}*${t.weight.toFixed(2)}`).join('+'));
      target.onEpochEnd(epoch);
    }
    expect(summary).toEqual(['pixels*1.20', 'ema*1.00+pixels*0.20', 'ema*1.00+snapshot*0.20']);
    const state = target.state();
    expect(state).toMatchObject({ kind: 'sum', mode: 'features', updates: 4, epoch: 2 });
    expect(state.components!.map((c) => [c.weight, c.state.kind, c.state.updates])).toEqual([[1, 'ema', 3], [0.2, 'snapshot', 1]]);
    expect([...target.weights().keys()]).toEqual(['ema/w', 'ema/b', 'snapshot/w', 'snapshot/b']);
    target.dispose();
    disposeAll(encoder.online);
  });
});

describe('checkpoint restore', () => {
  it('a restored target continues exactly like the original', () => {
    const config = targetPresets['mae-new'];
    const { encoder, target } = build(config);
    for (let epoch = 0; epoch < 7; epoch++) {
      setOnline(encoder.online, epoch);
      target.onEpochStart(epoch);
      target.onEpochEnd(epoch);
    }
    const saved = new Map([...target.weights()].map(([k, v]) => [k, tf.clone(v)]));
    const state = JSON.parse(JSON.stringify(target.state()));
    const restored = createTarget(parseTargetConfig(config), encoder);
    restored.restore(state, saved);
    expect(restored.state()).toEqual(target.state());
    expect(termsAt(restored, 7)).toEqual(termsAt(target, 7));
    for (const t of [target, restored]) {
      setOnline(encoder.online, 9);
      t.onEpochStart(7);
      t.onEpochEnd(7);
    }
    expect(termsAt(restored, 8)).toEqual(termsAt(target, 8));
    saved.forEach((v) => v.dispose());
    [target, restored].forEach((t) => t.dispose());
    disposeAll(encoder.online);
  });

  it('names a missing weight and a mismatched state', () => {
    const { encoder, target } = build({ kind: 'snapshot', every: 1 });
    const state = { kind: 'snapshot', name: 'snapshot', epoch: 3, mode: 'features' as const, updates: 3, tau: null };
    expect(() => target.restore(state, new Map())).toThrow('target "snapshot": the checkpoint lacks target weight "snapshot/w"');
    expect(() => target.restore({ ...state, kind: 'ema', name: 'ema' }, new Map())).toThrow('cannot restore target snapshot "snapshot" from the state of ema "ema"');
    disposeAll(encoder.online);
  });
});

describe('memory', () => {
  it('a whole MAE-new schedule with per-step updates keeps the live tensor count flat', () => {
    const { encoder, target } = build({
      kind: 'sum',
      terms: [
        { weight: 1, target: { kind: 'ema', warmupEpochs: 1, updateEvery: 'step' } },
        { weight: 0.2, target: { kind: 'snapshot', every: 1 } },
      ],
    });
    const counts: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      target.onEpochStart(epoch);
      for (let step = 0; step < 3; step++) {
        termsAt(target, epoch);
        target.onStepEnd({ epoch, step });
      }
      target.onEpochEnd(epoch);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[3]).toBe(counts[1]);
    target.dispose();
    expect(tf.memory().numTensors).toBe(counts[0]);
    disposeAll(encoder.online);
  });
});

describe('monitors', () => {
  it('feature std is 0 for collapsed targets; weight cosine is 1 for equal weights', () => {
    expect(tf.tidy(() => meanFeatureStd(tf.ones([2, 3, 4]) as tf.Tensor3D).dataSync()[0])).toBe(0);
    expect(tf.tidy(() => meanFeatureStd(tf.tensor3d([0, 2, 2, 0], [1, 2, 2])).dataSync()[0])).toBeCloseTo(1, 6);
    const a = new Map([['x', tf.tensor1d([1, 2])], ['y', tf.tensor1d([3])]]);
    const b = new Map([['x', tf.tensor1d([2, 4])], ['y', tf.tensor1d([6])]]);
    const c = new Map([['x', tf.tensor1d([-2, 1])], ['y', tf.tensor1d([0])]]);
    expect(tf.tidy(() => weightCosine(a, b).dataSync()[0])).toBeCloseTo(1, 6);
    expect(tf.tidy(() => weightCosine(a, c).dataSync()[0])).toBeCloseTo(0, 6);
  });
});
