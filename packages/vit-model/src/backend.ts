/**
 * Picks the TensorFlow.js backend everything in bmae computes on. One module, used by every command,
 * test and benchmark, so that the choice, its fallbacks and the wasm work-arounds live in one place.
 *
 * Order (fastest first): tfjs-node-gpu, tfjs-node (libtensorflow; cannot install on every machine),
 * native (@bmae/tfjs-backend-native: C++ addon with OpenBLAS or its built-in GEMM, when it builds), wasm (one thread, SIMD), cpu
 * (pure JavaScript). `name` or env BMAE_BACKEND forces one; a forced backend that fails to load is an
 * error, never a silent fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients (they ship in the @tensorflow/tfjs bundle); loading the bundle
// registers them (and the chained ops) against the one tfjs-core every package shares.
import '@tensorflow/tfjs';
import { patchWasmKernels } from './wasm-kernels';

export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'native', 'wasm', 'cpu'] as const;
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
  /** Loads the package that registers the backend (throws when it cannot load). */
  load(): void;
  /** One line on what it computes with (after load). */
  describe?(): string;
}

// Plain `require` inside load(): an optional package that is absent or whose addon fails must only
// skip its candidate, and tfjs-node's packages are not even installed on most machines.
const CANDIDATES: readonly Candidate[] = [
  { name: 'tfjs-node-gpu', tfjsName: 'tensorflow', load: () => require('@tensorflow/tfjs-node-gpu') },
  { name: 'tfjs-node', tfjsName: 'tensorflow', load: () => require('@tensorflow/tfjs-node') },
  {
    name: 'native',
    tfjsName: 'native',
    load: () => require('@bmae/tfjs-backend-native'),
    describe: () => `gemm: ${(require('@bmae/tfjs-backend-native') as { gemmInfo(): string }).gemmInfo()}`,
  },
  {
    name: 'wasm',
    tfjsName: 'wasm',
    load: () => {
      require('@tensorflow/tfjs-backend-wasm');
      patchWasmKernels();
    },
  },
  { name: 'cpu', tfjsName: 'cpu', load: () => require('@tensorflow/tfjs-backend-cpu') },
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
    const detail = candidate.describe?.();
    const selection: BackendSelection = { name: candidate.name, tfjsName: candidate.tfjsName, skipped, ...(detail ? { detail } : {}) };
    const summary =
      `backend: ${selection.name}` +
      (forced ? ' (forced)' : '') +
      (detail ? ` (${detail})` : '') +
      (skipped.length ? `; skipped ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : '');
    if (summary !== lastPrinted) log(summary);
    lastPrinted = summary;
    return selection;
  }
  throw new Error(`No TensorFlow.js backend loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
