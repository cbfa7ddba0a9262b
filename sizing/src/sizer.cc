#include "rightsize/sizing/sizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "shared.h"

#include "rightsize/core/text.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::sizing {
namespace {

using detail::kMarathon;
using detail::kStore;
constexpr std::size_t kMemoryDecisions = 1000;
constexpr std::size_t kStoredDecisions = 100;  // read from the store each cycle, for /v1/decisions

using detail::intentInFlight;
using detail::listed;
using detail::same;

// Whether a failed fenced write means the lease (or Redis) is gone, rather
// than a record the store refused to hold.
bool losesLease(const Error& error) {
  return error.kind() != ErrorKind::kInvalidValue && error.kind() != ErrorKind::kInvalidArgument;
}

}  // namespace

Sizer::Sizer(MarathonClient& marathon, AgentSource& agents, StateStore* store, const Clock& clock, ErrorSink& errors,
             SizerOptions options)
    : marathon_(marathon),
      agents_(agents),
      own_store_(store == nullptr ? std::make_unique<MemoryStateStore>() : nullptr),
      store_(store == nullptr ? *own_store_ : *store),
      clock_(clock),
      errors_(errors),
      options_(std::move(options)),
      standalone_(store == nullptr),
      hosts_(options_.headroom),
      speed_(options_.speed),
      snapshot_(std::make_shared<SizerSnapshot>()) {
  // One set of ceilings: figures above them are refused, recommendations
  // never go above them.
  options_.policy.cpu_ceiling = options_.limits.max_cpus;
  options_.policy.mem_ceiling_mib = options_.limits.max_mem_mib;
  options_.history.max_cpus = options_.limits.max_cpus;
  options_.history.max_mem_mib = options_.limits.max_mem_mib;
  flow_.policy = options_.policy;
  flow_.max_concurrent_deployments = options_.max_concurrent_deployments;
  flow_.max_concurrent_oom_deployments = options_.max_concurrent_oom_deployments;
  flow_.slot_order = options_.slot_order;
  flow_.retry_after = options_.retry_after;
  flow_.unconfirmed_grace = options_.unconfirmed_grace;
  flow_.oom_hold = options_.oom_hold;
  flow_.search_back_window = options_.search_back_window;
  flow_.failed_deployment_hold = options_.failed_deployment_hold;
  flow_.downsize_window = options_.downsize_window;
  capacity_.options = options_.headroom;
  flow_.scale = options_.scale;
  flow_.scale.throttled = options_.policy.throttle_threshold;
}

Sizer::~Sizer() = default;

std::shared_ptr<const SizerSnapshot> Sizer::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

