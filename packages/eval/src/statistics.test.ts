import { meanStd, pairedDifference, tQuantile } from './statistics';

describe('meanStd', () => {
  it('uses the sample standard deviation; 0 for one value', () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    expect(meanStd([5])).toEqual({ mean: 5, std: 0, n: 1 });
    expect(() => meanStd([])).toThrow('meanStd: no values');
  });
});

describe('tQuantile', () => {
  it("matches the tables' two-sided 95% values", () => {
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062, 4);
    expect(tQuantile(0.975, 2)).toBeCloseTo(4.3027, 4);
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.7764, 4);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.96, 2); // tends to the normal quantile
    expect(tQuantile(0.025, 2)).toBeCloseTo(-4.3027, 4);
  });

  it('refuses p outside (0, 1) and df <= 0', () => {
    expect(() => tQuantile(1, 2)).toThrow('tQuantile: p = 1 is not in (0, 1)');
    expect(() => tQuantile(0.975, 0)).toThrow('tQuantile: 0 degrees of freedom (need > 0)');
  });
});

describe('pairedDifference', () => {
  it('3 seeds, worked by hand: d = (2, 1, 3), mean 2, sd 1, 2 ± 4.3027 / √3 includes 0', () => {
    const d = pairedDifference([50, 52, 55], [48, 51, 52]);
    expect(d).toMatchObject({ n: 3, seeds: [0, 1, 2], differences: [2, 1, 3], mean: 2, std: 1 });
    expect(d.interval!.df).toBe(2);
    expect(d.interval!.t).toBeCloseTo(4.302653, 5);
    expect(d.interval!.halfWidth).toBeCloseTo(4.302653 / Math.sqrt(3), 5); // 2.48414
    expect(d.interval!.low).toBeCloseTo(-0.48414, 4);
    expect(d.interval!.high).toBeCloseTo(4.48414, 4);
    expect(d.interval!.excludesZero).toBe(false);
  });

  it('5 seeds, worked by hand: d = (1, 2, 3, 2, 2), sd √0.5, 2 ± 2.7764 · 0.3162 = [1.122, 2.878] excludes 0', () => {
    const d = pairedDifference([61, 62, 63, 62, 62], [60, 60, 60, 60, 60]);
    expect(d.std).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(d.interval!.low).toBeCloseTo(1.12201, 4);
    expect(d.interval!.high).toBeCloseTo(2.87799, 4);
    expect(d.interval!.excludesZero).toBe(true);
    // the mirror image: B - A lies wholly below 0
    expect(pairedDifference([60, 60, 60, 60, 60], [61, 62, 63, 62, 62]).interval).toMatchObject({ high: expect.closeTo(-1.12201, 4), excludesZero: true });
  });

  it('pairs only the seeds both methods ran, and gives no interval for one seed', () => {
    expect(pairedDifference([50, 52, 55], [48, 51])).toMatchObject({ n: 2, seeds: [0, 1], differences: [2, 1] });
    const one = pairedDifference([50, 52, 55], [47]);
    expect(one).toMatchObject({ n: 1, seeds: [0], differences: [3], mean: 3, interval: null });
    expect(() => pairedDifference([], [1])).toThrow('pairedDifference: no common seed (0 and 1 values)');
  });
});
