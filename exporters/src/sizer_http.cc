#include "rightsize/exporters/sizer_http.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>

#include "rightsize/core/json.h"
#include "rightsize/core/units.h"
#include "rightsize/exporters/capacity_export.h"
#include "rightsize/exporters/exposition.h"
#include "rightsize/sizing/alerts.h"

namespace rightsize::exporters {
namespace {

// Unix seconds, or null.
void writeOptionalTime(json::Writer& writer, std::string_view key, std::optional<TimePoint> at) {
  json::writeKey(writer, key);
  if (at) {
    writer.Double(toUnixSeconds(*at));
  } else {
    writer.Null();
  }
}

// {"cpus": 2.5, "mem": "unlimited"}: Marathon's resourceLimits, the keys
// that are set; null for none.
void writeLimits(json::Writer& writer, std::string_view key, const std::optional<sizing::ResourceLimits>& limits) {
  json::writeKey(writer, key);
  if (!limits || limits->empty()) {
    writer.Null();
    return;
  }
  writer.StartObject();
  for (const auto& [name, limit] : {std::pair{"cpus", limits->cpus}, {"mem", limits->mem_mib}}) {
    if (!limit) continue;
    json::writeKey(writer, name);
    if (sizing::unlimited(*limit)) {
      json::writeString(writer, "unlimited");
    } else {
      json::writeNumber(writer, *limit);
    }
  }
  writer.EndObject();
}

void writeOptionalString(json::Writer& writer, std::string_view key, const std::string& value) {
  json::writeKey(writer, key);
  if (value.empty()) {
    writer.Null();
  } else {
    json::writeString(writer, value);
  }
}

std::string modeName(sizing::Mode mode) { return mode == sizing::Mode::kApply ? "apply" : "recommend"; }

}  // namespace

std::string appsJson(const sizing::SizerSnapshot& snapshot) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "leader");
  writer.Bool(snapshot.leader);
  json::writeKey(writer, "mode");
  json::writeString(writer, modeName(snapshot.mode));
  json::writeKey(writer, "timestamp");
  writer.Double(toUnixSeconds(snapshot.timestamp));
  json::writeKey(writer, "apps");
  writer.StartArray();
  for (const auto& app : snapshot.apps) {
    writer.StartObject();
    json::writeKey(writer, "app_id");
    json::writeString(writer, app.app_id);
    json::writeKey(writer, "enabled");
    writer.Bool(app.enabled);
    json::writeKey(writer, "instances");
    writer.Int(app.instances);
    json::writeKey(writer, "recommended_instances");
    if (app.recommended_instances) {
      writer.Int(*app.recommended_instances);
    } else {
      writer.Null();
    }
    json::writeKey(writer, "scale_reason");
    json::writeString(writer, app.scale_reason);
    json::writeKey(writer, "cpus");
    json::writeNumber(writer, app.cpus);
    json::writeKey(writer, "mem");
    json::writeNumber(writer, app.mem_mib);
    json::writeKey(writer, "recommended_cpus");
    json::writeNumber(writer, app.recommended_cpus);
    json::writeKey(writer, "recommended_mem");
    json::writeNumber(writer, app.recommended_mem_mib);
    json::writeKey(writer, "burstable");
    writer.Bool(app.burstable);
    writeLimits(writer, "limits", app.limits);
    writeLimits(writer, "recommended_limits", app.recommended_limits);
    json::writeKey(writer, "state");
    json::writeString(writer, sizing::appStateName(app.state));
    json::writeKey(writer, "reason");
    json::writeString(writer, app.reason);
    writeOptionalString(writer, "deployment_id", app.deployment_id);
    json::writeKey(writer, "waiting_for_slot");
    writer.Bool(app.waiting_for_slot);
    json::writeKey(writer, "oom_kills");
    writer.Uint64(app.oom_kills);
    writeOptionalTime(writer, "last_oom_kill", app.last_oom_kill_at);
    json::writeKey(writer, "forecast_peak_cpus");
    json::writeNumber(writer, app.forecast_peak_cpus);
    writeOptionalTime(writer, "forecast_peak_at", app.forecast_peak_at);
    json::writeKey(writer, "usage_anomaly_score");
    json::writeNumber(writer, app.usage_anomaly_score);
    json::writeKey(writer, "usage_anomaly");
    writer.Bool(app.usage_anomaly);
    json::writeKey(writer, "cpu_speed_scale");
    json::writeNumber(writer, app.cpu_speed_scale);
    writeOptionalString(writer, "sized_for_instance_type", app.sized_for_instance_type);
    json::writeKey(writer, "eats_headroom");
    writer.StartArray();
    for (const auto& market : app.eats_headroom) json::writeString(writer, market);
    writer.EndArray();
    json::writeKey(writer, "label_errors");
    writer.StartArray();
    for (const auto& error : app.label_errors) json::writeString(writer, error);
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string decisionsJson(const std::vector<sizing::Decision>& decisions) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "decisions");
  writer.StartArray();
  for (const auto& d : decisions) {
    writer.StartObject();
    json::writeKey(writer, "timestamp");
    writer.Double(toUnixSeconds(d.at));
    json::writeKey(writer, "app_id");
    json::writeString(writer, d.app_id);
    json::writeKey(writer, "action");
    json::writeString(writer, sizing::decisionActionName(d.action));
    json::writeKey(writer, "from_cpus");
    json::writeNumber(writer, d.from_cpus);
    json::writeKey(writer, "to_cpus");
    json::writeNumber(writer, d.to_cpus);
    json::writeKey(writer, "from_mem");
    json::writeNumber(writer, d.from_mem_mib);
    json::writeKey(writer, "to_mem");
    json::writeNumber(writer, d.to_mem_mib);
    for (const auto& [key, value] : {std::pair{"from_instances", d.from_instances}, {"to_instances", d.to_instances}}) {
      json::writeKey(writer, key);
      if (value) {
        writer.Int(*value);
      } else {
        writer.Null();
      }
    }
    json::writeKey(writer, "reason");
    json::writeString(writer, d.reason);
    writeOptionalString(writer, "deployment_id", d.deployment_id);
    json::writeKey(writer, "fencing_token");
    writer.Uint64(d.fencing_token);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

SizerMetrics::SizerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      errors_(prometheus::BuildCounter()
                  .Name("rightsize_sizer_errors_total")
                  .Help("Problems the sizer met and survived, by kind.")
                  .Register(*registry_)),
      marathon_requests_(prometheus::BuildCounter()
                             .Name("rightsize_marathon_requests_total")
                             .Help("Requests to Marathon by HTTP status code (\"error\": no answer).")
                             .Register(*registry_)),
      cycle_duration_(
          prometheus::BuildHistogram()
              .Name("rightsize_sizer_cycle_duration_seconds")
              .Help("Time taken by one decision cycle.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      error_counter_(errors_, "rightsize_sizer_errors_total", /*source_label=*/false) {
  for (ErrorKind kind :
       {ErrorKind::kUnavailable, ErrorKind::kHttpStatus, ErrorKind::kMalformed, ErrorKind::kMissingField,
        ErrorKind::kInvalidValue, ErrorKind::kConflict, ErrorKind::kInvalidApp}) {
    error_counter_.declare("", kind);
  }
}

void SizerMetrics::record(std::string_view source, const Error& error) { error_counter_.record(source, error); }

void SizerMetrics::countMarathonResponse(std::string_view code) {
  marathon_requests_.Add({{"code", std::string(code)}}).Increment();
}

void SizerMetrics::observeCycle(Duration duration) { cycle_duration_.Observe(toSeconds(duration)); }

std::string SizerMetrics::render(const sizing::SizerSnapshot& snapshot) const {
  TextExposition out;
  out.serialize(registry_->Collect());
  using prometheus::MetricType;
  // One gauge per app that has the figure; the header only when one has it.
  const auto perApp = [&](const char* name, const char* help, auto value_of) {
    bool header = false;
    for (const auto& app : snapshot.apps) {
      const std::optional<double> value = value_of(app);
      if (!value) continue;
      if (!header) out.header(name, help, MetricType::Gauge);
      header = true;
      out.sample(name, TextExposition::labelBlock({{"app_id", app.app_id}}), *value);
    }
  };
  perApp("rightsize_app_instances", "Instances of the app (Marathon's instances).", [](const sizing::AppView& app) {
    // An unusable app's definition, instances included, is unknown.
    return app.state == sizing::AppState::kUnusable ? std::nullopt : std::optional<double>(app.instances);
  });
  perApp("rightsize_app_instances_recommended",
         "Instances the app's scaling rules want (rightsize.instances.min and .max given; docs/scaling.md).",
         [](const sizing::AppView& app) {
           return app.recommended_instances ? std::optional<double>(*app.recommended_instances) : std::nullopt;
         });
  perApp("rightsize_app_cpu_recommended_cores", "CPU cores the sizer recommends for each task of the app.",
         [](const sizing::AppView& app) { return app.recommended_cpus; });
  perApp("rightsize_app_memory_recommended_bytes", "Memory the sizer recommends for each task of the app.",
         [](const sizing::AppView& app) {
           return app.recommended_mem_mib ? std::optional<double>(*app.recommended_mem_mib * kMiB) : std::nullopt;
         });
  // A burstable app's limits (+Inf: unlimited).
  perApp("rightsize_app_cpu_recommended_limit_cores",
         "CPU limit (Marathon's resourceLimits.cpus) the sizer recommends for each task of a burstable app; +Inf: "
         "unlimited.",
         [](const sizing::AppView& app) {
           return app.burstable && app.recommended_limits ? app.recommended_limits->cpus : std::nullopt;
         });
  perApp("rightsize_app_memory_recommended_limit_bytes",
         "Memory limit (Marathon's resourceLimits.mem) the sizer recommends for each task of a burstable app; +Inf: "
         "unlimited.",
         [](const sizing::AppView& app) {
           return app.burstable && app.recommended_limits && app.recommended_limits->mem_mib
                      ? std::optional<double>(*app.recommended_limits->mem_mib * kMiB)
                      : std::nullopt;
         });
  // The band each app is judged by, so that alert rules and dashboards use
  // the app's own band (rightsize.cpu.band, rightsize.mem.band) rather than
  // the default.
  const auto edge = [](const std::optional<sizing::Band>& band, double sizing::Band::*side, double unit) {
    return band ? std::optional<double>((*band).*side * unit) : std::nullopt;
  };
  perApp("rightsize_app_cpu_band_low_cores",
         "Lower edge of the app's CPU lying-factor band (rightsize.cpu.band, else --cpu-band): below it, a hot spot.",
         [&](const sizing::AppView& app) { return edge(app.cpu_band_cores, &sizing::Band::low, 1); });
  perApp("rightsize_app_cpu_band_high_cores",
         "Upper edge of the app's CPU lying-factor band (rightsize.cpu.band, else --cpu-band): above it, waste.",
         [&](const sizing::AppView& app) { return edge(app.cpu_band_cores, &sizing::Band::high, 1); });
  perApp("rightsize_app_memory_band_low_bytes",
         "Lower edge of the app's memory lying-factor band (rightsize.mem.band, else --mem-band).",
         [&](const sizing::AppView& app) { return edge(app.mem_band_mib, &sizing::Band::low, kMiB); });
  perApp("rightsize_app_memory_band_high_bytes",
         "Upper edge of the app's memory lying-factor band (rightsize.mem.band, else --mem-band).",
         [&](const sizing::AppView& app) { return edge(app.mem_band_mib, &sizing::Band::high, kMiB); });
  perApp("rightsize_app_usage_anomaly",
         "1 when the app's CPU use collapsed against what its hour of the day expects (beyond 3 standard "
         "deviations, to less than half): an upstream outage, say; the sizer shrinks nothing then. 0 otherwise.",
         [](const sizing::AppView& app) {
           return app.usage_anomaly_score ? std::optional<double>(app.usage_anomaly ? 1 : 0) : std::nullopt;
         });
  perApp("rightsize_app_usage_anomaly_score",
         "Standard deviations the app's CPU use is below what its hour of the day expects (negative: above).",
         [](const sizing::AppView& app) { return app.usage_anomaly_score; });
  perApp("rightsize_app_cpu_forecast_peak_cores",
         "The highest CPU p95 the app's time-of-day profile expects over the next day.",
         [](const sizing::AppView& app) { return app.forecast_peak_cpus; });
  perApp("rightsize_app_deployment_age_seconds",
         "How long the sizer's own resize of the app has been in flight, since the sizer decided it.",
         [&](const sizing::AppView& app) {
           return app.resizing_since ? std::optional<double>(toSeconds(snapshot.timestamp - *app.resizing_since))
                                     : std::nullopt;
         });
  // Every app the sizer lists, at 0 before its first kill: increase() and
  // the recording rules count a kill only against an earlier reading.
  std::map<std::string, std::uint64_t> oom_kills(snapshot.oom_kills.begin(), snapshot.oom_kills.end());
  for (const auto& app : snapshot.apps) oom_kills.try_emplace(app.app_id, 0);
  if (!oom_kills.empty()) {
    out.header("rightsize_app_oom_kills_total",
               "OOM kills of the app's tasks seen by the sizer (Marathon's lastTaskFailure).", MetricType::Counter);
    for (const auto& [app, count] : oom_kills) {
      out.sample("rightsize_app_oom_kills_total", TextExposition::labelBlock({{"app_id", app}}),
                 static_cast<double>(count));
    }
  }
  if (!snapshot.resizes.empty()) {
    out.header("rightsize_resizes_total", "Resizes the sizer started, by app, resource and direction.",
               MetricType::Counter);
    for (const auto& [key, count] : snapshot.resizes) {
      const auto& [app, resource, direction] = key;
      out.sample("rightsize_resizes_total",
                 TextExposition::labelBlock({{"app_id", app}, {"direction", direction}, {"resource", resource}}),
                 static_cast<double>(count));
    }
  }
  writeCapacityMetrics(out, snapshot);
  if (!snapshot.scales.empty()) {
    out.header("rightsize_scales_total", "Scales (PUTs of instances alone) the sizer started, by app and direction.",
               MetricType::Counter);
    for (const auto& [key, count] : snapshot.scales) {
      const auto& [app, direction] = key;
      out.sample("rightsize_scales_total", TextExposition::labelBlock({{"app_id", app}, {"direction", direction}}),
                 static_cast<double>(count));
    }
  }
  out.header("rightsize_sizer_is_leader", "1 while this sizer holds the leader lease.", MetricType::Gauge);
  out.sample("rightsize_sizer_is_leader", "", snapshot.leader ? 1 : 0);
  out.header("rightsize_sizer_marathon_up", "1 when the last cycle could read Marathon.", MetricType::Gauge);
  out.sample("rightsize_sizer_marathon_up", "", snapshot.marathon_ok ? 1 : 0);
  out.header("rightsize_sizer_agents", "Agents read in the last cycle, and how many answered.", MetricType::Gauge);
  out.sample("rightsize_sizer_agents", TextExposition::labelBlock({{"state", "known"}}),
             static_cast<double>(snapshot.agents));
  out.sample("rightsize_sizer_agents", TextExposition::labelBlock({{"state", "reachable"}}),
             static_cast<double>(snapshot.agents_reachable));
  // Apps by state, every state always present: a deployment that does not
  // end, or apps without figures, show here (and can be alerted on).
  out.header("rightsize_sizer_apps", "Apps by state in the last cycle (as /v1/apps shows them).", MetricType::Gauge);
  for (const sizing::AppState state : sizing::kEveryAppState) {
    const auto count = std::count_if(snapshot.apps.begin(), snapshot.apps.end(),
                                     [state](const sizing::AppView& app) { return app.state == state; });
    out.sample("rightsize_sizer_apps",
               TextExposition::labelBlock({{"state", std::string(sizing::appStateName(state))}}),
               static_cast<double>(count));
  }
  // Resizes and scales due that wait for a deployment slot, those of apps at
  // risk apart: a backlog that lasts says --max-concurrent-deployments is too
  // few for the fleet (or a deployment does not end).
  out.header("rightsize_sizer_apps_waiting_for_slot",
             "Apps whose resize or scale is due and waits for a deployment slot, by whether the app is at risk.",
             MetricType::Gauge);
  for (const bool at_risk : {true, false}) {
    const auto count = std::count_if(snapshot.apps.begin(), snapshot.apps.end(), [at_risk](const sizing::AppView& app) {
      return app.waiting_for_slot && app.waiting_at_risk == at_risk;
    });
    out.sample("rightsize_sizer_apps_waiting_for_slot",
               TextExposition::labelBlock({{"at_risk", at_risk ? "true" : "false"}}), static_cast<double>(count));
  }
  return std::move(out.text());
}

namespace {

// Compares without stopping at the first difference, so that the time taken
// does not tell how much of a guessed token was right: it depends on the
// length of the guess only.
bool sameSecret(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

HttpResponse jsonMessage(int status, std::string_view key, std::string_view message) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, key);
  json::writeString(writer, message);
  writer.EndObject();
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::string(buffer.GetString(), buffer.GetSize());
  return response;
}

constexpr std::string_view kWebhookSource = "webhook";

// Runs before the body is read: without the token, nobody makes the sizer
// read a body. Neither answer repeats what was presented.
std::optional<HttpResponse> admitAlerts(const HttpRequest& request, SizerMetrics& metrics,
                                        const SizerRouteOptions& options) {
  if (options.webhook_token.empty()) {
    return jsonMessage(403, "error", "the webhook is disabled: set RIGHTSIZE_WEBHOOK_TOKEN to enable it");
  }
  const std::string_view authorization = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer) || !sameSecret(authorization.substr(kBearer.size()), options.webhook_token)) {
    metrics.record(kWebhookSource,
                   Error(ErrorKind::kInvalidArgument, "POST /v1/alerts without the right bearer token"));
    HttpResponse response = jsonMessage(401, "error", "a bearer token is required");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return response;
  }
  return std::nullopt;
}

