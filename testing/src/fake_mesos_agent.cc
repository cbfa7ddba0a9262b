#include "rightsize/testing/fake_mesos_agent.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "held_requests.h"

#include "rightsize/core/json.h"
#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::testing {
namespace {

using rapidjson::Document;
using rapidjson::Value;

// CFS enforcement period used by Mesos (--cgroups_enable_cfs): 100 ms.
constexpr double kCfsPeriodSeconds = 0.1;
// Mesos' command executor overhead (src/slave/constants.hpp).
using sizing::kExecutorCpus;
using sizing::kExecutorMemMib;
// The injected clock cannot signal: a held answer looks at it this often.
// Releases wake it at once.
constexpr Duration kClockPoll = std::chrono::milliseconds(2);

void set(Value& object, const char* name, Value value, Document::AllocatorType& allocator) {
  auto it = object.FindMember(name);
  if (it != object.MemberEnd()) {
    it->value = std::move(value);
  } else {
    object.AddMember(Value(name, allocator), std::move(value), allocator);
  }
}

Value text(const std::string& s, Document::AllocatorType& allocator) {
  return Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), allocator);
}

// As Mesos writes JSON (stout's jsonify): an infinite number, an
// "unlimited" resource limit, as the bare token Infinity.
std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteNanAndInfFlag>
      writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string lastSegment(const std::string& app_id) {
  const auto slash = app_id.rfind('/');
  return slash == std::string::npos ? app_id : app_id.substr(slash + 1);
}

}  // namespace

struct FakeMesosAgent::Templates {
  Document state;       // the fixture, frameworks removed
  Document framework;   // first framework, executors removed
  Document executor;    // first executor, tasks removed
  Document task;        // first task of that executor
  Document statistics;  // first statistics entry
};

Expected<std::unique_ptr<FakeMesosAgent>> FakeMesosAgent::create(const Clock& clock, std::string_view state_fixture,
                                                                 std::string_view statistics_fixture) {
  auto state = json::parse(state_fixture, "state fixture");
  if (!state) return state.error();
  auto statistics = json::parse(statistics_fixture, "statistics fixture");
  if (!statistics) return statistics.error();
  auto bad = [](const std::string& what) { return Error(ErrorKind::kInvalidArgument, "fixture: " + what); };
  if (!statistics->IsArray() || statistics->Empty() || !(*statistics)[0].IsObject() ||
      !json::find((*statistics)[0], "statistics")) {
    return bad("statistics must be a non-empty array of {executor_id, statistics}");
  }
  const Value* frameworks = json::find(*state, "frameworks");
  if (!state->IsObject() || frameworks == nullptr || !frameworks->IsArray() || frameworks->Empty()) {
    return bad("state must have a non-empty frameworks array");
  }
  const Value& framework = (*frameworks)[0];
  const Value* executors = json::find(framework, "executors");
  if (executors == nullptr || !executors->IsArray() || executors->Empty()) {
    return bad("state's first framework must have executors");
  }
  const Value& executor = (*executors)[0];
  const Value* tasks = json::find(executor, "tasks");
  if (tasks == nullptr || !tasks->IsArray() || tasks->Empty()) return bad("state's first executor must have tasks");

  auto templates = std::make_unique<Templates>();
  templates->task.CopyFrom((*tasks)[0], templates->task.GetAllocator());
  templates->executor.CopyFrom(executor, templates->executor.GetAllocator());
  templates->executor["tasks"].SetArray();
  templates->framework.CopyFrom(framework, templates->framework.GetAllocator());
  templates->framework["executors"].SetArray();
  templates->statistics.CopyFrom((*statistics)[0], templates->statistics.GetAllocator());
  templates->state.Swap(*state);
  templates->state["frameworks"].SetArray();
  return std::unique_ptr<FakeMesosAgent>(new FakeMesosAgent(clock, std::move(templates)));
}

FakeMesosAgent::FakeMesosAgent(const Clock& clock, std::unique_ptr<Templates> templates)
    : clock_(clock),
      templates_(std::move(templates)),
      counted_until_(clock.now()),
      held_(std::make_unique<HeldRequests>(clock)) {
  if (const Value* resources = json::find(templates_->state, "resources");
      resources != nullptr && resources->IsObject()) {
    const Value* cpus = json::find(*resources, "cpus");
    const Value* mem = json::find(*resources, "mem");
    if (cpus != nullptr && cpus->IsNumber() && cpus->GetDouble() > 0) host_cpus_ = cpus->GetDouble();
    if (mem != nullptr && mem->IsNumber() && mem->GetDouble() > 0) {
      host_memory_bytes_ = static_cast<std::uint64_t>(mem->GetDouble()) * kMiBBytes;
    }
  }
}

