/**
 * Asks a tfjs-node package, in a child process, whether it loads and what TensorFlow sees: its
 * version and whether it listed a GPU device.
 *
 * A child, because loading libtensorflow cannot be undone in-process (and tfjs-node and tfjs-node-gpu
 * both register the backend 'tensorflow'), and because TensorFlow's C++ log, which names the CUDA
 * library that failed to open, goes to the process's real stderr where only a parent can read it.
 * tfjs-node-gpu runs on the CPU without a word when no GPU registers (tfjs issues 8362, 8187, 8505):
 * its binding picks the first GPU device TensorFlow lists and else the CPU (`isUsingGpuDevice`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type TfjsNodePackageName = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export interface TfjsNodeLocation {
  name: TfjsNodePackageName;
  dir: string;
  version: string;
  /** The file tfjs-node's loader requires (node-pre-gyp's `find`: lib/napi-v8/tfjs_binding.node on Node 20). */
  bindingPath: string;
  bindingBuilt: boolean;
}

/** Where an installed tfjs-node package is and where its loader looks for the binding; undefined when npm did not install it. */
export function locateTfjsNode(name: TfjsNodePackageName, from = process.cwd()): TfjsNodeLocation | undefined {
  let packageJson: string;
  try {
    packageJson = require.resolve(`${name}/package.json`, { paths: [from, __dirname] });
  } catch {
    return undefined;
  }
  const dir = path.dirname(packageJson);
  const version = (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
  // The package's own node-pre-gyp: the one its loader asks.
  const preGyp = require(require.resolve('@mapbox/node-pre-gyp', { paths: [dir] })) as { find(packageJson: string): string };
  const bindingPath = preGyp.find(packageJson);
  return { name, dir, version, bindingPath, bindingBuilt: fs.existsSync(bindingPath) };
}

export interface TensorflowProbe {
  ok: boolean;
  /** tfjs-node's version and TensorFlow's (TF_Version of the library the binding loaded). */
  tfjsNode?: string;
  tensorflow?: string;
  /** True when TensorFlow listed a GPU device, so tfjs-node places ops on it. */
  gpu?: boolean;
  /** The first line of the error when it did not load. */
  error?: string;
  /** TensorFlow's own log on stderr. */
  stderr: string;
}

// Plain JavaScript for `node -e`; a tiny matMul proves the library computes, not only that it opened.
const PROBE_SCRIPT = `
const name = process.argv[1];
try {
  const tf = require(name);
  const backend = tf.backend();
  const sum = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()[0]);
  if (sum !== 3) throw new Error('a 2x3 by 3x2 matMul of ones gave ' + sum + ', not 3');
  console.log(JSON.stringify({ ok: true, tfjsNode: tf.version['tfjs-node'], tensorflow: backend.binding.TF_Version, gpu: backend.isUsingGpuDevice === true }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String((error && error.message) || error).split('\\n')[0] }));
}`;

/** Loads `name` in a child process started in `cwd` (module resolution starts there). */
export function probeTensorflow(name: TfjsNodePackageName, cwd = process.cwd()): TensorflowProbe {
  // TF_CPP_MIN_LOG_LEVEL 0 keeps TensorFlow's info and warning lines: they say which library failed.
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' };
  const result = spawnSync(process.execPath, ['-e', PROBE_SCRIPT, name], { cwd, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const stderr = result.stderr ?? '';
  const last = (result.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(last) as Omit<TensorflowProbe, 'stderr'>), stderr };
  } catch {
    const lastError = stderr.trim().split('\n').pop() ?? '';
    return { ok: false, error: `the probe process ended with ${result.status ?? result.signal}${lastError ? `: ${lastError}` : ''}`, stderr };
  }
}

/**
 * Why TensorFlow registered no GPU, from its log: the CUDA libraries it could not open
 * ("Could not load dynamic library 'libcudart.so.12'"), no driver, or no device. Falls back to
 * saying that it listed none.
 */
export function noGpuReason(stderr: string): string {
  const libraries = [...stderr.matchAll(/Could not load dynamic library '([^']+)'(?:; dlerror: ([^\n]+))?/g)].map((m) => (m[2] ? `${m[1]} (${m[2].trim()})` : m[1]));
  if (libraries.length) return `TensorFlow lists no GPU: could not open ${[...new Set(libraries)].join(', ')}`;
  const known = [
    /Could not find cuda drivers on your machine[^\n]*/,
    /failed call to cuInit[^\n]*/,
    /Cannot dlopen some GPU libraries[^\n]*/,
    /no NVIDIA GPU device is present[^\n]*/,
    /CUDA_ERROR_[A-Z_]+[^\n]*/,
  ];
  for (const pattern of known) {
    const match = pattern.exec(stderr);
    if (match) return `TensorFlow lists no GPU: ${match[0].replace(/\s+/g, ' ').trim()}`;
  }
  return 'TensorFlow lists no GPU device (it computes on the CPU)';
}
