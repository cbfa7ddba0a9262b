#include "sizer_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "flags.h"
#include "signals.h"

#include "rightsize/core/http.h"
#include "rightsize/core/periodic.h"
#include "rightsize/core/secrets.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/report/prometheus_usage.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::cli {
namespace {

std::string ownerId() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::random_device random;
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(random());
}

}  // namespace

CLI::App* addSizerCommand(CLI::App& app, SizerFlags& flags) {
  auto* command = app.add_subcommand(
      "sizer", "Keep each app's lying factor in its band by redeploying it through Marathon (one leader acts).");
  addFlag(*command, "--marathon-url", flags.marathon_url, "Marathon base URL(s), comma-separated for HA");
  addFlag(*command, "--redis", flags.redis,
          "Redis for state and the leader lease, redis://host:port/db (required in apply mode; password from "
          "RIGHTSIZE_REDIS_PASSWORD)");
  addFlag(*command, "--redis-prefix", flags.redis_prefix, "Prefix of the sizer's Redis keys");
  addFlag(*command, "--mode", flags.mode, "recommend (decide and report only) or apply (redeploy)")
      ->check(CLI::IsMember({"recommend", "apply"}));
  command
      ->add_flag("--apply-all", flags.apply_all,
                 "In apply mode, resize every app, not only rightsize.enabled=true ones")
      ->envname(envNameFor("--apply-all"));
  addFlag(*command, "--agents", flags.agents, "Agents as host:port,... (default: the tasks of --agent-app)");
  addFlag(*command, "--agent-app", flags.agent_app, "Marathon app whose tasks are the agents (port index 0)");
  addFlag(*command, "--interval", flags.interval, "Decision period")->check(durationValidator());
  addFlag(*command, "--listen", flags.listen, "HTTP address; port 0 picks a free port")->check(listenValidator());
  addSlotFlags(*command, flags.max_concurrent_deployments, flags.max_concurrent_oom_deployments, flags.slot_order,
               false);
  command
      ->add_flag("--force-deployments", flags.force_deployments,
                 "PUT with force=true (overrides Marathon's deployment lock; not recommended)")
      ->envname(envNameFor("--force-deployments"));
  addFlag(*command, "--cpu-band", flags.cpu_band, "Default CPU lying factor band, cores (label rightsize.cpu.band)");
  addFlag(*command, "--mem-band", flags.mem_band, "Default memory lying factor band, MiB (label rightsize.mem.band)");
  addFlag(*command, "--sustain", flags.sustain, "How long an app stays out of band before it is resized")
      ->check(durationValidator());
  addPolicyFlags(*command, flags.policy, false);
  addFlag(*command, "--cooldown", flags.cooldown, "Quiet time after a resize (label rightsize.cooldown)")
      ->check(durationValidator());
  addFlag(*command, "--marathon-timeout", flags.marathon_timeout, "Timeout of each request to Marathon")
      ->check(durationValidator());
  addFlag(*command, "--agent-timeout", flags.agent_timeout, "Timeout of each request to an agent")
      ->check(durationValidator());
  addFlag(*command, "--usage-source", flags.usage_source,
          "Where per-app figures come from: agents (their /v1/containers and /v1/lag) or prometheus (the "
          "recording rules of deploy/prometheus/rules/apps.yml, --prometheus)")
      ->check(CLI::IsMember({"agents", "prometheus"}));
  addFlag(*command, "--prometheus", flags.prometheus,
          "Prometheus' base URL, with --usage-source prometheus (credentials: RIGHTSIZE_PROMETHEUS_TOKEN, or "
          "RIGHTSIZE_PROMETHEUS_USER and RIGHTSIZE_PROMETHEUS_PASSWORD)");
  addFlag(*command, "--prometheus-selector", flags.prometheus_selector,
          "Label matchers added to every query, e.g. env=\"prod\" when one Prometheus holds several clusters");
  addFlag(*command, "--prometheus-timeout", flags.prometheus_timeout,
          "Timeout of each query to Prometheus: slower is no figures, no decision")
      ->check(durationValidator());
  addFlag(*command, "--oom-hold", flags.oom_hold,
          "After an OOM kill, or memory at its limit, how long memory stays at least at the growth it caused")
      ->check(durationValidator());
  addFlag(*command, "--failed-deployment-hold", flags.failed_deployment_hold,
          "After a resize whose deployment failed, how long the app is not resized again (unless it changes)")
      ->check(durationValidator());
  addFlag(*command, "--retry-after", flags.retry_after,
          "After a PUT Marathon answered 409 (the app locked by a deployment) or that failed, the wait before "
          "the next try, doubled with each failure in a row up to the app's cooldown")
      ->check(durationValidator());
  addFlag(*command, "--unconfirmed-grace", flags.unconfirmed_grace,
          "How long a PUT whose answer was lost (a timeout, a 5xx) may still be on its way: the app is read "
          "meanwhile, and the resize given up after it if Marathon does not show it")
      ->check(durationValidator());
  command
      ->add_option("--max-downsizes-per-day", flags.max_downsizes_per_day,
                   "Resizes that take something away, per app and --downsize-window: each restarts every instance "
                   "(label rightsize.max-downsizes-per-day; 0: never shrink)")
      ->envname(envNameFor("--max-downsizes-per-day"))
      ->capture_default_str()
      ->check(CLI::Range(0, sizing::kMaxDownsizes));
  addMinChangeFlags(*command, flags.min_change, false);
  command
      ->add_flag("--allow-single-instance", flags.allow_single_instance,
                 "Shrink single-instance apps too (each restart is an outage), unless labelled "
                 "rightsize.allow-single-instance=false; without it only those labelled true are")
      ->envname(envNameFor("--allow-single-instance"));
  addFlag(*command, "--limits", flags.limits,
          "none: each app gets cpus and mem (an existing resourceLimits is kept); burstable: every enabled app's "
          "request is sized to its sustained use and its limit (Marathon's resourceLimits) to its bursts; label "
          "rightsize.limits=burstable|none overrides it per app")
      ->check(CLI::IsMember({"none", "burstable"}));
  command
      ->add_option("--hot-host", flags.hot_host,
                   "A host whose containers use this share of its cores or more is hot: a burstable app's CPU limit "
                   "is not raised there (a higher limit would only take from its neighbours)")
      ->envname(envNameFor("--hot-host"))
      ->capture_default_str()
      ->check(CLI::Range(0.5, 1.0));
  addFlag(*command, "--downsize-window", flags.downsize_window,
          "The window of --max-downsizes-per-day: a downsize counts against the budget this long")
      ->check(durationValidator());
  addFlag(*command, "--headroom-lead-time", flags.headroom_lead_time,
          "Fleet capacity: hosts lost within this long count together (a replacement's lead time)")
      ->check(durationValidator());
  addFlag(*command, "--headroom-window", flags.headroom_window,
          "Fleet capacity: how long a lost host counts towards a market's headroom")
      ->check(durationValidator());
  command
      ->add_option("--headroom-multiple", flags.headroom_multiple,
                   "Fleet capacity: free capacity a market keeps, in multiples of its most hosts lost within the "
                   "lead time")
      ->envname(envNameFor("--headroom-multiple"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  addFlag(*command, "--host-lost-after", flags.host_lost_after,
          "Fleet capacity: an agent still listed but not answering this long counts as a lost host")
      ->check(durationValidator());
  command
      ->add_option("--speed-min-apps", flags.speed_min_apps,
                   "Instance types' CPU speed: apps running on a type and the reference at once before the type's "
                   "factor is trusted and used (docs/capacity.md)")
      ->envname(envNameFor("--speed-min-apps"))
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command
      ->add_option("--speed-min-samples", flags.speed_min_samples,
                   "Instance types' CPU speed: cycles each such app must have been seen on both")
      ->envname(envNameFor("--speed-min-samples"))
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  addFlag(*command, "--scale-interval", flags.scale_interval,
          "Horizontal scaling (docs/scaling.md): the least time between two scale decisions of an app, and how long "
          "its metric stays below rightsize.scale.down before it scales in (label rightsize.scale.interval)")
      ->check(durationValidator());
  addFlag(*command, "--scale-sustain", flags.scale_sustain,
          "Horizontal scaling: how long an app's metric stays above rightsize.scale.up before it scales out")
      ->check(durationValidator());
  command
      ->add_option("--max-cpus", flags.max_cpus,
                   "Cores no task can use (the largest host): agents' figures above are refused, recommendations "
                   "never above")
      ->envname(envNameFor("--max-cpus"))
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--max-mem", flags.max_mem,
                   "MiB no task can use (the largest host): agents' figures above are refused, recommendations "
                   "never above")
      ->envname(envNameFor("--max-mem"))
      ->default_str("1048576")
      ->check(CLI::PositiveNumber);
  addFlag(*command, "--log-level", flags.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  command
      ->add_option("--clock-speed", flags.clock_speed,
                   "Simulations only: run on a clock this many times faster than real time; every duration but "
                   "the timeouts is then in that simulated time")
      ->envname(envNameFor("--clock-speed"))
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));
  command
      ->add_option("--clock-origin", flags.clock_origin,
                   "Simulations only: when the simulated clock started, Unix seconds (default: at start)")
      ->envname(envNameFor("--clock-origin"))
      ->check(CLI::NonNegativeNumber);
  return command;
}

