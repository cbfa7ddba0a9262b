#pragma once

// Bytes per unit of memory: Marathon and Mesos write memory in MiB, cgroups,
// the agents' series and Prometheus in bytes.

#include <cstdint>

namespace rightsize {

inline constexpr std::uint64_t kMiBBytes = std::uint64_t{1} << 20;
inline constexpr double kMiB = 1024.0 * 1024.0;
inline constexpr double kGiB = 1024.0 * kMiB;

}  // namespace rightsize
