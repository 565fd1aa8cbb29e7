/**
 * What a backend computes on, in words a run record can keep: a backend's name alone does not say
 * whether tfjs-node-gpu found its GPU, which CPU ran the numbers, or how many threads it used.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface DeviceInfo {
  kind: 'cpu' | 'gpu';
  /** CPU model (/proc/cpuinfo "model name") or GPU name (nvidia-smi). */
  name: string;
  /** Cores the machine offers (os.availableParallelism). */
  cores: number;
  /** Threads the backend computes with; null when the library picks (TensorFlow: one per core). */
  threads: number | null;
  /**
   * native without BMAE_THREADS: the thread count follows the process's share of the cores among the
   * host's native processes (`threads` is then the count at selection: all cores, or the share then).
   */
  threadsShared?: boolean;
  /** native: OpenBLAS's build description. */
  blas?: string;
  /** native: the GEMM it multiplies with, OpenBLAS or its built-in one (+ ISA and blocking). */
  gemm?: string;
  /** tfjs-node(-gpu): the TensorFlow version the binding runs (TF_Version). */
  tensorflow?: string;
}

/** The CPU model, from /proc/cpuinfo on Linux (os.cpus() elsewhere, or where it is absent). */
export function cpuModel(): string {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall through
  }
  return os.cpus()[0]?.model?.trim() || `${os.arch()} CPU`;
}

/** The first GPU's name from nvidia-smi, or undefined when there is no nvidia-smi. */
export function nvidiaGpuName(): string | undefined {
  const result = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const first = result.stdout.trim().split('\n')[0];
  if (!first) return undefined;
  const [name, memory, driver] = first.split(',').map((s) => s.trim());
  return `${name} (${memory}, driver ${driver})`;
}

export function cpuDevice(threads: number | null, extra: Pick<DeviceInfo, 'blas' | 'gemm' | 'tensorflow' | 'threadsShared'> = {}): DeviceInfo {
  return { kind: 'cpu', name: cpuModel(), cores: os.availableParallelism(), threads, ...extra };
}

export function gpuDevice(tensorflow: string | undefined): DeviceInfo {
  return { kind: 'gpu', name: nvidiaGpuName() ?? 'GPU:0 (nvidia-smi not found: name unknown)', cores: os.availableParallelism(), threads: null, ...(tensorflow ? { tensorflow } : {}) };
}

/** One line for logs: "CPU AMD EPYC 7B13 (2 threads)", "GPU NVIDIA H100 ... (TensorFlow 2.21.0)". */
export function describeDevice(device: DeviceInfo): string {
  const threads = device.threadsShared ? 'threads: a share of the cores'
    : device.threads === null ? '' : `${device.threads} thread${device.threads === 1 ? '' : 's'}`;
  // native's GEMM in short ('openblas', 'builtin avx512 12x32'); OpenBLAS's build line is device.blas
  const gemm = device.gemm ? (device.gemm.startsWith('openblas') ? 'openblas' : device.gemm.split(' (')[0]) : '';
  const parts = [threads, gemm ? `gemm: ${gemm}` : '', device.tensorflow ? `TensorFlow ${device.tensorflow}` : ''].filter(Boolean);
  return `${device.kind.toUpperCase()} ${device.name}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