FakeMesosAgent::~FakeMesosAgent() { stop(); }

void FakeMesosAgent::stop() {
  {
    std::lock_guard lock(mutex_);
    held_->stop();
  }
  if (server_) server_->stop();
}

void FakeMesosAgent::addExecutor(const FakeExecutorSpec& spec, FakeUsage usage) {
  std::lock_guard lock(mutex_);
  catchUp();
  Executor executor;
  executor.spec = spec;
  executor.usage = usage;
  executors_[spec.executor_id] = std::move(executor);
}

void FakeMesosAgent::removeExecutor(const std::string& executor_id) {
  std::lock_guard lock(mutex_);
  executors_.erase(executor_id);
}

void FakeMesosAgent::setUsage(const std::string& executor_id, FakeUsage usage) {
  std::lock_guard lock(mutex_);
  catchUp();
  if (auto it = executors_.find(executor_id); it != executors_.end()) it->second.usage = usage;
}

void FakeMesosAgent::setLimits(const std::string& executor_id, double cpus_limit, std::uint64_t mem_limit_bytes) {
  std::lock_guard lock(mutex_);
  catchUp();
  if (auto it = executors_.find(executor_id); it != executors_.end()) {
    it->second.spec.cpus_limit = cpus_limit;
    it->second.spec.mem_limit_bytes = mem_limit_bytes;
  }
}

void FakeMesosAgent::resetCounters(const std::string& executor_id) {
  std::lock_guard lock(mutex_);
  catchUp();
  if (auto it = executors_.find(executor_id); it != executors_.end()) {
    auto& e = it->second;
    e.user_seconds = e.system_seconds = e.periods = e.throttled = e.throttled_seconds = 0;
  }
}

void FakeMesosAgent::catchUp() const {
  const TimePoint now = clock_.now();
  if (now <= counted_until_) return;
  const double seconds = toSeconds(now - counted_until_);
  counted_until_ = now;
  for (auto& [id, e] : executors_) {
    const double cpu = e.usage.used_cores * seconds;
    // Roughly the user/system split of a busy JVM service.
    e.user_seconds += 0.85 * cpu;
    e.system_seconds += 0.15 * cpu;
    if (e.spec.cfs) {
      const double periods = seconds / kCfsPeriodSeconds;
      e.periods += periods;
      e.throttled += periods * std::clamp(e.usage.throttled_ratio, 0.0, 1.0);
      e.throttled_seconds += seconds * std::max(e.usage.throttled_cores, 0.0);
    }
  }
}

void FakeMesosAgent::setAttribute(const std::string& name, const std::string& value) {
  std::lock_guard lock(mutex_);
  attributes_[name] = value;
}

void FakeMesosAgent::setHostCpus(double cores) {
  std::lock_guard lock(mutex_);
  host_cpus_ = cores;
}

void FakeMesosAgent::setHostMemory(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  host_memory_bytes_ = bytes;
}

void FakeMesosAgent::setFault(FakeFault fault) {
  std::lock_guard lock(mutex_);
  if (fault.kind == FakeFault::Kind::kNone) {
    held_->releaseAll();
  }
  fault_ = std::move(fault);
}

std::uint64_t FakeMesosAgent::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = requests_.find(path);
  return it == requests_.end() ? 0 : it->second;
}

