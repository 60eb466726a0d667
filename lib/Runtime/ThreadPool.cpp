//===- ThreadPool.cpp - the runtime's worker threads ----------------------===//
#include "ThreadPool.h"

#include <algorithm>
#include <atomic>

namespace kconv {

struct ThreadPool::Job {
  const std::function<void(int64_t)> *body = nullptr; // alive until `done == count`
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;

  /// Runs chunks until none is left. Returns once this thread can claim no more.
  void work() {
    for (int64_t chunk; (chunk = next.fetch_add(1)) < count;) {
      (*body)(chunk);
      if (done.fetch_add(1) + 1 == count) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }
};

ThreadPool &ThreadPool::global() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
}

int ThreadPool::workerCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return int(workers_.size());
}

void ThreadPool::ensureWorkers(int count) {
  // Called with mutex_ held.
  count = std::min(count, 1024);
  while (int(workers_.size()) < count)
    workers_.emplace_back([this] { workerLoop(); });
}

void ThreadPool::workerLoop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty())
        return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job->work();
  }
}

void ThreadPool::parallelFor(int64_t count, int threads,
                             const std::function<void(int64_t)> &body) {
  if (count <= 0)
    return;
  int64_t helpers = std::min<int64_t>(std::max(threads, 1) - 1, count - 1);
  if (helpers == 0) {
    for (int64_t i = 0; i < count; ++i)
      body(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->count = count;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ensureWorkers(int(helpers));
    for (int64_t h = 0; h < helpers; ++h)
      queue_.push_back(job);
  }
  if (helpers == 1)
    wake_.notify_one();
  else
    wake_.notify_all();
  job->work();
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done.load() == count; });
  // Queue entries of this job that no worker took yet find no chunk left and are dropped by the
  // worker that pops them; they hold the Job (not `body`) alive until then.
}

} // namespace kconv
