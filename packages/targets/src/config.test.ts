import { parseTargetConfig, targetPresets } from './config';

describe('target config', () => {
  it('fills every default in one place', () => {
    expect(parseTargetConfig({ kind: 'ema' })).toEqual({
      kind: 'ema',
      name: 'ema',
      tau: 0.005,
      warmupEpochs: 5,
      updateEvery: 'epoch',
      normPix: true,
      features: { norm: 'layernorm', tokens: 'afterNorm' },
    });
    expect(parseTargetConfig({ kind: 'snapshot' })).toMatchObject({ every: 5, name: 'snapshot' });
    expect(parseTargetConfig({ kind: 'pixels' })).toEqual({ kind: 'pixels', normPix: true });
  });

  it('the four presets parse; MAE-new is EMA + 0.2 * MAE-5', () => {
    for (const preset of Object.values(targetPresets)) expect(() => parseTargetConfig(preset)).not.toThrow();
    const mn = parseTargetConfig(targetPresets['mae-new']);
    expect(mn.kind === 'sum' && mn.terms.map((t) => [t.weight, t.target.kind])).toEqual([[1, 'ema'], [0.2, 'snapshot']]);
  });

  it('refuses unknown keys, bad values and unknown kinds, naming the key', () => {
    expect(() => parseTargetConfig({ kind: 'ema', tua: 0.1 })).toThrow('target: Unrecognized key: "tua"');
    expect(() => parseTargetConfig({ kind: 'ema', tau: 2 })).toThrow(/target\.tau: Too big: expected number to be <=1/);
    expect(() => parseTargetConfig({ kind: 'snapshot', every: 0 })).toThrow(/target\.every: Too small/);
    expect(() => parseTargetConfig({ kind: 'dino' })).toThrow("target.kind: Invalid discriminator value. Expected 'pixels' | 'snapshot' | 'ema' | 'sum'");
    expect(() => parseTargetConfig({ kind: 'ema', features: { norm: 'batchnorm' } })).toThrow(/target\.features\.norm: .*"layernorm"\|"instancenorm"\|"none"/);
  });

  it('a sum needs distinct head names and one normPix', () => {
    const twoEmas = { kind: 'sum', terms: [{ weight: 1, target: { kind: 'ema' } }, { weight: 1, target: { kind: 'ema' } }] };
    expect(() => parseTargetConfig(twoEmas)).toThrow('target.terms.1.target.name: head name "ema" is used twice');
    const mixed = { kind: 'sum', terms: [{ weight: 1, target: { kind: 'pixels', normPix: false } }, { weight: 1, target: { kind: 'ema' } }] };
    expect(() => parseTargetConfig(mixed)).toThrow('all terms must agree on normPix');
    expect(() => parseTargetConfig({ kind: 'ema', name: 'pixels' })).toThrow("'pixels' is the pixel head's name");
  });
});
