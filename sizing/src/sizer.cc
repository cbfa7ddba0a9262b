#include "rightsize/sizing/sizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "rightsize/core/text.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::sizing {
namespace {

// The sources errors are counted and logged under (once per source and
// kind): a Marathon outage must not hide a Redis one of the same kind.
constexpr std::string_view kMarathon = "marathon";
constexpr std::string_view kStore = "redis";
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

// Whether a failed fenced write means the lease (or Redis) is gone, rather
// than a record the store refused to hold.
bool losesLease(const Error& error) {
  return error.kind() != ErrorKind::kInvalidValue && error.kind() != ErrorKind::kInvalidArgument;
}

// Why an app is sick, or "" when it is well: a resize only adds restarts to
// an app whose tasks are failing. `queue` is Marathon's launch queue (nullopt
// when it could not be read: every app is then taken as possibly queued).
std::string sickness(const MarathonApp& app, const AppRecord& record,
                     const std::optional<std::map<std::string, QueuedApp>>& queue, TimePoint now) {
  if (!record.failed_version.empty() && record.failed_version == app.version && record.failed_until &&
      now < *record.failed_until) {
    return "its last resize failed; not tried again before " + unixSecondsText(*record.failed_until) +
           " unless the app changes";
  }
  if (!queue) return "Marathon's launch queue could not be read";
  if (auto queued = queue->find(app.id); queued != queue->end() && queued->second.count > 0) {
    if (queued->second.backingOff()) {
      return std::to_string(queued->second.count) + " task(s) in Marathon's launch queue, backing off for " +
             formatFixed(queued->second.delay_seconds, 0) + "s";
    }
    return std::to_string(queued->second.count) + " task(s) waiting in Marathon's launch queue";
  }
  if (app.tasks_running < app.instances) {
    return std::to_string(app.tasks_running) + " of " + std::to_string(app.instances) + " tasks running";
  }
  if (app.tasks_unhealthy > 0 || (app.health_checked && app.tasks_healthy < app.tasks_running)) {
    return std::to_string(app.tasks_healthy) + " of " + std::to_string(app.tasks_running) + " tasks healthy";
  }
  return {};
}

// The OOM kill of the app since its current version, if any.
const TaskFailure* currentOomKill(const MarathonApp& app) {
  if (!app.last_task_failure || !app.last_task_failure->oomKill()) return nullptr;
  const TaskFailure& failure = *app.last_task_failure;
  // Since the current configuration was deployed (a scaling keeps it), else
  // in the current version when Marathon does not say when that was.
  if (app.config_changed_at && failure.at) return *failure.at >= *app.config_changed_at ? &failure : nullptr;
  return failure.version == app.version ? &failure : nullptr;
}

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
      snapshot_(std::make_shared<SizerSnapshot>()) {
  // One set of ceilings: figures above them are refused, recommendations
  // never go above them.
  options_.policy.cpu_ceiling = options_.limits.max_cpus;
  options_.policy.mem_ceiling_mib = options_.limits.max_mem_mib;
}

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
    if (Status released = store_->releaseLease(*lease_); !released) errors_.record(kStore, released.error());
  }
  lease_.reset();
}

