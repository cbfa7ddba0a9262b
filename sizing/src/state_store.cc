#include "rightsize/sizing/state_store.h"

#include <algorithm>
#include <array>
#include <utility>

namespace rightsize::sizing {
namespace {

constexpr std::array<std::pair<AppState, std::string_view>, 8> kAppStates = {{
    {AppState::kIdle, "idle"},
    {AppState::kWatching, "watching"},
    {AppState::kDeploying, "deploying"},
    {AppState::kCooldown, "cooldown"},
    {AppState::kDisabled, "disabled"},
    {AppState::kNoData, "no_data"},
    {AppState::kSick, "sick"},
    {AppState::kUnusable, "unusable"},
}};

constexpr std::array<std::pair<DecisionAction, std::string_view>, 6> kActions = {{
    {DecisionAction::kResize, "resize"},
    {DecisionAction::kScale, "scale"},
    {DecisionAction::kResizeUnconfirmed, "resize_unconfirmed"},
    {DecisionAction::kResizeRefused, "resize_refused"},
    {DecisionAction::kDeploymentDone, "deployment_done"},
    {DecisionAction::kDeploymentFailed, "deployment_failed"},
}};

template <typename Enum, std::size_t N>
std::string_view nameOf(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value) {
  for (const auto& [known, name] : names) {
    if (known == value) return name;
  }
  return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> parseName(const std::array<std::pair<Enum, std::string_view>, N>& names, std::string_view name) {
  for (const auto& [known, known_name] : names) {
    if (known_name == name) return known;
  }
  return std::nullopt;
}

}  // namespace

std::string_view appStateName(AppState state) { return nameOf(kAppStates, state); }
std::optional<AppState> parseAppState(std::string_view name) { return parseName(kAppStates, name); }
std::string_view decisionActionName(DecisionAction action) { return nameOf(kActions, action); }
std::optional<DecisionAction> parseDecisionAction(std::string_view name) { return parseName(kActions, name); }

Status MemoryStateStore::held(const Lease& lease) const {
  if (holder_ && holder_->owner == lease.owner && holder_->token == lease.token) return Status::success();
  return Error(ErrorKind::kConflict,
               "the in-memory state store's lease is held by " + (holder_ ? holder_->owner : std::string("nobody")));
}

Status MemoryStateStore::saveApps(const std::vector<AppRecord>& records, const Lease& lease) {
  if (Status ok = held(lease); !ok) return ok;
  for (const auto& record : records) records_[record.app_id] = record;
  return Status::success();
}

Status MemoryStateStore::deleteApp(const std::string& app_id, const Lease& lease) {
  if (Status ok = held(lease); !ok) return ok;
  records_.erase(app_id);
  histories_.erase(app_id);
  return Status::success();
}

Status MemoryStateStore::saveHistories(const std::vector<std::pair<std::string, std::string>>& histories,
                                       Duration /*ttl*/, const Lease& lease) {
  if (Status ok = held(lease); !ok) return ok;
  for (const auto& [app_id, encoded] : histories) histories_[app_id] = encoded;
  return Status::success();
}

Expected<std::map<std::string, std::string>> MemoryStateStore::loadHistories(const std::vector<std::string>& app_ids) {
  std::map<std::string, std::string> out;
  for (const auto& app_id : app_ids) {
    if (auto found = histories_.find(app_id); found != histories_.end()) out.insert(*found);
  }
  return out;
}

Status MemoryStateStore::saveHostLosses(const std::string& encoded, Duration /*ttl*/, const Lease& lease) {
  if (Status ok = held(lease); !ok) return ok;
  host_losses_ = encoded;
  return Status::success();
}

Status MemoryStateStore::appendDecision(const Decision& decision, const Lease& lease) {
  if (Status ok = held(lease); !ok) return ok;
  decisions_.push_back(decision);
  if (decisions_.size() > max_decisions_) decisions_.erase(decisions_.begin());
  return Status::success();
}

Expected<std::vector<Decision>> MemoryStateStore::recentDecisions(std::size_t count) {
  return std::vector<Decision>(decisions_.rbegin(),
                               decisions_.rbegin() + static_cast<std::ptrdiff_t>(std::min(count, decisions_.size())));
}

Expected<std::optional<Lease>> MemoryStateStore::acquireLease(const std::string& owner, Duration /*ttl*/) {
  if (holder_ && holder_->owner != owner) return std::optional<Lease>();
  holder_ = Lease{owner, ++tokens_};
  return holder_;
}

Expected<bool> MemoryStateStore::renewLease(const Lease& lease, Duration /*ttl*/) {
  return holder_ && holder_->owner == lease.owner && holder_->token == lease.token;
}

Status MemoryStateStore::releaseLease(const Lease& lease) {
  if (held(lease)) holder_.reset();
  return Status::success();
}

}  // namespace rightsize::sizing
