#include "agent_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "flags.h"
#include "signals.h"

#include "rightsize/agent/agent.h"
#include "rightsize/agent/cgroup_source.h"
#include "rightsize/agent/checkpoint.h"
#include "rightsize/agent/mesos_source.h"
#include "rightsize/agent/redis_checkpoint_store.h"
#include "rightsize/core/filesystem.h"
#include "rightsize/core/http.h"
#include "rightsize/core/periodic.h"
#include "rightsize/core/secrets.h"
#include "rightsize/exporters/agent_http.h"
#include "rightsize/exporters/agent_json.h"
#include "rightsize/exporters/agent_metrics.h"
#include "rightsize/lag/groups.h"
#include "rightsize/lag/lag_monitor.h"
#include "rightsize/lag/rdkafka_client.h"

namespace rightsize::cli {
namespace {

constexpr std::size_t kMaxWindowSamples = 4096;
// Connect and each reply of the checkpoint's Redis. Writes run on their own
// thread; the load at start is the only time collection waits for Redis.
constexpr Duration kRedisTimeout = std::chrono::seconds(1);

// The rightsize.kafka.groups labels of the containers measured last.
std::vector<lag::LabelledGroups> labelledGroups(const agent::AgentSnapshot& snapshot) {
  std::vector<lag::LabelledGroups> out;
  for (const auto& c : snapshot.containers) {
    if (!c.identity.kafka_groups.empty()) out.push_back({c.identity.app_id, c.identity.env, c.identity.kafka_groups});
  }
  return out;
}

std::string hostName() {
  char buffer[256] = {0};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

}  // namespace

CLI::App* addAgentCommand(CLI::App& app, AgentFlags& flags) {
  auto* command = app.add_subcommand("agent", "Measure every container on this host and serve /metrics and JSON.");
  addFlag(*command, "--source", flags.source, "Where measurements come from: mesos (agent HTTP API) or cgroups")
      ->check(CLI::IsMember({"mesos", "cgroups"}));
  addFlag(*command, "--mesos-url", flags.mesos_url, "Mesos agent base URL (source=mesos)");
  addFlag(*command, "--mesos-timeout", flags.mesos_timeout, "Timeout of each request to the Mesos agent")
      ->check(durationValidator());
  addFlag(*command, "--cgroup-root", flags.cgroup_root, "Where cgroup hierarchies are mounted (source=cgroups)");
  addFlag(*command, "--cgroup-prefix", flags.cgroup_prefix,
          "Cgroup holding Mesos containers, relative to each hierarchy (source=cgroups)");
  addFlag(*command, "--proc-root", flags.proc_root, "procfs mount, for /proc/<pid>/environ (source=cgroups)");
  addFlag(*command, "--interval", flags.interval, "Sampling period")->check(durationValidator());
  addFlag(*command, "--window", flags.window, "Time constant of moving averages and span of percentiles and peaks")
      ->check(durationValidator());
  addFlag(*command, "--host", flags.host, "Value of the host label (default: this machine's host name)");
  addFlag(*command, "--instance-type", flags.instance_type,
          "Value of the instance_type label when the Mesos agent has no instance_type attribute");
  addFlag(*command, "--zone", flags.zone,
          "The host's zone when the Mesos agent has neither a fault domain nor a zone attribute (docs/capacity.md)");
  addFlag(*command, "--lifecycle", flags.lifecycle,
          "spot or on-demand, when the Mesos agent has no lifecycle attribute (docs/capacity.md)");
  addFlag(*command, "--listen", flags.listen, "HTTP address; port 0 picks a free port")->check(listenValidator());
  addFlag(*command, "--log-level", flags.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  addFlag(*command, "--kafka-brokers", flags.kafka_brokers,
          "Kafka bootstrap servers (host:port,...); Kafka lag is measured when set");
  command
      ->add_option("--kafka-group", flags.kafka_groups,
                   "Consumer group to watch besides those named by apps' rightsize.kafka.groups labels (repeatable; "
                   "the environment variable takes a comma-separated list)")
      ->envname(envNameFor("--kafka-group"))
      ->delimiter(',');
  addFlag(*command, "--kafka-window", flags.kafka_window, "Span of the window over which lag status is judged")
      ->check(durationValidator());
  addFlag(*command, "--kafka-timeout", flags.kafka_timeout,
          "Deadline of one lag cycle (default: the smaller of 5s and --interval)")
      ->check(durationValidator());
  addFlag(*command, "--redis", flags.redis,
          "Redis for a checkpoint of the moving averages and windows, so that a restarted agent keeps them, "
          "redis://host:port/db (password from RIGHTSIZE_REDIS_PASSWORD); empty: no checkpoint");
  addFlag(*command, "--redis-prefix", flags.redis_prefix, "Prefix of the agent's Redis key (<prefix>agent:<host>)");
  addFlag(*command, "--redis-interval", flags.redis_interval,
          "How often the checkpoint is written (at most once per --interval)")
      ->check(durationValidator());
  return command;
}

Expected<AgentSettings> resolveAgentSettings(const AgentFlags& flags) {
  AgentSettings settings;
  settings.flags = flags;
  auto interval = parseDuration(flags.interval);
  auto window = parseDuration(flags.window);
  auto timeout = parseDuration(flags.mesos_timeout);
  auto listen = parseHostPort(flags.listen);
  if (!interval) return interval.error().withContext("--interval");
  if (!window) return window.error().withContext("--window");
  if (!timeout) return timeout.error().withContext("--mesos-timeout");
  if (!listen) return listen.error().withContext("--listen");
  if (*interval <= Duration::zero()) return Error(ErrorKind::kInvalidArgument, "--interval: must be longer than 0");
  if (*timeout < std::chrono::milliseconds(1)) {
    return Error(ErrorKind::kInvalidArgument, "--mesos-timeout: must be at least 1ms");
  }
  if (*window < *interval) {
    return Error(ErrorKind::kInvalidArgument,
                 "--window (" + flags.window + ") must be at least --interval (" + flags.interval + ")");
  }
  if (flags.source == "mesos" && !flags.mesos_url.starts_with("http://") && !flags.mesos_url.starts_with("https://")) {
    return Error(ErrorKind::kInvalidArgument,
                 "--mesos-url: '" + redactUrl(flags.mesos_url) + "' is not an http(s) URL");
  }
  if (!flags.kafka_groups.empty() && flags.kafka_brokers.empty()) {
    return Error(ErrorKind::kInvalidArgument, "--kafka-group needs --kafka-brokers");
  }
  for (const auto& group : flags.kafka_groups) {
    auto parsed = lag::parseGroupList(group);
    if (!parsed) return parsed.error().withContext("--kafka-group");
    for (auto& g : *parsed) settings.kafka_groups.push_back(std::move(g));
  }
  auto kafka_window = parseDuration(flags.kafka_window);
  if (!kafka_window) return kafka_window.error().withContext("--kafka-window");
  settings.kafka_window = *kafka_window;
  settings.kafka_timeout = std::min<Duration>(std::chrono::seconds(5), *interval);
  if (!flags.kafka_timeout.empty()) {
    auto kafka_timeout = parseDuration(flags.kafka_timeout);
    if (!kafka_timeout) return kafka_timeout.error().withContext("--kafka-timeout");
    settings.kafka_timeout = *kafka_timeout;
  }
  settings.interval = *interval;
  settings.window = *window;
  settings.mesos_timeout = *timeout;
  settings.listen = *listen;
  settings.host = flags.host.empty() ? hostName() : flags.host;
  auto redis_interval = parseDuration(flags.redis_interval);
  if (!redis_interval) return redis_interval.error().withContext("--redis-interval");
  if (*redis_interval <= Duration::zero()) {
    return Error(ErrorKind::kInvalidArgument, "--redis-interval: must be longer than 0");
  }
  settings.redis_interval = *redis_interval;
  // A few windows: the checkpoint of a host that is gone for good vanishes,
  // and it always outlives a few writes.
  settings.redis_ttl = 3 * std::max(*window, *redis_interval);
  if (!flags.redis.empty()) {
    auto redis = parseRedisUrl(flags.redis);
    if (!redis) return redis.error().withContext("--redis");
    const GetEnv environment = [](const char* name) -> const char* { return std::getenv(name); };
    auto password = secretFromEnvironment("RIGHTSIZE_REDIS_PASSWORD", environment);
    if (!password) return password.error();
    redis->password = password->value_or("");
    redis->timeout = kRedisTimeout;
    settings.redis = *redis;
    settings.redis_key = agent::checkpointKey(flags.redis_prefix, settings.host);
  }
  return settings;
}

int runAgent(const AgentSettings& settings) {
  const ShutdownSignals signals;
  const SystemClock clock;
  const auto& flags = settings.flags;
  CurlHttpClient http;
  RealFileSystem fs;
  std::unique_ptr<agent::ContainerSource> source;
  if (flags.source == "mesos") {
    agent::MesosSourceOptions options;
    options.url = flags.mesos_url;
    options.request_timeout = settings.mesos_timeout;
    options.instance_type = flags.instance_type;
    options.zone = flags.zone;
    options.lifecycle = flags.lifecycle;
    source = std::make_unique<agent::MesosSource>(http, clock, options);
  } else {
    agent::CgroupSourceOptions options;
    options.root = flags.cgroup_root;
    options.prefix = flags.cgroup_prefix;
    options.proc_root = flags.proc_root;
    options.instance_type = flags.instance_type;
    options.zone = flags.zone;
    options.lifecycle = flags.lifecycle;
    if (const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN); cpus > 0) options.host_cores = static_cast<double>(cpus);
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) options.host_bytes = static_cast<double>(pages) * static_cast<double>(page_size);
    source = std::make_unique<agent::CgroupSource>(fs, clock, options);
  }

