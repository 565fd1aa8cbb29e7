// A small persistent thread pool: the caller's thread plus (threads - 1) workers that sleep on a
// condition variable between jobs. Threads are created once (never per op); a job is split into
// contiguous chunks that the workers and the caller claim from an atomic counter.
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
  void claimChunks();

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> done_{0};
  uint64_t generation_ = 0;
  int busyWorkers_ = 0;
  bool stop_ = false;
};

/** The process-wide pool (size from setThreads / BMAE_THREADS). */
ThreadPool& pool();

/** Sets the thread count of the pool and of the GEMM library (gemmSetThreads). */
void setThreads(int threads);
int getThreads();

/**
 * Splits [0, n) into at most pool().threads() contiguous ranges of at least `grain` items and
 * runs fn(begin, end) on each; runs inline when n < 2 * grain (tiny tensors are not worth a wake-up).
 */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace bmae
