#pragma once

// The agent's /v1/containers document (docs/api.md): its types, the encoder
// the agent serves it with and the decoder the sizer reads it with. Unknown
// figures are nullopt and travel as JSON null.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::wire {

// A container may reserve (request) less than it may use (its limit), as
// Marathon's resourceLimits allow: `reserved_*` is the request, `limit_*` the
// hard limit. Without a separate request both are the same figure.
struct CpuFigures {
  std::optional<double> reserved_cores;            // the request; null: no limit, quota or shares
  std::optional<double> limit_cores;               // hard limit (CFS quota); null: none (unlimited)
  std::optional<double> used_cores;                // over the last interval
  std::optional<double> used_cores_avg;            // moving average
  std::optional<double> used_cores_p95;            // over the window
  std::optional<double> used_above_request_cores;  // max(used_cores_avg - reserved_cores, 0)
  std::optional<double> lying_factor_cores;        // reserved - used, averaged; may be negative
  std::optional<double> throttled_ratio;           // 0-1
  std::optional<double> throttled_cores;           // throttled time per second: cores of demand held back
  bool operator==(const CpuFigures&) const = default;
};

struct MemFigures {
  std::optional<double> reserved_bytes;  // the request (soft limit below the hard one, else that); null: unlimited
  std::optional<double> limit_bytes;     // hard limit; null: unlimited
  // Whether the report has limit_bytes at all (null included): an agent
  // older than it reports its hard limit as reserved_bytes.
  bool limit_reported = false;
  std::optional<double> used_bytes;
  std::optional<double> used_bytes_peak;     // over the window
  std::optional<double> lying_factor_bytes;  // reserved - used, averaged; may be negative
  bool operator==(const MemFigures&) const = default;
};

struct Container {
  std::string container_id;
  std::string app_id;  // "" for tasks of frameworks other than Marathon
  std::string task_id;
  std::string env;            // "": unknown (the member is left out)
  std::string instance_type;  // "": unknown (the member is left out)
  std::uint64_t samples = 0;  // readings within the window
  CpuFigures cpu;
  MemFigures mem;
  bool operator==(const Container&) const = default;
};

// Where a host stands, from its Mesos agent's attributes and fault domain
// (or the agent's flags): "" when not known.
struct HostPlace {
  std::string instance_type;
  std::string zone;
  std::string lifecycle;  // "spot", "on-demand"
  bool operator==(const HostPlace&) const = default;
};

struct ContainersReport {
  std::string host;
  TimePoint timestamp{};  // written as Unix seconds
  Duration window{};
  // The host's CPU: what its containers use together and how many cores it
  // has (null: unknown). A host near its capacity has nothing to spare for
  // bursts: the sizer does not raise a CPU limit there.
  std::optional<double> host_used_cores;
  std::optional<double> host_capacity_cores;
  std::optional<double> host_capacity_bytes;  // memory for tasks (null: unknown)
  HostPlace place;                            // members instance_type, zone, lifecycle, left out when ""
  std::vector<Container> containers;          // the agent sorts them by container_id
  bool operator==(const ContainersReport&) const = default;
};

// The JSON of /v1/containers, members in the order docs/api.md lists them.
std::string encodeContainersReport(const ContainersReport& report);

// Decodes a /v1/containers body from `source` (named in errors), appending
// what is wrong to `errors`. A body that is not JSON or has no `containers`
// array gives an empty report and one error; otherwise each entry is either
// kept or left out with one error naming its index and field:
//   - app_id and task_id must be strings (kMissingField);
//   - cpu.reserved_cores, limit_cores, used_cores_avg, used_cores_p95,
//     used_above_request_cores, throttled_ratio, throttled_cores, mem.reserved_bytes,
//     limit_bytes, used_bytes, used_bytes_peak (what the sizer reads) must be
//     absent, null or finite numbers >= 0 (kInvalidValue); absent members
//     (an agent older than the member) are unknown, as null, but for
//     mem.limit_bytes (limit_reported says whether it was there).
// The other members are informational: taken when of their type, otherwise
// left at their default, never a reason to leave an entry out.
[[nodiscard]] ContainersReport decodeContainersReport(std::string_view body, std::string_view source,
                                                      std::vector<Error>& errors);

}  // namespace rightsize::wire
