#include "rightsize/wire/lag_status.h"

namespace rightsize::wire {

std::string_view lagStatusName(LagStatus status) {
  switch (status) {
    case LagStatus::kOk:
      return "OK";
    case LagStatus::kNoCommit:
      return "NO_COMMIT";
    case LagStatus::kWarn:
      return "WARN";
    case LagStatus::kRewind:
      return "REWIND";
    case LagStatus::kStall:
      return "STALL";
    case LagStatus::kStop:
      return "STOP";
  }
  return "OK";
}

std::optional<LagStatus> parseLagStatus(std::string_view name) {
  for (const LagStatus status : {LagStatus::kOk, LagStatus::kNoCommit, LagStatus::kWarn, LagStatus::kRewind,
                                 LagStatus::kStall, LagStatus::kStop}) {
    if (lagStatusName(status) == name) return status;
  }
  return std::nullopt;
}

}  // namespace rightsize::wire
