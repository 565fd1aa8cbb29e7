import { Rng } from './random';

describe('Rng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = Rng.fromSeed(7), b = Rng.fromSeed(7), c = Rng.fromSeed(8);
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('continues exactly from a saved state', () => {
    const a = Rng.fromSeed(3);
    for (let i = 0; i < 10; i++) a.uniform();
    const resumed = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from({ length: 8 }, () => resumed.uniform())).toEqual(Array.from({ length: 8 }, () => a.uniform()));
    expect(resumed.fork('x').uniform()).toBe(a.fork('x').uniform());
  });

  it('forks streams that depend on the label and not on the parent position', () => {
    const a = Rng.fromSeed(1);
    const first = a.fork('masking').uniform();
    a.uniform();
    expect(a.fork('masking').uniform()).toBe(first);
    expect(a.fork('augment').uniform()).not.toBe(first);
  });

  it('draws uniforms in [0,1) and normals with mean 0 and std 1', () => {
    const r = Rng.fromSeed(42);
    const u = r.fillUniform(new Float32Array(20000));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const n = r.fillNormal(new Float32Array(20000));
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const std = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
  });

  it('makes permutations', () => {
    const p = Rng.fromSeed(5).permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