void Sizer::restoreHistories(const std::set<std::string>& app_ids) {
  auto stored = store_->loadHistories(std::vector<std::string>(app_ids.begin(), app_ids.end()));
  if (!stored) {
    errors_.record(kStore, stored.error());  // tried again next cycle
    return;
  }
  histories_restored_for_ = lease_->token;
  for (const auto& [app_id, encoded] : *stored) {
    auto history = UsageHistory::decode(encoded, options_.history);
    if (!history) {
      errors_.record(kStore, history.error().withContext("the stored usage history of " + app_id));
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
    errors_.record(kStore, saved.error());  // tried again next cycle
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
      errors_.record(kStore, appended.error());
  }
  std::lock_guard lock(decisions_mutex_);
  memory_decisions_.push_back(std::move(decision));
  if (memory_decisions_.size() > kMemoryDecisions) memory_decisions_.erase(memory_decisions_.begin());
}

bool Sizer::save(const AppRecord& record) {
  if (store_ == nullptr || !lease_) return false;
  Status saved = store_->saveApps({record}, *lease_);
  if (!saved) {
    errors_.record(kStore, saved.error());
    // A fenced write that failed because the lease is gone or Redis is: stop
    // acting until leadership is re-established. A record the store refused
    // (a value it cannot hold) is that record's problem, not the lease's.
    if (losesLease(saved.error())) lease_.reset();
    return false;
  }
  return true;
}

bool Sizer::refreshLeadership(TimePoint now, bool& store_ok) {
  (void)now;
  store_ok = true;
  if (store_ == nullptr) return options_.mode == Mode::kRecommend;
  if (options_.mode == Mode::kRecommend) {
    // Look-only: never the lease (an apply sizer on the same Redis must not
    // be silenced), never a write. The leader's records are shown, with this
    // sizer's own view of how long each app has been out of its band.
    auto loaded = store_->loadApps();
    if (!loaded) {
      errors_.record(kStore, loaded.error());
      store_ok = false;
      return false;
    }
    for (auto& [app_id, record] : *loaded) {
      if (auto ours = records_.find(app_id); ours != records_.end()) {
        record.out_of_band_since = ours->second.out_of_band_since;
        record.out_of_band_direction = ours->second.out_of_band_direction;
      }
    }
    for (auto& [app_id, record] : records_) loaded->try_emplace(app_id, std::move(record));
    records_ = std::move(*loaded);
    return false;
  }
  if (lease_) {
    auto renewed = store_->renewLease(*lease_, options_.lease_ttl);
    if (!renewed) {
      errors_.record(kStore, renewed.error());
      store_ok = false;
      lease_.reset();
      return false;
    }
    if (!*renewed) {
      errors_.record(kStore, Error(ErrorKind::kConflict, "the leader lease was lost"));
      lease_.reset();
      return false;
    }
    return true;
  }
  auto acquired = store_->acquireLease(options_.owner, options_.lease_ttl);
  if (!acquired) {
    errors_.record(kStore, acquired.error());
    store_ok = false;
    return false;
  }
  if (!acquired->has_value()) {
    // A follower shows what the leader checkpointed (cooldowns, resizes in
    // flight) and is ready to take over from it.
    auto loaded = store_->loadApps();
    if (loaded) {
      records_ = std::move(*loaded);
    } else {
      errors_.record(kStore, loaded.error());
      store_ok = false;
    }
    return false;
  }
  lease_ = **acquired;
  // A new leader starts from what the previous one checkpointed, including
  // resizes it left in flight.
  auto loaded = store_->loadApps();
  if (!loaded) {
    errors_.record(kStore, loaded.error());
    store_ok = false;
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
    // Not tried again on the same version for a while: a resize that failed
    // once is likely to fail again, restarting every task each time.
    record.failed_version = app.version;
    record.failed_until = now + options_.failed_deployment_hold;
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
    errors_.record(kMarathon, outcome.error());
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
    errors_.record(kMarathon,
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
  bool store_ok = true;
  snapshot->leader = refreshLeadership(now, store_ok);
  snapshot->store_ok = store_ok;
  snapshot->fencing_token = lease_ ? lease_->token : 0;
  const bool may_write = snapshot->leader && options_.mode == Mode::kApply && store_ != nullptr && lease_;

  auto publish = [&] {
    snapshot->resizes = resizes_;
    snapshot->oom_kills = oom_kills_;
    // The store's connection is this thread's: readers of recentDecisions()
    // (HTTP workers) get what this cycle read.
    if (store_ != nullptr && snapshot->store_ok) {
      auto stored = store_->recentDecisions(kStoredDecisions);
      if (stored) {
        std::lock_guard lock(decisions_mutex_);
        stored_decisions_ = std::move(*stored);
      } else {
        errors_.record(kStore, stored.error());
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
      errors_.record(kMarathon, listed_now.error());
    }
  }

  auto listing = marathon_.listApps();
  if (!listing) {
    errors_.record(kMarathon, listing.error());
    publish();
    return;
  }
  snapshot->marathon_ok = true;
  // Apps whose definition could not be parsed are never touched, and keep
  // their records; one whose id could not be read makes the listing
  // incomplete: no record is taken as gone this cycle. An id listed twice
  // (a broken proxy, a bug) is unusable too: which entry is true is unknown.
  std::map<std::string, Error> unusable;
  bool complete = true;
  for (auto& entry : listing->unusable) {
    errors_.record(kMarathon, Error(ErrorKind::kInvalidApp, entry.error.message()));
    // Logged once per app and problem (the sink logs once per kind).
    if (reported_unusable_.size() > 10000) reported_unusable_.clear();
    if (reported_unusable_.insert(entry.app_id + "\n" + entry.error.message()).second) {
      spdlog::warn("app {} is left alone: {}", entry.app_id.empty() ? "(id unreadable)" : entry.app_id,
                   entry.error.message());
    }
    if (entry.app_id.empty()) {
      complete = false;
    } else {
      unusable.insert_or_assign(entry.app_id, entry.error);
    }
  }
  {
    std::map<std::string_view, int> seen;
    for (const auto& app : listing->apps) ++seen[app.id];
    for (const auto& [id, times] : seen) {
      if (times < 2) continue;
      Error twice(ErrorKind::kInvalidApp, "GET /v2/apps: app " + std::string(id) + " is listed " +
                                              std::to_string(times) + " times; it is left alone");
      errors_.record(kMarathon, twice);
      if (reported_unusable_.insert(std::string(id) + "\n" + twice.message()).second) {
        spdlog::warn("{}", twice.message());
      }
      unusable.insert_or_assign(std::string(id), twice);
    }
  }
  std::vector<MarathonApp> usable;
  usable.reserve(listing->apps.size());
  for (auto& app : listing->apps) {
    if (!unusable.contains(app.id)) usable.push_back(std::move(app));
  }
  const std::vector<MarathonApp>* apps = &usable;
  // Marathon's launch queue: apps backing off after failed tasks are sick.
  std::optional<std::map<std::string, QueuedApp>> queue;
  if (auto queued = marathon_.launchQueue(); queued) {
    queue.emplace();
    for (auto& entry : *queued) queue->insert_or_assign(entry.app_id, std::move(entry));
  } else {
    errors_.record(kMarathon, queued.error());
  }

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
  std::vector<Error> refused;
  auto usage = summarize(reports, *apps, options_.limits, &refused);
  for (const auto& error : refused) errors_.record("agents", error);
  // The agents' window is short: decide on the history of their figures
  // (kept while the app exists, also through cycles without figures).
  std::set<std::string> app_ids;
  for (const auto& app : *apps) app_ids.insert(app.id);
  for (const auto& [app_id, error] : unusable) app_ids.insert(app_id);
  if (complete) {
    const auto gone = [&app_ids](const auto& entry) { return !app_ids.contains(entry.first); };
    std::erase_if(histories_, gone);
    std::erase_if(oom_kills_, gone);
    std::erase_if(counted_oom_tasks_, gone);
  }
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
    // OOM kills: each counted once (Marathon shows the last); one since the
    // current version grows memory at once, and holds it for --oom-hold.
    // (The record keeps it across restarts; the map, for a look-only sizer
    // whose records are reloaded from the leader's each cycle.)
    if (app.last_task_failure && app.last_task_failure->oomKill() &&
        app.last_task_failure->task_id != record.oom_task_id &&
        !(counted_oom_tasks_.contains(app.id) && counted_oom_tasks_.at(app.id) == app.last_task_failure->task_id)) {
      record.oom_task_id = app.last_task_failure->task_id;
      counted_oom_tasks_[app.id] = record.oom_task_id;
      ++oom_kills_[app.id];
      spdlog::warn("app {}: task {} was OOM-killed: {}", app.id, app.last_task_failure->task_id,
                   sanitizeUtf8(app.last_task_failure->message.substr(0, 200)));
    }
    if (auto found = oom_kills_.find(app.id); found != oom_kills_.end()) view.oom_kills = found->second;
    if (app.last_task_failure && app.last_task_failure->oomKill()) view.last_oom_kill_at = app.last_task_failure->at;
    AppUsage app_usage;
    if (auto found = usage.find(app.id); found != usage.end()) app_usage = found->second;
    if (const TaskFailure* oom = currentOomKill(app)) {
      app_usage.oom_killed_mem_mib = app.mem_mib;
      const double growth = roundUpToStep(
          std::max(app.mem_mib + options_.policy.oom_kill_min_mib, app.mem_mib * options_.policy.oom_kill_ratio),
          options_.policy.mem_step_mib);
      if (!record.mem_hold_mib || *record.mem_hold_mib < growth || !record.mem_hold_until ||
          *record.mem_hold_until < now) {
        record.mem_hold_mib = std::max(
            growth, record.mem_hold_until && *record.mem_hold_until >= now ? record.mem_hold_mib.value_or(0) : 0.0);
      }
      // Held from the kill (or from now, if Marathon does not say when).
      record.mem_hold_until =
          std::max(record.mem_hold_until.value_or(TimePoint{}), oom->at.value_or(now) + options_.oom_hold);
    }
    if (record.mem_hold_until && now >= *record.mem_hold_until) {
      record.mem_hold_mib.reset();
      record.mem_hold_until.reset();
    }
    if (record.mem_hold_mib) app_usage.mem_hold_mib = record.mem_hold_mib;
    if (record.failed_until && (now >= *record.failed_until || record.failed_version != app.version)) {
      record.failed_version.clear();
      record.failed_until.reset();
    }
    app_usage.sick = sickness(app, record, queue, now);
    // A refusal holds for the app version it was refused for, until the
    // cooldown passes.
    if (record.refused_until && (now >= *record.refused_until || record.refused_version != app.version)) {
      clearRefusal(record);
    }
    PolicyState state = policyStateOf(record);
    const Evaluation evaluation = evaluate(settings, options_.policy, app.cpus, app.mem_mib, app_usage, state, now);
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
      if (!app_usage.sick.empty()) view.reason += "; the app is sick (" + app_usage.sick + ")";
    } else if (!app_usage.sick.empty() && !(evaluation.resize && app_usage.oom_killed_mem_mib)) {
      view.state = view.enabled ? "sick" : "disabled";
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

  for (const auto& [app_id, error] : unusable) {
    AppView view;
    view.app_id = app_id;
    view.state = "unusable";
    view.reason = "Marathon's definition of the app could not be used: " + error.message();
    if (auto found = oom_kills_.find(app_id); found != oom_kills_.end()) view.oom_kills = found->second;
    snapshot->apps.push_back(std::move(view));
  }

  // Forget apps that no longer exist, once nothing is in flight for them:
  // an app deleted during its resize is followed until its deployment is no
  // longer listed (or, unconfirmed, the grace has passed).
  // Only an app absent from a complete listing is gone; an unusable one
  // keeps its record (cooldown, refusals, history).
  std::unordered_set<std::string_view> existing;
  existing.reserve(apps->size() + unusable.size());
  for (const auto& app : *apps) existing.insert(app.id);
  for (const auto& [app_id, error] : unusable) existing.insert(app_id);
  for (auto it = records_.begin(); it != records_.end();) {
    AppRecord& record = it->second;
    if (!complete || existing.contains(it->first)) {
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
      errors_.record(kStore, saved.error());
      if (losesLease(saved.error())) {
        lease_.reset();
        snapshot->leader = false;
      }
    }
  }
  std::sort(snapshot->apps.begin(), snapshot->apps.end(),
            [](const AppView& a, const AppView& b) { return a.app_id < b.app_id; });
  publish();
}

}  // namespace rightsize::sizing