std::string FakeMesosAgent::statisticsBody() const {
  std::lock_guard lock(mutex_);
  catchUp();
  Document out(rapidjson::kArrayType);
  auto& a = out.GetAllocator();
  const std::string framework_id = json::getOptionalString(templates_->framework, "id", "").value().value_or("");
  const double now = toUnixSeconds(counted_until_);
  for (const auto& [id, e] : executors_) {
    Value entry;
    entry.CopyFrom(templates_->statistics, a);
    set(entry, "executor_id", text(id, a), a);
    set(entry, "source", text(id, a), a);
    set(entry, "framework_id", text(framework_id, a), a);
    set(entry, "executor_name", text("Command Executor (Task: " + id + ") (Command: sh -c '...')", a), a);
    Value& s = entry["statistics"];
    set(s, "timestamp", Value(now), a);
    set(s, "cpus_limit", Value(e.spec.cpus_limit), a);
    set(s, "cpus_user_time_secs", Value(std::round(e.user_seconds * 100) / 100), a);
    set(s, "cpus_system_time_secs", Value(std::round(e.system_seconds * 100) / 100), a);
    if (e.spec.cfs) {
      set(s, "cpus_nr_periods", Value(static_cast<std::uint64_t>(e.periods)), a);
      set(s, "cpus_nr_throttled", Value(static_cast<std::uint64_t>(e.throttled)), a);
      set(s, "cpus_throttled_time_secs", Value(e.throttled_seconds), a);
    } else {
      s.RemoveMember("cpus_nr_periods");
      s.RemoveMember("cpus_nr_throttled");
      s.RemoveMember("cpus_throttled_time_secs");
    }
    set(s, "mem_rss_bytes", Value(e.usage.resident_bytes), a);
    set(s, "mem_anon_bytes", Value(e.usage.resident_bytes), a);
    set(s, "mem_mapped_file_bytes", Value(std::uint64_t{0}), a);
    std::uint64_t cache = 0;
    if (auto it = s.FindMember("mem_cache_bytes"); it != s.MemberEnd() && it->value.IsUint64()) {
      cache = it->value.GetUint64();
    }
    set(s, "mem_total_bytes", Value(e.usage.resident_bytes + cache), a);
    set(s, "mem_limit_bytes", Value(e.spec.mem_limit_bytes), a);
    if (e.spec.task_cpus_limit || e.spec.task_mem_limit_mib) {
      // Mesos 1.10+: the requests as soft limits, the hard limits as limits.
      set(s, "cpus_soft_limit", Value(e.spec.cpus_limit), a);
      if (e.spec.task_cpus_limit) {
        const double hard = *e.spec.task_cpus_limit + kExecutorCpus;
        set(s, "cpus_limit", Value(std::isinf(hard) ? host_cpus_ : hard), a);
      } else if (!e.spec.cfs) {
        s.RemoveMember("cpus_limit");
      }
      set(s, "mem_soft_limit_bytes", Value(e.spec.mem_limit_bytes), a);
      if (e.spec.task_mem_limit_mib) {
        const double hard_mib = *e.spec.task_mem_limit_mib + kExecutorMemMib;
        set(s, "mem_limit_bytes",
            Value(std::isinf(hard_mib) ? host_memory_bytes_
                                       : static_cast<std::uint64_t>(std::max(hard_mib, 0.0)) * kMiBBytes),
            a);
      }
    }
    out.PushBack(std::move(entry), a);
  }
  return serialize(out);
}

