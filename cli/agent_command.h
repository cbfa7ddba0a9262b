#pragma once

// `rightsize agent`: flags, their validation, and the daemon's main loop.

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/redis.h"
#include "rightsize/core/status.h"
#include "rightsize/core/text.h"

namespace rightsize::cli {

// Flag values as given (strings), bound to CLI11 options.
struct AgentFlags {
  std::string source = "mesos";
  std::string mesos_url = "http://127.0.0.1:5051";
  std::string mesos_timeout = "5s";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_prefix = "mesos";
  std::string proc_root = "/proc";
  std::string interval = "10s";
  std::string window = "5m";
  std::string host;
  std::string instance_type;
  std::string zone;
  std::string lifecycle;
  std::string listen = "0.0.0.0:9540";
  std::string log_level = "info";
  std::string kafka_brokers;
  std::vector<std::string> kafka_groups;
  std::string kafka_window = "10m";
  std::string kafka_timeout;  // default: the smaller of 5s and --interval
  std::string redis;          // empty: no checkpoint
  std::string redis_prefix = "rightsize:";
  std::string redis_interval = "30s";
};

// Validated settings.
struct AgentSettings {
  AgentFlags flags;
  Duration interval{};
  Duration window{};
  Duration mesos_timeout{};
  HostPort listen;
  std::string host;
  Duration kafka_window{};
  Duration kafka_timeout{};
  std::vector<std::string> kafka_groups;  // validated --kafka-group values
  // The checkpoint, with --redis: where (password from
  // RIGHTSIZE_REDIS_PASSWORD[_FILE]), under which key, how often, and how
  // long it outlives the agent.
  std::optional<RedisConnectionOptions> redis;
  std::string redis_key;
  Duration redis_interval{};
  Duration redis_ttl{};
};

// Registers the subcommand and its flags (each with an env fallback).
CLI::App* addAgentCommand(CLI::App& app, AgentFlags& flags);

// Checks what single-flag validators cannot (e.g. --window against
// --interval), reads the Redis password from the environment and fills in
// defaults (the host name).
Expected<AgentSettings> resolveAgentSettings(const AgentFlags& flags);

// Runs until SIGINT, SIGTERM or SIGHUP. Returns the process exit code.
int runAgent(const AgentSettings& settings);

}  // namespace rightsize::cli
