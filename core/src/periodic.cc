#include "rightsize/core/periodic.h"

namespace rightsize {

PeriodicRunner::PeriodicRunner(Duration interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)) {}

PeriodicRunner::~PeriodicRunner() { stop(); }

void PeriodicRunner::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void PeriodicRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicRunner::runNow() {
  {
    std::lock_guard lock(mutex_);
    run_now_ = true;
  }
  wake_.notify_all();
}

void PeriodicRunner::loop() {
  // Runs are scheduled on a fixed grid from the start, so a run that takes
  // part of the interval does not push every later run back.
  auto next = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(mutex_);
      run_now_ = false;
    }
    task_();
    next += interval_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: skip missed runs instead of bursting
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, next, [this] { return stopping_ || run_now_; });
    if (stopping_) return;
  }
}

}  // namespace rightsize
