#pragma once

// SIGINT, SIGTERM and SIGHUP as a way to stop a long-running subcommand:
// blocked in every thread (construct before starting any) and waited for
// explicitly. SIGHUP stops like SIGTERM: the daemons read no configuration
// file that a reload could pick up, and a hang-up (a closed terminal, an
// init system's reload) must not kill them without their orderly stop.

#include <signal.h>

#include <chrono>
#include <string>

namespace rightsize::cli {

class ShutdownSignals {
 public:
  ShutdownSignals();
  // Waits for SIGINT, SIGTERM or SIGHUP; returns the signal number.
  int wait() const;
  // Waits at most `timeout`; returns the signal number, or 0 on timeout.
  int waitFor(std::chrono::milliseconds timeout) const;

 private:
  sigset_t set_{};
};

// "SIGINT", "SIGTERM", "SIGHUP", else "signal <n>", for log lines.
std::string signalName(int signal);

}  // namespace rightsize::cli
