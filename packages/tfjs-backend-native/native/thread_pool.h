// A small persistent thread pool: the caller's thread plus (threads - 1) workers. Threads are created
// once (never per op); a job is split into contiguous chunks that the workers and the caller claim
// from an atomic counter. Between jobs a worker first spins for a short while (kernels of a training
// step come back to back, tens of microseconds apart, and a futex sleep + wake-up costs about as much
// as a small kernel), then sleeps on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bmae {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  /** Runs fn(chunk) for chunk in [0, chunks); returns when all are done. Not re-entrant. */
  void run(int64_t chunks, const std::function<void(int64_t)>& fn);

 private:
  void workerLoop();
  void claimChunks(const std::function<void(int64_t)>& job, int64_t chunks);
  bool finished() const;

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  // The current job; written under mutex_ while no worker is registered for it, read under mutex_.
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> done_{0};
  // Atomics so that a spinning worker and a waiting caller can poll them without the mutex; they
  // change only under mutex_, which is what the sleeping side waits on.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busyWorkers_{0};
  bool stop_ = false;
};

/**
 * Results must not depend on the thread count (the pool may be re-sized during a run). Where a
 * kernel's partition changes its numbers (partial sums combined afterwards, GEMM slabs), the
 * partition is decided by the shape alone, into at most this many parts, and pool().run spreads the
 * parts over however many threads there are. 8 parts share out evenly over 1, 2, 4 and 8 threads.
 */
constexpr int64_t kMaxParts = 8;

/** The process-wide pool (size from setThreads / BMAE_THREADS). */
ThreadPool& pool();

/** Sets the thread count of the pool (which every kernel, GEMM included, runs on). */
void setThreads(int threads);
int getThreads();

/**
 * Splits [0, n) into at most pool().threads() contiguous ranges of at least `grain` items and
 * runs fn(begin, end) on each; runs inline when n < 2 * grain (tiny tensors are not worth a wake-up).
 * The ranges depend on the thread count: only for loops where each output is computed the same way
 * whichever range it falls in (element-wise maps, one row or product per item).
 */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace bmae
