#pragma once

// What the launchers of real servers (redis_server.cc, prometheus_server.cc)
// share: finding a binary, a free loopback port, a scratch directory.

#include <chrono>
#include <cstdint>
#include <string>

#include "rightsize/core/status.h"

namespace rightsize::testing::local {

// A server that could not bind its port (taken since freePort) is started
// again on another, this many times at most.
inline constexpr int kPortAttempts = 5;
// How long a stopped server has to exit before it is killed.
inline constexpr auto kStopTimeout = std::chrono::seconds(10);

// `name` in PATH, then in /usr/bin (Debian's place); "" when neither has it.
std::string findExecutable(const std::string& name);
// A loopback port free now: another process may take it before the server
// binds it, so callers retry on a clash.
Expected<std::uint16_t> freePort();
// A new directory under $TMPDIR (or /tmp) named `prefix`-XXXXXX.
Expected<std::string> makeDirectory(const std::string& prefix);

}  // namespace rightsize::testing::local
