#include "rightsize/lag/lag_status.h"

#include <algorithm>

#include "rightsize/lag/kafka_client.h"

namespace rightsize::lag {

std::string toString(const TopicPartition& tp) { return tp.topic + "[" + std::to_string(tp.partition) + "]"; }

int lagStatusSeverity(LagStatus status) {
  switch (status) {
    case LagStatus::kNoCommit:
      return -1;  // a group is NO_COMMIT only when nothing else is known
    case LagStatus::kOk:
      return 0;
    case LagStatus::kWarn:
      return 1;
    case LagStatus::kRewind:
      return 2;
    case LagStatus::kStall:
      return 3;
    case LagStatus::kStop:
      return 4;
  }
  return 0;
}

void PartitionWindow::observe(TimePoint at, std::optional<std::int64_t> committed, std::int64_t lag_messages) {
  if (!committed) {
    committed_ = false;
    observations_.clear();
    last_offset_.reset();
    return;
  }
  committed_ = true;
  if (!last_offset_ || *last_offset_ != *committed) {
    last_offset_ = committed;
    last_change_ = at;
  }
  observations_.push_back({at, *committed, lag_messages});
  while (!observations_.empty() && observations_.front().at < at - window_) observations_.pop_front();
}

LagStatus PartitionWindow::status(TimePoint now) const {
  if (!committed_ || observations_.empty()) return LagStatus::kNoCommit;
  for (const auto& o : observations_) {
    if (o.lag == 0) return LagStatus::kOk;
  }
  for (std::size_t i = 1; i < observations_.size(); ++i) {
    if (observations_[i].committed < observations_[i - 1].committed) return LagStatus::kRewind;
  }
  const Duration idle = now - last_change_;
  if (idle >= window_) return LagStatus::kStop;
  if (idle >= window_ / 2) return LagStatus::kStall;
  if (observations_.size() >= 2) {
    bool growing = observations_.back().lag > observations_.front().lag;
    for (std::size_t i = 1; i < observations_.size() && growing; ++i) {
      growing = observations_[i].lag >= observations_[i - 1].lag;
    }
    if (growing) return LagStatus::kWarn;
  }
  return LagStatus::kOk;
}

}  // namespace rightsize::lag
