/**
 * `bmae data inspect`: loads CIFAR-10 from a source (decoding and caching it the first time) and prints
 * what was loaded as JSON: source, fingerprint, split sizes, class names, per-class counts, training
 * mean/std, cache folder, whether it came from the cache and how long it took.
 */
import type { Command } from 'commander';
import { countPerClass, loadCifar10, type Split } from '@bmae/data';

export interface DataInspectOptions {
  source?: string;
  cacheDir?: string;
}

function describeSplit(split: Split, classNames: string[]) {
  const counts = countPerClass(split.labels, classNames.length);
  return { count: split.count, perClass: Object.fromEntries(classNames.map((name, label) => [name, counts[label]])) };
}

/** The report `bmae data inspect` prints. Progress goes to `log`. */
export async function runDataInspect(options: DataInspectOptions, log: (line: string) => void = (line) => console.error(line)) {
  const started = performance.now();
  const data = await loadCifar10({ source: options.source, cacheDir: options.cacheDir, log });
  const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  return {
    source: data.source,
    fingerprint: data.fingerprint,
    classNames: data.classNames,
    splits: { train: describeSplit(data.train, data.classNames), test: describeSplit(data.test, data.classNames) },
    mean: data.mean,
    std: data.std,
    cachePath: data.cachePath,
    fromCache: data.fromCache,
    seconds,
  };
}

export function register(program: Command): void {
  const data = program.command('data').description('CIFAR-10 data: sources, decode cache, statistics');
  data
    .command('inspect')
    .description('load the data (decoding and caching it on first use) and print a JSON summary')
    .option('--source <path>', 'cifar-10-binary.tar.gz, its extracted folder, an image folder or .tar(.gz), or "download" (default: env BMAE_DATA, else download)')
    .option('--cache-dir <dir>', 'cache folder (default: env BMAE_CACHE_DIR, else ~/.cache/bmae)')
    .action(async (options: DataInspectOptions) => {
      const report = await runDataInspect(options);
      console.error(`${report.fromCache ? 'served from cache' : 'decoded and cached'} in ${report.seconds} s`);
      console.log(JSON.stringify(report, null, 2));
    });
}
