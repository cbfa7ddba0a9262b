#include "rightsize/sizing/marathon.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "rightsize/core/json.h"
#include "rightsize/core/secrets.h"
#include "rightsize/core/text.h"

namespace rightsize::sizing {

// Marathon's app ids: absolute paths of segments made of lowercase letters,
// digits, '-' and '.'. Checked because the id goes into request paths.
bool validAppId(std::string_view id) {
  if (id.size() < 2 || id.front() != '/' || id.back() == '/') return false;
  if (id.find("//") != std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '/';
  });
}

namespace {

std::string indexPath(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

Expected<MarathonTask> parseTask(const json::Value& value, const std::string& path) {
  if (!value.IsObject()) return Error(ErrorKind::kInvalidValue, path + ": expected an object");
  MarathonTask task;
  auto id = json::getString(value, "id", path);
  if (!id) return id.error();
  task.id = std::move(*id);
  auto app_id = json::getOptionalString(value, "appId", path);
  auto host = json::getOptionalString(value, "host", path);
  auto state = json::getOptionalString(value, "state", path);
  for (auto* field : {&app_id, &host, &state}) {
    if (!*field) return field->error();
  }
  task.app_id = app_id->value_or("");
  task.host = host->value_or("");
  task.state = state->value_or("");
  if (const json::Value* ports = json::find(value, "ports"); ports != nullptr && ports->IsArray()) {
    for (const auto& port : ports->GetArray()) {
      if (!port.IsInt() || port.GetInt() < 0 || port.GetInt() > 65535) {
        return Error(ErrorKind::kInvalidValue, path + ".ports: not a port number");
      }
      task.ports.push_back(port.GetInt());
    }
  }
  return task;
}

Expected<MarathonApp> parseAppObject(const json::Value& value, const std::string& path) {
  if (!value.IsObject()) return Error(ErrorKind::kInvalidValue, path + ": expected an object");
  MarathonApp app;
  auto id = json::getString(value, "id", path);
  if (!id) return id.error();
  if (!validAppId(*id)) {
    return Error(ErrorKind::kInvalidValue, path + ".id: \"" + *id + "\" is not an absolute Marathon app id");
  }
  app.id = std::move(*id);
  auto cpus = json::getNumber(value, "cpus", path);
  if (!cpus) return cpus.error();
  auto mem = json::getNumber(value, "mem", path);
  if (!mem) return mem.error();
  if (*cpus < 0 || *mem < 0) return Error(ErrorKind::kInvalidValue, path + ": negative cpus or mem");
  app.cpus = *cpus;
  app.mem_mib = *mem;
  auto instances = json::getOptionalNumber(value, "instances", path);
  if (!instances) return instances.error();
  if (instances->value_or(0) < 0 || instances->value_or(0) > INT_MAX) {
    return Error(ErrorKind::kInvalidValue, path + ".instances: not a number of instances");
  }
  app.instances = static_cast<int>(std::lround(instances->value_or(0)));
  auto version = json::getOptionalString(value, "version", path);
  if (!version) return version.error();
  app.version = version->value_or("");
  if (const json::Value* labels = json::find(value, "labels"); labels != nullptr && labels->IsObject()) {
    for (const auto& member : labels->GetObject()) {
      // Marathon labels are strings; anything else is kept out rather than
      // failing the whole app.
      if (member.value.IsString()) app.labels.emplace(member.name.GetString(), member.value.GetString());
    }
  }
  if (const json::Value* deployments = json::find(value, "deployments"); deployments && deployments->IsArray()) {
    for (const auto& deployment : deployments->GetArray()) {
      const json::Value* deployment_id = json::find(deployment, "id");
      if (deployment_id != nullptr && deployment_id->IsString())
        app.deployment_ids.emplace_back(deployment_id->GetString());
    }
  }
  if (const json::Value* tasks = json::find(value, "tasks"); tasks != nullptr && tasks->IsArray()) {
    std::size_t index = 0;
    for (const auto& task_value : tasks->GetArray()) {
      auto task = parseTask(task_value, indexPath(path + ".tasks", index++));
      if (!task) return task.error();
      if (task->app_id.empty()) task->app_id = app.id;
      app.tasks.push_back(std::move(*task));
    }
  }
  return app;
}

}  // namespace

Expected<ParsedApps> parseAppList(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  const json::Value* apps = json::find(*document, "apps");
  if (apps == nullptr || !apps->IsArray()) {
    return Error(ErrorKind::kMalformed, std::string(source) + ": expected {\"apps\": [...]}");
  }
  ParsedApps out;
  std::size_t index = 0;
  for (const auto& value : apps->GetArray()) {
    auto app = parseAppObject(value, indexPath("apps", index++));
    if (app) {
      out.apps.push_back(std::move(*app));
    } else {
      out.errors.push_back(app.error().withContext(source));
    }
  }
  return out;
}

Expected<MarathonApp> parseApp(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  const json::Value* app = json::find(*document, "app");
  if (app == nullptr) return Error(ErrorKind::kMalformed, std::string(source) + ": expected {\"app\": {...}}");
  auto parsed = parseAppObject(*app, "app");
  if (!parsed) return parsed.error().withContext(source);
  return parsed;
}

Expected<std::vector<MarathonDeployment>> parseDeployments(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  if (!document->IsArray()) return Error(ErrorKind::kMalformed, std::string(source) + ": expected an array");
  std::vector<MarathonDeployment> deployments;
  std::size_t index = 0;
  for (const auto& value : document->GetArray()) {
    const json::Value* id = json::find(value, "id");
    if (id == nullptr || !id->IsString()) {
      return Error(ErrorKind::kMalformed,
                   std::string(source) + ": " + indexPath("deployments", index) + " has no string id");
    }
    MarathonDeployment deployment;
    deployment.id.assign(id->GetString(), id->GetStringLength());
    if (const json::Value* apps = json::find(value, "affectedApps"); apps != nullptr && apps->IsArray()) {
      for (const auto& app : apps->GetArray()) {
        if (app.IsString()) deployment.affected_apps.emplace_back(app.GetString(), app.GetStringLength());
      }
    }
    deployments.push_back(std::move(deployment));
    ++index;
  }
  return deployments;
}

Expected<std::vector<std::string>> parseDeploymentIds(std::string_view body, std::string_view source) {
  auto deployments = parseDeployments(body, source);
  if (!deployments) return deployments.error();
  std::vector<std::string> ids;
  ids.reserve(deployments->size());
  for (auto& deployment : *deployments) ids.push_back(std::move(deployment.id));
  return ids;
}

Expected<std::string> parseDeploymentResult(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  auto id = json::getString(*document, "deploymentId", "");
  if (!id) return id.error().withContext(source);
  return std::move(*id);
}

std::vector<std::string> parseLockingDeployments(std::string_view body) {
  std::vector<std::string> ids;
  auto document = json::parse(body, "409 body");
  if (!document) return ids;
  const json::Value* deployments = json::find(*document, "deployments");
  if (deployments == nullptr || !deployments->IsArray()) return ids;
  for (const auto& deployment : deployments->GetArray()) {
    const json::Value* id = json::find(deployment, "id");
    if (id != nullptr && id->IsString()) ids.emplace_back(id->GetString(), id->GetStringLength());
  }
  return ids;
}

Expected<std::string> marathonAuthorization(const std::function<const char*(const char*)>& getenv) {
  auto secret = [&](const std::string& name) { return secretFromEnvironment(name, getenv); };
  auto token = secret("RIGHTSIZE_MARATHON_TOKEN");
  if (!token) return token.error();
  if (token->has_value()) return "token=" + **token;
  auto user = secret("RIGHTSIZE_MARATHON_USER");
  if (!user) return user.error();
  auto password = secret("RIGHTSIZE_MARATHON_PASSWORD");
  if (!password) return password.error();
  if (user->has_value() != password->has_value()) {
    return Error(ErrorKind::kInvalidArgument,
                 "RIGHTSIZE_MARATHON_USER and RIGHTSIZE_MARATHON_PASSWORD go together: set both or neither");
  }
  if (user->has_value()) return "Basic " + base64Encode(**user + ":" + **password);
  return std::string();
}

HttpMarathonClient::HttpMarathonClient(HttpClient& http, HttpMarathonOptions options)
    : http_(http), options_(std::move(options)) {
  for (auto& url : options_.urls) {
    while (!url.empty() && url.back() == '/') url.pop_back();
  }
}

namespace {

// "HTTP 422: Object is not valid [{...}]": Marathon explains itself in
// {"message": ..., "details": [...]}.
std::string describeAnswer(const HttpResponse& response) {
  std::string message;
  if (auto document = json::parse(response.body, "answer"); document && document->IsObject()) {
    if (const json::Value* text = json::find(*document, "message"); text && text->IsString())
      message = text->GetString();
    if (const json::Value* details = json::find(*document, "details"); details && details->IsArray()) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      details->Accept(writer);
      message += std::string(" ") + buffer.GetString();
    }
  }
  if (message.empty()) message = std::string(trim(response.body.substr(0, 200)));
  return "HTTP " + std::to_string(response.status) + (message.empty() ? std::string() : ": " + message);
}

}  // namespace

