#include "rightsize/sizing/sizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

constexpr std::string_view kSource = "sizer";
constexpr std::size_t kMemoryDecisions = 1000;
constexpr std::size_t kStoredDecisions = 100;  // read from the store each cycle, for /v1/decisions

bool same(double a, double b) { return std::abs(a - b) < 1e-6; }

PolicyState policyStateOf(const AppRecord& record) {
  PolicyState state;
  state.out_of_band_since = record.out_of_band_since;
  state.direction = record.out_of_band_direction == "up"     ? Direction::kUp
                    : record.out_of_band_direction == "down" ? Direction::kDown
                                                             : Direction::kNone;
  return state;
}

void storePolicyState(const PolicyState& state, AppRecord& record) {
  record.out_of_band_since = state.out_of_band_since;
  record.out_of_band_direction = std::string(directionName(state.direction));
}

bool listed(const std::vector<MarathonDeployment>& deployments, const std::string& deployment_id) {
  return std::any_of(deployments.begin(), deployments.end(),
                     [&deployment_id](const MarathonDeployment& deployment) { return deployment.id == deployment_id; });
}

void clearRefusal(AppRecord& record) {
  record.refused_version.clear();
  record.refusal.clear();
  record.refused_until.reset();
}

std::string unixSecondsText(TimePoint t) { return std::to_string(static_cast<long long>(toUnixSeconds(t))); }

// Marathon's explanation of a refusal, as kept in the record and the
// decision: its details can be long.
constexpr std::size_t kMaxRefusalText = 500;

void clearIntent(AppRecord& record) {
  record.intent_cpus.reset();
  record.intent_mem_mib.reset();
  record.intent_id.clear();
  record.deployment_id.clear();
  record.intent_at.reset();
}

}  // namespace

Sizer::Sizer(MarathonClient& marathon, AgentSource& agents, StateStore* store, const Clock& clock, ErrorSink& errors,
             SizerOptions options)
    : marathon_(marathon),
      agents_(agents),
      store_(store),
      clock_(clock),
      errors_(errors),
      options_(std::move(options)),
      snapshot_(std::make_shared<SizerSnapshot>()) {}

Sizer::~Sizer() = default;

std::shared_ptr<const SizerSnapshot> Sizer::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

std::vector<Decision> Sizer::recentDecisions(std::size_t count) {
  std::lock_guard lock(decisions_mutex_);
  if (store_ != nullptr && stored_decisions_) {
    return {stored_decisions_->begin(),
            stored_decisions_->begin() + static_cast<std::ptrdiff_t>(std::min(count, stored_decisions_->size()))};
  }
  std::vector<Decision> out(
      memory_decisions_.rbegin(),
      memory_decisions_.rbegin() + static_cast<std::ptrdiff_t>(std::min(count, memory_decisions_.size())));
  return out;
}

void Sizer::resign() {
  // The newest figures too, so that the next leader misses none of them.
  if (store_ != nullptr && lease_ && options_.mode == Mode::kApply) checkpointHistories(clock_.now());
  if (store_ != nullptr && lease_) {
    if (Status released = store_->releaseLease(*lease_); !released) errors_.record(kSource, released.error());
  }
  lease_.reset();
}

void Sizer::restoreHistories(const std::set<std::string>& app_ids) {
  auto stored = store_->loadHistories(std::vector<std::string>(app_ids.begin(), app_ids.end()));
  if (!stored) {
    errors_.record(kSource, stored.error());  // tried again next cycle
    return;
  }
  histories_restored_for_ = lease_->token;
  for (const auto& [app_id, encoded] : *stored) {
    auto history = UsageHistory::decode(encoded, options_.history);
    if (!history) {
      errors_.record(kSource, history.error().withContext("the stored usage history of " + app_id));
      continue;
    }
    if (history->empty()) continue;
    // Where it looks further back than this sizer's own figures, the stored
    // history, then this sizer's figures that came after it.
    auto ours = histories_.find(app_id);
    if (ours == histories_.end() || ours->second.empty()) {
      histories_.insert_or_assign(app_id, std::move(*history));
    } else if (history->oldest() < ours->second.oldest()) {
      history->append(ours->second);
      ours->second = std::move(*history);
    }
  }
}

