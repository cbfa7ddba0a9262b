#include "rightsize/testing/fake_marathon.h"

#include <algorithm>
#include <mutex>

#include "fake_marathon_parts.h"

#include "rightsize/sizing/marathon.h"

namespace rightsize::testing {
namespace fake_marathon {
namespace {

constexpr std::size_t kMaxRecordedRequests = 10000;
// mesosphere.marathon.AppLockedException: the placeholder is part of the text.
constexpr std::string_view kLockedMessage =
    "App is locked by one or more deployments. Override with the option '?force=true'. View details at "
    "'/v2/deployments/<DEPLOYMENT_ID>'.";

// The injected clock cannot signal: a held request looks at it this often.
// Releases wake it at once.
constexpr Duration kClockPoll = std::chrono::milliseconds(2);

}  // namespace

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

HttpResponse messageResponse(int status, std::string_view message) {
  Document body(rapidjson::kObjectType);
  body.AddMember("message", text(message, body.GetAllocator()), body.GetAllocator());
  return jsonResponse(status, serialize(body));
}

HttpResponse appNotFound(std::string_view app_id) {
  return messageResponse(404, "App '" + std::string(app_id) + "' does not exist");
}

HttpResponse lockedResponse(const std::vector<std::string>& deployment_ids) {
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("message", text(kLockedMessage, a), a);
  Value deployments(rapidjson::kArrayType);
  for (const auto& id : deployment_ids) {
    Value entry(rapidjson::kObjectType);
    entry.AddMember("id", text(id, a), a);
    deployments.PushBack(std::move(entry), a);
  }
  body.AddMember("deployments", std::move(deployments), a);
  return jsonResponse(409, serialize(body));
}

HttpResponse deploymentResult(int status, const std::string& deployment_id, const std::string& version) {
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("version", text(version, a), a);
  body.AddMember("deploymentId", text(deployment_id, a), a);
  HttpResponse response = jsonResponse(status, serialize(body));
  response.headers.emplace_back("Marathon-Deployment-Id", deployment_id);
  return response;
}

std::string normalizePath(std::string_view path) {
  std::string out;
  for (const char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out.empty() ? "/" : out;
}

HttpResponse Marathon::serve(const HttpRequest& request) {
  completeDue();
  const std::string path = normalizePath(request.path);
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  const Query query(request.query);
  auto notAllowed = [] { return messageResponse(405, "HTTP 405 Method Not Allowed"); };
  if (path == "/ping") {
    if (method != "GET") return notAllowed();
    HttpResponse response;
    response.body = "pong";
    return response;
  }
  if (path == "/v2/info") return method == "GET" ? info() : notAllowed();
  if (path == "/v2/leader") return method == "GET" ? leader() : notAllowed();
  if (path == "/v2/apps") {
    if (method == "GET") return listApps(query, "", parseEmbeds(query));
    if (method == "POST") return createApp(query, request.body);
    return notAllowed();
  }
  if (path.starts_with("/v2/apps/")) return serveApp(method, path.substr(9), query, request.body);
  if (path == "/v2/tasks") return method == "GET" ? listTasks(query) : notAllowed();
  if (path == "/v2/deployments") return method == "GET" ? listDeployments() : notAllowed();
  if (path == "/v2/queue") return method == "GET" ? queue() : notAllowed();
  if (path.starts_with("/v2/deployments/") && path.find('/', 16) == std::string::npos) {
    return method == "DELETE" ? deleteDeployment(path.substr(16), query) : notAllowed();
  }
  return messageResponse(404, "URI not found: " + path);
}

HttpResponse Marathon::serveApp(const std::string& method, std::string_view rest, const Query& query,
                                const std::string& body) {
  auto notAllowed = [] { return messageResponse(405, "HTTP 405 Method Not Allowed"); };
  if (rest == "*" || rest.ends_with("/*")) {
    if (method != "GET") return notAllowed();
    return listApps(query, canonicalId(rest.substr(0, rest.size() - 1)), showEmbeds(query));
  }
  if (rest.ends_with("/tasks")) {
    return method == "GET" ? appTasks(canonicalId(rest.substr(0, rest.size() - 6))) : notAllowed();
  }
  if (rest.ends_with("/restart")) {
    return method == "POST" ? restartApp(canonicalId(rest.substr(0, rest.size() - 8)), query) : notAllowed();
  }
  if (rest.ends_with("/versions")) {
    return method == "GET" ? versions(canonicalId(rest.substr(0, rest.size() - 9))) : notAllowed();
  }
  if (const std::size_t at = rest.rfind("/versions/");
      at != std::string_view::npos && rest.find('/', at + 10) == std::string_view::npos) {
    if (method != "GET") return notAllowed();
    return versionOf(canonicalId(rest.substr(0, at)), std::string(rest.substr(at + 10)));
  }
  const std::string app_id = canonicalId(rest);
  if (method == "GET") return getApp(app_id, query);
  if (method == "PUT" || method == "PATCH") return updateApp(app_id, query, body, method == "PATCH");
  if (method == "DELETE") return deleteApp(app_id, query);
  return notAllowed();
}

HttpResponse Marathon::createApp(const Query& query, const std::string& body) {
  Document fields;
  if (auto bad = parseBody(body, fields)) return *bad;
  const Value* raw_id = json::find(fields, "id");
  if (raw_id == nullptr || !raw_id->IsString()) {
    Problems problems;
    problems.malformed.push_back({"/id", raw_id == nullptr ? "error.path.missing" : "error.expected.jsstring"});
    return problemsResponse(problems);
  }
  const std::string app_id = canonicalId(raw_id->GetString());
  Problems problems;
  Definition definition = normalizeApp(fields, app_id, service_ports, problems);
  if (!definition) return problemsResponse(problems);
  if (apps.contains(app_id)) return messageResponse(409, "An app with id [" + app_id + "] already exists.");
  if (auto locks = lockers(app_id); !locks.empty()) {
    if (!query.flag("force", false)) return lockedResponse(locks);
    cancelAll(app_id);
  }
  const ChangeResult result = create(app_id, std::move(definition));
  Document out;
  HttpResponse response =
      jsonResponse(201, serialize(appJson(apps.at(app_id), Embeds{.tasks = true}, out.GetAllocator())));
  response.headers.emplace_back("Location", base_url + "/v2/apps" + app_id);
  response.headers.emplace_back("Marathon-Deployment-Id", result.deployment_id);
  return response;
}

HttpResponse Marathon::updateApp(const std::string& app_id, const Query& query, const std::string& body, bool patch) {
  Document fields;
  if (auto bad = parseBody(body, fields)) return *bad;
  if (!sizing::validAppId(app_id)) {
    Problems problems;
    problems.invalid.push_back({"/id", std::string(kPathIdMessage)});
    return problemsResponse(problems);
  }
  auto it = apps.find(app_id);
  if (patch && it == apps.end()) return appNotFound(app_id);
  const bool force = query.flag("force", false);
  Definition target;
  if (const Value* version = json::find(fields, "version"); !patch && version != nullptr && version->IsString()) {
    // A rollback: "If the version key is supplied in the JSON body, the
    // rest of the object is ignored."
    if (it == apps.end()) return appNotFound(app_id);
    for (const auto& [v, definition] : it->second.versions) {
      if (v == version->GetString()) target = definition;
    }
    if (!target) {
      return messageResponse(404, "App '" + app_id + "' does not exist in version " + version->GetString());
    }
  } else {
    // partialUpdate (default true): fields not given keep their value.
    const bool partial = patch || query.flag("partialUpdate", true);
    const Document merged = overlay(it != apps.end() && partial ? it->second.definition.get() : nullptr, fields);
    Problems problems;
    target = normalizeApp(merged, app_id, service_ports, problems);
    if (!target) return problemsResponse(problems);
  }
  if (auto locks = lockers(app_id); !locks.empty()) {
    if (!force) return lockedResponse(locks);
    cancelAll(app_id);
  }
  it = apps.find(app_id);
  if (it == apps.end()) {
    const ChangeResult result = create(app_id, std::move(target));
    HttpResponse response = deploymentResult(201, result.deployment_id, result.version);
    response.headers.emplace_back("Location", base_url + "/v2/apps" + app_id);
    return response;
  }
  const ChangeResult result = change(app_id, it->second, std::move(target), /*restart=*/false);
  return deploymentResult(200, result.deployment_id, result.version);
}

HttpResponse Marathon::restartApp(const std::string& app_id, const Query& query) {
  auto it = apps.find(app_id);
  if (it == apps.end()) return appNotFound(app_id);
  if (auto locks = lockers(app_id); !locks.empty()) {
    if (!query.flag("force", false)) return lockedResponse(locks);
    cancelAll(app_id);
  }
  const ChangeResult result = change(app_id, it->second, it->second.definition, /*restart=*/true);
  return deploymentResult(200, result.deployment_id, result.version);
}

HttpResponse Marathon::deleteApp(const std::string& app_id, const Query& query) {
  if (!apps.contains(app_id)) return appNotFound(app_id);
  if (auto locks = lockers(app_id); !locks.empty()) {
    if (!query.flag("force", false)) return lockedResponse(locks);
    cancelAll(app_id);
  }
  const ChangeResult result = stop(app_id);
  return deploymentResult(200, result.deployment_id, result.version);
}

// Without force: canceled, and a new deployment reverts its change. With
// force: canceled where it is, 202 without a body.
HttpResponse Marathon::deleteDeployment(const std::string& deployment_id, const Query& query) {
  if (query.flag("force", false)) {
    if (!cancel(deployment_id, FinishedDeployment::End::kCanceled)) {
      return messageResponse(404, "DeploymentPlan " + deployment_id + " does not exist");
    }
    return jsonResponse(202, "");
  }
  auto canceled = cancel(deployment_id, FinishedDeployment::End::kRolledBack);
  if (!canceled) return messageResponse(404, "DeploymentPlan " + deployment_id + " does not exist");
  const std::string& app_id = canceled->info.app_id;
  auto it = apps.find(app_id);
  ChangeResult result;
  if (!canceled->previous) {
    // It started the app: reverting stops it.
    if (it != apps.end()) {
      result = stop(app_id);
    } else {
      const std::string version = newVersion();
      result = {startDeployment(app_id, ChangeKind::kStop, {}, std::nullopt, version), version};
    }
  } else if (it == apps.end()) {
    result = create(app_id, canceled->previous->definition);
  } else {
    result = change(app_id, it->second, canceled->previous->definition, /*restart=*/false);
  }
  return deploymentResult(200, result.deployment_id, result.version);
}

void Marathon::record(const HttpRequest& request, int status) {
  recorded.push_back({request.method, request.path, request.query, request.body, status});
  if (recorded.size() > kMaxRecordedRequests) recorded.pop_front();
  const std::string path = normalizePath(request.path);
  if (request.method == "PUT" && path.starts_with("/v2/apps/")) {
    auto& counts = put_counts[canonicalId(std::string_view(path).substr(9))];
    if (status >= 200 && status < 300) {
      ++counts.accepted;
    } else {
      ++counts.refused;
    }
  }
}

// The app a request is about, for kLocked faults: "/v2/apps/<id>[/...]".
std::string Marathon::appOfPath(const std::string& path) const {
  std::string_view rest = std::string_view(path).substr(path.starts_with("/v2/apps/") ? 9 : path.size());
  for (std::string_view suffix : {"/tasks", "/restart", "/versions"}) {
    if (rest.ends_with(suffix)) rest.remove_suffix(suffix.size());
  }
  if (const std::size_t at = rest.rfind("/versions/"); at != std::string_view::npos) rest = rest.substr(0, at);
  return canonicalId(rest);
}

std::optional<MarathonFault> Marathon::takeFault(const HttpRequest& request) {
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (!it->method.empty() && it->method != request.method) continue;
    if (!it->path_prefix.empty() && !request.path.starts_with(it->path_prefix)) continue;
    MarathonFault fault = *it;
    if (it->count > 0 && --it->count == 0) faults.erase(it);
    return fault;
  }
  return std::nullopt;
}

}  // namespace fake_marathon

using fake_marathon::canonicalId;
using fake_marathon::Definition;

struct FakeMarathon::Impl : fake_marathon::Marathon {
  using Marathon::Marathon;
};

FakeMarathon::FakeMarathon(const Clock& clock, FakeMarathonOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}

FakeMarathon::~FakeMarathon() { stop(); }

Status FakeMarathon::addApp(const FakeAppSpec& spec) {
  const std::string app_id = canonicalId(spec.id);
  const rapidjson::Document fields = fake_marathon::specFields(spec);
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  fake_marathon::Problems problems;
  Definition definition = fake_marathon::normalizeApp(fields, app_id, impl_->service_ports, problems);
  if (!definition) {
    return Error(ErrorKind::kInvalidValue, "app '" + spec.id + "': " + problems.describe());
  }
  if (impl_->apps.contains(app_id) || !impl_->lockers(app_id).empty()) {
    return Error(ErrorKind::kInvalidArgument, "app '" + app_id + "' already exists");
  }
  impl_->addRunning({{app_id, std::move(definition)}}, spec.hosts, spec.task_ports, spec.running_for);
  return Status::success();
}

Expected<std::size_t> FakeMarathon::addAppsFromJson(std::string_view text, std::string_view source) {
  auto document = json::parse(text, source);
  if (!document) return document.error();
  auto found = fake_marathon::findApps(*document, source);
  if (!found) return found.error();
  const std::string origin(source);

  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  std::vector<std::pair<std::string, Definition>> definitions;
  for (const auto& [app, base, where] : *found) {
    const std::string name = where.empty() ? "the app" : where;
    if (!app->IsObject()) {
      return Error(ErrorKind::kInvalidValue,
                   origin + ": " + name + ": expected an app object, got " + std::string(json::typeName(*app)));
    }
    const rapidjson::Value* raw_id = json::find(*app, "id");
    if (raw_id == nullptr || !raw_id->IsString()) {
      return Error(ErrorKind::kMissingField, origin + ": " + name + ": id: missing or not a string");
    }
    const std::string app_id = canonicalId(raw_id->GetString(), base);
    fake_marathon::Problems problems;
    Definition definition = fake_marathon::normalizeApp(*app, app_id, impl_->service_ports, problems);
    if (!definition) {
      return Error(ErrorKind::kInvalidValue, origin + ": " + name + " (" + app_id + "): " + problems.describe());
    }
    const bool duplicate =
        std::any_of(definitions.begin(), definitions.end(), [&app_id](const auto& d) { return d.first == app_id; });
    if (duplicate || impl_->apps.contains(app_id) || !impl_->lockers(app_id).empty()) {
      return Error(ErrorKind::kInvalidArgument, origin + ": " + name + ": app '" + app_id + "' already exists");
    }
    definitions.emplace_back(app_id, std::move(definition));
  }
  const std::size_t count = definitions.size();
  impl_->addRunning(std::move(definitions), {}, {});
  return count;
}

void FakeMarathon::setDeploymentDuration(Duration duration) {
  std::lock_guard lock(impl_->mutex);
  impl_->deployment_duration = duration;
}

void FakeMarathon::setDeploymentOutcome(const std::string& app_id, DeploymentOutcome outcome) {
  std::lock_guard lock(impl_->mutex);
  impl_->outcomes[app_id.empty() ? std::string() : canonicalId(app_id)] = outcome;
}

bool FakeMarathon::setRunningDeploymentOutcome(const std::string& deployment_id, DeploymentOutcome outcome) {
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  for (auto& d : impl_->running) {
    if (d.info.id != deployment_id) continue;
    d.info.outcome = outcome;
    if (outcome == DeploymentOutcome::kNeverFinish) {
      d.info.ends_at.reset();
    } else {
      d.info.ends_at = d.info.started_at + d.duration;
    }
    return true;
  }
  return false;
}

void FakeMarathon::addFault(MarathonFault fault) {
  if (fault.count == 0) return;
  std::lock_guard lock(impl_->mutex);
  impl_->faults.push_back(std::move(fault));
}

void FakeMarathon::clearFaults() {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.clear();
  impl_->held.releaseAll();
}

std::vector<FakeApp> FakeMarathon::apps() const {
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  std::vector<FakeApp> out;
  for (const auto& [app_id, app] : impl_->apps) out.push_back(Impl::toFakeApp(app_id, app));
  return out;
}

std::optional<FakeApp> FakeMarathon::app(const std::string& app_id) const {
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  const auto it = impl_->apps.find(canonicalId(app_id));
  if (it == impl_->apps.end()) return std::nullopt;
  return Impl::toFakeApp(it->first, it->second);
}

std::vector<FakeDeployment> FakeMarathon::deployments() const {
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  std::vector<FakeDeployment> out;
  for (const auto& d : impl_->running) out.push_back(d.info);
  return out;
}

std::vector<FinishedDeployment> FakeMarathon::finishedDeployments() const {
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  return {impl_->finished.begin(), impl_->finished.end()};
}

Status FakeMarathon::failTask(const std::string& task_id, const std::string& state, const std::string& message) {
  std::lock_guard lock(impl_->mutex);
  return impl_->failTask(task_id, state, message);
}

Status FakeMarathon::oomKillTask(const std::string& task_id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->oomKillTask(task_id);
}

Status FakeMarathon::setTaskHealth(const std::string& task_id, bool alive) {
  std::lock_guard lock(impl_->mutex);
  return impl_->setTaskHealth(task_id, alive);
}

PutCounts FakeMarathon::puts(const std::string& app_id) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->put_counts.find(canonicalId(app_id));
  return it == impl_->put_counts.end() ? PutCounts{} : it->second;
}

