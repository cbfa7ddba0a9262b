#pragma once

// Runs a task every `interval` on its own thread until stopped. This is the
// production scheduler; the logic it drives is tested by calling the task
// directly on a ManualClock.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "rightsize/core/clock.h"

namespace rightsize {

// Thread-safety: start() and stop() from one owning thread. The task runs on
// the runner's thread; a slow task delays the next run rather than
// overlapping it. The first run happens immediately on start().
class PeriodicRunner {
 public:
  PeriodicRunner(Duration interval, std::function<void()> task);
  ~PeriodicRunner();
  PeriodicRunner(const PeriodicRunner&) = delete;
  PeriodicRunner& operator=(const PeriodicRunner&) = delete;

  void start();
  // Wakes the runner and joins it; an in-flight run completes first.
  void stop();
  // Asks for a run as soon as possible, off the schedule (from any thread):
  // at once if the runner waits, right after the current run otherwise.
  // Requests made before that run starts are served by it.
  void runNow();

 private:
  void loop();

  Duration interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool run_now_ = false;
  std::thread thread_;
};

}  // namespace rightsize
