// The Marathon double's answers to GETs: query parameters, embeds and label
// selectors, and the JSON of apps, tasks, deployments, the queue, /v2/info.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "fake_marathon_parts.h"

namespace rightsize::testing::fake_marathon {
namespace {

constexpr std::string_view kFrameworkId = "8c2f6b9e-4d1a-4e3b-9f6c-2a7d5e0b1c3f-0000";
constexpr std::string_view kHealthFailureCause = "Health check failed";

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool isIpv4(std::string_view host) {
  int dots = 0;
  int digits = 0;
  for (const char c : host) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9' && digits < 3) {
      ++digits;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Splits on unescaped `separator` outside parentheses; escapes are kept.
std::vector<std::string> splitSelector(std::string_view text, char separator) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      out.back() += c;
      out.back() += text[++i];
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == separator && depth == 0) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string unescapeTrimmed(std::string_view text) {
  text = trim(text);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

// Index of the first unescaped occurrence of `needle` in `text`.
std::size_t findUnescaped(std::string_view text, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      continue;
    }
    if (text.substr(i, needle.size()) == needle) return i;
  }
  return std::string_view::npos;
}

}  // namespace

Query::Query(std::string_view raw) {
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view pair = raw.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      if (equals == std::string_view::npos) {
        params_.emplace_back(urlDecode(pair), "");
      } else {
        params_.emplace_back(urlDecode(pair.substr(0, equals)), urlDecode(pair.substr(equals + 1)));
      }
    }
    start = end + 1;
  }
}

std::optional<std::string> Query::get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> Query::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : params_) {
    if (key == name) out.push_back(value);
  }
  return out;
}

bool Query::flag(std::string_view name, bool fallback) const {
  const auto value = get(name);
  return value ? equalsIgnoreCase(*value, "true") : fallback;
}

Embeds parseEmbeds(const Query& query) {
  Embeds embeds;
  for (std::string_view value : query.all("embed")) {
    for (std::string_view prefix : {"group.apps.", "apps.", "app."}) {
      if (value.starts_with(prefix)) {
        value.remove_prefix(prefix.size());
        break;
      }
    }
    if (value == "tasks" || value == "failures") embeds.tasks = true;
    if (value == "lastTaskFailure" || value == "failures") embeds.last_task_failure = true;
    if (value == "readiness") embeds.readiness = true;
    if (value == "taskStats") embeds.task_stats = true;
  }
  return embeds;
}

Embeds showEmbeds(const Query& query) {
  Embeds embeds = parseEmbeds(query);
  embeds.tasks = true;
  embeds.last_task_failure = true;
  return embeds;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  const auto it = labels.find(key);
  if (it == labels.end()) return false;
  switch (op) {
    case Op::kExists:
      return true;
    case Op::kEquals:
      return it->second == values.front();
    case Op::kNotEquals:
      return it->second != values.front();
    case Op::kIn:
      return std::find(values.begin(), values.end(), it->second) != values.end();
    case Op::kNotIn:
      return std::find(values.begin(), values.end(), it->second) == values.end();
  }
  return false;
}

std::optional<std::vector<LabelSelector>> parseLabelSelectors(std::string_view query) {
  std::vector<LabelSelector> selectors;
  for (const auto& term_text : splitSelector(query, ',')) {
    const std::string_view term = trim(term_text);
    if (term.empty()) return std::nullopt;
    LabelSelector selector;
    const std::size_t open = findUnescaped(term, "(");
    if (open != std::string_view::npos) {
      if (!term.ends_with(')')) return std::nullopt;
      const std::string_view head = trim(term.substr(0, open));
      std::size_t space = head.size();
      while (space > 0 && head[space - 1] != ' ') --space;
      if (space == 0) return std::nullopt;
      const std::string_view op = head.substr(space);
      if (op == "in") {
        selector.op = LabelSelector::Op::kIn;
      } else if (op == "notin") {
        selector.op = LabelSelector::Op::kNotIn;
      } else {
        return std::nullopt;
      }
      selector.key = unescapeTrimmed(head.substr(0, space));
      for (const auto& value : splitSelector(term.substr(open + 1, term.size() - open - 2), ',')) {
        selector.values.push_back(unescapeTrimmed(value));
      }
    } else if (const std::size_t ne = findUnescaped(term, "!="); ne != std::string_view::npos) {
      selector.op = LabelSelector::Op::kNotEquals;
      selector.key = unescapeTrimmed(term.substr(0, ne));
      selector.values.push_back(unescapeTrimmed(term.substr(ne + 2)));
    } else if (const std::size_t eq = findUnescaped(term, "="); eq != std::string_view::npos) {
      const std::size_t skip = term.substr(eq).starts_with("==") ? 2 : 1;
      selector.op = LabelSelector::Op::kEquals;
      selector.key = unescapeTrimmed(term.substr(0, eq));
      selector.values.push_back(unescapeTrimmed(term.substr(eq + skip)));
    } else {
      selector.key = unescapeTrimmed(term);
    }
    if (selector.key.empty()) return std::nullopt;
    selectors.push_back(std::move(selector));
  }
  return selectors;
}

