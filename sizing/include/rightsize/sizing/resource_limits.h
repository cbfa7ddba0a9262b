#pragma once

// Marathon's resourceLimits (Marathon >= 1.10, Mesos >= 1.9): what a task may
// use beyond what it reserves. An app's cpus and mem are its request (CPU
// shares, memory soft limit: what the allocator reserves); a limit is a
// number >= its request (CFS quota, memory hard limit) or "unlimited". A
// resource without one is limited at its request.

#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace rightsize::sizing {

// "unlimited", as a number: above any request.
inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();

struct ResourceLimits {
  std::optional<double> cpus;     // cores, or kUnlimited; nullopt: the request
  std::optional<double> mem_mib;  // MiB, or kUnlimited; nullopt: the request
  bool empty() const { return !cpus && !mem_mib; }
  bool operator==(const ResourceLimits&) const = default;
};

inline bool unlimited(double limit) { return std::isinf(limit) && limit > 0; }

// The limit in force for a resource whose request is `request`.
inline double limitOr(std::optional<double> limit, double request) { return limit ? *limit : request; }

// "unlimited", or the number in the fewest decimals (up to 3) that reads
// back as it: how a limit is shown and written.
std::string limitText(double limit);

}  // namespace rightsize::sizing
