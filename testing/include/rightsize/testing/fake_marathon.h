#pragma once

// A stateful test double of Marathon's REST API v2 (the subset a sizer and
// Marathon clients use), shaped like shared/reference/marathon: apps with
// tasks placed on named hosts, deployments that last a configurable time on
// the injected clock and lock their app meanwhile, Marathon's status codes and
// error bodies, and fault injection.
//
// As in Marathon, a change is visible in the app definition at once (new
// version, new cpus/mem) while its tasks keep running the old definition until
// the deployment ends; the deployment then replaces them (new task ids,
// startedAt and version) and disappears from /v2/deployments. Deployments end
// lazily: whenever the double is read, those whose time has passed are
// completed first, in order.
//
// Served (other paths answer 404 {"message":"URI not found: <path>"}, other
// methods on these paths 405):
//   GET /v2/apps[?embed=apps.tasks|apps.counts|apps.deployments|apps.lastTaskFailure|apps.failures|...
//                &id=&cmd=&label=]
//   POST /v2/apps; GET|PUT|PATCH|DELETE /v2/apps/{id}[?embed=app.tasks][?force=][?partialUpdate=]
//   GET /v2/apps/{group}/*; GET /v2/apps/{id}/tasks; POST /v2/apps/{id}/restart;
//   GET /v2/apps/{id}/versions[/{version}]
//   GET /v2/tasks[?status=running|staging]; GET /v2/deployments; DELETE /v2/deployments/{id}[?force=]
//   GET /v2/queue; GET /v2/info; GET /v2/leader; GET /ping
//
// Marathon's rules, from shared/reference/marathon and Marathon's sources:
// - Apps are served with every field Marathon returns (defaults filled in,
//   e.g. portDefinitions [{"port": <service port>, "protocol": "tcp", "name":
//   "default"}]). GET /v2/apps embeds task counts and deployments always,
//   tasks with embed=apps.tasks, lastTaskFailure with embed=apps.lastTaskFailure
//   (apps.failures: both); GET /v2/apps/{id} and /v2/apps/{group}/* embed all
//   four whatever is asked. lastTaskFailure is left out while the app has none.
// - Counts: tasksRunning and tasksStaged by task state; for an app with health
//   checks, tasksHealthy counts running tasks whose checks pass and
//   tasksUnhealthy those whose checks fail (each task carries
//   healthCheckResults, one per check); without health checks both are 0.
// - A task that fails (failTask, oomKillTask) is gone at once. In
//   TASK_FAILED, TASK_ERROR, TASK_LOST, TASK_DROPPED, TASK_GONE,
//   TASK_GONE_BY_OPERATOR or TASK_UNKNOWN it becomes the app's lastTaskFailure
//   {appId, host, message, state, taskId, timestamp, version, slaveId}. A
//   replacement is launched (TASK_RUNNING, in the same slot) after the app's
//   launch back-off: every failure but TASK_KILLED sets it to backoffSeconds
//   the first time and multiplies it by backoffFactor, up to
//   maxLaunchDelaySeconds, at each further failure, counted from the failure;
//   a back-off unused for its delay plus maxLaunchDelaySeconds is forgotten,
//   and a new app config (a change other than scaling or a restart) starts
//   without one. Meanwhile the app is listed by GET /v2/queue ({"queue":
//   [{"app", "count", "delay": {"timeLeftSeconds", "overdue"}, "since",
//   "processedOffersSummary"}]}, without the "role" of Marathon 1.9+, which
//   python3-marathon's queue model refuses) and its tasksRunning is below its
//   instances; the waiting task is not counted as staged, as in Marathon,
//   where it has no Mesos task yet. Relaunches happen lazily, like deployment
//   ends, in time order with them.
// - PUT /v2/apps/{id} is an upsert: 200 {"version", "deploymentId"} for an
//   existing app, 201 with Location for a new one; header
//   Marathon-Deployment-Id. Fields not in the body keep their value unless
//   partialUpdate=false (but resourceLimits: see below); read-only fields
//   (tasks, counts, versionInfo, ...) are ignored; a body with "version"
//   rolls back to that version. A change of `instances` alone is a
//   ScaleApplication (tasks kept), any other change a RestartApplication; no
//   change gives a deployment without steps that ends at once, the app
//   keeping its version.
// - Validation: wrong JSON types are 400 {"message":"Invalid JSON","details":
//   [...]}, broken rules 422 {"message":"Object is not valid","details":[{"path":
//   "/mem","errors":["got -1.0, expected 0.0 or more"]}]} (cpus >= 0.001 as
//   in the RAML; mem, disk, gpus, instances >= 0; a valid path id; cmd or
//   args, not both, unless a container).
// - resourceLimits (Marathon 1.10+, resources.raml ResourceLimits): {"cpus",
//   "mem"}, each optional, a number or "unlimited". As Marathon reads it (the
//   RAML union ResourceLimitUnlimited | ResourceLimitNumber) any string is
//   taken, a number too; anything else is 400 "error.expected.jsnumber" at
//   /resourceLimits/cpus (or mem), and a non-object "error.expected.jsobject"
//   at /resourceLimits. Then AppValidation.validResourceLimits, on the app
//   the request makes (a partial update merged in): a string other than
//   "unlimited" is 422 "'<it>' is an invalid resource limit. It must be
//   'unlimited' or a number", a number below the app's cpus (mem) 422
//   "resource limit must be greater than or equal to requested resource
//   (<cpus (mem) as Scala prints a Double>)". Other keys are dropped, as
//   Marathon's reader ignores them. Served as Marathon writes it: numbers as
//   numbers (2 as 2.0), "unlimited" as that string, absent when the app has
//   none.
//   A partial update (PUT, PATCH) without resourceLimits REMOVES the app's:
//   unlike the other fields, Marathon 1.10 does not merge it
//   (AppConversion.appUpdateRamlReader takes `update.resourceLimits`), so a
//   client that changes cpus must send the limits again. A change of the
//   limits is a config change: a new version and a RestartApplication.
// - A locked app answers 409 with the AppLockedException text and
//   "deployments":[{"id": ...}]; force=true cancels the running deployment
//   (FinishedDeployment::kCanceled) and starts the new one from the app as it
//   is. DELETE /v2/deployments/{id} cancels it (kRolledBack) and starts a
//   deployment reverting its change (200 {"version","deploymentId"}); with
//   force=true it only cancels it (kCanceled, 202 without a body).
// - DELETE /v2/apps/{id} removes the app at once; its StopApplication
//   deployment locks the id until it ends.
//
// Used by tests, by the rightsize-fake-marathon tool and by demos.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/status.h"
#include "rightsize/core/text.h"

