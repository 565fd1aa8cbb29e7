/**
 * Recycled output buffers for the native kernels.
 *
 * Why: a DeiT-Tiny MAE step allocates gigabytes of short-lived Float32Arrays. Each fresh allocation
 * is zero-filled, and V8 answers the growth of ArrayBuffer memory with full (mark-compact) GCs:
 * profiled at ~0.8 s of GC per step, close to the whole matMul time. Reusing the buffers of
 * disposed tensors (the sizes repeat every step) removes both costs.
 *
 * Safety, the rules this module and NativeBackend keep:
 * - only buffers allocated here are recycled, and only when the one tensor (dataId) that owns the
 *   buffer is released by the backend (refCount 0);
 * - a kernel output that aliases an owned buffer under another dataId (a cpu kernel returning a
 *   subarray view of its input, e.g. Unpack, StridedSlice) is copied out at once (`unshare`);
 * - readSync/read/dataSync return copies of owned buffers, so values a caller keeps never change.
 * Recycled buffers hold stale values: every native kernel writes its whole output.
 */
import type { DataId } from '@tensorflow/tfjs-core/dist/tensor_info';

/**
 * Pooled memory kept for reuse at most (beyond it, released buffers are left to the GC): env
 * BMAE_POOL_MB, default 4096. A training step keeps most of its outputs alive until its backward
 * pass ends (a DeiT-Tiny MAE step at batch 64 peaks at ~3.5 GB), so the pool must hold about one
 * step's worth for the next step to find its buffers.
 */
function maxPooledBytes(): number {
  const raw = process.env.BMAE_POOL_MB;
  const mb = raw === undefined || raw === '' ? 4096 : Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`BMAE_POOL_MB must be a number of MiB >= 0, got '${raw}'`);
  return mb * 1024 * 1024;
}

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private readonly maxBytes = maxPooledBytes();
  /** Owner dataId of each buffer handed out (and adopted by a tensor). */
  private readonly owners = new WeakMap<ArrayBufferLike, DataId>();

  /** A Float32Array of n elements with unspecified contents. */
  take(n: number): Float32Array {
    const stack = this.free.get(n);
    const reused = stack?.pop();
    if (reused !== undefined) {
      this.pooledBytes -= reused.byteLength;
      return reused;
    }
    return new Float32Array(n);
  }

  /** Records that `values` (from take) is the storage of tensor `dataId`. */
  adopt(dataId: DataId, values: Float32Array): void {
    this.owners.set(values.buffer, dataId);
  }

  /** True when `values` lives in a buffer some tensor owns through this pool. */
  isOwned(values: unknown): values is Float32Array {
    return values instanceof Float32Array && this.owners.has(values.buffer);
  }

  /** The tensor that owns the buffer `values` lives in (an alias shows another tensor's dataId). */
  ownerOf(values: Float32Array): DataId | undefined {
    return this.owners.get(values.buffer);
  }

  /** Takes back the buffer of a released tensor. */
  release(values: Float32Array): void {
    this.owners.delete(values.buffer);
    if (values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength) return;
    if (this.pooledBytes + values.byteLength > this.maxBytes) return;
    let stack = this.free.get(values.length);
    if (stack === undefined) {
      stack = [];
      this.free.set(values.length, stack);
    }
    stack.push(values);
    this.pooledBytes += values.byteLength;
  }

  /** Drops every pooled buffer. */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  get bytes(): number {
    return this.pooledBytes;
  }
}