  exporters::AgentMetrics metrics;
  metrics.declareSource(source->name());
  agent::AgentOptions agent_options;
  agent_options.host = settings.host;
  agent_options.tracker.window = settings.window;
  agent_options.tracker.max_window_samples = kMaxWindowSamples;
  agent::Agent agent(*source, clock, metrics, agent_options);

  // The checkpoint, with --redis: taken after a cycle when due (a copy of
  // the trackers' state), encoded and written on its own thread, so that a
  // slow or dead Redis never delays measurements.
  std::unique_ptr<agent::RedisCheckpointStore> checkpoint_store;
  std::unique_ptr<agent::Checkpointer> checkpointer;
  std::unique_ptr<PeriodicRunner> checkpoint_writer;
  if (settings.redis) {
    metrics.declareSource(agent::Checkpointer::kErrorSource, {ErrorKind::kInvalidArgument});
    checkpoint_store = std::make_unique<agent::RedisCheckpointStore>(*settings.redis, settings.redis_key);
    checkpointer = std::make_unique<agent::Checkpointer>(
        *checkpoint_store, clock, metrics,
        agent::CheckpointOptions{
            .every = settings.redis_interval, .window = settings.window, .ttl = settings.redis_ttl});
    checkpoint_writer = std::make_unique<PeriodicRunner>(settings.redis_interval,
                                                         [&checkpointer] { (void)checkpointer->writePending(); });
  }