void Sizer::checkpointHistories(TimePoint now) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(histories_.size());
  for (const auto& [app_id, history] : histories_) {
    if (!history.empty()) encoded.emplace_back(app_id, history.encode());
  }
  // Nothing in a history is older than its longest span: it may go then.
  const Duration ttl = std::max(options_.history.span, options_.history.mem_span);
  if (Status saved = store_->saveHistories(encoded, ttl, *lease_); !saved) {
    errors_.record(kSource, saved.error());  // tried again next cycle
    return;
  }
  histories_saved_at_ = now;
}

void Sizer::alerted(const std::vector<std::string>& app_ids) {
  std::lock_guard lock(alerted_mutex_);
  alerted_.insert(app_ids.begin(), app_ids.end());
}

void Sizer::logDecision(Decision decision) {
  decision.fencing_token = lease_ ? lease_->token : 0;
  if (store_ != nullptr && lease_) {
    if (Status appended = store_->appendDecision(decision, *lease_); !appended)
      errors_.record(kSource, appended.error());
  }
  std::lock_guard lock(decisions_mutex_);
  memory_decisions_.push_back(std::move(decision));
  if (memory_decisions_.size() > kMemoryDecisions) memory_decisions_.erase(memory_decisions_.begin());
}

bool Sizer::save(const AppRecord& record) {
  if (store_ == nullptr || !lease_) return false;
  Status saved = store_->saveApps({record}, *lease_);
  if (!saved) {
    errors_.record(kSource, saved.error());
    // A fenced write that failed means the lease is gone or Redis is: stop
    // acting until leadership is re-established.
    lease_.reset();
    return false;
  }
  return true;
}

bool Sizer::refreshLeadership(TimePoint now) {
  (void)now;
  if (store_ == nullptr) return options_.mode == Mode::kRecommend;
  if (lease_) {
    auto renewed = store_->renewLease(*lease_, options_.lease_ttl);
    if (!renewed) {
      errors_.record(kSource, renewed.error());
      lease_.reset();
      return false;
    }
    if (!*renewed) {
      errors_.record(kSource, Error(ErrorKind::kConflict, "the leader lease was lost"));
      lease_.reset();
      return false;
    }
    return true;
  }
  auto acquired = store_->acquireLease(options_.owner, options_.lease_ttl);
  if (!acquired) {
    errors_.record(kSource, acquired.error());
    return false;
  }
  if (!acquired->has_value()) {
    // A follower shows what the leader checkpointed (cooldowns, resizes in
    // flight) and is ready to take over from it.
    auto loaded = store_->loadApps();
    if (loaded) {
      records_ = std::move(*loaded);
    } else {
      errors_.record(kSource, loaded.error());
    }
    return false;
  }
  lease_ = **acquired;
  // A new leader starts from what the previous one checkpointed, including
  // resizes it left in flight.
  auto loaded = store_->loadApps();
  if (!loaded) {
    errors_.record(kSource, loaded.error());
    resign();
    return false;
  }
  records_ = std::move(*loaded);
  records_loaded_ = true;
  return true;
}