std::vector<RecordedRequest> FakeMarathon::requests() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->recorded.begin(), impl_->recorded.end()};
}

HttpResponse FakeMarathon::handle(const HttpRequest& request) {
  std::unique_lock lock(impl_->mutex);
  const std::optional<MarathonFault> fault = impl_->takeFault(request);
  // A deliberately slow peer, slow on the double's clock.
  if (fault && fault->kind == MarathonFault::Kind::kDelay) impl_->held.hold(lock, fault->delay);
  HttpResponse response;
  if (fault && fault->kind == MarathonFault::Kind::kHttpStatus) {
    response = fake_marathon::jsonResponse(fault->http_status, fault->body);
  } else if (fault && fault->kind == MarathonFault::Kind::kLocked) {
    impl_->completeDue();
    auto locks = impl_->lockers(impl_->appOfPath(fake_marathon::normalizePath(request.path)));
    // No deployment to name: one that has already ended, as after a race.
    if (locks.empty()) locks.push_back(fake_marathon::uuid(impl_->random));
    response = fake_marathon::lockedResponse(locks);
  } else {
    response = impl_->serve(request);
  }
  impl_->record(request, response.status);
  return response;
}

Status FakeMarathon::start(const HostPort& listen) {
  if (server_) return Error(ErrorKind::kInternal, "fake Marathon already started on " + server_->baseUrl());
  HttpServerOptions options;
  options.listen = listen;
  server_ = std::make_unique<HttpServer>(options);
  server_->routePrefix("/", [this](const HttpRequest& r) { return handle(r); },
                       {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"});
  if (Status started = server_->start(); !started) {
    server_.reset();
    return started;
  }
  std::lock_guard lock(impl_->mutex);
  impl_->base_url = server_->baseUrl();
  return Status::success();
}

void FakeMarathon::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->held.stop();
  }
  if (server_) server_->stop();
}

std::string FakeMarathon::url() const { return server_ ? server_->baseUrl() : std::string(); }

}  // namespace rightsize::testing
