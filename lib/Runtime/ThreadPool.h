//===- ThreadPool.h - the runtime's worker threads --------------*- C++ -*-===//
//
// One process-wide pool. parallelFor(n, T, body) runs body(0..n-1) on up to T threads, the calling
// thread included, and returns when all are done. Several threads may call parallelFor at once:
// each call is a job with its own chunk counter; idle workers help whichever jobs are queued, and
// every caller works on its own job itself, so a call never waits for a worker that is busy
// elsewhere to start (it only waits for chunks already started). The pool grows on demand to the
// largest T asked for, minus one.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_LIB_RUNTIME_THREADPOOL_H
#define KCONV_LIB_RUNTIME_THREADPOOL_H

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kconv {

class ThreadPool {
public:
  static ThreadPool &global();
  ~ThreadPool();

  void parallelFor(int64_t count, int threads, const std::function<void(int64_t)> &body);
  int workerCount();

  struct Job;

private:
  ThreadPool() = default;
  void ensureWorkers(int count);
  void workerLoop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

} // namespace kconv

#endif // KCONV_LIB_RUNTIME_THREADPOOL_H