// Marathon's TaskCounts: tasks without health results count neither
// healthy nor unhealthy.
Counts Marathon::countsOf(const AppState& app) {
  Counts counts;
  const bool checked = arraySize(*app.definition, "healthChecks") > 0;
  for (const auto& t : app.tasks) {
    if (t.task.state == "TASK_STAGING" || t.task.state == "TASK_STARTING") ++counts.staged;
    if (t.task.state != "TASK_RUNNING") continue;
    ++counts.running;
    if (checked) ++(t.task.alive ? counts.healthy : counts.unhealthy);
  }
  return counts;
}

void Marathon::addTask(Value& array, const TaskState& state, const Value& definition, Allocator& a) const {
  const FakeTask& task = state.task;
  Value out(rapidjson::kObjectType);
  out.AddMember("appId", text(task.app_id, a), a);
  Value health(rapidjson::kArrayType);
  const std::string instance_id = task.id.substr(0, task.id.rfind("._app."));
  auto optionalTime = [&a](const std::optional<TimePoint>& t) { return t ? text(formatMarathonTime(*t), a) : Value(); };
  for (std::size_t i = 0; i < arraySize(definition, "healthChecks"); ++i) {
    Value result(rapidjson::kObjectType);
    result.AddMember("alive", task.alive, a);
    result.AddMember("consecutiveFailures", task.consecutive_failures, a);
    result.AddMember("firstSuccess", text(formatMarathonTime(task.started_at), a), a);
    result.AddMember("lastFailure", optionalTime(task.last_health_failure), a);
    // Checks keep passing while alive.
    const TimePoint last_success = task.alive ? std::max(task.started_at, clock.now()) : state.last_success;
    result.AddMember("lastSuccess", text(formatMarathonTime(last_success), a), a);
    result.AddMember("lastFailureCause", task.last_health_failure ? text(kHealthFailureCause, a) : Value(), a);
    result.AddMember("taskId", text(task.id, a), a);
    result.AddMember("instanceId", text(instance_id, a), a);
    health.PushBack(std::move(result), a);
  }
  out.AddMember("healthCheckResults", std::move(health), a);
  out.AddMember("host", text(task.host, a), a);
  out.AddMember("id", text(task.id, a), a);
  Value addresses(rapidjson::kArrayType);
  if (isIpv4(task.host)) {
    Value address(rapidjson::kObjectType);
    address.AddMember("ipAddress", text(task.host, a), a);
    address.AddMember("protocol", "IPv4", a);
    addresses.PushBack(std::move(address), a);
  }
  out.AddMember("ipAddresses", std::move(addresses), a);
  Value ports(rapidjson::kArrayType);
  for (const auto port : task.ports) ports.PushBack(static_cast<unsigned>(port), a);
  out.AddMember("ports", std::move(ports), a);
  Value service_port_list(rapidjson::kArrayType);
  for (const auto port : task.service_ports) service_port_list.PushBack(static_cast<unsigned>(port), a);
  out.AddMember("servicePorts", std::move(service_port_list), a);
  out.AddMember("slaveId", text(task.slave_id, a), a);
  out.AddMember("state", text(task.state, a), a);
  out.AddMember("stagedAt", text(formatMarathonTime(task.staged_at), a), a);
  out.AddMember("startedAt", text(formatMarathonTime(task.started_at), a), a);
  out.AddMember("version", text(task.version, a), a);
  out.AddMember("localVolumes", Value(rapidjson::kArrayType), a);
  out.AddMember("role", "*", a);
  array.PushBack(std::move(out), a);
}