  // Kafka lag, when brokers are given: its own thread, so that a slow
  // cluster never delays container measurements.
  std::unique_ptr<lag::RdKafkaClient> kafka;
  std::unique_ptr<lag::LagMonitor> lag_monitor;
  if (!flags.kafka_brokers.empty()) {
    auto client = lag::RdKafkaClient::create({.brokers = flags.kafka_brokers}, clock);
    if (!client) {
      spdlog::error("--kafka-brokers: {}", client.error().message());
      return 2;
    }
    kafka = std::move(*client);
    metrics.declareSource("kafka");
    lag::LagOptions lag_options;
    lag_options.window = settings.kafka_window;
    lag_options.timeout = settings.kafka_timeout;
    lag_monitor = std::make_unique<lag::LagMonitor>(*kafka, clock, metrics, lag_options);
  }

  HttpServerOptions server_options;
  server_options.listen = settings.listen;
  HttpServer server(server_options);
  // A Mesos cycle may wait for /monitor/statistics and then /state.
  exporters::addAgentRoutes(server, agent, lag_monitor.get(), metrics, clock,
                            exporters::stallAfter(settings.interval, 2 * settings.mesos_timeout));
  if (Status started = server.start(); !started) {
    spdlog::error("{}", started.error().message());
    return 1;
  }
  if (settings.window / settings.interval > static_cast<Duration::rep>(kMaxWindowSamples)) {
    spdlog::warn(
        "--window {} holds more than {} samples at --interval {}: percentiles and peaks will cover the last {} "
        "samples only",
        flags.window, kMaxWindowSamples, flags.interval, kMaxWindowSamples);
  }
  spdlog::info("rightsize agent listening on {}:{} (source={}, interval={}, window={}, host={}, redis={})",
               settings.listen.host.empty() ? "0.0.0.0" : settings.listen.host, server.port(), flags.source,
               formatDuration(settings.interval), formatDuration(settings.window), settings.host,
               settings.redis ? redactUrl(flags.redis) : "none");
  if (checkpointer) {
    // Once, before the first cycle: a Redis that is down or slow costs at
    // most its timeout here, and the agent starts afresh (counted, logged).
    auto entries = checkpointer->load();
    spdlog::info("checkpoint {}: {} containers to continue (written every {}, expiring after {})",
                 checkpoint_store->describe(), entries.size(), formatDuration(settings.redis_interval),
                 formatDuration(settings.redis_ttl));
    agent.restore(std::move(entries));
    checkpoint_writer->start();
  }

  PeriodicRunner runner(settings.interval, [&] {
    const auto started = std::chrono::steady_clock::now();
    agent.collectOnce();
    metrics.observeCycle(std::chrono::steady_clock::now() - started);
    if (checkpointer && checkpointer->due()) {
      checkpointer->offer(agent.checkpoint());
      checkpoint_writer->runNow();
    }
  });
  runner.start();
  std::unique_ptr<PeriodicRunner> lag_runner;
  if (lag_monitor) {
    lag_runner = std::make_unique<PeriodicRunner>(settings.interval, [&] {
      const auto groups = lag::groupRequests(labelledGroups(*agent.snapshot()), settings.kafka_groups, metrics);
      std::vector<std::string> names;
      for (const auto& request : groups) names.push_back(request.group);
      kafka->retainGroups(names);
      lag_monitor->collectOnce(groups);
    });
    lag_runner->start();
  }
  const int signal = signals.wait();
  spdlog::info("received {}, stopping", signalName(signal));
  if (lag_runner) lag_runner->stop();
  runner.stop();
  if (checkpointer) {
    // The last state, so that a restart (a redeployment) loses nothing.
    checkpoint_writer->stop();
    checkpointer->offer(agent.checkpoint());
    if (checkpointer->writePending()) spdlog::info("checkpoint written to {}", checkpoint_store->describe());
  }
  server.stop();
  return 0;
}

}  // namespace rightsize::cli