namespace rightsize::testing {

// Marathon's timestamp text (java.time's ISO_INSTANT at millisecond
// precision): "2015-09-25T15:13:48.343Z", or "2015-09-25T15:13:48Z" when the
// milliseconds are zero, as Marathon writes it.
std::string formatMarathonTime(TimePoint t);

// A byte count as Mesos' stout prints one: in the largest unit of B, KB, MB,
// GB, TB (powers of 1024) that loses nothing ("160MB", "1GB", "1536KB", "0B").
std::string formatMesosBytes(std::uint64_t bytes);

// The status message of a task whose container Mesos' cgroups memory isolator
// saw OOM-killed: "Memory limit exceeded: Requested: 160MB Maximum Used:
// 160MB\n\nMEMORY STATISTICS: \n" then the cgroup's memory.stat (cgroup v1
// keys, figures to match) and "\n".
std::string mesosMemoryLimitMessage(std::uint64_t limit_bytes, std::uint64_t max_used_bytes);

// Marathon's resourceLimits of an app (Marathon 1.10+, Mesos 1.10+): how far
// above its request (cpus, mem) a task may go. Each in the request's unit;
// +infinity is "unlimited", as Marathon keeps it; nullopt: not set.
struct FakeResourceLimits {
  std::optional<double> cpus;
  std::optional<double> mem_mib;

