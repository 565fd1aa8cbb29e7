import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, parseOverride } from './overrides';
import { loadPretrainConfig, parsePretrainConfig, resolvePretrainConfig } from './pretrain-config';

describe('--set overrides', () => {
  it('reads JSON values and plain strings, dotted keys into nested objects and arrays', () => {
    expect(parseOverride('optim.lr=1e-3')).toEqual({ path: ['optim', 'lr'], value: 0.001 });
    expect(parseOverride('model.preset=micro')).toEqual({ path: ['model', 'preset'], value: 'micro' });
    expect(parseOverride('optim.betas=[0.9,0.999]').value).toEqual([0.9, 0.999]);
    const base = { target: { kind: 'sum', terms: [{ weight: 1 }, { weight: 0.2 }] } };
    const out = applyOverrides(base, ['target.terms.1.weight=0.5', 'optim.epochs=3', 'optim.clipGrad=null']);
    expect(out).toEqual({ target: { kind: 'sum', terms: [{ weight: 1 }, { weight: 0.5 }] }, optim: { epochs: 3, clipGrad: null } });
    expect(base.target.terms[1].weight).toBe(0.2); // the input is not modified
  });
  it('refuses malformed overrides', () => {
    expect(() => parseOverride('epochs')).toThrow('--set expects key=value (e.g. optim.epochs=10), got "epochs"');
    expect(() => parseOverride('optim..lr=1')).toThrow('empty segment');
    expect(() => applyOverrides({ seed: 1 }, ['seed.x=2'])).toThrow('--set seed.x: "seed" is 1, not an object');
  });
});

describe('pretrain config', () => {
  it('holds MAE defaults', () => {
    const config = parsePretrainConfig({});
    expect(config.optim).toEqual({ epochs: 200, batchSize: 512, blr: 1.5e-4, minLr: 0, warmupEpochs: 'auto', weightDecay: 0.05, betas: [0.9, 0.95], clipGrad: null });
    expect(config.model).toEqual({ preset: 'deit-tiny', maskRatio: 0.75 });
    expect(config.target).toEqual({ kind: 'pixels', normPix: true });
    expect(config.log).toEqual({ perEpoch: 5, progress: 'auto' });
    expect(config.seed).toBe(0);
  });

  it('refuses unknown keys and out-of-range values, naming each key', () => {
    expect(() => parsePretrainConfig({ optim: { lrr: 1 } })).toThrow('optim.lrr: unknown key');
    expect(() => parsePretrainConfig({ model: { maskRatio: 1 } })).toThrow(/model\.maskRatio: Too big: expected number to be <1 \(got 1\)/);
    expect(() => parsePretrainConfig({ target: { kind: 'ema', tau: -1 } })).toThrow(/target\.tau: Too small/);
    expect(() => parsePretrainConfig({ optim: { epochs: 10, warmupEpochs: 10 } })).toThrow('optim.warmupEpochs: must be below optim.epochs (10) (got 10)');
    expect(() => parsePretrainConfig({ optim: { warmupEpochs: 'long' } })).toThrow(/optim\.warmupEpochs: Invalid/);
  });

  it('accepts the report methods by name', () => {
    expect(parsePretrainConfig({ target: 'mae-new' }).target).toMatchObject({ kind: 'sum', terms: [{ weight: 1 }, { weight: 0.2 }] });
    expect(parsePretrainConfig({ target: 'ema-mae' }).target).toMatchObject({ kind: 'ema', tau: 0.005, warmupEpochs: 5 });
    expect(() => parsePretrainConfig({ target: 'dino' })).toThrow('target: unknown target preset "dino": choose mae, mae-k, ema-mae, mae-new or give a config object');
  });

  it('loads a file, applies overrides, and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmae-config-'));
    const file = join(dir, 'ema.json');
    writeFileSync(file, JSON.stringify({ target: { kind: 'ema', tau: 0.1 }, optim: { epochs: 20 } }));
    const config = loadPretrainConfig(file, ['optim.batchSize=64', 'target.warmupEpochs=2']);
    expect(config.optim.batchSize).toBe(64);
    expect(config.target).toMatchObject({ kind: 'ema', tau: 0.1, warmupEpochs: 2 });
    expect(() => loadPretrainConfig(file, ['target.every=3'])).toThrow(`${file}: invalid pretrain config:\n  target.every: unknown key`);
    expect(() => loadPretrainConfig(join(dir, 'missing.json'))).toThrow(/cannot read config file .*missing\.json: ENOENT/);
    writeFileSync(file, '{"seed": ');
    expect(() => loadPretrainConfig(file)).toThrow(/config file .*ema\.json is not valid JSON/);
  });

  it('resolves lr = blr * batch / 256, auto warm-up and steps per epoch', () => {
    const { derived } = resolvePretrainConfig(parsePretrainConfig({ optim: { epochs: 10, batchSize: 128 } }), 1000);
    expect(derived).toEqual({ lr: 7.5e-5, warmupEpochs: 2, stepsPerEpoch: 7, trainCount: 1000 });
    expect(resolvePretrainConfig(parsePretrainConfig({}), 50000).derived.warmupEpochs).toBe(40);
    expect(resolvePretrainConfig(parsePretrainConfig({ optim: { lr: 0.01 } }), 50000).derived.lr).toBe(0.01);
    expect(() => resolvePretrainConfig(parsePretrainConfig({}), 100)).toThrow('optim.batchSize 512 is larger than the 100 training images');
  });
});