// The app definition as Marathon's RAML App: with version and versionInfo.
Value Marathon::definitionJson(const AppState& app, Allocator& a) {
  Value out;
  out.CopyFrom(*app.definition, a);
  out.AddMember("version", text(app.version, a), a);
  Value version_info(rapidjson::kObjectType);
  version_info.AddMember("lastScalingAt", text(app.last_scaling_at, a), a);
  version_info.AddMember("lastConfigChangeAt", text(app.last_config_change_at, a), a);
  out.AddMember("versionInfo", std::move(version_info), a);
  return out;
}

Value Marathon::taskFailureJson(const FakeTaskFailure& failure, Allocator& a) {
  Value out(rapidjson::kObjectType);
  out.AddMember("appId", text(failure.app_id, a), a);
  out.AddMember("host", text(failure.host, a), a);
  out.AddMember("message", text(failure.message, a), a);
  out.AddMember("state", text(failure.state, a), a);
  out.AddMember("taskId", text(failure.task_id, a), a);
  out.AddMember("timestamp", text(formatMarathonTime(failure.timestamp), a), a);
  out.AddMember("version", text(failure.version, a), a);
  out.AddMember("slaveId", text(failure.slave_id, a), a);
  return out;
}

Value Marathon::appJson(const AppState& app, const Embeds& embeds, Allocator& a) const {
  Value out = definitionJson(app, a);
  const Counts counts = countsOf(app);
  out.AddMember("tasksStaged", counts.staged, a);
  out.AddMember("tasksRunning", counts.running, a);
  out.AddMember("tasksHealthy", counts.healthy, a);
  out.AddMember("tasksUnhealthy", counts.unhealthy, a);
  Value deployments(rapidjson::kArrayType);
  for (const auto& id : app.deployment_ids) {
    Value entry(rapidjson::kObjectType);
    entry.AddMember("id", text(id, a), a);
    deployments.PushBack(std::move(entry), a);
  }
  out.AddMember("deployments", std::move(deployments), a);
  if (embeds.tasks) {
    Value tasks(rapidjson::kArrayType);
    for (const auto& t : app.tasks) addTask(tasks, t, *app.definition, a);
    out.AddMember("tasks", std::move(tasks), a);
  }
  if (embeds.last_task_failure && app.last_failure) {
    out.AddMember("lastTaskFailure", taskFailureJson(*app.last_failure, a), a);
  }
  if (embeds.readiness) out.AddMember("readinessCheckResults", Value(rapidjson::kArrayType), a);
  if (embeds.task_stats) {
    Value stat_counts(rapidjson::kObjectType);
    stat_counts.AddMember("staged", counts.staged, a);
    stat_counts.AddMember("running", counts.running, a);
    stat_counts.AddMember("healthy", counts.healthy, a);
    stat_counts.AddMember("unhealthy", counts.unhealthy, a);
    Value stats(rapidjson::kObjectType);
    stats.AddMember("counts", std::move(stat_counts), a);
    Value summary(rapidjson::kObjectType);
    summary.AddMember("stats", std::move(stats), a);
    Value task_stats(rapidjson::kObjectType);
    task_stats.AddMember("totalSummary", std::move(summary), a);
    out.AddMember("taskStats", std::move(task_stats), a);
  }
  return out;
}

