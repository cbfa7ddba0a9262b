#pragma once

// The boundary to Marathon (REST API v2; shared/reference/marathon): read
// apps with their tasks, change an app's cpus and mem, follow deployments
// through GET /v2/deployments. Pure parsers for Marathon's JSON are tested on
// its own example bodies.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/resource_limits.h"

namespace rightsize::sizing {

struct MarathonTask {
  std::string id;
  std::string app_id;
  std::string host;
  std::vector<int> ports;
  std::string state;  // "TASK_RUNNING", ... (absent in old Marathons: "")
  // startedAt: when the task started running (null while it is staged).
  std::optional<TimePoint> started_at;
};

// Marathon's lastTaskFailure of an app (embed=apps.lastTaskFailure): the last
// of its tasks that failed, whatever version it ran.
struct TaskFailure {
  std::string task_id;
  std::string state;    // "TASK_FAILED", "TASK_KILLED", ...
  std::string message;  // Mesos' status message
  std::string host;
  std::string version;                  // the app version the task ran
  std::optional<TimePoint> version_at;  // that version as a time (Marathon's are timestamps)
  std::optional<TimePoint> at;          // "timestamp"
  // The memory limit the task was killed at, from the message of Mesos'
  // memory isolator ("Memory limit exceeded: Requested: 544MB Maximum Used:
  // 544MB ..."), in MiB; nullopt when the message does not say.
  std::optional<double> limit_mib;
  // An OOM kill by Mesos' memory isolator: TASK_FAILED with a message that
  // begins "Memory limit exceeded" (REASON_CONTAINER_LIMITATION_MEMORY).
  bool oomKill() const;
};

// One entry of GET /v2/queue: an app with tasks waiting to be launched.
struct QueuedApp {
  std::string app_id;
  int count = 0;             // tasks waiting
  double delay_seconds = 0;  // delay.timeLeftSeconds: the launch back-off left
  bool overdue = true;       // delay.overdue: the back-off has passed
  bool backingOff() const { return !overdue && delay_seconds > 0; }
};

// One of an app's placement constraints: [field, operator, value?].
struct Constraint {
  std::string field;
  std::string op;  // UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS
  std::optional<std::string> value;
  bool operator==(const Constraint&) const = default;
};

struct MarathonApp {
  std::string id;  // "/team/web"
  double cpus = 0;
  double mem_mib = 0;
  int instances = 0;
  // resourceLimits: a bad value (neither a number >= 0 nor "unlimited")
  // makes the app unusable.
  ResourceLimits limits;
  std::map<std::string, std::string> labels;
  // Placement constraints (entries that are not 2 or 3 strings are left
  // out: the sizer only reads them, to know where the app may land).
  std::vector<Constraint> constraints;
  std::string version;
  // Deployments in progress touching the app: Marathon embeds them with
  // embed=apps.tasks. They tell the sizer to keep off an app someone is
  // deploying; its own deployments it follows through GET /v2/deployments.
  std::vector<std::string> deployment_ids;
  std::vector<MarathonTask> tasks;
  // Task counts (embed=apps.counts).
  int tasks_staged = 0;
  int tasks_running = 0;
  int tasks_healthy = 0;
  int tasks_unhealthy = 0;
  bool health_checked = false;                 // the app defines health checks
  std::optional<TimePoint> config_changed_at;  // versionInfo.lastConfigChangeAt
  std::optional<TaskFailure> last_task_failure;
};

// An app in a listing that could not be used (a field of the wrong type or
// out of range): the sizer keeps its state and never touches it.
struct UnusableApp {
  std::string app_id;  // "" when the id itself could not be read
  Error error;
};

// One entry of GET /v2/deployments: a deployment in progress.
struct MarathonDeployment {
  std::string id;
  std::vector<std::string> affected_apps;  // app ids ("affectedApps")
};

// Marathon's app id syntax ("/team/web", PathId): absolute, each name made
// of dot-joined labels of lowercase letters, digits and inner dashes. "."
// and ".." names are refused: in a request path they lead to another app.
bool validAppId(std::string_view id);

// GET /v2/apps ({"apps": [...]}) and GET /v2/apps/{id} ({"app": {...}}).
// An app with a bad field is skipped and reported in `unusable`, with its
// id where that could be read.
struct ParsedApps {
  std::vector<MarathonApp> apps;
  std::vector<UnusableApp> unusable;
};
Expected<ParsedApps> parseAppList(std::string_view body, std::string_view source);
Expected<MarathonApp> parseApp(std::string_view body, std::string_view source);
// GET /v2/deployments: the deployments in progress (an array of
// DeploymentStepInfo). Every entry needs an id; affectedApps is optional and
// its entries that are not strings are left out.
Expected<std::vector<MarathonDeployment>> parseDeployments(std::string_view body, std::string_view source);
// The same, ids only.
Expected<std::vector<std::string>> parseDeploymentIds(std::string_view body, std::string_view source);
// The body of a successful PUT: {"deploymentId": "...", "version": "..."}.
Expected<std::string> parseDeploymentResult(std::string_view body, std::string_view source);
// GET /v2/queue: {"queue": [{"app": {"id": ...}, "count", "delay":
// {"timeLeftSeconds", "overdue"}}, ...]}.
Expected<std::vector<QueuedApp>> parseQueue(std::string_view body, std::string_view source);
// The ids listed in a 409 "locked by one or more deployments" body.
std::vector<std::string> parseLockingDeployments(std::string_view body);

// What became of a PUT that Marathon answered. Other answers (5xx,
// timeouts, 401...) are errors: whether the change happened is then unknown.
struct UpdateOutcome {
  enum class Result {
    kDeploying,  // 200/201: `deployment_id` carries the change out
    kLocked,     // 409: the app is in a deployment; nothing changed
    // 404 (no such app) or 422 (the changed app is not valid): nothing
    // changed, and the same PUT would be refused again.
    kRefused,
  };
  Result result = Result::kDeploying;
  std::string deployment_id;                     // kDeploying
  std::vector<std::string> locking_deployments;  // kLocked
  std::string message;                           // kRefused: "HTTP 422: <Marathon's message and details>"
};

// What a PUT writes of a size (cpus, mem, a numeric limit): 3 decimals, as
// the shortest text (Marathon's cpus go down to 0.001); unlimited as it is.
// The sizer records its intent as written, so that the app read back is
// recognised as resized (0.0625 cpus are written 0.062).
double asWritten(double value);

// A PUT the client refused to send (ErrorKind::kInvalidArgument: a size
// that is not positive, a limit below its request, no app id): nothing
// reached Marathon.
bool notSent(const Error& error);

// Thread-safety: implementations allow calls from one thread at a time.
class MarathonClient {
 public:
  virtual ~MarathonClient() = default;
  // GET /v2/apps with tasks, counts, deployments and last task failures.
  virtual Expected<ParsedApps> listApps() = 0;
  virtual Expected<MarathonApp> getApp(const std::string& app_id) = 0;
  // PUT /v2/apps/{id} with only cpus and mem, and resourceLimits when
  // `limits` is given (each key it sets; a limit below its request is an
  // error, not sent: notSent()). Sizes are written as asWritten() says.
  // Without `limits` the app's resourceLimits stay as they are.
  // `force` overrides a lock, and is used only when the operator asked for it
  // (--force-deployments).
  virtual Expected<UpdateOutcome> updateResources(const std::string& app_id, double cpus, double mem_mib, bool force,
                                                  const std::optional<ResourceLimits>& limits) = 0;
  // PUT /v2/apps/{id} with only instances (Marathon scales the app: it
  // starts or stops tasks, the others keep running), and the app's
  // resourceLimits as they are when `limits` is given (Marathon 1.10 drops
  // those a PUT leaves out, which would be a change of configuration: a
  // restart of every task).
  virtual Expected<UpdateOutcome> updateInstances(const std::string& app_id, int instances, bool force,
                                                  const std::optional<ResourceLimits>& limits) = 0;
  // GET /v2/deployments: every deployment in progress. A deployment that is
  // no longer listed has ended (succeeded, or failed or was cancelled: the
  // app then shows what it runs).
  virtual Expected<std::vector<MarathonDeployment>> deployments() = 0;
  // GET /v2/queue: the apps with tasks waiting to launch, and their back-off.
  virtual Expected<std::vector<QueuedApp>> launchQueue() = 0;
};

struct HttpMarathonOptions {
  std::vector<std::string> urls;  // one per Marathon instance; the first that answers serves
  // Value of the Authorization header ("Basic ...", "token=..."), from the
  // environment (see marathonAuthorization), never from a flag.
  std::string authorization;
  Duration timeout = std::chrono::seconds(10);
  // Told the status code of every exchange ("200", "409", ...) or "error"
  // for a transport failure: rightsize_marathon_requests_total{code}.
  std::function<void(std::string_view code)> on_response;
};

// The Authorization header from RIGHTSIZE_MARATHON_TOKEN (DC/OS style
// "token=..."), or RIGHTSIZE_MARATHON_USER and RIGHTSIZE_MARATHON_PASSWORD
// (Basic); each may be given in a file named by the same variable with
// _FILE appended. "" when none is set. `getenv` is injected for tests.
Expected<std::string> marathonAuthorization(const std::function<const char*(const char*)>& getenv);

// Over HTTP. A read that fails (transport failure or 5xx) moves on to the
// next URL, and the one that answered is tried first next time; other
// answers are final. A PUT is sent once, to the preferred URL: when its
// answer is lost, whether it happened is learnt by reading the app, never by
// sending it again.
class HttpMarathonClient final : public MarathonClient {
 public:
  HttpMarathonClient(HttpClient& http, HttpMarathonOptions options);

  Expected<ParsedApps> listApps() override;
  Expected<MarathonApp> getApp(const std::string& app_id) override;
  Expected<UpdateOutcome> updateResources(const std::string& app_id, double cpus, double mem_mib, bool force,
                                          const std::optional<ResourceLimits>& limits) override;
  Expected<UpdateOutcome> updateInstances(const std::string& app_id, int instances, bool force,
                                          const std::optional<ResourceLimits>& limits) override;
  Expected<std::vector<MarathonDeployment>> deployments() override;
  Expected<std::vector<QueuedApp>> launchQueue() override;

 private:
  // The response of the first Marathon that answers without a 5xx.
  Expected<HttpResponse> exchange(const std::string& method, const std::string& path_and_query,
                                  const std::string& body);
  static Error statusError(const std::string& what, const HttpResponse& response);
  // Sends a PUT of `body` and reads its answer.
  Expected<UpdateOutcome> put(const std::string& app_id, const std::string& body, bool force);

  HttpClient& http_;
  HttpMarathonOptions options_;
  std::size_t preferred_ = 0;
};

}  // namespace rightsize::sizing