Error HttpMarathonClient::statusError(const std::string& what, const HttpResponse& response) {
  const ErrorKind kind = response.status == 404 || response.status == 422 ? ErrorKind::kInvalidValue
                         : response.status == 409                         ? ErrorKind::kConflict
                                                                          : ErrorKind::kHttpStatus;
  return Error(kind, what + ": " + describeAnswer(response));
}

Expected<HttpResponse> HttpMarathonClient::exchange(const std::string& method, const std::string& path_and_query,
                                                    const std::string& body) {
  if (options_.urls.empty()) return Error(ErrorKind::kInvalidArgument, "no Marathon URL");
  // A write whose answer was lost may have happened: it is never sent again
  // to another Marathon in the same call (the sizer reads the app to find
  // out). Reads move on to the next Marathon.
  const std::size_t attempts = method == "GET" ? options_.urls.size() : 1;
  std::optional<Error> last;
  std::vector<std::string> failures;
  for (std::size_t attempt = 0; attempt < attempts; ++attempt) {
    const std::size_t index = (preferred_ + attempt) % options_.urls.size();
    HttpClientRequest request;
    request.method = method;
    request.url = options_.urls[index] + path_and_query;
    request.timeout = options_.timeout;
    request.body = body;
    request.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    if (!options_.authorization.empty()) request.headers.emplace_back("Authorization", options_.authorization);
    auto response = http_.send(request);
    if (!response) {
      if (options_.on_response) options_.on_response("error");
      last = response.error();
      failures.push_back(last->message());
      continue;
    }
    if (options_.on_response) options_.on_response(std::to_string(response->status));
    if (response->status >= 500) {
      last = statusError(method + " " + redactUrl(request.url), *response);
      failures.push_back(last->message());
      continue;
    }
    preferred_ = index;
    return response;
  }
  if (failures.size() <= 1) return *last;
  std::string message = "no Marathon answered (" + std::to_string(failures.size()) + " tried)";
  for (const auto& failure : failures) message += "; " + failure;
  return Error(last->kind(), message);
}