Value Marathon::deploymentJson(const Deployment& d, Allocator& a) const {
  Value out(rapidjson::kObjectType);
  const std::string& app_id = d.info.app_id;
  out.AddMember("id", text(d.info.id, a), a);
  out.AddMember("version", text(d.info.version, a), a);
  Value affected(rapidjson::kArrayType);
  affected.PushBack(text(app_id, a), a);
  out.AddMember("affectedApps", std::move(affected), a);
  out.AddMember("affectedPods", Value(rapidjson::kArrayType), a);
  auto action = [&](const std::string& name) {
    Value entry(rapidjson::kObjectType);
    entry.AddMember("action", text(name, a), a);
    entry.AddMember("app", text(app_id, a), a);
    return entry;
  };
  Value steps(rapidjson::kArrayType);
  for (const auto& name : d.info.actions) {
    Value step(rapidjson::kObjectType);
    Value actions(rapidjson::kArrayType);
    actions.PushBack(action(name), a);
    step.AddMember("actions", std::move(actions), a);
    steps.PushBack(std::move(step), a);
  }
  out.AddMember("steps", std::move(steps), a);
  // Steps take equal shares of the deployment's time; one that never
  // finishes hangs in its last step.
  const auto total = static_cast<std::int64_t>(d.info.actions.size());
  std::int64_t current = total;
  if (d.duration > Duration::zero()) {
    const double elapsed = toSeconds(clock.now() - d.info.started_at) / toSeconds(d.duration);
    current = std::clamp(static_cast<std::int64_t>(std::floor(elapsed * static_cast<double>(total))) + 1,
                         std::int64_t{1}, total);
  }
  Value current_actions(rapidjson::kArrayType);
  if (current >= 1) {
    Value entry = action(d.info.actions[static_cast<std::size_t>(current - 1)]);
    entry.AddMember("readinessCheckResults", Value(rapidjson::kArrayType), a);
    current_actions.PushBack(std::move(entry), a);
  }
  out.AddMember("currentActions", std::move(current_actions), a);
  out.AddMember("currentStep", current, a);
  out.AddMember("totalSteps", total, a);
  return out;
}

HttpResponse Marathon::info() const {
  const std::string leader_address = leaderAddress();
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("name", "marathon", a);
  body.AddMember("version", "1.10.26", a);
  body.AddMember("buildref", "rightsize-fake-marathon", a);
  body.AddMember("elected", true, a);
  body.AddMember("leader", text(leader_address, a), a);
  body.AddMember("frameworkId", text(kFrameworkId, a), a);
  Value config(rapidjson::kObjectType);
  config.AddMember("framework_name", "marathon", a);
  config.AddMember("hostname", text(leader_address.substr(0, leader_address.rfind(':')), a), a);
  config.AddMember("local_port_min", kFirstServicePort, a);
  config.AddMember("local_port_max", kLastServicePort, a);
  config.AddMember("mesos_role", "*", a);
  config.AddMember("zk_max_versions", static_cast<std::uint64_t>(kMaxVersions), a);
  body.AddMember("marathon_config", std::move(config), a);
  Value http(rapidjson::kObjectType);
  http.AddMember("http_port", parseInt64(leader_address.substr(leader_address.rfind(':') + 1)).value_or(8080), a);
  body.AddMember("http_config", std::move(http), a);
  return jsonResponse(200, serialize(body));
}

std::string Marathon::leaderAddress() const {
  std::string address = base_url.empty() ? "http://127.0.0.1:8080" : base_url;
  return address.substr(address.find("://") + 3);
}

