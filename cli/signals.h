#pragma once

// SIGINT and SIGTERM as a way to stop a long-running subcommand: blocked in
// every thread (construct before starting any) and waited for explicitly.

#include <signal.h>

#include <chrono>

namespace rightsize::cli {

class ShutdownSignals {
 public:
  ShutdownSignals();
  // Waits for SIGINT or SIGTERM; returns the signal number.
  int wait() const;
  // Waits at most `timeout`; returns the signal number, or 0 on timeout.
  int waitFor(std::chrono::milliseconds timeout) const;

 private:
  sigset_t set_{};
};

}  // namespace rightsize::cli