bool Sizer::reconcile(const MarathonApp& app, const AppSettings& settings, AppRecord& record, TimePoint now,
                      const std::optional<std::vector<MarathonDeployment>>& deployments) {
  if (!record.intent_cpus || !record.intent_mem_mib) return false;
  const bool applied = same(app.cpus, *record.intent_cpus) && same(app.mem_mib, *record.intent_mem_mib);
  if (record.deployment_id.empty()) {
    // The PUT's answer was never recorded (crash, timeout, 5xx). Marathon
    // decides: if the app already has the new resources the PUT happened.
    if (!applied) {
      if (record.intent_at && now - *record.intent_at < options_.unconfirmed_grace) {
        return true;  // a PUT answered too late may still be on its way
      }
      clearIntent(record);
      record.cooldown_until = now + backoff(app.id, settings);  // try again later, not at once
      return false;
    }
    if (!deployments) return true;  // which deployment carries it out is learnt next cycle
    const auto carrying = std::find_if(deployments->begin(), deployments->end(), [&app](const auto& deployment) {
      return std::find(deployment.affected_apps.begin(), deployment.affected_apps.end(), app.id) !=
             deployment.affected_apps.end();
    });
    if (carrying != deployments->end()) {
      record.deployment_id = carrying->id;
      return true;
    }
    if (!app.deployment_ids.empty()) {
      // Started after the deployments were read, before the apps were.
      record.deployment_id = app.deployment_ids.front();
      return true;
    }
    record.deployment_id = "unknown";  // it has ended already
  } else if (!deployments || listed(*deployments, record.deployment_id)) {
    // Still listed, or GET /v2/deployments failed: an unknown end is never
    // taken for one.
    return true;
  }
  // No longer listed: ended before the apps were read (the list is read
  // first), so the app as read shows how.
  Decision done;
  done.at = now;
  done.app_id = app.id;
  done.deployment_id = record.deployment_id;
  done.to_cpus = record.intent_cpus;
  done.to_mem_mib = record.intent_mem_mib;
  if (applied) {
    done.action = "deployment_done";
    done.reason = "the app runs with its new reservation";
    record.last_change_at = now;
  } else {
    done.action = "deployment_failed";
    done.reason = "the deployment ended without the new reservation (failed, rolled back or replaced)";
  }
  record.cooldown_until = now + settings.cooldown;
  clearIntent(record);
  save(record);
  logDecision(std::move(done));
  return false;
}

void Sizer::act(const MarathonApp& app, const AppSettings& settings, const Evaluation& evaluation, AppRecord& record,
                AppView& view, TimePoint now, std::size_t& in_flight) {
  if (in_flight >= options_.max_concurrent_deployments) {
    view.reason += "; waiting: " + std::to_string(in_flight) + " deployment(s) of the sizer in progress";
    return;
  }
  // The intent first, fenced by the lease: a sizer that lost the lease
  // cannot record it, and so never reaches the PUT.
  record.state = "deploying";
  record.intent_cpus = evaluation.cpus;
  record.intent_mem_mib = evaluation.mem_mib;
  record.intent_id = options_.owner + "-" + std::to_string(++intents_);
  record.intent_at = now;
  record.deployment_id.clear();
  if (!save(record)) {
    clearIntent(record);
    view.reason += "; not applied: the state store or the lease is unavailable";
    return;
  }
  auto outcome = marathon_.updateResources(app.id, evaluation.cpus, evaluation.mem_mib, options_.force_deployments);
  Decision decision;
  decision.at = now;
  decision.app_id = app.id;
  decision.from_cpus = app.cpus;
  decision.to_cpus = evaluation.cpus;
  decision.from_mem_mib = app.mem_mib;
  decision.to_mem_mib = evaluation.mem_mib;
  decision.reason = evaluation.reason;
  if (!outcome) {
    // Unknown whether Marathon applied it: keep the intent without a
    // deployment id; the next cycle reads the app and decides (never a
    // second PUT of the same change).
    errors_.record(kSource, outcome.error());
    decision.action = "resize_unconfirmed";
    decision.reason += "; " + outcome.error().message();
    view.state = "deploying";
    ++in_flight;
    logDecision(std::move(decision));
    return;
  }
  if (outcome->result == UpdateOutcome::Result::kLocked) {
    clearIntent(record);
    record.cooldown_until = now + backoff(app.id, settings);
    save(record);
    decision.action = "resize_refused";
    decision.reason += "; Marathon: the app is locked by another deployment";
    view.state = "deploying";
    view.reason += "; Marathon refused: the app is locked by another deployment";
    logDecision(std::move(decision));
    return;
  }
  if (outcome->result == UpdateOutcome::Result::kRefused) {
    // A definite no (404, 422): nothing was applied, and the same PUT would
    // be refused again. Not retried with back-off: asked again only after
    // the app's cooldown, or at once when the app changes (someone fixed
    // it, or changed its labels).
    const std::string refusal = sanitizeUtf8(outcome->message.substr(0, kMaxRefusalText));
    clearIntent(record);
    record.refused_version = app.version;
    record.refusal = refusal;
    record.refused_until = now + settings.cooldown;
    save(record);
    errors_.record(kSource,
                   Error(ErrorKind::kInvalidValue, "app " + app.id + ": Marathon refused the resize to " +
                                                       formatFixed(evaluation.cpus, 2) + " cpus, " +
                                                       formatFixed(evaluation.mem_mib, 0) + " MiB: " + refusal));
    decision.action = "resize_refused";
    decision.reason += "; Marathon refused it (" + refusal + "); not asked again before " +
                       unixSecondsText(*record.refused_until) + " unless the app changes";
    view.state = "cooldown";
    view.reason += "; Marathon refused the resize (" + refusal + ")";
    logDecision(std::move(decision));
    return;
  }
  record.deployment_id = outcome->deployment_id;
  failed_attempts_.erase(app.id);
  clearRefusal(record);
  ++record.resizes;
  save(record);
  decision.action = "resize";
  decision.deployment_id = outcome->deployment_id;
  if (!same(evaluation.cpus, app.cpus)) {
    ++resizes_[{app.id, "cpu", evaluation.cpus > app.cpus ? "up" : "down"}];
  }
  if (!same(evaluation.mem_mib, app.mem_mib)) {
    ++resizes_[{app.id, "mem", evaluation.mem_mib > app.mem_mib ? "up" : "down"}];
  }
  view.state = "deploying";
  view.deployment_id = outcome->deployment_id;
  view.resizing_since = record.intent_at;
  ++in_flight;
  logDecision(std::move(decision));
}