std::string FakeMesosAgent::stateBody() const {
  std::lock_guard lock(mutex_);
  Document out;
  auto& a = out.GetAllocator();
  out.CopyFrom(templates_->state, a);
  Value framework;
  framework.CopyFrom(templates_->framework, a);
  const std::string framework_id = json::getOptionalString(framework, "id", "").value().value_or("");
  const std::string agent_id = json::getOptionalString(out, "id", "").value().value_or("");
  if (auto resources = out.FindMember("resources"); resources != out.MemberEnd() && resources->value.IsObject()) {
    const Value* cpus = json::find(resources->value, "cpus");
    if (cpus == nullptr || !cpus->IsNumber() || cpus->GetDouble() != host_cpus_) {
      set(resources->value, "cpus", Value(host_cpus_), a);
    }
  }
  for (const auto& [id, e] : executors_) {
    Value executor;
    executor.CopyFrom(templates_->executor, a);
    set(executor, "id", text(id, a), a);
    set(executor, "source", text(id, a), a);
    set(executor, "container", text(e.spec.container_id, a), a);
    set(executor, "name", text("Command Executor (Task: " + id + ") (Command: sh -c '...')", a), a);
    set(executor, "directory",
        text("/var/lib/mesos/slaves/" + agent_id + "/frameworks/" + framework_id + "/executors/" + id + "/runs/" +
                 e.spec.container_id,
             a),
        a);
    const double mem_mb = static_cast<double>(e.spec.mem_limit_bytes >> 20);
    Value resources(rapidjson::kObjectType);
    resources.AddMember("cpus", e.spec.cpus_limit, a);
    resources.AddMember("mem", mem_mb, a);
    resources.AddMember("disk", 0, a);
    set(executor, "resources", std::move(resources), a);
    Value task;
    task.CopyFrom(templates_->task, a);
    set(task, "id", text(id, a), a);
    set(task, "name", text(lastSegment(e.spec.app_id), a), a);
    set(task, "framework_id", text(framework_id, a), a);
    set(task, "executor_id", text("", a), a);
    set(task, "state", text("TASK_RUNNING", a), a);
    Value labels(rapidjson::kArrayType);
    for (const auto& [key, value] : e.spec.labels) {
      Value label(rapidjson::kObjectType);
      label.AddMember("key", text(key, a), a);
      label.AddMember("value", text(value, a), a);
      labels.PushBack(std::move(label), a);
    }
    set(task, "labels", std::move(labels), a);
    Value task_resources(rapidjson::kObjectType);
    task_resources.AddMember("cpus", std::max(0.0, e.spec.cpus_limit - kExecutorCpus), a);
    task_resources.AddMember("mem", std::max(0.0, mem_mb - kExecutorMemMib), a);
    task_resources.AddMember("disk", 0, a);
    set(task, "resources", std::move(task_resources), a);
    if (e.spec.task_cpus_limit || e.spec.task_mem_limit_mib) {
      Value limits(rapidjson::kObjectType);
      if (e.spec.task_cpus_limit) limits.AddMember("cpus", *e.spec.task_cpus_limit, a);
      if (e.spec.task_mem_limit_mib) limits.AddMember("mem", *e.spec.task_mem_limit_mib, a);
      set(task, "limits", std::move(limits), a);
    }
    executor["tasks"].PushBack(std::move(task), a);
    framework["executors"].PushBack(std::move(executor), a);
  }
  out["frameworks"].PushBack(std::move(framework), a);
  if (!attributes_.empty()) {
    Value attributes(rapidjson::kObjectType);
    for (const auto& [name, value] : attributes_) attributes.AddMember(text(name, a), text(value, a), a);
    set(out, "attributes", std::move(attributes), a);
  }
  return serialize(out);
}

HttpResponse FakeMesosAgent::serve(const std::string& path, std::string body) {
  FakeFault fault;
  {
    std::unique_lock lock(mutex_);
    ++requests_[path];
    if (fault_.kind != FakeFault::Kind::kNone && (fault_.path_filter.empty() || fault_.path_filter == path) &&
        fault_.remaining != 0) {
      fault = fault_;
      if (fault_.remaining > 0 && --fault_.remaining == 0) fault_ = {};
    }
    // A deliberately slow peer, slow on the agent's clock.
    if (fault.kind == FakeFault::Kind::kSlow) held_->hold(lock, fault.delay);
  }
  HttpResponse response;
  response.content_type = "application/json";
  switch (fault.kind) {
    case FakeFault::Kind::kNone:
      response.body = std::move(body);
      break;
    case FakeFault::Kind::kHttpStatus:
      response.status = fault.http_status;
      response.content_type = "text/plain";
      response.body = "Service Unavailable";
      break;
    case FakeFault::Kind::kGarbage:
      response.body = "<html><body>502 Bad Gateway</body></html>";
      break;
    case FakeFault::Kind::kTruncated:
      response.body = body.substr(0, body.size() / 2);
      break;
    case FakeFault::Kind::kSlow:
      response.body = std::move(body);
      break;
  }
  return response;
}

Status FakeMesosAgent::start(const HostPort& listen) {
  HttpServerOptions options;
  options.listen = listen;
  server_ = std::make_unique<HttpServer>(options);
  for (std::string path : {"/monitor/statistics", "/monitor/statistics.json"}) {
    server_->route(path, [this, path](const HttpRequest&) { return serve(path, statisticsBody()); });
  }
  for (std::string path : {"/state", "/state.json"}) {
    server_->route(path, [this, path](const HttpRequest&) { return serve(path, stateBody()); });
  }
  return server_->start();
}

std::string FakeMesosAgent::url() const { return server_ ? server_->baseUrl() : std::string(); }

}  // namespace rightsize::testing