namespace {

// A duration on a clock `speed` times faster than real time, in real time.
Duration realTime(Duration simulated, double speed) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::nano>(simulated) / speed);
}

}  // namespace

Expected<SizerSettings> resolveSizerSettings(const SizerFlags& flags) {
  const GetEnv environment = [](const char* name) -> const char* { return std::getenv(name); };
  SizerSettings settings;
  settings.flags = flags;
  for (const auto& url : splitList(flags.marathon_url, ',')) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return Error(ErrorKind::kInvalidArgument, "--marathon-url: '" + redactUrl(url) + "' is not an http(s) URL");
    }
    if (redactUrl(url) != url) {
      return Error(ErrorKind::kInvalidArgument,
                   "--marathon-url: credentials do not belong in a flag; set RIGHTSIZE_MARATHON_USER and "
                   "RIGHTSIZE_MARATHON_PASSWORD (or RIGHTSIZE_MARATHON_TOKEN)");
    }
    settings.marathon_urls.push_back(url);
  }
  if (settings.marathon_urls.empty()) return Error(ErrorKind::kInvalidArgument, "--marathon-url: no URL");
  auto& s = settings.sizer;
  s.mode = flags.mode == "apply" ? sizing::Mode::kApply : sizing::Mode::kRecommend;
  s.apply_all = flags.apply_all;
  s.max_concurrent_deployments = flags.max_concurrent_deployments;
  s.max_concurrent_oom_deployments = flags.max_concurrent_oom_deployments;
  s.slot_order = sizing::parseSlotOrder(flags.slot_order).value_or(sizing::SlotOrder::kIds);
  s.force_deployments = flags.force_deployments;
  s.agent_app = flags.agent_app;
  for (const auto& agent : splitList(flags.agents, ',')) {
    auto host_port = parseHostPort(agent);
    if (!host_port || host_port->host.empty() || host_port->port == 0) {
      return Error(ErrorKind::kInvalidArgument, "--agents: '" + agent + "' is not host:port");
    }
    s.agents.push_back("http://" + agent);
  }
  auto cpu_band = sizing::parseBand(flags.cpu_band);
  if (!cpu_band) return cpu_band.error().withContext("--cpu-band");
  auto mem_band = sizing::parseBand(flags.mem_band);
  if (!mem_band) return mem_band.error().withContext("--mem-band");
  s.defaults.max_downsizes = flags.max_downsizes_per_day;
  applyMinChangeFlags(flags.min_change, s.defaults);
  s.defaults.allow_single_instance = flags.allow_single_instance;
  if (flags.limits != "none" && flags.limits != "burstable") {
    return Error(ErrorKind::kInvalidArgument, "--limits: '" + flags.limits + "' is neither none nor burstable");
  }
  s.defaults.burstable = flags.limits == "burstable";
  if (!(flags.hot_host >= 0.5 && flags.hot_host <= 1)) {
    return Error(ErrorKind::kInvalidArgument, "--hot-host: a share of a host's cores from 0.5 to 1");
  }
  s.policy.hot_host = flags.hot_host;
  if (Status applied = applyPolicyFlags(flags.policy, s.policy, s.history, s.search_back_window); !applied) {
    return applied.error();
  }
  s.defaults.cpu_band = *cpu_band;
  s.defaults.mem_band = *mem_band;
  for (auto [flag, text, out] : {std::tuple{"--interval", &flags.interval, &settings.interval},
                                 {"--sustain", &flags.sustain, &s.policy.sustain},
                                 {"--cooldown", &flags.cooldown, &s.defaults.cooldown},
                                 {"--marathon-timeout", &flags.marathon_timeout, &settings.marathon_timeout},
                                 {"--agent-timeout", &flags.agent_timeout, &settings.agent_timeout},
                                 {"--prometheus-timeout", &flags.prometheus_timeout, &settings.prometheus_timeout},
                                 {"--oom-hold", &flags.oom_hold, &s.oom_hold},
                                 {"--failed-deployment-hold", &flags.failed_deployment_hold, &s.failed_deployment_hold},
                                 {"--retry-after", &flags.retry_after, &s.retry_after},
                                 {"--unconfirmed-grace", &flags.unconfirmed_grace, &s.unconfirmed_grace},
                                 {"--downsize-window", &flags.downsize_window, &s.downsize_window},
                                 {"--headroom-lead-time", &flags.headroom_lead_time, &s.headroom.lead_time},
                                 {"--headroom-window", &flags.headroom_window, &s.headroom.window},
                                 {"--host-lost-after", &flags.host_lost_after, &s.headroom.lost_after},
                                 {"--scale-interval", &flags.scale_interval, &s.scale.interval},
                                 {"--scale-sustain", &flags.scale_sustain, &s.scale.sustain}}) {
    auto parsed = parseWait(*text);
    if (!parsed) return parsed.error().withContext(flag);
    if (*parsed <= Duration::zero())
      return Error(ErrorKind::kInvalidArgument, std::string(flag) + ": must be longer than 0");
    *out = *parsed;
  }
  if (!std::isfinite(flags.max_cpus) || flags.max_cpus <= 0) {
    return Error(ErrorKind::kInvalidArgument, "--max-cpus: must be a positive number of cores");
  }
  if (!std::isfinite(flags.max_mem) || flags.max_mem <= 0) {
    return Error(ErrorKind::kInvalidArgument, "--max-mem: must be a positive number of MiB");
  }
  if (!std::isfinite(flags.headroom_multiple) || flags.headroom_multiple < 0) {
    return Error(ErrorKind::kInvalidArgument, "--headroom-multiple: must be a number of 0 or more");
  }
  s.headroom.multiple = flags.headroom_multiple;
  if (flags.speed_min_apps < 1 || flags.speed_min_samples < 1) {
    return Error(ErrorKind::kInvalidArgument, "--speed-min-apps and --speed-min-samples: at least 1");
  }
  s.speed.min_apps = static_cast<std::size_t>(flags.speed_min_apps);
  s.speed.min_samples = static_cast<std::size_t>(flags.speed_min_samples);
  s.limits.max_cpus = flags.max_cpus;
  s.limits.max_mem_mib = flags.max_mem;
  if (flags.usage_source != "agents" && flags.usage_source != "prometheus") {
    return Error(ErrorKind::kInvalidArgument,
                 "--usage-source: '" + flags.usage_source + "' is neither agents nor prometheus");
  }
  if (flags.usage_source == "prometheus") {
    if (!flags.prometheus.starts_with("http://") && !flags.prometheus.starts_with("https://")) {
      return Error(ErrorKind::kInvalidArgument,
                   "--prometheus: --usage-source prometheus needs Prometheus' http:// or https:// URL");
    }
    if (flags.prometheus.find('@') != std::string::npos) {
      return Error(ErrorKind::kInvalidArgument,
                   "--prometheus: credentials do not belong in the URL: use RIGHTSIZE_PROMETHEUS_TOKEN, or "
                   "RIGHTSIZE_PROMETHEUS_USER and RIGHTSIZE_PROMETHEUS_PASSWORD");
    }
    auto authorization = report::prometheusAuthorization(environment);
    if (!authorization) return authorization.error();
    settings.prometheus_authorization = std::move(*authorization);
  }
  auto listen = parseHostPort(flags.listen);
  if (!listen) return listen.error().withContext("--listen");
  settings.listen = *listen;
  // The lease outlives a few missed cycles, so a slow cycle does not hand
  // leadership over, and a dead sizer is replaced within about three cycles.
  settings.clock_speed = flags.clock_speed;
  if (flags.clock_origin > 0) settings.clock_origin = fromUnixSeconds(flags.clock_origin);
  // Redis keeps the lease on its own (real) clock.
  s.lease_ttl = std::max<Duration>(realTime(3 * settings.interval, settings.clock_speed), std::chrono::seconds(15));
  s.owner = ownerId();
  if (!flags.redis.empty()) {
    auto redis = sizing::parseRedisUrl(flags.redis);
    if (!redis) return redis.error().withContext("--redis");
    auto password = secretFromEnvironment("RIGHTSIZE_REDIS_PASSWORD", environment);
    if (!password) return password.error();
    redis->password = password->value_or("");
    redis->prefix = flags.redis_prefix;
    settings.redis = *redis;
  } else if (s.mode == sizing::Mode::kApply) {
    return Error(ErrorKind::kInvalidArgument,
                 "--mode apply needs --redis: without a checkpoint a restart could redeploy an app twice");
  }
  auto webhook_token = secretFromEnvironment("RIGHTSIZE_WEBHOOK_TOKEN", environment);
  if (!webhook_token) return webhook_token.error();
  settings.webhook_token = webhook_token->value_or("");
  return settings;
}

