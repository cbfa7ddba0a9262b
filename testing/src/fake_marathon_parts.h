#pragma once

// What the files of the Marathon double share (internal to
// rightsize::testing, not installed). The double is read in four parts:
//   fake_marathon_definition.cc  what Marathon does to an app definition it is
//                                given: ids, defaults, validation, partial updates
//   fake_marathon_query.cc       what GETs answer: query parameters, embeds,
//                                label selectors, the JSON of apps, tasks,
//                                deployments, the queue
//   fake_marathon_state.cc       the state: apps, tasks, deployments, failures
//                                and launch back-off, versions
//   fake_marathon.cc             the route table, the writes, faults, and
//                                FakeMarathon's public methods
// Marathon (below) is FakeMarathon::Impl: one mutex guards all of it.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "held_requests.h"

#include "rightsize/core/json.h"
#include "rightsize/testing/fake_marathon.h"

namespace rightsize::testing::fake_marathon {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;
// An app definition never changes once made, so that the current app, its
// version history and deployment snapshots can share it.
using Definition = std::shared_ptr<const Document>;

// Marathon keeps this many versions of an app (--zk_max_versions).
constexpr std::size_t kMaxVersions = 50;
// Host ports come from the Mesos agents' default "ports" resource, service
// ports from Marathon's --local_port_min/--local_port_max range.
constexpr int kFirstHostPort = 31000;
constexpr int kLastHostPort = 32000;
constexpr int kFirstServicePort = 10000;
constexpr int kLastServicePort = 20000;
// The reference shows only the shape of validation errors and one message
// ("is greater than 1"); these texts follow Marathon's validators.
constexpr std::string_view kPathIdMessage =
    "must fully match regular expression "
    "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'";

// resourceLimits' word for no limit; Marathon keeps it as +infinity.
constexpr std::string_view kUnlimited = "unlimited";

inline Value text(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

inline std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

inline std::string_view stringOr(const Value& object, std::string_view name, std::string_view fallback) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsString() ? std::string_view(value->GetString(), value->GetStringLength())
                                               : fallback;
}

inline double numberOr(const Value& object, std::string_view name, double fallback) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsNumber() ? value->GetDouble() : fallback;
}