  bool operator==(const FakeResourceLimits&) const = default;
};

struct FakeAppSpec {
  std::string id;  // Marathon path, e.g. "/team/web"; "web" is taken as "/web"
  std::string cmd = "sleep 3600";
  double cpus = 1.0;  // Marathon's cpus: cores (shares) per instance
  double mem_mib = 128;
  double disk_mib = 0;
  int instances = 1;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> env;
  // Tasks are placed round-robin on these hosts; empty: the double's defaults.
  std::vector<std::string> hosts;
  // Host ports of the task in slot i are task_ports[i % size()], kept across
  // restarts so that tests can point tasks at real loopback ports; empty: one
  // port per port definition (one for such an app), allocated from 31000 up at
  // each launch.
  std::vector<std::vector<std::uint16_t>> task_ports;
  // One HTTP health check on the first port, as Marathon normalizes it
  // (GET /health, Marathon's default intervals). Tasks start healthy; see
  // FakeMarathon::setTaskHealth.
  bool health_checks = false;
  // The app's first tasks started this long before it was added (a fleet
  // running before the sizer came): Marathon's startedAt shows it.
  Duration running_for{};
  // Validated as a request's: see the header comment.
  std::optional<FakeResourceLimits> resource_limits;
};

struct FakeTask {
  std::string id;  // "<app path, '/' as '_', no leading '/'>.instance-<uuid>._app.1"
  std::string app_id;
  std::string host;
  std::string slave_id;
  std::vector<std::uint16_t> ports;
  std::vector<std::uint16_t> service_ports;
  TimePoint staged_at;
  TimePoint started_at;
  std::string version;  // the app version the task was launched with
  std::string state = "TASK_RUNNING";
  // The result of its health checks, for an app that has some.
  bool alive = true;
  int consecutive_failures = 0;
  std::optional<TimePoint> last_health_failure;
};

// Marathon's record of an app's last failed task (lastTaskFailure).
struct FakeTaskFailure {
  std::string app_id;
  std::string task_id;
  std::string state;  // "TASK_FAILED", ...
  std::string message;
  std::string host;
  std::string slave_id;
  std::string version;  // the app version the task ran
  TimePoint timestamp;
};

struct FakeApp {
  std::string id;
  std::optional<std::string> cmd;
  double cpus = 0;
  double mem_mib = 0;
  double disk_mib = 0;
  int instances = 0;
  std::optional<FakeResourceLimits> resource_limits;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> env;
  std::vector<std::uint16_t> service_ports;
  std::string version;
  std::string last_scaling_at;
  std::string last_config_change_at;
  std::vector<FakeTask> tasks;
  std::vector<std::string> deployment_ids;  // running deployments affecting the app
  std::optional<FakeTaskFailure> last_task_failure;
  int tasks_queued = 0;                           // failed tasks waiting to be relaunched
  std::optional<TimePoint> launch_delayed_until;  // while tasks_queued: when they launch
};

// What happens to a deployment when its time is up.
enum class DeploymentOutcome {
  kSucceed,
  // Ends without applying, as a rolled-back deployment: it disappears, the app
  // gets its previous definition back (version, resources) and keeps its tasks.
  kFail,
  // Runs (and locks the app) until replaced with force=true or deleted.
  kNeverFinish,
};

struct FakeDeployment {
  std::string id;
  std::string version;
  std::string app_id;
  std::vector<std::string> actions;  // one per step: "RestartApplication", "ScaleApplication", ...
  TimePoint started_at;
  std::optional<TimePoint> ends_at;  // nullopt when it never finishes
  DeploymentOutcome outcome = DeploymentOutcome::kSucceed;
};

struct FinishedDeployment {
  enum class End { kSucceeded, kFailed, kCanceled, kRolledBack };
  std::string id;
  std::string app_id;
  End end = End::kSucceeded;
  TimePoint ended_at;
};

// Delay faults (kDelay) make a slow peer without a blind sleep: the request
// is held until `delay` has passed on the double's injected clock (counted
// from the request's arrival: real time on a SystemClock, scaled time on a
// ScaledClock, and on a ManualClock only when the test advances it), or until
// it is released, whichever comes first. clearFaults() releases the requests
// held at that moment; stop() and the destructor release them all and hold no
// request afterwards. A released request is served as if its delay had passed.
// A clock cannot signal: the double looks at it every 2 ms while it holds.
struct MarathonFault {
  enum class Kind {
    kHttpStatus,  // answer `http_status` with `body` instead of serving
    // Hold the request, then serve it normally: see "Delay faults" above.
    kDelay,
    kLocked,  // answer 409 "App is locked by one or more deployments" whatever the state
  };
  Kind kind = Kind::kHttpStatus;
  int http_status = 503;
  std::string body = R"({"message":"Service Unavailable"})";
  Duration delay{};         // kDelay: on the double's clock
  int count = 1;            // requests affected; -1 = until cleared
  std::string method;       // only requests with this method ("" = any)
  std::string path_prefix;  // only paths starting with this ("" = any)
};

struct RecordedRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string body;
  int status = 0;  // the status answered
};