// Called only for requests admitAlerts() let through.
HttpResponse handleAlerts(const HttpRequest& request, sizing::Sizer& sizer, SizerMetrics& metrics,
                          const SizerRouteOptions& options) {
  auto notification = sizing::parseAlertNotification(request.body);
  if (!notification) {
    metrics.record(kWebhookSource, notification.error());
    return jsonMessage(400, "error", notification.error().message());
  }
  std::vector<Error> problems;
  const auto scales = sizing::scaleRequests(*notification, problems);
  for (const auto& problem : problems) metrics.record(kWebhookSource, problem);
  const auto hot_spots = sizing::firingApps(*notification);
  std::vector<std::string> apps = hot_spots;
  for (const auto& [app_id, direction] : scales) apps.push_back(app_id);
  std::sort(apps.begin(), apps.end());
  apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
  if (!apps.empty() && !sizer.snapshot()->leader) {
    // Alertmanager reaches every sizer behind one name and retries on 5xx:
    // the retry may reach the leader, which alone can act. A look-only sizer
    // (--mode recommend with --redis) never leads.
    return jsonMessage(503, "error",
                       sizer.snapshot()->mode == sizing::Mode::kRecommend
                           ? "this sizer only recommends (--mode recommend); retry at the sizer in apply mode"
                           : "this sizer is not the leader; retry");
  }
  if (!apps.empty()) {
    sizer.alerted(hot_spots);
    sizer.scaleAlerted(scales);
    if (options.on_alert) options.on_alert();
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "apps");
  writer.StartArray();
  for (const auto& app : apps) json::writeString(writer, app);
  writer.EndArray();
  writer.EndObject();
  HttpResponse response;
  response.content_type = "application/json";
  response.body = std::string(buffer.GetString(), buffer.GetSize());
  return response;
}

}  // namespace