Expected<std::vector<MarathonApp>> HttpMarathonClient::listApps() {
  // Marathon embeds the apps' deployment ids with their tasks.
  auto response = exchange("GET", "/v2/apps?embed=apps.tasks", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/apps", *response);
  auto parsed = parseAppList(response->body, "GET /v2/apps");
  if (!parsed) return parsed.error();
  // Apps with unusable definitions are left out; the sizer never touches them.
  return std::move(parsed->apps);
}

Expected<MarathonApp> HttpMarathonClient::getApp(const std::string& app_id) {
  if (!validAppId(app_id)) return Error(ErrorKind::kInvalidArgument, "not a Marathon app id: " + app_id);
  auto response = exchange("GET", "/v2/apps" + app_id + "?embed=app.tasks&embed=app.deployments", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/apps" + app_id, *response);
  return parseApp(response->body, "GET /v2/apps" + app_id);
}

Expected<UpdateOutcome> HttpMarathonClient::updateResources(const std::string& app_id, double cpus, double mem_mib,
                                                            bool force) {
  if (!validAppId(app_id)) return Error(ErrorKind::kInvalidArgument, "not a Marathon app id: " + app_id);
  if (!std::isfinite(cpus) || !std::isfinite(mem_mib) || cpus <= 0 || mem_mib <= 0) {
    return Error(ErrorKind::kInvalidArgument, "PUT /v2/apps" + app_id + ": cpus and mem must be positive");
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "cpus");
  writer.Double(cpus);
  json::writeKey(writer, "mem");
  writer.Double(mem_mib);
  writer.EndObject();
  const std::string what = "PUT /v2/apps" + app_id;
  auto response = exchange("PUT", "/v2/apps" + app_id + (force ? "?force=true" : "?force=false"), buffer.GetString());
  if (!response) return response.error();
  UpdateOutcome outcome;
  if (response->status == 409) {
    outcome.result = UpdateOutcome::Result::kLocked;
    outcome.locking_deployments = parseLockingDeployments(response->body);
    return outcome;
  }
  if (response->status == 404 || response->status == 422) {
    outcome.result = UpdateOutcome::Result::kRefused;
    outcome.message = describeAnswer(*response);
    return outcome;
  }
  if (response->status != 200 && response->status != 201) return statusError(what, *response);
  auto id = parseDeploymentResult(response->body, what);
  if (!id) return id.error();
  outcome.deployment_id = std::move(*id);
  return outcome;
}

Expected<std::vector<MarathonDeployment>> HttpMarathonClient::deployments() {
  auto response = exchange("GET", "/v2/deployments", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/deployments", *response);
  return parseDeployments(response->body, "GET /v2/deployments");
}

}  // namespace rightsize::sizing
