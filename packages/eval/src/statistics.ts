/**
 * Statistics over seeds, for comparing methods as notes/method.md ("Reporting a comparison") asks:
 * the mean and sample standard deviation of a protocol's top-1 over seeds, and the paired
 * difference of two methods run with the same seeds (seed s = same data order, masks and
 * initialisation), with its Student-t confidence interval. A method "beats" another only when that
 * interval excludes 0.
 *
 * It imports only jstat (one dependency-free file, for the t quantile), so the report reads it as
 * `@bmae/eval/statistics` without loading TensorFlow.js.
 */
/// <reference path="./jstat.d.ts" />
import { jStat } from 'jstat';

export interface MeanStd {
  mean: number;
  /** sample standard deviation (n - 1 in the denominator); 0 for one value, where it is undefined */
  std: number;
  n: number;
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) throw new Error('meanStd: no values');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** The p-quantile of Student's t distribution with `df` degrees of freedom (t_{0.975, 2} = 4.3027). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p = ${p} is not in (0, 1)`);
  if (!(df > 0)) throw new Error(`tQuantile: ${df} degrees of freedom (need > 0)`);
  return jStat.studentt.inv(p, df);
}

/** A two-sided t-interval of a mean: mean ± t_{(1 + level) / 2, n - 1} · sd / √n. */
export interface TInterval {
  /** confidence level, e.g. 0.95 */
  level: number;
  /** degrees of freedom, n - 1 */
  df: number;
  /** the t quantile used, t_{(1 + level) / 2, df} */
  t: number;
  halfWidth: number;
  low: number;
  high: number;
  /** true when 0 lies outside [low, high]: the difference is significant at this level */
  excludesZero: boolean;
}

/** Seed-by-seed difference of method A minus method B over the seeds both ran. */
export interface PairedDifference extends MeanStd {
  /** the seeds compared: 0..n-1, the seeds both methods ran */
  seeds: number[];
  /** differences[s] = a[s] - b[s] */
  differences: number[];
  /** null with fewer than 2 common seeds: one difference has no spread, so no interval exists */
  interval: TInterval | null;
}

/**
 * The paired difference A - B of two methods, seed by seed: a[s] and b[s] are seed s's values
 * (seeds 0..length-1, as summary.json's `values`), and only the seeds both have are compared.
 * @param level confidence level of the interval (default 0.95)
 */
export function pairedDifference(a: readonly number[], b: readonly number[], level = 0.95): PairedDifference {
  if (!(level > 0 && level < 1)) throw new Error(`pairedDifference: confidence level ${level} is not in (0, 1)`);
  const n = Math.min(a.length, b.length);
  if (n === 0) throw new Error(`pairedDifference: no common seed (${a.length} and ${b.length} values)`);
  const seeds = Array.from({ length: n }, (_, s) => s);
  const differences = seeds.map((s) => a[s] - b[s]);
  const stats = meanStd(differences);
  return { ...stats, seeds, differences, interval: n < 2 ? null : tInterval(stats, level) };
}

function tInterval({ mean, std, n }: MeanStd, level: number): TInterval {
  const df = n - 1;
  const t = tQuantile((1 + level) / 2, df);
  const halfWidth = (t * std) / Math.sqrt(n);
  const low = mean - halfWidth;
  const high = mean + halfWidth;
  return { level, df, t, halfWidth, low, high, excludesZero: low > 0 || high < 0 };
}