int runSizer(const SizerSettings& settings) {
  const ShutdownSignals signals;
  const SystemClock system_clock;
  std::optional<ScaledClock> scaled_clock;
  if (settings.clock_speed != 1) {
    scaled_clock.emplace(system_clock, settings.clock_speed, settings.clock_origin.value_or(system_clock.now()));
  }
  const Clock& clock = scaled_clock ? static_cast<const Clock&>(*scaled_clock) : system_clock;
  auto authorization = sizing::marathonAuthorization([](const char* name) { return std::getenv(name); });
  if (!authorization) {
    spdlog::error("{}", authorization.error().message());
    return 2;
  }
  for (const auto& url : settings.marathon_urls) {
    if (!authorization->empty() && url.starts_with("http://")) {
      spdlog::warn("--marathon-url {}: the Marathon credentials cross the network unencrypted; use https://", url);
    }
  }
  exporters::SizerMetrics metrics;
  CurlHttpClient http;
  sizing::HttpMarathonOptions marathon_options;
  marathon_options.urls = settings.marathon_urls;
  marathon_options.authorization = *authorization;
  marathon_options.timeout = settings.marathon_timeout;
  marathon_options.on_response = [&metrics](std::string_view code) { metrics.countMarathonResponse(code); };
  sizing::HttpMarathonClient marathon(http, marathon_options);
  sizing::HttpAgentSource agents(http, settings.agent_timeout);
  sizing::SizerOptions sizer_options = settings.sizer;
  std::unique_ptr<report::PrometheusClient> prometheus;
  std::unique_ptr<report::PrometheusUsageSource> usage_source;
  if (settings.flags.usage_source == "prometheus") {
    prometheus = std::make_unique<report::PrometheusClient>(
        http, report::PrometheusOptions{.url = settings.flags.prometheus,
                                        .authorization = settings.prometheus_authorization,
                                        .timeout = settings.prometheus_timeout});
    usage_source = std::make_unique<report::PrometheusUsageSource>(
        *prometheus, report::PrometheusUsageOptions{.selector = settings.flags.prometheus_selector,
                                                    .limits = settings.sizer.limits});
    sizer_options.usage_source = usage_source.get();
  }
  std::unique_ptr<sizing::RedisStateStore> store;
  if (settings.redis) store = std::make_unique<sizing::RedisStateStore>(*settings.redis, &metrics);
  sizing::Sizer sizer(marathon, agents, store.get(), clock, metrics, sizer_options);

  HttpServerOptions server_options;
  server_options.listen = settings.listen;
  HttpServer server(server_options);
  PeriodicRunner runner(realTime(settings.interval, settings.clock_speed), [&] {
    const auto started = std::chrono::steady_clock::now();
    sizer.runCycle();
    metrics.observeCycle(std::chrono::steady_clock::now() - started);
  });
  exporters::SizerRouteOptions route_options;
  route_options.stall_after =  // on the sizer's clock
      3 * settings.interval +
      std::chrono::duration_cast<Duration>(2 * settings.marathon_timeout * settings.clock_speed);
  route_options.webhook_token = settings.webhook_token;
  route_options.on_alert = [&runner] { runner.runNow(); };
  exporters::addSizerRoutes(server, sizer, metrics, clock, route_options);
  if (Status started = server.start(); !started) {
    spdlog::error("{}", started.error().message());
    return 1;
  }
  spdlog::info("rightsize sizer listening on {}:{} (mode={}, interval={}, marathon={}, redis={}, owner={})",
               settings.listen.host.empty() ? "0.0.0.0" : settings.listen.host, server.port(), settings.flags.mode,
               formatDuration(settings.interval), settings.flags.marathon_url,
               settings.redis ? redactUrl(settings.flags.redis) : "none", settings.sizer.owner);
  runner.start();
  const int signal = signals.wait();
  spdlog::info("received {}, stopping", signalName(signal));
  runner.stop();
  sizer.resign();  // another sizer takes over at once
  server.stop();
  return 0;
}

}  // namespace rightsize::cli
