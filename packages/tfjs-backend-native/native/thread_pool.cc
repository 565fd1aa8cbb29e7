#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>


namespace bmae {

namespace {
// True on a thread while it runs pool chunks: a nested parallelFor then runs inline instead of
// re-entering the (non-re-entrant) pool.
thread_local bool inPoolJob = false;
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

namespace {

// How long an idle worker polls for the next job, and a caller for its job's last chunks, before
// sleeping. Long enough to bridge the gap between two kernels of a step (the JavaScript in between),
// short enough that a pool left idle costs nothing measurable (the poll is a pause loop: no syscalls,
// so no system time).
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls pred() for up to kSpin; true when it became true.
template <typename Pred>
bool spinUntil(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (pred()) return true;
    cpuRelax();
    // Reading the clock costs ~20 ns: check it every 64 polls only.
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return pred();
  }
}

}  // namespace

void ThreadPool::claimChunks(const std::function<void(int64_t)>& job, int64_t chunks) {
  inPoolJob = true;
  struct Reset {
    ~Reset() { inPoolJob = false; }
  } reset;
  for (;;) {
    const int64_t c = next_.fetch_add(1, std::memory_order_relaxed);
    if (c >= chunks) return;
    job(c);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t)>* job = nullptr;
    int64_t chunks = 0;
    spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      // A worker that woke after its job returned finds job_ null (or the next job): it takes what is
      // there now, under the lock, so it never runs a finished job's function.
      job = job_;
      chunks = chunks_;
      busyWorkers_.fetch_add(1, std::memory_order_relaxed);
    }
    if (job != nullptr) claimChunks(*job, chunks);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busyWorkers_.fetch_sub(1, std::memory_order_release);
    }
    finished_.notify_one();
  }
}

bool ThreadPool::finished() const {
  return done_.load(std::memory_order_acquire) >= chunks_ && busyWorkers_.load(std::memory_order_acquire) == 0;
}

void ThreadPool::run(int64_t chunks, const std::function<void(int64_t)>& fn) {
  if (chunks <= 0) return;
  if (chunks == 1 || workers_.empty() || inPoolJob) {
    for (int64_t c = 0; c < chunks; ++c) fn(c);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    chunks_ = chunks;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  claimChunks(fn, chunks);
  // Wait until every chunk ran and no worker still holds a reference to fn (it lives on our stack).
  // The last check is under the lock, where workers register: one that registers later finds job_ null.
  spinUntil([&] { return finished(); });
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return finished(); });
  job_ = nullptr;
}

namespace {

int threadsFromEnv() {
  const char* env = std::getenv("BMAE_THREADS");
  if (env != nullptr && *env != '\0') {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::unique_ptr<ThreadPool>& poolSlot() {
  static std::unique_ptr<ThreadPool> slot;
  return slot;
}

}  // namespace

ThreadPool& pool() {
  auto& slot = poolSlot();
  if (!slot) setThreads(threadsFromEnv());
  return *slot;
}

void setThreads(int threads) {
  threads = std::max(1, threads);
  auto& slot = poolSlot();
  if (slot && slot->threads() == threads) return;
  slot.reset(new ThreadPool(threads));
}

int getThreads() { return pool().threads(); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t maxChunks = std::min<int64_t>(pool().threads(), n / grain);
  if (maxChunks < 2 || inPoolJob) {
    fn(0, n);
    return;
  }
  const int64_t chunks = maxChunks;
  pool().run(chunks, [&](int64_t c) {
    const int64_t begin = n * c / chunks;
    const int64_t end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace bmae