HttpResponse Marathon::leader() const {
  Document body(rapidjson::kObjectType);
  body.AddMember("leader", text(leaderAddress(), body.GetAllocator()), body.GetAllocator());
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::listApps(const Query& query, const std::string& group, const Embeds& embeds) const {
  const auto cmd = query.get("cmd");
  const auto id = query.get("id");
  std::optional<std::vector<LabelSelector>> selectors;
  if (const auto label = query.get("label")) {
    selectors = parseLabelSelectors(*label);
    if (!selectors) return messageResponse(400, "Invalid label selector query: " + *label);
  }
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  Value list(rapidjson::kArrayType);
  for (const auto& [app_id, app] : apps) {
    if (!group.empty() && group != "/" && !app_id.starts_with(group + "/")) continue;
    if (id && app_id.find(*id) == std::string::npos) continue;
    if (cmd && stringOr(*app.definition, "cmd", "").find(*cmd) == std::string_view::npos) continue;
    if (selectors) {
      const auto labels = stringMap(*app.definition, "labels");
      if (!std::all_of(selectors->begin(), selectors->end(), [&](const auto& s) { return s.matches(labels); })) {
        continue;
      }
    }
    list.PushBack(appJson(app, embeds, a), a);
  }
  body.AddMember("apps", std::move(list), a);
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::getApp(const std::string& app_id, const Query& query) const {
  auto it = apps.find(app_id);
  if (it == apps.end()) return appNotFound(app_id);
  Document body(rapidjson::kObjectType);
  body.AddMember("app", appJson(it->second, showEmbeds(query), body.GetAllocator()), body.GetAllocator());
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::appTasks(const std::string& app_id) const {
  auto it = apps.find(app_id);
  if (it == apps.end()) return appNotFound(app_id);
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  Value tasks(rapidjson::kArrayType);
  for (const auto& t : it->second.tasks) addTask(tasks, t, *it->second.definition, a);
  body.AddMember("tasks", std::move(tasks), a);
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::listTasks(const Query& query) const {
  std::optional<std::string> state;
  if (const auto status = query.get("status")) {
    if (*status == "running") state = "TASK_RUNNING";
    if (*status == "staging") state = "TASK_STAGING";
  }
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  Value tasks(rapidjson::kArrayType);
  for (const auto& [app_id, app] : apps) {
    for (const auto& t : app.tasks) {
      if (!state || t.task.state == *state) addTask(tasks, t, *app.definition, a);
    }
  }
  body.AddMember("tasks", std::move(tasks), a);
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::versions(const std::string& app_id) const {
  auto it = apps.find(app_id);
  if (it == apps.end()) return appNotFound(app_id);
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  Value list(rapidjson::kArrayType);
  for (auto v = it->second.versions.rbegin(); v != it->second.versions.rend(); ++v) list.PushBack(text(v->first, a), a);
  body.AddMember("versions", std::move(list), a);
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::versionOf(const std::string& app_id, const std::string& version) const {
  auto it = apps.find(app_id);
  if (it == apps.end()) return appNotFound(app_id);
  for (const auto& [v, definition] : it->second.versions) {
    if (v != version) continue;
    Document body;
    body.CopyFrom(*definition, body.GetAllocator());
    body.AddMember("version", text(v, body.GetAllocator()), body.GetAllocator());
    return jsonResponse(200, serialize(body));
  }
  return messageResponse(404, "App '" + app_id + "' does not exist in version " + version);
}

// GET /v2/queue: the apps with failed tasks waiting for their back-off.
// The double launches them when it ends, so an entry is never overdue.
HttpResponse Marathon::queue() const {
  const TimePoint now = clock.now();
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  Value list(rapidjson::kArrayType);
  for (const auto& [app_id, app] : apps) {
    if (app.queued == 0) continue;
    Value entry(rapidjson::kObjectType);
    entry.AddMember("app", definitionJson(app, a), a);
    entry.AddMember("count", app.queued, a);
    Value delay(rapidjson::kObjectType);
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(app.launch_at - now).count();
    delay.AddMember("timeLeftSeconds", static_cast<std::int64_t>(std::max<std::int64_t>(0, left)), a);
    delay.AddMember("overdue", app.launch_at < now, a);
    entry.AddMember("delay", std::move(delay), a);
    entry.AddMember("since", text(formatMarathonTime(app.queued_since), a), a);
    Value offers(rapidjson::kObjectType);
    offers.AddMember("processedOffersCount", 0, a);
    offers.AddMember("unusedOffersCount", 0, a);
    entry.AddMember("processedOffersSummary", std::move(offers), a);
    list.PushBack(std::move(entry), a);
  }
  body.AddMember("queue", std::move(list), a);
  return jsonResponse(200, serialize(body));
}

HttpResponse Marathon::listDeployments() const {
  Document body(rapidjson::kArrayType);
  for (const auto& d : running) body.PushBack(deploymentJson(d, body.GetAllocator()), body.GetAllocator());
  return jsonResponse(200, serialize(body));
}

}  // namespace rightsize::testing::fake_marathon

namespace rightsize::testing {

std::string formatMarathonTime(TimePoint t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::int64_t seconds = ms / 1000;
  std::int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[48];
  if (millis == 0) {
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
  } else {
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  }
  return buffer;
}

}  // namespace rightsize::testing
