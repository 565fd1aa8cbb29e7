/**
 * Picks the TensorFlow.js backend everything in bmae computes on. One module, used by every command,
 * test and benchmark, so that the choice, its fallbacks and the wasm work-arounds live in one place.
 *
 * Order (fastest first): tfjs-node-gpu (only when TensorFlow really lists a GPU), native
 * (@bmae/tfjs-backend-native: C++ addon with OpenBLAS or its built-in GEMM, when it builds), tfjs-node (TensorFlow on the CPU, after
 * `bmae setup tensorflow`), wasm (one thread, SIMD), cpu (pure JavaScript). native comes before
 * tfjs-node because it is faster on the same CPU in the same run (MAE step, tools/bench/mae-step.ts,
 * 2026-12-03: DeiT-Tiny batch 64, one thread, 51.5 vs 35.5 img/s with a pixel target, 31.6 vs 20.7
 * with a feature target; 1.3-2.2x over both presets and thread counts, root README).
 * `name` or env BMAE_BACKEND forces one; a forced backend that fails to load is an error, never a
 * silent fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients (they ship in the @tensorflow/tfjs bundle); loading the bundle
// registers them (and the chained ops) against the one tfjs-core every package shares.
import '@tensorflow/tfjs';
import { cpuDevice, describeDevice, gpuDevice, type DeviceInfo } from './device';
import { locateTfjsNode, noGpuReason, probeTensorflow, type TfjsNodePackageName } from './tensorflow-probe';
import { patchWasmKernels } from './wasm-kernels';

export const BACKEND_NAMES = ['tfjs-node-gpu', 'native', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface SkippedBackend {
  name: BackendName;
  /** Why it did not load: the error message from loading or initialising it. */
  reason: string;
}

export interface BackendSelection {
  /** The bmae name of the backend in use. */
  name: BackendName;
  /** The name tfjs knows it by (tf.getBackend()): 'tensorflow' for tfjs-node(-gpu). */
  tfjsName: string;
  /** What it computes on: CPU model or GPU name, threads, BLAS / TensorFlow version. */
  device: DeviceInfo;
  /** Faster backends that were tried first and failed, with the reason. */
  skipped: SkippedBackend[];
  /** What the backend computes with, when it says: native's GEMM, e.g. 'gemm: builtin avx512 12x32 (...)'. */
  detail?: string;
}

export interface SelectBackendOptions {
  /** Force this backend (else env BMAE_BACKEND, else the fastest that loads). */
  name?: string;
  /** Where the one-line summary goes (default console.log); pass () => {} to silence. */
  log?: (line: string) => void;
}

interface Candidate {
  name: BackendName;
  tfjsName: string;
  /** Loads the package that registers the backend (throws, with the reason, when it cannot load). */
  load(): void;
  /** The device of the active backend (called after it was set). */
  device(): DeviceInfo;
}

const SETUP_COMMAND: Record<TfjsNodePackageName, string> = {
  '@tensorflow/tfjs-node': 'npx bmae setup tensorflow',
  '@tensorflow/tfjs-node-gpu': 'npx bmae setup tensorflow --gpu',
};

/** Throws "not set up" before anything loads when the package or its binding is absent (npm ci leaves it unbuilt). */
function requireBuiltBinding(name: TfjsNodePackageName): void {
  const location = locateTfjsNode(name);
  if (!location) throw new Error(`${name} is not installed (an optional dependency: npm ci installs it)`);
  if (!location.bindingBuilt) throw new Error(`${name}'s binding is not built (${location.bindingPath}): run ${SETUP_COMMAND[name]}`);
}

function loadTfjsNode(name: TfjsNodePackageName): void {
  requireBuiltBinding(name);
  // TensorFlow sizes its intra-op pool from this variable (one thread per core otherwise); BMAE_THREADS
  // means the same for every backend. It must be set before the library starts.
  if (process.env.BMAE_THREADS && !process.env.TF_NUM_INTRAOP_THREADS) process.env.TF_NUM_INTRAOP_THREADS = process.env.BMAE_THREADS;
  require(name);
}

