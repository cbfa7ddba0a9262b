#include "rightsize/agent/cgroup_source.h"

#include <algorithm>

#include "rightsize/core/text.h"

namespace rightsize::agent {
namespace {

// Directories that Mesos keeps next to container cgroups under cgroup v2.
bool isReservedName(std::string_view name) { return name == "leaf" || name == "agent" || name == "mesos"; }

// Docker's systemd driver names a container's unit "docker-<id>.scope", the
// id being its 64 lowercase hex digits; its slice also holds units that are
// not containers (docker.service, mounts, other programs' scopes).
std::optional<std::string_view> dockerScopeId(std::string_view name) {
  constexpr std::string_view kPrefix = "docker-";
  constexpr std::string_view kSuffix = ".scope";
  constexpr std::size_t kIdLength = 64;
  if (name.size() != kPrefix.size() + kIdLength + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view id = name.substr(kPrefix.size(), kIdLength);
  const bool hex =
      std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  return hex ? std::optional(id) : std::nullopt;
}

std::string join(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size() + 1);
  out += a;
  out += '/';
  out += b;
  return out;
}

}  // namespace

CgroupSource::CgroupSource(const FileSystem& fs, const Clock& clock, CgroupSourceOptions options)
    : fs_(fs), clock_(clock), options_(std::move(options)) {
  while (options_.root.size() > 1 && options_.root.back() == '/') options_.root.pop_back();
  buffer_.reserve(4096);
}

std::string CgroupSource::findV1Hierarchy(std::string_view controller) const {
  std::string direct = join(options_.root, controller);
  if (fs_.isDirectory(direct)) return direct;
  // Co-mounted controllers, e.g. "cpu,cpuacct".
  auto entries = fs_.listDirectories(options_.root);
  if (!entries) return {};
  for (const auto& entry : *entries) {
    for (const auto& part : splitList(entry, ',')) {
      if (part == controller) return join(options_.root, entry);
    }
  }
  return {};
}

bool CgroupSource::resolveLayout(SourceReading& reading) {
  if (version_ != Version::kUnknown) return true;
  if (fs_.exists(join(options_.root, "cgroup.controllers"))) {
    version_ = Version::kV2;
    return true;
  }
  cpuacct_dir_ = findV1Hierarchy("cpuacct");
  if (cpuacct_dir_.empty()) {
    reading.errors.emplace_back(ErrorKind::kUnreadable,
                                options_.root +
                                    ": neither a cgroup v2 hierarchy nor a directory holding a v1 "
                                    "cpuacct hierarchy");
    return false;
  }
  cpu_dir_ = findV1Hierarchy("cpu");
  memory_dir_ = findV1Hierarchy("memory");
  version_ = Version::kV1;
  return true;
}

std::optional<std::vector<std::string>> CgroupSource::listCgroups(const std::string& dir, SourceReading& reading) {
  auto names = fs_.listDirectories(dir);
  if (names) return std::move(*names);
  // A missing directory: no containers of that kind on this host.
  if (names.error().kind() != ErrorKind::kMissingField) {
    reading.errors.push_back(names.error());
    reading.complete = false;
  }
  return std::nullopt;
}

void CgroupSource::discover(const std::string& hierarchy, std::vector<Location>& found, SourceReading& reading) {
  for (const std::string* prefix : {&options_.prefix, &options_.docker_prefix}) {
    if (prefix->empty()) continue;
    auto names = listCgroups(join(hierarchy, *prefix), reading);
    if (!names) continue;
    const bool mesos_layout = prefix == &options_.prefix;
    for (auto& name : *names) {
      if (isReservedName(name)) continue;
      Location location{join(*prefix, name), name, false};
      if (mesos_layout) discoverNested(hierarchy, location, 1, found, reading);
      found.push_back(std::move(location));
    }
  }
  if (options_.docker_slice.empty()) return;
  if (auto names = listCgroups(join(hierarchy, options_.docker_slice), reading)) {
    for (const auto& name : *names) {
      if (auto id = dockerScopeId(name)) found.push_back({join(options_.docker_slice, name), std::string(*id), false});
    }
  }
}

void CgroupSource::discoverNested(const std::string& hierarchy, const Location& parent, int depth,
                                  std::vector<Location>& found, SourceReading& reading) {
  if (depth > options_.max_nesting) return;
  const std::string nested_root = join(join(hierarchy, parent.relative), "mesos");
  if (!fs_.isDirectory(nested_root)) return;
  auto names = fs_.listDirectories(nested_root);
  if (!names) {
    if (names.error().kind() != ErrorKind::kMissingField) reading.errors.push_back(names.error());
    return;
  }
  for (auto& name : *names) {
    if (isReservedName(name)) continue;
    Location child{join(join(parent.relative, "mesos"), name), parent.container_id + "." + name, true};
    discoverNested(hierarchy, child, depth + 1, found, reading);
    found.push_back(std::move(child));
  }
}

bool CgroupSource::readUsage(const std::string& path, const Location& location, SourceReading& reading) {
  auto status = fs_.readFile(path, buffer_);
  if (status) return true;
  if (status.error().kind() != ErrorKind::kMissingField) {
    reading.errors.push_back(status.error());
    reading.unreadable.push_back(location.container_id);
  }
  return false;
}

bool CgroupSource::readOptional(const std::string& path, SourceReading& reading) {
  auto status = fs_.readFile(path, buffer_);
  if (status) return true;
  if (status.error().kind() != ErrorKind::kMissingField) reading.errors.push_back(status.error());
  return false;
}

SourceReading CgroupSource::read() {
  SourceReading reading;
  reading.host_capacity_cores = options_.host_cores;
  reading.host_capacity_bytes = options_.host_bytes;
  reading.host_place = wire::HostPlace{options_.instance_type, options_.zone, options_.lifecycle};
  if (!resolveLayout(reading)) {
    reading.complete = false;
    return reading;
  }
  std::vector<Location> locations;
  discover(version_ == Version::kV1 ? cpuacct_dir_ : options_.root, locations, reading);
  reading.containers.reserve(locations.size());
  ++read_count_;
  for (const auto& location : locations) {
    Known& known = known_[location.relative];
    known.last_read = read_count_;
    auto sample = version_ == Version::kV1 ? readV1(location, known, reading) : readV2(location, known, reading);
    if (sample) reading.containers.push_back(std::move(*sample));
  }
  std::erase_if(known_, [&](const auto& entry) { return entry.second.last_read != read_count_; });
  return reading;
}

ContainerSample CgroupSource::newSample(const Location& location) const {
  ContainerSample sample;
  sample.identity.container_id = location.container_id;
  sample.identity.nested = location.nested;
  sample.identity.instance_type = options_.instance_type;
  sample.at = clock_.now();
  return sample;
}

std::optional<ContainerSample> CgroupSource::readV1(const Location& location, Known& known, SourceReading& reading) {
  ContainerSample sample = newSample(location);
  const std::string cpuacct = join(cpuacct_dir_, location.relative);
  // A container that exits between listing and reading simply vanishes;
  // one whose file cannot be read is kept.
  if (!readUsage(join(cpuacct, "cpuacct.usage"), location, reading)) return std::nullopt;
  auto usage_ns = parseSingleValue(buffer_);
  if (!usage_ns) {
    reading.errors.push_back(usage_ns.error().withContext(join(cpuacct, "cpuacct.usage")));
    reading.unreadable.push_back(location.container_id);
    return std::nullopt;
  }
  sample.cpu_seconds = static_cast<double>(*usage_ns) / 1e9;

  if (!cpu_dir_.empty()) {
    const std::string cpu_stat = join(join(cpu_dir_, location.relative), "cpu.stat");
    if (readOptional(cpu_stat, reading)) {
      auto periods = parseKeyedValue(buffer_, "nr_periods");
      auto throttled = parseKeyedValue(buffer_, "nr_throttled");
      if (periods && throttled) {
        sample.cfs_periods = *periods;
        sample.cfs_throttled_periods = *throttled;
      } else {
        reading.errors.push_back((periods ? throttled.error() : periods.error()).withContext(cpu_stat));
      }
      // Kernels before 2.6.38's CFS bandwidth control have no throttled_time.
      if (auto throttled_ns = parseKeyedValue(buffer_, "throttled_time"); !throttled_ns) {
        reading.errors.push_back(throttled_ns.error().withContext(cpu_stat));
      } else if (throttled_ns->has_value()) {
        sample.cfs_throttled_seconds = static_cast<double>(**throttled_ns) / 1e9;
      }
    }
  }
  if (!memory_dir_.empty()) {
    const std::string memory_stat = join(join(memory_dir_, location.relative), "memory.stat");
    if (readOptional(memory_stat, reading)) {
      auto rss = parseKeyedValue(buffer_, "total_rss");
      auto mapped = parseKeyedValue(buffer_, "total_mapped_file");
      if (rss && mapped && rss->has_value()) {
        sample.memory_used_bytes = **rss + mapped->value_or(0);
      } else if (!rss || !mapped) {
        reading.errors.push_back((rss ? mapped.error() : rss.error()).withContext(memory_stat));
      } else {
        reading.errors.emplace_back(ErrorKind::kMissingField, memory_stat + ": no total_rss");
      }
    }
  }
  if (sample.at >= known.limits_due || known.limits_due - sample.at > options_.limits_refresh) {
    readV1Limits(location, known, reading);
    known.limits_due = sample.at + options_.limits_refresh;
  }
  sample.reserved_cores = known.reserved_cores;
  sample.limit_cores = known.limit_cores;
  sample.memory_limit_bytes = known.memory_limit_bytes;
  sample.memory_request_bytes = known.memory_request_bytes;
  if (identityDue(sample.at, known)) resolveIdentity(join(cpuacct, "cgroup.procs"), sample.at, known, reading);
  sample.identity.app_id = known.environment.app_id;
  sample.identity.task_id = known.environment.task_id;
  sample.identity.env = known.environment.env;
  sample.identity.kafka_groups = known.environment.kafka_groups;
  return sample;
}

void CgroupSource::readV1Limits(const Location& location, Known& known, SourceReading& reading) {
  known.reserved_cores.reset();
  known.limit_cores.reset();
  known.memory_limit_bytes.reset();
  known.memory_request_bytes.reset();
  if (!cpu_dir_.empty()) {
    const std::string cpu = join(cpu_dir_, location.relative);
    std::optional<std::uint64_t> quota;
    if (readOptional(join(cpu, "cpu.cfs_quota_us"), reading)) {
      auto parsed = parseCfsQuota(buffer_);
      if (parsed) {
        quota = *parsed;
      } else {
        reading.errors.push_back(parsed.error().withContext(cpu));
      }
    }
    // No quota (-1, or no CFS bandwidth control in this kernel): no limit.
    if (quota) {
      if (readOptional(join(cpu, "cpu.cfs_period_us"), reading)) {
        auto period = parseSingleValue(buffer_);
        if (period && *period > 0) {
          known.limit_cores = reservedCoresFromCfs(*quota, *period);
        } else {
          reading.errors.emplace_back(ErrorKind::kMalformed,
                                      join(cpu, "cpu.cfs_period_us") + ": not a positive number");
        }
      }
    }
    std::optional<double> request;
    if (readOptional(join(cpu, "cpu.shares"), reading)) {
      auto shares = parseSingleValue(buffer_);
      if (shares) {
        request = reservedCoresFromShares(*shares);
      } else {
        reading.errors.push_back(shares.error().withContext(join(cpu, "cpu.shares")));
      }
    }
    known.reserved_cores = reservedCores(request, known.limit_cores, kSharesToleranceCores);
  }
  if (!memory_dir_.empty()) {
    const std::string memory = join(memory_dir_, location.relative);
    const std::string limit_path = join(memory, "memory.limit_in_bytes");
    if (readOptional(limit_path, reading)) {
      auto limit = parseMemoryLimitV1(buffer_);
      if (limit) {
        known.memory_limit_bytes = *limit;
      } else {
        reading.errors.push_back(limit.error().withContext(limit_path));
      }
    }
    const std::string soft_path = join(memory, "memory.soft_limit_in_bytes");
    if (readOptional(soft_path, reading)) {
      auto soft = parseMemorySoftLimitV1(buffer_);
      if (soft) {
        known.memory_request_bytes = *soft;
      } else {
        reading.errors.push_back(soft.error().withContext(soft_path));
      }
    }
  }
}

std::optional<ContainerSample> CgroupSource::readV2(const Location& location, Known& known, SourceReading& reading) {
  ContainerSample sample = newSample(location);
  const std::string dir = join(options_.root, location.relative);
  const std::string cpu_stat = join(dir, "cpu.stat");
  if (!readUsage(cpu_stat, location, reading)) return std::nullopt;
  auto usage_us = parseKeyedValue(buffer_, "usage_usec");
  if (!usage_us || !usage_us->has_value()) {
    reading.errors.push_back(usage_us ? Error(ErrorKind::kMissingField, cpu_stat + ": no usage_usec")
                                      : usage_us.error().withContext(cpu_stat));
    reading.unreadable.push_back(location.container_id);
    return std::nullopt;
  }
  sample.cpu_seconds = static_cast<double>(**usage_us) / 1e6;
  auto periods = parseKeyedValue(buffer_, "nr_periods");
  auto throttled = parseKeyedValue(buffer_, "nr_throttled");
  if (periods && throttled) {
    sample.cfs_periods = *periods;
    sample.cfs_throttled_periods = *throttled;
  }
  if (auto throttled_us = parseKeyedValue(buffer_, "throttled_usec"); !throttled_us) {
    reading.errors.push_back(throttled_us.error().withContext(cpu_stat));
  } else if (throttled_us->has_value()) {
    sample.cfs_throttled_seconds = static_cast<double>(**throttled_us) / 1e6;
  }
  const std::string memory_stat = join(dir, "memory.stat");
  if (readOptional(memory_stat, reading)) {
    auto anon = parseKeyedValue(buffer_, "anon");
    auto mapped = parseKeyedValue(buffer_, "file_mapped");
    if (anon && mapped && anon->has_value()) {
      sample.memory_used_bytes = **anon + mapped->value_or(0);
    } else if (!anon || !mapped) {
      reading.errors.push_back((anon ? mapped.error() : anon.error()).withContext(memory_stat));
    }
  }
  if (sample.at >= known.limits_due || known.limits_due - sample.at > options_.limits_refresh) {
    readV2Limits(dir, known, reading);
    known.limits_due = sample.at + options_.limits_refresh;
  }
  sample.reserved_cores = known.reserved_cores;
  sample.limit_cores = known.limit_cores;
  sample.memory_limit_bytes = known.memory_limit_bytes;
  sample.memory_request_bytes = known.memory_request_bytes;
  const std::string leaf = join(dir, "leaf");
  if (identityDue(sample.at, known)) {
    resolveIdentity(join(fs_.isDirectory(leaf) ? leaf : dir, "cgroup.procs"), sample.at, known, reading);
  }
  sample.identity.app_id = known.environment.app_id;
  sample.identity.task_id = known.environment.task_id;
  sample.identity.env = known.environment.env;
  sample.identity.kafka_groups = known.environment.kafka_groups;
  return sample;
}

void CgroupSource::readV2Limits(const std::string& dir, Known& known, SourceReading& reading) {
  known.reserved_cores.reset();
  known.limit_cores.reset();
  known.memory_limit_bytes.reset();
  known.memory_request_bytes.reset();
  if (readOptional(join(dir, "cpu.max"), reading)) {
    auto cpu_max = parseCpuMax(buffer_);
    if (!cpu_max) {
      reading.errors.push_back(cpu_max.error().withContext(join(dir, "cpu.max")));
    } else if (cpu_max->quota_us) {
      known.limit_cores = reservedCoresFromCfs(*cpu_max->quota_us, cpu_max->period_us);
    }
  }
  std::optional<double> request;
  if (readOptional(join(dir, "cpu.weight"), reading)) {
    auto weight = parseSingleValue(buffer_);
    if (weight) {
      request = reservedCoresFromWeight(*weight);
    } else {
      reading.errors.push_back(weight.error().withContext(join(dir, "cpu.weight")));
    }
  }
  known.reserved_cores = reservedCores(request, known.limit_cores, kWeightToleranceCores);
  if (readOptional(join(dir, "memory.max"), reading)) {
    auto limit = parseMemoryMaxV2(buffer_);
    if (limit) {
      known.memory_limit_bytes = *limit;
    } else {
      reading.errors.push_back(limit.error().withContext(join(dir, "memory.max")));
    }
  }
  if (readOptional(join(dir, "memory.low"), reading)) {
    auto low = parseMemoryLowV2(buffer_);
    if (low) {
      known.memory_request_bytes = *low;
    } else {
      reading.errors.push_back(low.error().withContext(join(dir, "memory.low")));
    }
  }
}

bool CgroupSource::identityDue(TimePoint now, const Known& known) const {
  if (known.identity_resolved) return false;
  // A due time further away than the retry period means the clock went back.
  return now >= known.identity_due || known.identity_due - now > options_.identity_retry;
}

void CgroupSource::resolveIdentity(const std::string& procs_path, TimePoint now, Known& known, SourceReading& reading) {
  known.identity_due = now + options_.identity_retry;
  if (!readOptional(procs_path, reading)) return;
  auto pids = parseCgroupProcs(buffer_);
  if (!pids) {
    reading.errors.push_back(pids.error().withContext(procs_path));
    return;
  }
  std::size_t examined = 0;
  for (int pid : *pids) {
    if (examined++ == options_.max_pids_examined) break;
    const std::string environ_path = join(join(options_.proc_root, std::to_string(pid)), "environ");
    if (!readOptional(environ_path, reading)) continue;
    // Only Marathon sets MARATHON_APP_ID; other frameworks' tasks keep an
    // empty app id rather than one guessed from their task id.
    TaskEnvironment environment = parseTaskEnvironment(buffer_);
    if (!environment.app_id.empty() || !environment.task_id.empty()) {
      known.environment = std::move(environment);
      known.identity_resolved = true;
      return;
    }
  }
}

}  // namespace rightsize::agent
