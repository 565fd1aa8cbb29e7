/**
 * TensorFlow's C libraries from its own pip wheel, into the cache folder.
 *
 * tfjs-node 4.22's install script downloads libtensorflow 2.9.1 (CUDA 11.2) from outside the package
 * registries; current TensorFlow ships the same C and eager C APIs (TF_*, TFE_*) inside its pip wheel
 * (`tensorflow/libtensorflow_cc.so.2`, headers under `tensorflow/include/`). So we take the wheel from
 * PyPI, pinned, and never its Python dependencies (keras, numpy, ...: the C library needs none of
 * them). The GPU variant adds the NVIDIA CUDA 12 / cuDNN 9 wheels that the wheel's `and-cuda` extra
 * names, read from the wheel's own metadata so the pins are TensorFlow's, not ours.
 *
 * Layout: <cache>/tensorflow/<version>-<variant>/{tensorflow/, nvidia/ (gpu), wheel.json}. The folder
 * is filled under a temporary name and renamed when complete, so a half download is never reused.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The TensorFlow release every binding is built against (its C API is what tfjs-node 4.22 calls). */
export const TENSORFLOW_VERSION = '2.21.0';

export type TensorflowVariant = 'cpu' | 'gpu';

/** The pip requirement of each variant: `tensorflow-cpu` has no CUDA code; `tensorflow` is the GPU build. */
export const WHEEL_REQUIREMENT: Readonly<Record<TensorflowVariant, string>> = {
  cpu: `tensorflow-cpu==${TENSORFLOW_VERSION}`,
  gpu: `tensorflow==${TENSORFLOW_VERSION}`,
};

/** What wheel.json records about an installed wheel folder. */
export interface WheelRecord {
  tensorflow: string;
  variant: TensorflowVariant;
  /** Every requirement pip installed (the wheel, then the CUDA wheels for gpu). */
  requirements: string[];
  python: string;
  pip: string;
  installedAt: string;
}

export interface InstalledWheel {
  /** <cache>/tensorflow/<version>-<variant> */
  dir: string;
  /** The folder holding libtensorflow_cc.so.2, libtensorflow_framework.so.2 and include/. */
  libDir: string;
  record: WheelRecord;
  /** False when the folder was already complete (nothing downloaded). */
  downloaded: boolean;
}

export const LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'] as const;

export function wheelDir(cacheDir: string, variant: TensorflowVariant): string {
  return path.join(cacheDir, 'tensorflow', `${TENSORFLOW_VERSION}-${variant}`);
}

function isComplete(dir: string): boolean {
  const libDir = path.join(dir, 'tensorflow');
  return (
    fs.existsSync(path.join(dir, 'wheel.json')) &&
    LIBRARIES.every((lib) => fs.existsSync(path.join(libDir, lib))) &&
    fs.existsSync(path.join(libDir, 'include', 'tensorflow', 'c', 'eager', 'c_api.h'))
  );
}

/** The installed wheel folder of a variant, or undefined when it is absent or incomplete. */
export function findWheel(cacheDir: string, variant: TensorflowVariant): Omit<InstalledWheel, 'downloaded'> | undefined {
  const dir = wheelDir(cacheDir, variant);
  if (!isComplete(dir)) return undefined;
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'wheel.json'), 'utf8')) as WheelRecord;
  return { dir, libDir: path.join(dir, 'tensorflow'), record };
}

/** The python3 to run pip with, and pip's version; a clear error (saying what to do) when either is missing. */
export function findPip(python = process.env.BMAE_SETUP_PYTHON || 'python3'): { python: string; pythonVersion: string; pipVersion: string } {
  const version = spawnSync(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    throw new Error(
      `cannot run '${python}' (${version.error?.message ?? version.stderr.trim()}): TensorFlow's libraries come through pip. ` +
        'Install Python 3 with pip (Debian/Ubuntu: apt-get install python3 python3-pip), or point BMAE_SETUP_PYTHON at one.',
    );
  }
  const pip = spawnSync(python, ['-m', 'pip', '--version'], { encoding: 'utf8' });
  if (pip.status !== 0) {
    throw new Error(
      `${python} ${version.stdout.trim()} has no pip (${pip.stderr.trim().split('\n').pop()}). ` +
        `Install it (Debian/Ubuntu: apt-get install python3-pip; elsewhere: ${python} -m ensurepip --user), or point BMAE_SETUP_PYTHON at a Python with pip.`,
    );
  }
  return { python, pythonVersion: version.stdout.trim(), pipVersion: pip.stdout.trim().split(' ')[1] ?? pip.stdout.trim() };
}