void addSizerRoutes(HttpServer& server, sizing::Sizer& sizer, SizerMetrics& metrics, const Clock& clock,
                    SizerRouteOptions options) {
  const Duration stall_after = options.stall_after;
  // Bodies the server refused (too large, too slow) are problems met on the
  // webhook, like a missing token; a wrong method is not counted.
  server.observeRefusals([&metrics](const HttpRequest& request, const HttpResponse& response) {
    if (response.status != 413 && response.status != 408) return;
    const ErrorKind kind = response.status == 413 ? ErrorKind::kInvalidValue : ErrorKind::kUnavailable;
    metrics.record("http", Error(kind, request.method + " " + request.path + ": " + std::string(trim(response.body))));
  });
  server.route(
      "/v1/alerts",
      [&sizer, &metrics, options](const HttpRequest& request) {
        return handleAlerts(request, sizer, metrics, options);
      },
      {"POST"}, [&metrics, options](const HttpRequest& request) { return admitAlerts(request, metrics, options); });
  server.route("/v1/apps", [&sizer](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = appsJson(*sizer.snapshot());
    return response;
  });
  server.route("/v1/capacity", [&sizer](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = capacityJson(sizer.snapshot()->capacity);
    return response;
  });
  server.route("/v1/decisions", [&sizer](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = decisionsJson(sizer.recentDecisions(100));
    return response;
  });
  server.route("/metrics", [&sizer, &metrics](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics.render(*sizer.snapshot());
    return response;
  });
  server.route("/healthz", [&sizer, &clock, stall_after](const HttpRequest&) {
    const auto snapshot = sizer.snapshot();
    HttpResponse response;
    response.content_type = "application/json";
    std::string status = "ok";
    if (snapshot->cycles == 0) {
      status = "starting";
      response.status = 503;
    } else if (clock.now() - snapshot->timestamp > stall_after) {
      status = "stalled";
      response.status = 503;
    } else if (!snapshot->marathon_ok || !snapshot->store_ok) {
      status = "degraded";
    }
    rapidjson::StringBuffer buffer;
    json::Writer writer(buffer);
    writer.StartObject();
    json::writeKey(writer, "status");
    json::writeString(writer, status);
    json::writeKey(writer, "leader");
    writer.Bool(snapshot->leader);
    json::writeKey(writer, "marathon_ok");
    writer.Bool(snapshot->marathon_ok);
    json::writeKey(writer, "store_ok");
    writer.Bool(snapshot->store_ok);
    json::writeKey(writer, "cycles");
    writer.Uint64(snapshot->cycles);
    writer.EndObject();
    response.body = std::string(buffer.GetString(), buffer.GetSize());
    return response;
  });
}

}  // namespace rightsize::exporters
