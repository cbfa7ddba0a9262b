#include "rightsize/sizing/marathon.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>

#include "rightsize/core/json.h"
#include "rightsize/core/secrets.h"
#include "rightsize/core/text.h"

namespace rightsize::sizing {

// Marathon's app ids (PathId): absolute, names separated by '/', each name
// matching ^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$:
// labels of lowercase letters, digits and inner dashes, joined by single dots.
// Marathon also takes "." and ".." names, steps it resolves as in file paths;
// they are refused here because the id goes into request paths, where they
// would lead to another app ("/web/../x" is "/x").
bool validAppId(std::string_view id) {
  auto validLabel = [](std::string_view label) {
    return !label.empty() && label.front() != '-' && label.back() != '-' &&
           std::all_of(label.begin(), label.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
  };
  if (id.size() < 2 || id.front() != '/') return false;
  std::size_t start = 1;
  while (true) {
    const std::size_t slash = id.find('/', start);
    const std::string_view name = id.substr(start, slash == std::string_view::npos ? slash : slash - start);
    // An empty name (in "/a//b" or "/a/") or label (in "/.", "/..", "/a..b") fails here.
    for (std::size_t label_start = 0;;) {
      const std::size_t dot = name.find('.', label_start);
      if (!validLabel(name.substr(label_start, dot == std::string_view::npos ? dot : dot - label_start))) return false;
      if (dot == std::string_view::npos) break;
      label_start = dot + 1;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool TaskFailure::oomKill() const { return state == "TASK_FAILED" && message.starts_with("Memory limit exceeded"); }

namespace {

// Marathon's timestamps: ISO 8601 in UTC, "2015-09-25T15:13:48.343Z" (the
// milliseconds optional); an offset from UTC ("+00:00", "-0530") is read
// too, as ISO 8601 allows it.
std::optional<TimePoint> parseMarathonTime(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char tail = 0;
  const std::string copy(text.substr(0, 64));
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute, &second, &tail) !=
      7) {
    return std::nullopt;
  }
  // Up to 2200: later years overflow the nanosecond clock (about 2262).
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  std::string_view rest = std::string_view(copy).substr(19);
  if (tail == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    auto parsed = parseDouble("0" + std::string(rest.substr(0, digits)));
    if (!parsed) return std::nullopt;
    fraction = *parsed;
    rest = rest.substr(digits);
  }
  std::chrono::minutes offset{0};
  if (rest != "Z") {
    // [+-]hh:mm or [+-]hhmm.
    const bool colon = rest.size() == 6 && rest[3] == ':';
    if ((rest.size() != 5 && !colon) || (rest[0] != '+' && rest[0] != '-')) return std::nullopt;
    const std::string_view hh = rest.substr(1, 2), mm = rest.substr(colon ? 4 : 3, 2);
    const auto digits = [](std::string_view two) {
      return two.size() == 2 && two[0] >= '0' && two[0] <= '9' && two[1] >= '0' && two[1] <= '9';
    };
    if (!digits(hh) || !digits(mm)) return std::nullopt;
    const int hours = (hh[0] - '0') * 10 + (hh[1] - '0'), minutes = (mm[0] - '0') * 10 + (mm[1] - '0');
    if (hours > 23 || minutes > 59) return std::nullopt;
    offset = std::chrono::minutes((hours * 60 + minutes) * (rest[0] == '-' ? -1 : 1));
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  const auto days = std::chrono::sys_days(date).time_since_epoch();
  return TimePoint(std::chrono::duration_cast<Duration>(days) + std::chrono::hours(hour) +
                   std::chrono::minutes(minute) + std::chrono::seconds(second) +
                   std::chrono::duration_cast<Duration>(std::chrono::duration<double>(fraction)) - offset);
}

// Mesos' byte counts as its memory isolator prints them: "544MB", "1GB",
// "512KB", "100B" (Bytes' operator<<: whole units of 1024).
std::optional<double> parseMesosBytesMib(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) ++digits;
  auto number = parseDouble(text.substr(0, digits));
  if (!number || !std::isfinite(*number)) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  double mib = 0;
  if (unit.starts_with("TB")) {
    mib = *number * 1024 * 1024;
  } else if (unit.starts_with("GB")) {
    mib = *number * 1024;
  } else if (unit.starts_with("MB")) {
    mib = *number;
  } else if (unit.starts_with("KB")) {
    mib = *number / 1024;
  } else if (unit.starts_with("B")) {
    mib = *number / (1024 * 1024);
  } else {
    return std::nullopt;
  }
  return mib;
}

// "Memory limit exceeded: Requested: 544MB Maximum Used: 544MB ...": the
// limit, when the message says it.
std::optional<double> oomLimitMib(std::string_view message) {
  constexpr std::string_view kRequested = "Requested: ";
  const std::size_t at = message.find(kRequested);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kRequested.size());
  rest = rest.substr(0, rest.find_first_of(" \n"));
  return parseMesosBytesMib(rest);
}

// Counts are numbers >= 0 that fit an int; absent is 0.
Expected<int> optionalCount(const json::Value& value, std::string_view name, const std::string& path) {
  auto number = json::getOptionalNumber(value, name, path);
  if (!number) return number.error();
  const double n = number->value_or(0);
  if (!(n >= 0 && n <= INT_MAX)) {
    return Error(ErrorKind::kInvalidValue, path + "." + std::string(name) + ": not a count");
  }
  return static_cast<int>(std::lround(n));
}

// An optional ISO 8601 member (absent or null: nullopt); any other text is
// an error naming it.
Expected<std::optional<TimePoint>> optionalTime(const json::Value& value, std::string_view name,
                                                const std::string& path) {
  auto text = json::getOptionalString(value, name, path);
  if (!text) return text.error();
  if (!*text) return std::optional<TimePoint>();
  const std::optional<TimePoint> at = parseMarathonTime(**text);
  if (!at) {
    return Error(ErrorKind::kInvalidValue, path + "." + std::string(name) + ": \"" +
                                               sanitizeUtf8((*text)->substr(0, 40)) + "\" is not an ISO 8601 time");
  }
  return at;
}

Expected<TaskFailure> parseTaskFailure(const json::Value& value, const std::string& path) {
  if (!value.IsObject()) return Error(ErrorKind::kInvalidValue, path + ": expected an object");
  TaskFailure failure;
  struct Field {
    std::string_view name;
    std::string* into;
  };
  for (const Field field :
       {Field{"taskId", &failure.task_id}, Field{"state", &failure.state}, Field{"message", &failure.message},
        Field{"host", &failure.host}, Field{"version", &failure.version}}) {
    auto text = json::getOptionalString(value, field.name, path);
    if (!text) return text.error();
    *field.into = text->value_or("");
  }
  auto at = optionalTime(value, "timestamp", path);
  if (!at) return at.error();
  failure.at = *at;
  failure.version_at = parseMarathonTime(failure.version);
  if (failure.oomKill()) failure.limit_mib = oomLimitMib(failure.message);
  return failure;
}

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
  auto started = optionalTime(value, "startedAt", path);
  if (!started) return started.error();
  task.started_at = *started;
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
    return Error(ErrorKind::kInvalidValue, path + ".id: \"" + sanitizeUtf8(id->substr(0, 200)) +
                                               "\" is not a Marathon app id (absolute; lowercase letters, digits, "
                                               "inner dashes and dots; no . or .. names)");
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
  if (const json::Value* limits = json::find(value, "resourceLimits"); limits != nullptr && !limits->IsNull()) {
    if (!limits->IsObject()) return Error(ErrorKind::kInvalidValue, path + ".resourceLimits: expected an object");
    for (auto [key, limit] : {std::pair{"cpus", &app.limits.cpus}, {"mem", &app.limits.mem_mib}}) {
      const json::Value* given = json::find(*limits, key);
      if (given == nullptr || given->IsNull()) continue;
      if (given->IsString() && std::string_view(given->GetString(), given->GetStringLength()) == "unlimited") {
        *limit = kUnlimited;
      } else if (given->IsNumber() && std::isfinite(given->GetDouble()) && given->GetDouble() >= 0) {
        *limit = given->GetDouble();
      } else {
        return Error(ErrorKind::kInvalidValue,
                     path + ".resourceLimits." + key + ": neither a number >= 0 nor \"unlimited\"");
      }
    }
  }
  if (const json::Value* labels = json::find(value, "labels"); labels != nullptr && labels->IsObject()) {
    for (const auto& member : labels->GetObject()) {
      // Marathon labels are strings; anything else is kept out rather than
      // failing the whole app.
      if (member.value.IsString()) app.labels.emplace(member.name.GetString(), member.value.GetString());
    }
  }
  if (const json::Value* constraints = json::find(value, "constraints"); constraints && constraints->IsArray()) {
    for (const auto& entry : constraints->GetArray()) {
      if (!entry.IsArray() || entry.Size() < 2 || entry.Size() > 3) continue;
      const auto parts = entry.GetArray();
      if (!std::all_of(parts.begin(), parts.end(), [](const json::Value& part) { return part.IsString(); })) continue;
      Constraint constraint{parts[0].GetString(), parts[1].GetString(), std::nullopt};
      if (entry.Size() == 3) constraint.value = parts[2].GetString();
      app.constraints.push_back(std::move(constraint));
    }
  }
  if (const json::Value* deployments = json::find(value, "deployments"); deployments && deployments->IsArray()) {
    for (const auto& deployment : deployments->GetArray()) {
      const json::Value* deployment_id = json::find(deployment, "id");
      if (deployment_id != nullptr && deployment_id->IsString())
        app.deployment_ids.emplace_back(deployment_id->GetString());
    }
  }
  struct Count {
    std::string_view name;
    int* into;
  };
  for (const Count count : {Count{"tasksStaged", &app.tasks_staged}, Count{"tasksRunning", &app.tasks_running},
                            Count{"tasksHealthy", &app.tasks_healthy}, Count{"tasksUnhealthy", &app.tasks_unhealthy}}) {
    auto parsed = optionalCount(value, count.name, path);
    if (!parsed) return parsed.error();
    *count.into = *parsed;
  }
  if (const json::Value* checks = json::find(value, "healthChecks"); checks != nullptr && checks->IsArray()) {
    app.health_checked = !checks->GetArray().Empty();
  }
  if (const json::Value* info = json::find(value, "versionInfo"); info != nullptr && info->IsObject()) {
    auto changed = json::getOptionalString(*info, "lastConfigChangeAt", path + ".versionInfo");
    if (!changed) return changed.error();
    if (*changed) app.config_changed_at = parseMarathonTime(**changed);
  }
  if (const json::Value* failure = json::find(value, "lastTaskFailure"); failure != nullptr && !failure->IsNull()) {
    auto parsed = parseTaskFailure(*failure, path + ".lastTaskFailure");
    if (!parsed) return parsed.error();
    app.last_task_failure = std::move(*parsed);
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
      continue;
    }
    // Its id, where it can be read: the sizer keeps that app's state.
    UnusableApp unusable{"", app.error().withContext(source)};
    if (const json::Value* id = value.IsObject() ? json::find(value, "id") : nullptr; id != nullptr && id->IsString()) {
      unusable.app_id.assign(id->GetString(), id->GetStringLength());
    }
    out.unusable.push_back(std::move(unusable));
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

Expected<std::vector<QueuedApp>> parseQueue(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  const json::Value* queue = json::find(*document, "queue");
  if (queue == nullptr || !queue->IsArray()) {
    return Error(ErrorKind::kMalformed, std::string(source) + ": expected {\"queue\": [...]}");
  }
  std::vector<QueuedApp> out;
  std::size_t index = 0;
  for (const auto& value : queue->GetArray()) {
    const std::string path = std::string(source) + ": " + indexPath("queue", index++);
    if (!value.IsObject()) return Error(ErrorKind::kMalformed, path + ": expected an object");
    QueuedApp entry;
    // Apps are queued as "app"; pods (Marathon >= 1.4) as "pod", ignored.
    const json::Value* app = json::find(value, "app");
    if (app == nullptr) continue;
    auto id = app->IsObject() ? json::getString(*app, "id", path + ".app")
                              : Expected<std::string>(Error(ErrorKind::kMalformed, path + ".app: expected an object"));
    if (!id) return id.error();
    entry.app_id = std::move(*id);
    auto count = optionalCount(value, "count", path);
    if (!count) return count.error();
    entry.count = *count;
    if (const json::Value* delay = json::find(value, "delay"); delay != nullptr && delay->IsObject()) {
      auto left = json::getOptionalNumber(*delay, "timeLeftSeconds", path + ".delay");
      if (!left) return left.error();
      if (left->value_or(0) < 0) return Error(ErrorKind::kInvalidValue, path + ".delay.timeLeftSeconds: negative");
      entry.delay_seconds = left->value_or(0);
      if (const json::Value* overdue = json::find(*delay, "overdue"); overdue != nullptr) {
        if (!overdue->IsBool()) return Error(ErrorKind::kInvalidValue, path + ".delay.overdue: not a boolean");
        entry.overdue = overdue->GetBool();
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
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

Expected<ParsedApps> HttpMarathonClient::listApps() {
  // Counts are embedded by default only while no embed is asked for.
  auto response = exchange(
      "GET", "/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/apps", *response);
  // Apps with unusable definitions come apart: the sizer never touches them.
  return parseAppList(response->body, "GET /v2/apps");
}

namespace {

// "/v2/apps/team/web" for "/team/web": every name percent-encoded, although a
// valid id needs none, so that no id can reach another path or a query.
std::string appPath(std::string_view app_id) {
  std::string path = "/v2/apps";
  std::size_t start = 1;
  while (start <= app_id.size()) {
    std::size_t slash = app_id.find('/', start);
    if (slash == std::string_view::npos) slash = app_id.size();
    path += '/';
    path += percentEncodePathSegment(app_id.substr(start, slash - start));
    start = slash + 1;
  }
  return path;
}

}  // namespace

Expected<MarathonApp> HttpMarathonClient::getApp(const std::string& app_id) {
  if (!validAppId(app_id))
    return Error(ErrorKind::kInvalidArgument, "not a Marathon app id: " + sanitizeUtf8(app_id.substr(0, 200)));
  auto response = exchange("GET", appPath(app_id) + "?embed=app.tasks&embed=app.deployments", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/apps" + app_id, *response);
  return parseApp(response->body, "GET /v2/apps" + app_id);
}

std::string limitText(double limit) { return unlimited(limit) ? "unlimited" : formatRounded(limit, 3); }

double asWritten(double value) {
  if (unlimited(value) || !std::isfinite(value)) return value;
  return parseDouble(formatRounded(value, 3)).value_or(value);
}

bool notSent(const Error& error) { return error.kind() == ErrorKind::kInvalidArgument; }

Expected<UpdateOutcome> HttpMarathonClient::updateResources(const std::string& app_id, double cpus, double mem_mib,
                                                            bool force, const std::optional<ResourceLimits>& limits) {
  if (!validAppId(app_id))
    return Error(ErrorKind::kInvalidArgument, "not a Marathon app id: " + sanitizeUtf8(app_id.substr(0, 200)));
  if (!std::isfinite(cpus) || !std::isfinite(mem_mib) || cpus <= 0 || mem_mib <= 0) {
    return Error(ErrorKind::kInvalidArgument, "PUT /v2/apps" + app_id + ": cpus and mem must be positive");
  }
  // Three decimals, written as the shortest text (0.35, not
  // 0.35000000000000006): Marathon's cpus go down to 0.001.
  const std::string cpus_text = formatRounded(cpus, 3);
  const std::string mem_text = formatRounded(mem_mib, 3);
  if (cpus_text == "0" || mem_text == "0") {
    return Error(ErrorKind::kInvalidArgument, "PUT /v2/apps" + app_id + ": cpus " + formatExact(cpus) + " and mem " +
                                                  formatExact(mem_mib) +
                                                  " must be at least 0.001 once rounded to 3 decimals");
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "cpus");
  // Writer::RawNumber of rapidjson 1.1 quotes the number; RawValue does not.
  writer.RawValue(cpus_text.data(), cpus_text.size(), rapidjson::kNumberType);
  json::writeKey(writer, "mem");
  writer.RawValue(mem_text.data(), mem_text.size(), rapidjson::kNumberType);
  if (limits) {
    json::writeKey(writer, "resourceLimits");
    writer.StartObject();
    const std::pair<const char*, std::optional<double>> keys[] = {{"cpus", limits->cpus}, {"mem", limits->mem_mib}};
    for (const auto& [key, limit] : keys) {
      if (!limit) continue;
      const std::string request_text = std::string_view(key) == "cpus" ? cpus_text : mem_text;
      const std::string text = limitText(*limit);
      if (!(*limit > 0) ||
          (!unlimited(*limit) && (!std::isfinite(*limit) || *parseDouble(text) < *parseDouble(request_text)))) {
        return Error(ErrorKind::kInvalidArgument, "PUT /v2/apps" + app_id + ": resourceLimits." + key + " " +
                                                      formatExact(*limit) + " is below its request " + request_text);
      }
      json::writeKey(writer, key);
      if (unlimited(*limit)) {
        json::writeString(writer, "unlimited");
      } else {
        writer.RawValue(text.data(), text.size(), rapidjson::kNumberType);
      }
    }
    writer.EndObject();
  }
  writer.EndObject();
  return put(app_id, buffer.GetString(), force);
}

Expected<UpdateOutcome> HttpMarathonClient::updateInstances(const std::string& app_id, int instances, bool force,
                                                            const std::optional<ResourceLimits>& limits) {
  if (!validAppId(app_id))
    return Error(ErrorKind::kInvalidArgument, "not a Marathon app id: " + sanitizeUtf8(app_id.substr(0, 200)));
  if (instances < 0) {
    return Error(ErrorKind::kInvalidArgument,
                 "PUT /v2/apps" + app_id + ": instances " + std::to_string(instances) + " is below 0");
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "instances");
  writer.Int(instances);
  if (limits && (limits->cpus || limits->mem_mib)) {
    // As the app has them: written back unchanged.
    json::writeKey(writer, "resourceLimits");
    writer.StartObject();
    const std::pair<const char*, std::optional<double>> keys[] = {{"cpus", limits->cpus}, {"mem", limits->mem_mib}};
    for (const auto& [key, limit] : keys) {
      if (!limit) continue;
      if (!(*limit > 0) || (!unlimited(*limit) && !std::isfinite(*limit))) {
        return Error(ErrorKind::kInvalidArgument, "PUT /v2/apps" + app_id + ": resourceLimits." + key + " " +
                                                      formatExact(*limit) + " is not a limit");
      }
      json::writeKey(writer, key);
      if (unlimited(*limit)) {
        json::writeString(writer, "unlimited");
      } else {
        const std::string text = formatExact(*limit);  // exactly as read: any other is a change
        writer.RawValue(text.data(), text.size(), rapidjson::kNumberType);
      }
    }
    writer.EndObject();
  }
  writer.EndObject();
  return put(app_id, buffer.GetString(), force);
}

Expected<UpdateOutcome> HttpMarathonClient::put(const std::string& app_id, const std::string& body, bool force) {
  const std::string what = "PUT /v2/apps" + app_id;
  auto response = exchange("PUT", appPath(app_id) + (force ? "?force=true" : "?force=false"), body);
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

Expected<std::vector<QueuedApp>> HttpMarathonClient::launchQueue() {
  auto response = exchange("GET", "/v2/queue", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/queue", *response);
  return parseQueue(response->body, "GET /v2/queue");
}

Expected<std::vector<MarathonDeployment>> HttpMarathonClient::deployments() {
  auto response = exchange("GET", "/v2/deployments", "");
  if (!response) return response.error();
  if (response->status != 200) return statusError("GET /v2/deployments", *response);
  return parseDeployments(response->body, "GET /v2/deployments");
}

}  // namespace rightsize::sizing