function tensorflowVersion(): string | undefined {
  return (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version;
}

function tensorflowThreads(): number | null {
  const threads = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(threads) && threads > 0 ? threads : null;
}

// Plain `require` inside load(): an optional package that is absent or whose addon fails must only
// skip its candidate, and tfjs-node's packages are not even built on most machines.
const CANDIDATES: readonly Candidate[] = [
  {
    name: 'tfjs-node-gpu',
    tfjsName: 'tensorflow',
    load: () => {
      requireBuiltBinding('@tensorflow/tfjs-node-gpu');
      // Its binding falls back to the CPU without a word when no GPU registers: ask a child first.
      const probe = probeTensorflow('@tensorflow/tfjs-node-gpu');
      if (!probe.ok) throw new Error(probe.error);
      if (!probe.gpu) throw new Error(noGpuReason(probe.stderr));
      loadTfjsNode('@tensorflow/tfjs-node-gpu');
    },
    device: () => gpuDevice(tensorflowVersion()),
  },
  {
    name: 'native',
    tfjsName: 'native',
    load: () => require('@bmae/tfjs-backend-native'),
    device: () => {
      const native = require('@bmae/tfjs-backend-native') as typeof import('@bmae/tfjs-backend-native');
      return cpuDevice(native.getThreads(), { blas: native.blasConfig(), gemm: native.gemmInfo(), ...(native.threadsShared() ? { threadsShared: true } : {}) });
    },
  },
  {
    name: 'tfjs-node',
    tfjsName: 'tensorflow',
    load: () => loadTfjsNode('@tensorflow/tfjs-node'),
    device: () => cpuDevice(tensorflowThreads(), { tensorflow: tensorflowVersion() }),
  },
  {
    name: 'wasm',
    tfjsName: 'wasm',
    load: () => {
      require('@tensorflow/tfjs-backend-wasm');
      patchWasmKernels();
    },
    device: () => cpuDevice((require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')).getThreadsCount()),
  },
  { name: 'cpu', tfjsName: 'cpu', load: () => require('@tensorflow/tfjs-backend-cpu'), device: () => cpuDevice(1) },
];

let lastPrinted: string | undefined;

function errorMessage(error: unknown): string {
  // Not `instanceof Error`: errors from another realm (e.g. jest's module loader) fail that check.
  const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
  return message.split('\n')[0];
}

async function tryCandidate(candidate: Candidate): Promise<string | undefined> {
  try {
    candidate.load();
  } catch (error) {
    return `cannot load: ${errorMessage(error)}`;
  }
  if (!tf.findBackendFactory(candidate.tfjsName)) {
    return `loaded, but registered no tfjs backend named '${candidate.tfjsName}'`;
  }
  try {
    // setBackend reports an initialisation failure by returning false (the error goes to console.warn).
    if (!(await tf.setBackend(candidate.tfjsName))) return `backend '${candidate.tfjsName}' failed to initialise`;
    await tf.ready();
    // The cpu backend's first write prints an advert for tfjs-node; we already chose knowingly.
    if (candidate.name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  } catch (error) {
    return `failed to initialise: ${errorMessage(error)}`;
  }
  return undefined;
}

/** Validates a requested backend name (from an option or BMAE_BACKEND) before anything loads. */
export function parseBackendName(value: string, source = 'backend name'): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`Unknown ${source} '${value}': choose one of ${BACKEND_NAMES.join(', ')}`);
}

/**
 * Loads and activates a backend: the forced one, or the first of BACKEND_NAMES that loads. Prints one
 * summary line (once per distinct result); store the returned selection in run metadata.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const log = options.log ?? ((line: string) => console.log(line));
  const envName = process.env.BMAE_BACKEND;
  const forced =
    options.name !== undefined
      ? parseBackendName(options.name)
      : envName
        ? parseBackendName(envName, 'BMAE_BACKEND value')
        : undefined;

  const skipped: SkippedBackend[] = [];
  const order = forced ? CANDIDATES.filter((c) => c.name === forced) : CANDIDATES;
  for (const candidate of order) {
    const reason = await tryCandidate(candidate);
    if (reason !== undefined) {
      if (forced) throw new Error(`Backend '${forced}' was requested but ${reason}`);
      skipped.push({ name: candidate.name, reason });
      continue;
    }
    const selection: BackendSelection = { name: candidate.name, tfjsName: candidate.tfjsName, device: candidate.device(), skipped };
    const summary =
      `backend: ${selection.name}` +
      (forced ? ' (forced)' : '') +
      ` on ${describeDevice(selection.device)}` +
      (skipped.length ? `; skipped ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : '');
    if (summary !== lastPrinted) log(summary);
    lastPrinted = summary;
    return selection;
  }
  throw new Error(`No TensorFlow.js backend loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

export interface BackendStatus {
  name: BackendName;
  loads: boolean;
  /** Why it does not load (or, for tfjs-node-gpu, why it would compute on the CPU). */
  reason?: string;
  device?: DeviceInfo;
}

const TFJS_NODE_PACKAGE: Partial<Record<BackendName, TfjsNodePackageName>> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
};

/** tfjs-node(-gpu) as a child process sees it: both register 'tensorflow', so at most one could load here. */
function tensorflowStatus(name: BackendName, pkg: TfjsNodePackageName): BackendStatus {
  try {
    requireBuiltBinding(pkg);
  } catch (error) {
    return { name, loads: false, reason: `cannot load: ${errorMessage(error)}` };
  }
  const probe = probeTensorflow(pkg);
  if (!probe.ok) return { name, loads: false, reason: `cannot load: ${probe.error}` };
  if (name === 'tfjs-node-gpu') {
    if (!probe.gpu) return { name, loads: false, reason: `cannot load: ${noGpuReason(probe.stderr)}` };
    return { name, loads: true, device: gpuDevice(probe.tensorflow) };
  }
  return { name, loads: true, device: cpuDevice(tensorflowThreads() ?? (process.env.BMAE_THREADS ? Number(process.env.BMAE_THREADS) : null), { tensorflow: probe.tensorflow }) };
}

/**
 * Every backend in selection order: whether it loads here, why not, and its device. `auto` is the
 * one selectBackend picks without BMAE_BACKEND. Leaves the cpu backend active.
 */
export async function listBackends(): Promise<{ backends: BackendStatus[]; auto: BackendName | undefined }> {
  const backends: BackendStatus[] = [];
  for (const candidate of CANDIDATES) {
    const pkg = TFJS_NODE_PACKAGE[candidate.name];
    if (pkg) {
      backends.push(tensorflowStatus(candidate.name, pkg));
      continue;
    }
    const reason = await tryCandidate(candidate);
    backends.push(reason === undefined ? { name: candidate.name, loads: true, device: candidate.device() } : { name: candidate.name, loads: false, reason });
  }
  await tf.setBackend('cpu');
  return { backends, auto: backends.find((b) => b.loads)?.name };
}
