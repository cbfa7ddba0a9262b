#include "signals.h"

#include <pthread.h>

#include <cerrno>
#include <string>

namespace rightsize::cli {

ShutdownSignals::ShutdownSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int ShutdownSignals::wait() const {
  int signal = 0;
  sigwait(&set_, &signal);
  return signal;
}

int ShutdownSignals::waitFor(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    const int signal = sigtimedwait(&set_, nullptr, &ts);
    if (signal > 0) return signal;
    if (errno == EAGAIN) return 0;
    // EINTR: another signal interrupted the wait; wait for the rest.
  }
}

std::string signalName(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(signal);
  }
}

}  // namespace rightsize::cli