struct PutCounts {
  std::uint64_t accepted = 0;  // answered 2xx
  std::uint64_t refused = 0;   // answered anything else (409, 422, injected 5xx, ...)
};

struct FakeMarathonOptions {
  Duration deployment_duration = std::chrono::seconds(5);
  std::vector<std::string> default_hosts = {"127.0.0.1"};
  std::uint64_t seed = 1;  // task and deployment ids are random uuids from this seed
};

// Thread-safety: every method may be called concurrently with requests.
class FakeMarathon {
 public:
  explicit FakeMarathon(const Clock& clock, FakeMarathonOptions options = {});
  ~FakeMarathon();
  FakeMarathon(const FakeMarathon&) = delete;
  FakeMarathon& operator=(const FakeMarathon&) = delete;

  // Adds a running app (tasks started now, no deployment). Fails on an invalid
  // or taken id or invalid resources, naming the field.
  [[nodiscard]] Status addApp(const FakeAppSpec& spec);
  // Adds running apps from Marathon JSON: one app object, an array of apps,
  // {"apps": [...]}, or a group ({"apps": [...], "groups": [...]}, e.g. a
  // /v2/groups document; relative ids are resolved against the group). Every
  // App field is kept (deprecated "ports" become portDefinitions); read-only
  // fields (tasks, version, deployments) are ignored. Returns how many apps were
  // added; adds none when one is invalid, naming the file, the app and field.
  [[nodiscard]] Expected<std::size_t> addAppsFromJson(std::string_view text, std::string_view source);

  // Applies to deployments started afterwards.
  void setDeploymentDuration(Duration duration);
  // Outcome of the deployments started afterwards for `app_id` ("" = any app
  // without its own setting).
  void setDeploymentOutcome(const std::string& app_id, DeploymentOutcome outcome);
  // Changes a running deployment's outcome; false when there is no such deployment.
  bool setRunningDeploymentOutcome(const std::string& deployment_id, DeploymentOutcome outcome);

  // Faults are matched in the order added; the first matching one applies.
  void addFault(MarathonFault fault);
  // Removes every fault and releases the requests that delay faults hold.
  void clearFaults();

  std::vector<FakeApp> apps() const;
  std::optional<FakeApp> app(const std::string& app_id) const;
  std::vector<FakeDeployment> deployments() const;
  std::vector<FinishedDeployment> finishedDeployments() const;
  // Fails the running task `task_id` as a Mesos status update in the terminal
  // `state` ("TASK_FAILED", "TASK_KILLED", "TASK_FINISHED", "TASK_LOST",
  // "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR" or
  // "TASK_UNKNOWN") with `message` would: see the header comment. Fails, naming
  // it, on an unknown task or another state.
  [[nodiscard]] Status failTask(const std::string& task_id, const std::string& state, const std::string& message);
  // Fails the task as Mesos' cgroups memory isolator does when the kernel
  // OOM-kills it: TASK_FAILED with mesosMemoryLimitMessage() for its
  // container's limit (the mem of the app version the task runs, or its
  // resourceLimits.mem when it has one, plus the command executor's 32 MiB,
  // in whole MiB as Mesos sets it), the maximum used being the limit. Fails,
  // naming it, on a task whose memory is "unlimited": its container has no
  // limit for the isolator to enforce.
  [[nodiscard]] Status oomKillTask(const std::string& task_id);
  // Sets the result of the running task's health checks from now on (alive:
  // passing). Fails on an unknown task or one whose app has no health checks.
  [[nodiscard]] Status setTaskHealth(const std::string& task_id, bool alive);

  // PUTs to /v2/apps/{app_id} (any query), by how they were answered.
  PutCounts puts(const std::string& app_id) const;
  // Every request served, oldest first (the last 10000), paths as received.
  std::vector<RecordedRequest> requests() const;

  // Serves one request as the HTTP server does (faults included), so that
  // tests can go without a socket.
  HttpResponse handle(const HttpRequest& request);

  // Serves on `listen` (e.g. 127.0.0.1:0) until stopped or destroyed.
  [[nodiscard]] Status start(const HostPort& listen);
  // Releases the requests that delay faults hold (and holds none from now
  // on), then stops serving once the requests being served are answered.
  // Idempotent; the destructor calls it. The state stays readable.
  void stop();
  std::string url() const;  // "" before start()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace rightsize::testing