// A limit of a normalized definition's resourceLimits ("cpus", "mem"):
// +infinity when "unlimited", nullopt when not set.
inline std::optional<double> resourceLimit(const Value& definition, std::string_view name) {
  const Value* limits = json::find(definition, "resourceLimits");
  const Value* limit = limits != nullptr && limits->IsObject() ? json::find(*limits, name) : nullptr;
  if (limit == nullptr) return std::nullopt;
  if (limit->IsNumber()) return limit->GetDouble();
  if (limit->IsString() && std::string_view(limit->GetString(), limit->GetStringLength()) == kUnlimited) {
    return std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

inline std::size_t arraySize(const Value& object, std::string_view name) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsArray() ? value->Size() : 0;
}

// A random version 4 uuid: task, instance and deployment ids.
std::string uuid(std::mt19937_64& random);

// Answers (fake_marathon.cc).
HttpResponse jsonResponse(int status, std::string body);
HttpResponse messageResponse(int status, std::string_view message);
HttpResponse appNotFound(std::string_view app_id);
HttpResponse lockedResponse(const std::vector<std::string>& deployment_ids);
// The "deployable" answer: {"version": ..., "deploymentId": ...} and the
// Marathon-Deployment-Id header.
HttpResponse deploymentResult(int status, const std::string& deployment_id, const std::string& version);
// Request paths as core's HttpServer hands them over: repeated slashes
// collapsed, no trailing slash (so that handle() answers what the socket would).
std::string normalizePath(std::string_view path);

// App definitions (fake_marathon_definition.cc).

// Marathon's path ids: names separated by '/'. Relative ids are resolved
// against `base`; "." and ".." work as in file paths; empty names (as in
// "/v2/apps//team/web") are dropped.
std::string canonicalId(std::string_view raw, std::string_view base = "/");
// "/team/web" -> "team_web", the prefix of the app's task ids.
std::string taskIdPrefix(std::string_view app_id);

struct Violation {
  std::string path;
  std::string error;
};

// What is wrong with an app definition, as Marathon sorts it: wrong JSON
// types are 400 "Invalid JSON", broken rules 422 "Object is not valid".
struct Problems {
  std::vector<Violation> malformed;
  std::vector<Violation> invalid;

  bool ok() const { return malformed.empty() && invalid.empty(); }
  std::string describe() const;
};

// 400 or 422 with Marathon's "details", one entry per path.
HttpResponse problemsResponse(const Problems& problems);

// Service ports: those given are kept, 0 takes the next free one.
class ServicePorts {
 public:
  void mark(int port) { used_.insert(port); }
  int take();

 private:
  std::set<int> used_;
  int next_ = kFirstServicePort;
};

// Builds Marathon's normalized app definition from the writable `fields` (a
// whole app, or an existing app with a partial update laid over it): every
// field Marathon returns, with its default when not given, then any other
// field given, kept as it is. Read-only fields are dropped. nullptr when
// `problems` holds anything.
Definition normalizeApp(const Value& fields, const std::string& id, ServicePorts& ports, Problems& problems);
// The fields of a PUT/PATCH body laid over `current` (nullptr: none, as for a
// new app or partialUpdate=false); the id and read-only fields of the body
// are left out. resourceLimits is not merged: without it in the body, the
// result has none (Marathon 1.10's AppConversion.appUpdateRamlReader).
Document overlay(const Value* current, const Value& fields);
// True when `a` and `b` are the same definition but for `skip`.
bool sameExcept(const Value& a, const Value& b, std::string_view skip);
// A request body that must be one JSON object, or the 400 to answer.
std::optional<HttpResponse> parseBody(const std::string& body, Document& out);
// FakeAppSpec as the fields of an app definition, before normalizeApp.
Document specFields(const FakeAppSpec& spec);

// An app object found in a document given to addAppsFromJson.
struct FoundApp {
  const Value* app;
  std::string base;   // the enclosing group, for relative ids
  std::string where;  // for messages: "groups[0].apps[2]"
};
// The app objects of one app, an array of apps, or a group ({"apps": [...],
// "groups": [...]}); an error names where the shape is wrong.
Expected<std::vector<FoundApp>> findApps(const Value& document, std::string_view source);

// Queries (fake_marathon_query.cc).

class Query {
 public:
  explicit Query(std::string_view raw);
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
  // As Java's Boolean.parseBoolean, which Marathon's query parameters go
  // through: "true" in any case is true, anything else false.
  bool flag(std::string_view name, bool fallback) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

struct Embeds {
  bool tasks = false;
  bool last_task_failure = false;
  bool readiness = false;
  bool task_stats = false;
};

// apps.tasks / app.tasks / group.apps.tasks or no prefix, ...; "failures"
// implies tasks and lastTaskFailure. Counts and deployments are always
// embedded, as Marathon does (InfoEmbedResolver, AppsResource).
Embeds parseEmbeds(const Query& query);
// What GET /v2/apps/{id} and /v2/apps/{group}/* embed whatever is asked
// ("deprecated. For compatibility." in AppsResource.show).
Embeds showEmbeds(const Query& query);

// Marathon's label selector query: comma-separated (AND) selectors, each
// `key`, `key==value` (or `=`), `key!=value`, `key in (a, b)` or
// `key notin (a, b)`; a backslash escapes the next character.
struct LabelSelector {
  enum class Op { kExists, kEquals, kNotEquals, kIn, kNotIn };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;

  bool matches(const std::map<std::string, std::string>& labels) const;
};
// nullopt when `query` is not a selector query (Marathon answers 400).
std::optional<std::vector<LabelSelector>> parseLabelSelectors(std::string_view query);

// State (fake_marathon_state.cc).

struct TaskState {
  FakeTask task;
  int slot = 0;              // which instance the task is: picks its host and ports
  TimePoint last_success{};  // its health checks' last pass while failing
};

// Marathon's launch delay of an app after failed tasks (RateLimiter's Delay).
struct Backoff {
  TimePoint failed_at;  // the last failure, from which `delay` counts
  Duration delay{};
  TimePoint deadline() const { return failed_at + delay; }
};

struct AppState {
  Definition definition;
  std::string version;
  std::string last_scaling_at;
  std::string last_config_change_at;
  std::vector<std::string> hosts;  // empty: the double's defaults
  std::vector<std::vector<std::uint16_t>> task_ports;
  std::vector<TaskState> tasks;
  std::vector<std::string> deployment_ids;
  std::vector<std::pair<std::string, Definition>> versions;  // oldest first
  std::optional<FakeTaskFailure> last_failure;
  std::optional<Backoff> backoff;
  int queued = 0;  // failed tasks waiting to be relaunched
  TimePoint queued_since{};
  TimePoint launch_at{};  // when the queued tasks launch
};

enum class ChangeKind { kStart, kStop, kScale, kRestart };

struct Deployment {
  FakeDeployment info;
  ChangeKind kind = ChangeKind::kRestart;
  Duration duration{};
  std::optional<AppState> previous;  // the app before; nullopt when it did not exist
};

struct ChangeResult {
  std::string deployment_id;
  std::string version;
};

struct TaskRef {
  std::map<std::string, AppState>::iterator app;
  std::vector<TaskState>::iterator task;
};

// Marathon's TaskCounts of an app.
struct Counts {
  std::int64_t staged = 0;
  std::int64_t running = 0;
  std::int64_t healthy = 0;
  std::int64_t unhealthy = 0;
};

// The double's Marathon. Every member requires `mutex`; deployments and
// relaunches that are due are completed (completeDue()) before the state is
// read or changed.
struct Marathon {
  Marathon(const Clock& c, FakeMarathonOptions o)
      : clock(c), options(std::move(o)), random(options.seed), deployment_duration(options.deployment_duration) {}

  const Clock& clock;
  const FakeMarathonOptions options;
  std::mutex mutex;
  std::mt19937_64 random;
  Duration deployment_duration;
  std::map<std::string, AppState> apps;
  std::vector<Deployment> running;  // in the order started
  std::deque<FinishedDeployment> finished;
  std::map<std::string, DeploymentOutcome> outcomes;
  std::vector<MarathonFault> faults;
  std::deque<RecordedRequest> recorded;
  std::map<std::string, PutCounts> put_counts;
  std::map<std::string, int> agent_numbers;
  ServicePorts service_ports;
  int next_host_port = kFirstHostPort;
  TimePoint last_version{};
  std::string base_url;  // once serving
  // Requests held by kDelay faults (with `mutex`): clearFaults() releases
  // them, stop() releases them and holds no more.
  HeldRequests held{clock};

  // State (fake_marathon_state.cc).
  std::string newVersion();
  const std::vector<std::string>& hostsOf(const AppState& app) const;
  std::string agentId(const std::string& host);
  std::vector<std::uint16_t> hostPorts(const AppState& app, int slot);
  void launch(const std::string& app_id, AppState& app, int slot, TimePoint at);
  bool slotTaken(const AppState& app, int slot) const;
  void relaunch(const std::string& app_id, AppState& app);
  static int instancesOf(const AppState& app);
  void scaleTasks(const std::string& app_id, AppState& app, TimePoint at);
  void replaceTasks(const std::string& app_id, AppState& app, TimePoint at);
  void recordFinished(const std::string& id, const std::string& app_id, FinishedDeployment::End end, TimePoint at);
  void unlock(const std::string& app_id, const std::string& deployment_id);
  DeploymentOutcome outcomeFor(const std::string& app_id) const;
  std::string startDeployment(const std::string& app_id, ChangeKind kind, std::vector<std::string> actions,
                              std::optional<AppState> previous, const std::string& version);
  void complete(Deployment& d, TimePoint at);
  void completeDue();
  std::vector<std::string> lockers(const std::string& app_id) const;
  std::optional<Deployment> cancel(const std::string& deployment_id, FinishedDeployment::End end);
  void cancelAll(const std::string& app_id);
  void remember(AppState& app);
  ChangeResult create(const std::string& app_id, Definition definition);
  ChangeResult change(const std::string& app_id, AppState& app, Definition target, bool restart);
  ChangeResult stop(const std::string& app_id);
  std::optional<TaskRef> findTask(const std::string& task_id);
  static const Value& definitionOf(const AppState& app, const std::string& version);
  static void increaseBackoff(AppState& app, TimePoint now);
  Status failTask(const std::string& task_id, const std::string& state, const std::string& message);
  Status oomKillTask(const std::string& task_id);
  Status setTaskHealth(const std::string& task_id, bool alive);
  void addRunning(std::vector<std::pair<std::string, Definition>> definitions, const std::vector<std::string>& hosts,
                  const std::vector<std::vector<std::uint16_t>>& task_ports, Duration running_for = {});
  static std::map<std::string, std::string> stringMap(const Value& definition, std::string_view name);
  static FakeApp toFakeApp(const std::string& app_id, const AppState& app);

  // What GETs answer (fake_marathon_query.cc).
  static Counts countsOf(const AppState& app);
  void addTask(Value& array, const TaskState& state, const Value& definition, Allocator& a) const;
  static Value definitionJson(const AppState& app, Allocator& a);
  static Value taskFailureJson(const FakeTaskFailure& failure, Allocator& a);
  Value appJson(const AppState& app, const Embeds& embeds, Allocator& a) const;
  Value deploymentJson(const Deployment& d, Allocator& a) const;
  HttpResponse info() const;
  std::string leaderAddress() const;
  HttpResponse leader() const;
  HttpResponse listApps(const Query& query, const std::string& group, const Embeds& embeds) const;
  HttpResponse getApp(const std::string& app_id, const Query& query) const;
  HttpResponse appTasks(const std::string& app_id) const;
  HttpResponse listTasks(const Query& query) const;
  HttpResponse versions(const std::string& app_id) const;
  HttpResponse versionOf(const std::string& app_id, const std::string& version) const;
  HttpResponse queue() const;
  HttpResponse listDeployments() const;

  // Routes, writes and faults (fake_marathon.cc).
  HttpResponse serve(const HttpRequest& request);
  HttpResponse serveApp(const std::string& method, std::string_view rest, const Query& query, const std::string& body);
  HttpResponse createApp(const Query& query, const std::string& body);
  HttpResponse updateApp(const std::string& app_id, const Query& query, const std::string& body, bool patch);
  HttpResponse restartApp(const std::string& app_id, const Query& query);
  HttpResponse deleteApp(const std::string& app_id, const Query& query);
  HttpResponse deleteDeployment(const std::string& deployment_id, const Query& query);
  void record(const HttpRequest& request, int status);
  std::string appOfPath(const std::string& path) const;
  std::optional<MarathonFault> takeFault(const HttpRequest& request);
};

}  // namespace rightsize::testing::fake_marathon
