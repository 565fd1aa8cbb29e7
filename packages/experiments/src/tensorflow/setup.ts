/**
 * `bmae setup tensorflow [--gpu]`: makes `@tensorflow/tfjs-node` (or `-gpu`) loadable on current
 * TensorFlow. Three steps, each skipped when already done:
 *   1. the wheel's libraries in the cache (./wheel.ts; pip, pinned);
 *   2. the package's binding built against them (./binding.ts; node-gyp), again after every `npm ci`;
 *   3. a child process loads the package and runs one op; the versions go to <wheel>/setup.json.
 *
 * `--stock` runs the package's own install script instead (downloads libtensorflow 2.9.1 and a
 * prebuilt binding from storage.googleapis.com): the path npm took before package.json's allowScripts
 * turned it off, for a machine with internet that wants exactly that.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { locateTfjsNode, noGpuReason, probeTensorflow, type TensorflowProbe, type TfjsNodeLocation, type TfjsNodePackageName } from '@bmae/vit-model';
import { buildBinding, readBindingRecord, type BindingRecord } from './binding';
import { ensureWheel, type TensorflowVariant, type WheelRecord } from './wheel';

export interface SetupOptions {
  gpu?: boolean;
  /** Re-install the wheel and rebuild the binding. */
  force?: boolean;
  /** Run tfjs-node's own install script (libtensorflow 2.9.1 from Google's bucket) instead of pip. */
  stock?: boolean;
  cacheDir: string;
  /** Where node_modules is resolved from (the workspace). */
  cwd?: string;
  log?: (line: string) => void;
}

/** What setup.json records and the command prints. */
export interface SetupResult {
  package: TfjsNodePackageName;
  tfjsNode: string;
  /** TF_Version of the library the binding loaded. */
  tensorflow: string;
  gpu: boolean;
  /** Why TensorFlow has no GPU (only for --gpu when it listed none). */
  noGpuReason?: string;
  source: 'pip' | 'stock';
  wheel?: WheelRecord & { dir: string };
  binding: { path: string; built: boolean; record?: BindingRecord };
  downloaded: boolean;
  seconds: number;
}

function packageFor(variant: TensorflowVariant): TfjsNodePackageName {
  return variant === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
}

function requireInstalled(name: TfjsNodePackageName, cwd: string): TfjsNodeLocation {
  const location = locateTfjsNode(name, cwd);
  if (!location) {
    throw new Error(
      `${name} is not installed. It is an optional dependency of the workspace: run npm ci (package.json's allowScripts keeps ` +
        'its install script off, so npm keeps the package even where that script could not download libtensorflow).',
    );
  }
  return location;
}

function failedToLoad(name: string, probe: TensorflowProbe): Error {
  const log = probe.stderr.trim().split('\n').slice(-5).join('\n');
  return new Error(`${name} was built but does not load: ${probe.error}${log ? `\nTensorFlow said:\n${log}` : ''}`);
}

/** The stock path: the package's own `install` script, as npm would have run it. */
function runStockInstall(location: TfjsNodeLocation, log: (line: string) => void): void {
  const script = (JSON.parse(fs.readFileSync(path.join(location.dir, 'package.json'), 'utf8')) as { scripts?: { install?: string } }).scripts?.install;
  if (!script) throw new Error(`${location.name} has no install script`);
  log(`setup: running ${location.name}'s own install script (${script}); it downloads libtensorflow from storage.googleapis.com`);
  const result = spawnSync(script, { cwd: location.dir, shell: true, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`${location.name}'s install script failed (exit ${result.status}); without internet access use the pip path: npx bmae setup tensorflow${location.name.endsWith('-gpu') ? ' --gpu' : ''}`);
  }
}

export async function setupTensorflow(options: SetupOptions): Promise<SetupResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const cwd = options.cwd ?? process.cwd();
  const started = performance.now();
  const variant: TensorflowVariant = options.gpu ? 'gpu' : 'cpu';
  const name = packageFor(variant);
  const location = requireInstalled(name, cwd);
  const seconds = () => Number(((performance.now() - started) / 1000).toFixed(1));

  if (options.stock) {
    runStockInstall(location, log);
    const probe = probeTensorflow(name, cwd);
    if (!probe.ok) throw failedToLoad(name, probe);
    return { package: name, tfjsNode: probe.tfjsNode!, tensorflow: probe.tensorflow!, gpu: probe.gpu === true, ...(options.gpu && !probe.gpu ? { noGpuReason: noGpuReason(probe.stderr) } : {}), source: 'stock', binding: { path: location.bindingPath, built: true }, downloaded: true, seconds: seconds() };
  }

  const wheel = await ensureWheel(options.cacheDir, variant, { force: options.force, log });
  if (!wheel.downloaded) log(`setup: TensorFlow ${wheel.record.tensorflow} (${variant}) already in ${wheel.dir}`);

  // Rebuild when the binding is missing (npm ci deleted it), was built against another wheel folder, or for --force.
  const existing = readBindingRecord(location);
  let record = existing;
  let built = false;
  if (options.force || !existing || existing.wheelDir !== wheel.dir || existing.tfjsNode !== location.version) {
    record = buildBinding(location, wheel, log);
    built = true;
  } else {
    log(`setup: ${name}'s binding is built against ${wheel.dir} (${location.bindingPath})`);
  }

  const probe = probeTensorflow(name, cwd);
  if (!probe.ok) throw failedToLoad(name, probe);
  const result: SetupResult = {
    package: name,
    tfjsNode: probe.tfjsNode!,
    tensorflow: probe.tensorflow!,
    gpu: probe.gpu === true,
    ...(options.gpu && !probe.gpu ? { noGpuReason: noGpuReason(probe.stderr) } : {}),
    source: 'pip',
    wheel: { ...wheel.record, dir: wheel.dir },
    binding: { path: location.bindingPath, built, record },
    downloaded: wheel.downloaded,
    seconds: seconds(),
  };
  fs.writeFileSync(path.join(wheel.dir, 'setup.json'), `${JSON.stringify({ ...result, checkedAt: new Date().toISOString() }, null, 2)}\n`);
  if (result.noGpuReason) log(`setup: ${name} loads, but ${result.noGpuReason}; bmae will not select it`);
  log(`setup: ${name} ${result.tfjsNode} loads on TensorFlow ${result.tensorflow}${result.gpu ? ' with a GPU' : ' (CPU)'} in ${result.seconds} s`);
  return result;
}