std::vector<Decision> Sizer::recentDecisions(std::size_t count) {
  std::lock_guard lock(decisions_mutex_);
  if (stored_decisions_) {
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
  if (lease_ && options_.mode == Mode::kApply) checkpointHistories(clock_.now());
  if (lease_) {
    if (Status released = store_.releaseLease(*lease_); !released) errors_.record(kStore, released.error());
  }
  lease_.reset();
}

void Sizer::restoreHistories(const std::set<std::string>& app_ids) {
  auto stored = store_.loadHistories(std::vector<std::string>(app_ids.begin(), app_ids.end()));
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
    // Where it remembers further back than this sizer's own figures (days
    // of them: the buckets of both reach back only hours; within the same
    // day, the older buckets), the stored history, then this sizer's
    // figures that came after it.
    auto ours = histories_.find(app_id);
    if (ours == histories_.end() || ours->second.empty()) {
      histories_.insert_or_assign(app_id, std::move(*history));
    } else if (std::pair(history->rememberedSince(), history->oldest()) <
               std::pair(ours->second.rememberedSince(), ours->second.oldest())) {
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
  // Nothing in a history matters longer than its longest span: it may go then.
  const Duration ttl = options_.history.longest();
  if (Status saved = store_.saveHistories(encoded, ttl, *lease_); !saved) {
    errors_.record(kStore, saved.error());  // tried again next cycle
    return;
  }
  histories_saved_at_ = now;
}

void Sizer::alerted(const std::vector<std::string>& app_ids) {
  std::lock_guard lock(alerted_mutex_);
  alerted_.insert(app_ids.begin(), app_ids.end());
}

void Sizer::scaleAlerted(const std::map<std::string, std::string>& requests) {
  std::lock_guard lock(alerted_mutex_);
  for (const auto& [app_id, direction] : requests) scale_alerted_.insert_or_assign(app_id, direction);
}

void Sizer::logDecision(Decision decision) {
  decision.fencing_token = lease_ ? lease_->token : 0;
  if (lease_) {
    if (Status appended = store_.appendDecision(decision, *lease_); !appended) errors_.record(kStore, appended.error());
  }
  std::lock_guard lock(decisions_mutex_);
  memory_decisions_.push_back(std::move(decision));
  if (memory_decisions_.size() > kMemoryDecisions) memory_decisions_.erase(memory_decisions_.begin());
}

bool Sizer::save(const AppRecord& record) {
  if (!lease_) return false;
  Status saved = store_.saveApps({record}, *lease_);
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
  if (options_.mode == Mode::kRecommend) {
    // Look-only: never the lease (an apply sizer on the same Redis must not
    // be silenced), never a write. The leader's records are shown, with this
    // sizer's own view of how long each app has been out of its band.
    auto loaded = store_.loadApps();
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
    return standalone_;  // alone, it leads itself
  }
  if (lease_) {
    auto renewed = store_.renewLease(*lease_, options_.lease_ttl);
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
  auto acquired = store_.acquireLease(options_.owner, options_.lease_ttl);
  if (!acquired) {
    errors_.record(kStore, acquired.error());
    store_ok = false;
    return false;
  }
  if (!acquired->has_value()) {
    // A follower shows what the leader checkpointed (cooldowns, resizes in
    // flight) and is ready to take over from it.
    auto loaded = store_.loadApps();
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
  auto loaded = store_.loadApps();
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
  const bool may_write = snapshot->leader && options_.mode == Mode::kApply && lease_;

  auto publish = [&] {
    snapshot->resizes = resizes_;
    snapshot->scales = scales_;
    snapshot->oom_kills = oom_kills_;
    snapshot->capacity = capacity_;
    // The store's connection is this thread's: readers of recentDecisions()
    // (HTTP workers) get what this cycle read.
    if (snapshot->store_ok) {
      auto stored = store_.recentDecisions(kStoredDecisions);
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
  const bool following = may_write && std::any_of(records_.begin(), records_.end(),
                                                  [](const auto& entry) { return intentInFlight(entry.second); });
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
  std::map<std::string, AppUsage> usage;
  if (options_.usage_source != nullptr) {
    // One source for every app (Prometheus): down or slow, no figures, so
    // no decision but to grow memory after an OOM kill.
    UsageReading reading = options_.usage_source->read(*apps, now);
    snapshot->agents = 1;
    snapshot->agents_reachable = reading.ok ? 1 : 0;
    for (const auto& error : reading.errors) errors_.record(options_.usage_source->name(), error);
    if (reading.ok) usage = std::move(reading.usage);
  } else {
    const auto reports = agents_.read(urls);
    snapshot->agents = reports.size();
    for (const auto& report : reports) {
      snapshot->agents_reachable += report.reachable ? 1 : 0;
      for (const auto& error : report.errors) errors_.record("agents", error);
    }
    trackCapacity(reports, now, may_write);
    std::vector<Error> refused;
    usage = summarize(reports, *apps, options_.limits, &refused);
    scaleForSpeed(usage, *apps);
    for (const auto& error : refused) errors_.record("agents", error);
  }
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
    std::erase_if(at_risk_waiting_, [&app_ids](const std::string& id) { return !app_ids.contains(id); });
    slot_queue_.keepOnly([&app_ids](const std::string& id) { return app_ids.contains(id); });
  }
  // A new leader, or a restarted one, starts from the histories the last one
  // checkpointed: a restart does not forget a peak seen hours ago.
  if (lease_ && histories_restored_for_ != lease_->token) restoreHistories(app_ids);
  // Each app's labels, validated (bad ones reported below, with the app).
  std::map<std::string, ParsedSettings> settings_of;
  for (const auto& app : *apps) settings_of.emplace(app.id, parseAppLabels(app.labels, options_.defaults));
  for (auto& [app_id, figures] : usage) {
    auto& history = histories_.try_emplace(app_id, options_.history).first->second;
    history.add(now, figures);
    const auto found = settings_of.find(app_id);
    figures = history.summarize(now, figures,
                                found != settings_of.end() ? percentilesOf(found->second.settings) : Percentiles{});
  }
  // Checkpointed once a bucket (5m): what a crash loses is at most that.
  if (may_write &&
      (!histories_saved_at_ || now - *histories_saved_at_ >= options_.history.bucket || now < *histories_saved_at_)) {
    checkpointHistories(now);
  }
  // Alerts asking for a scale: each one cycle's decision.
  std::map<std::string, std::string> scale_alerts;
  {
    std::lock_guard lock(alerted_mutex_);
    for (const auto& app_id : alerted_) {
      if (auto found = usage.find(app_id); found != usage.end()) found->second.alerted = true;
    }
    alerted_.clear();
    scale_alerts.swap(scale_alerted_);
  }

  // The deployments of the sizer's in flight. An unusable app's flow does
  // not run, so its intent is followed here: it holds a slot while Marathon
  // lists its deployment (or cannot say), or while an unconfirmed PUT may
  // still be on its way; not for good.
  std::size_t in_flight = 0;
  for (const auto& [id, record] : records_) {
    if (!intentInFlight(record)) continue;
    if (unusable.contains(id) && deployments) {
      // Unconfirmed: a deployment of the app Marathon lists, or a PUT that
      // may still be on its way (an intent time ahead of the clock is no
      // time this sizer just wrote).
      // (A structured binding is captured through a reference of its own:
      // clang before 16 cannot capture one.)
      const std::string& app_id = id;
      const bool pending = record.deployment_id.empty()
                               ? std::any_of(deployments->begin(), deployments->end(),
                                             [&app_id](const MarathonDeployment& d) {
                                               return std::find(d.affected_apps.begin(), d.affected_apps.end(),
                                                                app_id) != d.affected_apps.end();
                                             }) ||
                                     (record.intent_at && *record.intent_at <= now &&
                                      now - *record.intent_at < options_.unconfirmed_grace)
                               : listed(*deployments, record.deployment_id);
      if (!pending) continue;
    }
    ++in_flight;
  }
  // The fleet's MiB per core, which prices the resizes that wait for a slot
  // against each other (SlotClaim).
  double fleet_cpus = 0;
  double fleet_mem_mib = 0;
  for (const auto& app : *apps) {
    fleet_cpus += app.cpus * app.instances;
    fleet_mem_mib += app.mem_mib * app.instances;
  }
  const double fleet_mem_per_core = fleetMemPerCore(fleet_cpus, fleet_mem_mib);

  // An app without a record in a fleet the sizer has listed before (this
  // process, or the sizer whose records it loaded) was born since: it is not
  // shrunk before --min-app-age. Those of the first listing are taken as old.
  const bool watched_before = listed_before_ || !records_.empty();
  if (complete) listed_before_ = true;
  std::vector<AppRecord> changed;
  for (const auto& app : *apps) {
    const ParsedSettings& parsed = settings_of.at(app.id);
    const AppSettings& settings = parsed.settings;
    AppView view;
    view.app_id = app.id;
    view.enabled = settings.enabled || (options_.apply_all && !settings.disabled);
    view.instances = app.instances;
    view.cpus = app.cpus;
    view.mem_mib = app.mem_mib;
    view.limits = app.limits;
    view.burstable = settings.burstable;
    view.label_errors = parsed.errors;
    view.cpu_band_cores = settings.cpu_band;  // the labels', or the defaults when absent or bad
    view.mem_band_mib = settings.mem_band;
    for (const auto& error : parsed.errors) {
      errors_.record("labels", Error(ErrorKind::kInvalidValue, "app " + app.id + ": " + error));
    }

    const bool born = watched_before && !records_.contains(app.id);
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
    AppInput input{.app = app, .settings = settings, .deployments = deployments};
    input.enabled = view.enabled;
    if (auto found = usage.find(app.id); found != usage.end()) input.usage = found->second;
    input.queue_known = queue.has_value();
    if (queue) {
      if (auto queued = queue->find(app.id); queued != queue->end()) input.queued = queued->second;
    }
    input.may_write = may_write;
    input.in_flight = in_flight;
    input.at_risk_waiting = at_risk_waiting_.size() - (at_risk_waiting_.contains(app.id) ? 1 : 0);
    input.slot_queue = &slot_queue_;
    input.fleet_mem_per_core = fleet_mem_per_core;
    if (auto found = failed_attempts_.find(app.id); found != failed_attempts_.end())
      input.failed_attempts = found->second;
    input.intent_id = options_.owner + "-" + std::to_string(intents_ + 1);
    if (auto asked = scale_alerts.find(app.id); asked != scale_alerts.end()) {
      input.scale_alert = asked->second == "out" ? ScaleDirection::kOut : ScaleDirection::kIn;
    }
    input.born = born;
    input.now = now;
    AppStep step = stepApp(input, record, flow_);
    if (step.put) ++intents_;
    // A resize that ended, and an intent, are saved (fenced by the lease)
    // before anything else: a sizer that lost the lease never reaches the PUT.
    const bool saved = (step.ended || step.put) && save(step.record);
    if (step.ended) logDecision(*step.ended);
    if (step.put && !saved) intentNotSaved(step);
    if (step.put) {
      // A scale writes the app's resourceLimits back as they are (Marathon
      // 1.10 drops those a PUT leaves out: a restart).
      const bool has_limits = app.limits.cpus.has_value() || app.limits.mem_mib.has_value();
      auto outcome = step.put->instances
                         ? marathon_.updateInstances(app.id, *step.put->instances, options_.force_deployments,
                                                     has_limits ? std::optional(app.limits) : std::nullopt)
                         : marathon_.updateResources(app.id, step.put->cpus, step.put->mem_mib,
                                                     options_.force_deployments, step.put->limits);
      std::optional<Error> error;
      Decision decision = afterPut(step, input, outcome, flow_, error);
      if (error) errors_.record(kMarathon, *error);
      // An unconfirmed PUT keeps the intent as saved; one not sent drops it.
      if (outcome || notSent(outcome.error())) save(step.record);
      if (decision.action == DecisionAction::kScale && decision.to_instances) {
        ++scales_[{app.id, *decision.to_instances > app.instances ? "out" : "in"}];
      }
      if (decision.action == DecisionAction::kResize) {
        // (A change of less than half a step is the size as written, 0.0625
        // cpus kept as 0.062: no resize of that resource.)
        if (decision.to_cpus && std::abs(*decision.to_cpus - app.cpus) > options_.policy.cpu_step / 2) {
          ++resizes_[{app.id, "cpu", *decision.to_cpus > app.cpus ? "up" : "down"}];
        }
        if (decision.to_mem_mib && std::abs(*decision.to_mem_mib - app.mem_mib) > options_.policy.mem_step_mib / 2) {
          ++resizes_[{app.id, "mem", *decision.to_mem_mib > app.mem_mib ? "up" : "down"}];
        }
      }
      logDecision(std::move(decision));
    }
    in_flight = step.in_flight;
    if (step.at_risk_waiting) {
      at_risk_waiting_.insert(app.id);
    } else {
      at_risk_waiting_.erase(app.id);
    }
    if (step.slot_claim) {
      slot_queue_.wait(app.id, *step.slot_claim);
    } else {
      slot_queue_.leave(app.id);
    }
    if (step.failed_attempts > 0) {
      failed_attempts_[app.id] = step.failed_attempts;
    } else {
      failed_attempts_.erase(app.id);
    }
    record = std::move(step.record);
    view.state = step.state;
    view.reason = std::move(step.reason);
    view.deployment_id = std::move(step.deployment_id);
    view.resizing_since = step.resizing_since;
    if (step.evaluation.has_data) {
      view.recommended_cpus = step.evaluation.cpus;
      view.recommended_mem_mib = step.evaluation.mem_mib;
      if (step.evaluation.write_limits) view.recommended_limits = step.evaluation.limits;
    }
    if (step.scale.enabled) view.recommended_instances = step.scale.recommended;
    view.scale_reason = step.scale.reason;
    view.forecast_peak_cpus = step.usage.cpu_forecast_peak;
    view.forecast_peak_at = step.usage.cpu_forecast_at;
    view.usage_anomaly_score = step.usage.anomaly_score;
    view.usage_anomaly = step.usage.anomaly;
    view.waiting_for_slot = step.waiting_for_slot;
    view.waiting_at_risk = step.at_risk_waiting;
    if (!(record == before)) changed.push_back(record);
    snapshot->apps.push_back(std::move(view));
  }

  for (const auto& [app_id, error] : unusable) {
    AppView view;
    view.app_id = app_id;
    view.state = AppState::kUnusable;
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
    if (intentInFlight(record)) {
      const bool ended = may_write && deployments &&
                         (record.deployment_id.empty() ? !record.intent_at || *record.intent_at > now ||
                                                             now - *record.intent_at >= options_.unconfirmed_grace
                                                       : !listed(*deployments, record.deployment_id));
      if (!ended) {
        ++it;
        continue;
      }
      Decision gone;
      gone.at = now;
      gone.app_id = record.app_id;
      gone.action = DecisionAction::kDeploymentFailed;
      gone.deployment_id = record.deployment_id;
      gone.to_cpus = record.intent_cpus;
      gone.to_mem_mib = record.intent_mem_mib;
      gone.reason = "the app was deleted from Marathon during its resize";
      logDecision(std::move(gone));
    }
    if (may_write && lease_) (void)store_.deleteApp(it->first, *lease_);
    it = records_.erase(it);
  }

  // Checkpoint the policy state (how long each app has been out of band) in
  // one pipelined write.
  if (may_write && lease_ && !changed.empty()) {
    if (Status saved = store_.saveApps(changed, *lease_); !saved) {
      errors_.record(kStore, saved.error());
      if (losesLease(saved.error())) {
        lease_.reset();
        snapshot->leader = false;
      }
    }
  }
  std::sort(snapshot->apps.begin(), snapshot->apps.end(),
            [](const AppView& a, const AppView& b) { return a.app_id < b.app_id; });
  markHeadroomEaters(*snapshot);
  noteSpeed(*snapshot);
  publish();
}

}  // namespace rightsize::sizing