Duration Sizer::backoff(const std::string& app_id, const AppSettings& settings) {
  const int attempts = std::min(++failed_attempts_[app_id], 16);
  Duration wait = options_.retry_after;
  for (int i = 1; i < attempts && wait < settings.cooldown; ++i) wait *= 2;
  return std::min(wait, std::max(settings.cooldown, options_.retry_after));
}

void Sizer::runCycle() {
  const TimePoint now = clock_.now();
  auto snapshot = std::make_shared<SizerSnapshot>();
  snapshot->timestamp = now;
  snapshot->mode = options_.mode;
  snapshot->cycles = ++cycles_;
  snapshot->leader = refreshLeadership(now);
  snapshot->store_ok = store_ == nullptr || snapshot->leader || lease_.has_value();
  snapshot->fencing_token = lease_ ? lease_->token : 0;
  const bool may_write = snapshot->leader && options_.mode == Mode::kApply && store_ != nullptr && lease_;

  auto publish = [&] {
    snapshot->resizes = resizes_;
    // The store's connection is this thread's: readers of recentDecisions()
    // (HTTP workers) get what this cycle read.
    if (store_ != nullptr && snapshot->store_ok) {
      auto stored = store_->recentDecisions(kStoredDecisions);
      if (stored) {
        std::lock_guard lock(decisions_mutex_);
        stored_decisions_ = std::move(*stored);
      } else {
        errors_.record(kSource, stored.error());
      }
    }
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = snapshot;
  };

  // The sizer's own deployments are followed through GET /v2/deployments,
  // once per cycle while one is in flight, and read before the apps: one
  // no longer listed had ended before the apps were read, so the app as
  // read shows its outcome.
  std::optional<std::vector<MarathonDeployment>> deployments;
  const bool following = may_write && std::any_of(records_.begin(), records_.end(), [](const auto& entry) {
                           return entry.second.intent_cpus.has_value();
                         });
  if (following) {
    auto listed_now = marathon_.deployments();
    if (listed_now) {
      deployments = std::move(*listed_now);
    } else {
      errors_.record(kSource, listed_now.error());
    }
  }

  auto apps = marathon_.listApps();
  if (!apps) {
    errors_.record(kSource, apps.error());
    publish();
    return;
  }
  snapshot->marathon_ok = true;

  std::vector<std::string> urls = options_.agents;
  if (urls.empty()) {
    for (const auto& app : *apps) {
      if (app.id == options_.agent_app) urls = agentUrlsFromApp(app);
    }
  }
  const auto reports = agents_.read(urls);
  snapshot->agents = reports.size();
  for (const auto& report : reports) {
    snapshot->agents_reachable += report.reachable ? 1 : 0;
    for (const auto& error : report.errors) errors_.record("agents", error);
  }
  auto usage = summarize(reports, *apps);
  // The agents' window is short: decide on the history of their figures
  // (kept while the app exists, also through cycles without figures).
  std::set<std::string> app_ids;
  for (const auto& app : *apps) app_ids.insert(app.id);
  std::erase_if(histories_, [&app_ids](const auto& entry) { return !app_ids.contains(entry.first); });
  // A new leader, or a restarted one, starts from the histories the last one
  // checkpointed: a restart does not forget a peak seen hours ago.
  if (store_ != nullptr && lease_ && histories_restored_for_ != lease_->token) restoreHistories(app_ids);
  for (auto& [app_id, figures] : usage) {
    auto& history = histories_.try_emplace(app_id, options_.history).first->second;
    history.add(now, figures);
    figures = history.summarize(now, figures);
  }
  // Checkpointed once a bucket (5m): what a crash loses is at most that.
  if (may_write &&
      (!histories_saved_at_ || now - *histories_saved_at_ >= options_.history.bucket || now < *histories_saved_at_)) {
    checkpointHistories(now);
  }
  {
    std::lock_guard lock(alerted_mutex_);
    for (const auto& app_id : alerted_) {
      if (auto found = usage.find(app_id); found != usage.end()) found->second.alerted = true;
    }
    alerted_.clear();
  }

  std::size_t in_flight = 0;
  for (const auto& [id, record] : records_) in_flight += record.intent_cpus.has_value() ? 1 : 0;

  std::vector<AppRecord> changed;
  for (const auto& app : *apps) {
    ParsedSettings parsed = parseAppLabels(app.labels, options_.defaults);
    const AppSettings& settings = parsed.settings;
    AppView view;
    view.app_id = app.id;
    view.enabled = settings.enabled || (options_.apply_all && !settings.disabled);
    view.instances = app.instances;
    view.cpus = app.cpus;
    view.mem_mib = app.mem_mib;
    view.label_errors = parsed.errors;
    view.cpu_band_cores = settings.cpu_band;  // the labels', or the defaults when absent or bad
    view.mem_band_mib = settings.mem_band;
    for (const auto& error : parsed.errors) {
      errors_.record("labels", Error(ErrorKind::kInvalidValue, "app " + app.id + ": " + error));
    }

    AppRecord& record = records_[app.id];
    record.app_id = app.id;
    const AppRecord before = record;
    // A refusal holds for the app version it was refused for, until the
    // cooldown passes.
    if (record.refused_until && (now >= *record.refused_until || record.refused_version != app.version)) {
      clearRefusal(record);
    }
    PolicyState state = policyStateOf(record);
    const auto found = usage.find(app.id);
    const Evaluation evaluation = evaluate(settings, options_.policy, app.cpus, app.mem_mib,
                                           found != usage.end() ? found->second : AppUsage{}, state, now);
    storePolicyState(state, record);
    if (evaluation.has_data) {
      view.recommended_cpus = evaluation.cpus;
      view.recommended_mem_mib = evaluation.mem_mib;
    }
    view.reason = evaluation.reason;

    const bool was_in_flight = record.intent_cpus.has_value();
    const bool in_flight_now = may_write && reconcile(app, settings, record, now, deployments);
    if (was_in_flight && !record.intent_cpus.has_value() && in_flight > 0) --in_flight;
    if (in_flight_now) {
      view.state = "deploying";
      view.deployment_id = record.deployment_id;
      view.resizing_since = record.intent_at;
      view.reason = "resizing to " + formatFixed(*record.intent_cpus, 2) + " cpus, " +
                    formatFixed(*record.intent_mem_mib, 0) + " MiB";
      if (!deployments) view.reason += "; Marathon's deployments could not be read: following it next cycle";
    } else if (!app.deployment_ids.empty()) {
      view.state = "deploying";
      view.deployment_id = app.deployment_ids.front();
      view.reason = "a deployment of the app is in progress; " + view.reason;
    } else if (record.cooldown_until && now < *record.cooldown_until &&
               // A resize's cooldown (not a back-off) is shorter for a hot spot.
               !(record.last_change_at && *record.cooldown_until == *record.last_change_at + settings.cooldown &&
                 now >= *record.last_change_at + cooldownBefore(evaluation, settings.cooldown))) {
      view.state = "cooldown";
      view.reason += "; cooling down until " + unixSecondsText(*record.cooldown_until);
    } else if (!evaluation.has_data) {
      view.state = "no_data";
    } else if (!view.enabled) {
      view.state = "disabled";
    } else if (evaluation.direction != Direction::kNone && record.refused_until) {
      view.state = "cooldown";
      view.reason += "; Marathon refused the last resize (" + record.refusal + "): asking again after " +
                     unixSecondsText(*record.refused_until) + " or once the app changes";
    } else if (evaluation.direction != Direction::kNone) {
      view.state = "watching";
      if (evaluation.resize && may_write) act(app, settings, evaluation, record, view, now, in_flight);
    } else {
      view.state = "idle";
    }
    record.state = view.state;
    if (!(record == before)) changed.push_back(record);
    snapshot->apps.push_back(std::move(view));
  }

  // Forget apps that no longer exist, once nothing is in flight for them:
  // an app deleted during its resize is followed until its deployment is no
  // longer listed (or, unconfirmed, the grace has passed).
  std::unordered_set<std::string_view> existing;
  existing.reserve(apps->size());
  for (const auto& app : *apps) existing.insert(app.id);
  for (auto it = records_.begin(); it != records_.end();) {
    AppRecord& record = it->second;
    if (existing.contains(it->first)) {
      ++it;
      continue;
    }
    if (record.intent_cpus) {
      const bool ended =
          may_write && deployments &&
          (record.deployment_id.empty() ? !record.intent_at || now - *record.intent_at >= options_.unconfirmed_grace
                                        : !listed(*deployments, record.deployment_id));
      if (!ended) {
        ++it;
        continue;
      }
      Decision gone;
      gone.at = now;
      gone.app_id = record.app_id;
      gone.action = "deployment_failed";
      gone.deployment_id = record.deployment_id;
      gone.to_cpus = record.intent_cpus;
      gone.to_mem_mib = record.intent_mem_mib;
      gone.reason = "the app was deleted from Marathon during its resize";
      logDecision(std::move(gone));
    }
    if (may_write && lease_) (void)store_->deleteApp(it->first, *lease_);
    it = records_.erase(it);
  }

  // Checkpoint the policy state (how long each app has been out of band) in
  // one pipelined write.
  if (may_write && lease_ && !changed.empty()) {
    if (Status saved = store_->saveApps(changed, *lease_); !saved) {
      errors_.record(kSource, saved.error());
      lease_.reset();
      snapshot->leader = false;
    }
  }
  std::sort(snapshot->apps.begin(), snapshot->apps.end(),
            [](const AppView& a, const AppView& b) { return a.app_id < b.app_id; });
  publish();
}

}  // namespace rightsize::sizing
