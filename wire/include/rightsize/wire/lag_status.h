#pragma once

// The Burrow-style status of a consumer group or partition, as /v1/lag
// carries it: lag/ computes it (lag_status.h says how), the sizer acts on it.

#include <optional>
#include <string_view>

namespace rightsize::wire {

enum class LagStatus { kOk, kNoCommit, kWarn, kRewind, kStall, kStop };

// "OK", "NO_COMMIT", "WARN", "REWIND", "STALL", "STOP".
std::string_view lagStatusName(LagStatus status);
// The inverse of lagStatusName(); nullopt for any other text.
std::optional<LagStatus> parseLagStatus(std::string_view name);

}  // namespace rightsize::wire