/**
 * Why a failed pip call failed, in words that say what to do. pip's own last lines are kept: they
 * name the index and the requirement.
 */
export function explainPipFailure(output: string, requirement: string, pythonVersion: string): string {
  const tail = output.trim().split('\n').slice(-4).join('\n');
  if (/NewConnectionError|Failed to establish a new connection|Name or service not known|Temporary failure in name resolution|ConnectTimeout|ReadTimeout|ProxyError|SSLError/.test(output) && /No matching distribution|Could not find a version/.test(output)) {
    return (
      `pip could not reach the package index for ${requirement}. Check the network or proxy (HTTPS_PROXY), ` +
      `or point pip at a reachable index or mirror (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL), then run the set-up again.\n${tail}`
    );
  }
  if (/No matching distribution|Could not find a version/.test(output)) {
    return (
      `the index has no wheel of ${requirement} for this machine (Python ${pythonVersion}, ${process.platform} ${process.arch}). ` +
      `Use a Python that TensorFlow ${TENSORFLOW_VERSION} has wheels for (pypi.org/project/${requirement.split('==')[0]}/${TENSORFLOW_VERSION}/#files) through BMAE_SETUP_PYTHON, or an index that has the wheel.\n${tail}`
    );
  }
  return `pip failed installing ${requirement}:\n${tail}`;
}

/** Runs pip, its output (download progress included) passed through to stderr and kept for errors. */
function runPip(python: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'pip', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const forward = (chunk: Buffer) => {
      process.stderr.write(chunk);
      output = (output + chunk.toString()).slice(-20000);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** The `and-cuda` requirements of an installed wheel, from its METADATA (e.g. `nvidia-cudnn-cu12<10.0,>=9.3.0.75`). */
export function cudaRequirements(metadata: string): string[] {
  return metadata
    .split('\n')
    .filter((line) => line.startsWith('Requires-Dist:') && /extra == "and-cuda"/.test(line))
    .map((line) => line.slice('Requires-Dist:'.length).split(';')[0].trim().replace(/\s+/g, ''));
}

async function pipInstall(python: string, pythonVersion: string, target: string, requirements: string[]): Promise<void> {
  // --no-deps: only the libraries, not TensorFlow's Python stack. --only-binary: never build from source.
  const args = ['install', '--no-deps', '--only-binary=:all:', '--no-compile', '--upgrade', '--progress-bar', 'on', '--target', target, ...requirements];
  const { status, output } = await runPip(python, args);
  if (status !== 0) throw new Error(explainPipFailure(output, requirements.join(' '), pythonVersion));
}

/**
 * The wheel folder of a variant: reused when complete (no pip call), else installed through pip.
 * `force` re-installs.
 */
export async function ensureWheel(cacheDir: string, variant: TensorflowVariant, options: { force?: boolean; log?: (line: string) => void } = {}): Promise<InstalledWheel> {
  const log = options.log ?? ((line: string) => console.error(line));
  const existing = options.force ? undefined : findWheel(cacheDir, variant);
  if (existing) return { ...existing, downloaded: false };

  const { python, pythonVersion, pipVersion } = findPip();
  const dir = wheelDir(cacheDir, variant);
  const partial = `${dir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  try {
    const requirements = [WHEEL_REQUIREMENT[variant]];
    log(`setup: pip install ${requirements[0]} (libraries only, no Python dependencies) into ${dir}`);
    await pipInstall(python, pythonVersion, partial, requirements);
    if (variant === 'gpu') {
      const distInfo = fs.readdirSync(partial).find((name) => /^tensorflow-.*\.dist-info$/.test(name));
      if (!distInfo) throw new Error(`pip installed ${requirements[0]} but left no tensorflow-*.dist-info in ${partial}`);
      const cuda = cudaRequirements(fs.readFileSync(path.join(partial, distInfo, 'METADATA'), 'utf8'));
      log(`setup: pip install the CUDA wheels TensorFlow ${TENSORFLOW_VERSION} names (and-cuda): ${cuda.join(' ')}`);
      await pipInstall(python, pythonVersion, partial, cuda);
      requirements.push(...cuda);
    }
    const record: WheelRecord = { tensorflow: TENSORFLOW_VERSION, variant, requirements, python: pythonVersion, pip: pipVersion, installedAt: new Date().toISOString() };
    fs.writeFileSync(path.join(partial, 'wheel.json'), `${JSON.stringify(record, null, 2)}\n`);
    if (!isComplete(partial)) throw new Error(`the ${requirements[0]} wheel has no ${LIBRARIES.join(' / ')} or include/ under tensorflow/ (${partial})`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(partial, dir);
    return { dir, libDir: path.join(dir, 'tensorflow'), record, downloaded: true };
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}
