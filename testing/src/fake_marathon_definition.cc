// The Marathon double's app definitions: what Marathon does to the body of a
// POST, PUT or PATCH, or to an app given to addApp or addAppsFromJson: path
// ids, every field with its default, validation errors (400 for wrong JSON
// types, 422 for broken rules), partial updates.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "fake_marathon_parts.h"

#include "rightsize/sizing/marathon.h"

namespace rightsize::testing::fake_marathon {
namespace {

// The reference shows only the shape of validation errors and one message
// ("is greater than 1"); this text follows Marathon's validators.
constexpr std::string_view kCommandMessage =
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
// Computed by Marathon: ignored when they come in a request body or a file.
constexpr std::string_view kReadOnlyFields[] = {"version",         "versionInfo",  "tasks",
                                                "tasksStaged",     "tasksRunning", "tasksHealthy",
                                                "tasksUnhealthy",  "deployments",  "readinessCheckResults",
                                                "lastTaskFailure", "taskStats",    "tasksStats"};

bool isReadOnlyField(std::string_view name) {
  return std::find(std::begin(kReadOnlyFields), std::end(kReadOnlyFields), name) != std::end(kReadOnlyFields);
}

// Scala's Double.toString (Java's), as Marathon's validation messages print
// numbers: "-1.0", "0.25", and from 10^7 up or below 10^-3 "1.0E7", "2.5E-4".
std::string scalaNumber(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  const double magnitude = std::fabs(value);
  if (magnitude == 0 || (magnitude >= 1e-3 && magnitude < 1e7)) {
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    std::string out(buffer, result.ptr);
    if (out.find('.') == std::string::npos) out += ".0";
    return out;
  }
  // "2.5e-04" -> "2.5E-4", "1e+07" -> "1.0E7".
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view written(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const std::size_t e = written.find('e');
  std::string out(written.substr(0, e));
  if (out.find('.') == std::string::npos) out += ".0";
  std::string_view exponent = written.substr(e + 1);
  const bool negative = exponent.front() == '-';
  exponent.remove_prefix(1);
  while (exponent.size() > 1 && exponent.front() == '0') exponent.remove_prefix(1);
  return out + "E" + (negative ? "-" : "") + std::string(exponent);
}

// AppValidation.validResourceLimit's messages.
std::string invalidLimitMessage(std::string_view given) {
  return "'" + std::string(given) + "' is an invalid resource limit. It must be 'unlimited' or a number";
}
std::string limitBelowRequestMessage(double request) {
  return "resource limit must be greater than or equal to requested resource (" + scalaNumber(request) + ")";
}

// An int32 as Marathon reads one: 2 and 2.0, not 2.5 or 2^40.
bool integral(const Value& value) {
  if (!value.IsNumber()) return false;
  const double d = value.GetDouble();
  return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 2147483648.0;
}

bool hasPortMappings(const Value* container) {
  if (container == nullptr || !container->IsObject()) return false;
  if (arraySize(*container, "portMappings") > 0) return true;
  const Value* docker = json::find(*container, "docker");
  return docker != nullptr && arraySize(*docker, "portMappings") > 0;
}

}  // namespace

std::string canonicalId(std::string_view raw, std::string_view base) {
  std::vector<std::string_view> names;
  auto add = [&names](std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      const std::string_view name = path.substr(start, end - start);
      if (name == "..") {
        if (!names.empty()) names.pop_back();
      } else if (!name.empty() && name != ".") {
        names.push_back(name);
      }
      start = end + 1;
    }
  };
  if (raw.empty() || raw.front() != '/') add(base);
  add(raw);
  std::string out;
  for (const auto name : names) {
    out += '/';
    out += name;
  }
  return out.empty() ? "/" : out;
}

std::string taskIdPrefix(std::string_view app_id) {
  std::string out(app_id.substr(app_id.starts_with('/') ? 1 : 0));
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::string Problems::describe() const {
  std::string out;
  for (const auto* list : {&malformed, &invalid}) {
    for (const auto& v : *list) out += (out.empty() ? "" : "; ") + v.path + ": " + v.error;
  }
  return out;
}

int ServicePorts::take() {
  for (int i = 0; i <= kLastServicePort - kFirstServicePort; ++i) {
    const int port = next_;
    next_ = next_ >= kLastServicePort ? kFirstServicePort : next_ + 1;
    if (used_.insert(port).second) return port;
  }
  return 0;  // range exhausted: Marathon would refuse; the double keeps going
}

Definition normalizeApp(const Value& fields, const std::string& id, ServicePorts& ports, Problems& problems) {
  auto out = std::make_shared<Document>(rapidjson::kObjectType);
  auto& a = out->GetAllocator();
  std::set<std::string, std::less<>> placed = {"ports"};
  auto given = [&fields](std::string_view name) -> const Value* {
    const Value* value = json::find(fields, name);
    return value != nullptr && !value->IsNull() ? value : nullptr;
  };
  auto put = [&](std::string_view name, Value value) {
    out->AddMember(text(name, a), std::move(value), a);
    placed.emplace(name);
  };
  auto path = [](std::string_view name) { return "/" + std::string(name); };
  auto number = [&](std::string_view name, double fallback, double minimum, bool integer) {
    const Value* value = given(name);
    double x = fallback;
    if (value != nullptr) {
      if (!value->IsNumber()) {
        problems.malformed.push_back({path(name), "error.expected.jsnumber"});
      } else if (integer && !integral(*value)) {
        problems.malformed.push_back({path(name), "error.expected.int"});
      } else {
        x = value->GetDouble();
        if (!(x >= minimum)) {
          problems.invalid.push_back(
              {path(name), integer ? "got " + std::to_string(static_cast<std::int64_t>(x)) + ", expected " +
                                         std::to_string(static_cast<std::int64_t>(minimum)) + " or more"
                                   : "got " + scalaNumber(x) + ", expected " + scalaNumber(minimum) + " or more"});
        }
      }
    }
    put(name, integer ? Value(static_cast<std::int64_t>(x)) : Value(std::isfinite(x) ? x : fallback));
  };
  auto typed = [&](std::string_view name, bool (Value::*is)() const, std::string_view expected, Value fallback) {
    const Value* value = given(name);
    if (value != nullptr && !(value->*is)()) {
      problems.malformed.push_back({path(name), std::string(expected)});
      value = nullptr;
    }
    Value copy;
    if (value != nullptr) {
      copy.CopyFrom(*value, a);
    } else {
      copy = std::move(fallback);
    }
    put(name, std::move(copy));
  };
  auto stringMap = [&](std::string_view name, bool allow_objects) {
    Value map(rapidjson::kObjectType);
    if (const Value* value = given(name); value != nullptr) {
      if (!value->IsObject()) {
        problems.malformed.push_back({path(name), "error.expected.jsobject"});
      } else {
        for (const auto& member : value->GetObject()) {
          if (member.value.IsString() || (allow_objects && member.value.IsObject())) {
            map.AddMember(Value(member.name, a), Value(member.value, a), a);
          } else {
            problems.malformed.push_back(
                {path(name) + "/" + std::string(member.name.GetString(), member.name.GetStringLength()),
                 "error.expected.jsstring"});
          }
        }
      }
    }
    put(name, std::move(map));
  };

  put("id", text(id, a));
  number("backoffFactor", 1.15, 1.0, false);
  number("backoffSeconds", 1, 0, true);
  typed("cmd", &Value::IsString, "error.expected.jsstring", Value());
  if (const Value* args = given("args"); args != nullptr && args->IsArray()) {
    for (const auto& arg : args->GetArray()) {
      if (!arg.IsString()) problems.malformed.push_back({"/args", "error.expected.jsstring"});
    }
  }
  typed("args", &Value::IsArray, "error.expected.jsarray", Value());
  typed("constraints", &Value::IsArray, "error.expected.jsarray", Value(rapidjson::kArrayType));
  typed("container", &Value::IsObject, "error.expected.jsobject", Value());
  number("cpus", 1, 0.001, false);  // App.cpus: minimum 0.001
  number("disk", 0, 0, false);
  stringMap("env", /*allow_objects=*/true);  // {"secret": "name"} values
  typed("executor", &Value::IsString, "error.expected.jsstring", Value(""));
  number("gpus", 0, 0, true);
  typed("healthChecks", &Value::IsArray, "error.expected.jsarray", Value(rapidjson::kArrayType));
  number("instances", 1, 0, true);
  {
    const Value* kill = given("killSelection");
    const std::string_view value = kill != nullptr && kill->IsString() ? kill->GetString() : "";
    if (kill != nullptr && value != "YOUNGEST_FIRST" && value != "OLDEST_FIRST") {
      problems.malformed.push_back({"/killSelection", "error.expected.validenumvalue"});
    }
    put("killSelection", text(value == "OLDEST_FIRST" ? value : "YOUNGEST_FIRST", a));
  }
  stringMap("labels", /*allow_objects=*/false);
  number("maxLaunchDelaySeconds", 300, 0, true);
  number("mem", 128, 0, false);
  {
    Value host_network(rapidjson::kArrayType);
    Value mode(rapidjson::kObjectType);
    mode.AddMember("mode", "host", a);
    host_network.PushBack(std::move(mode), a);
    typed("networks", &Value::IsArray, "error.expected.jsarray", std::move(host_network));
  }
  {
    Value definitions(rapidjson::kArrayType);
    if (const Value* given_definitions = given("portDefinitions"); given_definitions != nullptr) {
      if (!given_definitions->IsArray()) {
        problems.malformed.push_back({"/portDefinitions", "error.expected.jsarray"});
      } else {
        for (rapidjson::SizeType i = 0; i < given_definitions->Size(); ++i) {
          const Value& definition = (*given_definitions)[i];
          const std::string where = "/portDefinitions(" + std::to_string(i) + ")";
          if (!definition.IsObject()) {
            problems.malformed.push_back({where, "error.expected.jsobject"});
            continue;
          }
          Value copy(definition, a);
          const Value* port = json::find(copy, "port");
          if (port == nullptr) {
            copy.AddMember("port", 0, a);
          } else if (!integral(*port) || port->GetDouble() < 0 || port->GetDouble() > 65535) {
            problems.malformed.push_back({where + "/port", "error.expected.int"});
            copy["port"] = 0;
          }
          if (json::find(copy, "protocol") == nullptr) copy.AddMember("protocol", "tcp", a);
          definitions.PushBack(std::move(copy), a);
        }
      }
    } else if (const Value* legacy = given("ports"); legacy != nullptr && legacy->IsArray()) {
      // Deprecated "ports": Marathon turns them into port definitions.
      for (const auto& port : legacy->GetArray()) {
        Value definition(rapidjson::kObjectType);
        definition.AddMember("port", integral(port) ? static_cast<int>(port.GetDouble()) : 0, a);
        definition.AddMember("protocol", "tcp", a);
        definitions.PushBack(std::move(definition), a);
      }
    } else if (!hasPortMappings(given("container"))) {
      Value definition(rapidjson::kObjectType);
      definition.AddMember("port", 0, a);
      definition.AddMember("protocol", "tcp", a);
      definition.AddMember("name", "default", a);
      definitions.PushBack(std::move(definition), a);
    }
    for (auto& definition : definitions.GetArray()) {
      const int port = static_cast<int>(definition["port"].GetDouble());
      if (port == 0) {
        definition["port"] = ports.take();
      } else {
        ports.mark(port);
      }
    }
    put("portDefinitions", std::move(definitions));
  }
  typed("requirePorts", &Value::IsBool, "error.expected.jsboolean", Value(false));
  {
    // Read as the RAML union ResourceLimitUnlimited | ResourceLimitNumber
    // (any string, else a number), then checked against the app's request
    // (AppValidation.validResourceLimits). Other keys are dropped.
    placed.emplace("resourceLimits");
    if (const Value* limits = given("resourceLimits"); limits != nullptr && !limits->IsObject()) {
      problems.malformed.push_back({"/resourceLimits", "error.expected.jsobject"});
    } else if (limits != nullptr) {
      Value kept(rapidjson::kObjectType);
      for (const char* name : {"cpus", "mem"}) {
        const Value* limit = json::find(*limits, name);
        if (limit == nullptr || limit->IsNull()) continue;
        const std::string where = "/resourceLimits/" + std::string(name);
        if (limit->IsString()) {
          const std::string_view value(limit->GetString(), limit->GetStringLength());
          if (value != kUnlimited) problems.invalid.push_back({where, invalidLimitMessage(value)});
          kept.AddMember(rapidjson::StringRef(name), text(value, a), a);
        } else if (limit->IsNumber()) {
          const double value = limit->GetDouble();
          const double request = numberOr(*out, name, 0);
          if (!(value >= request)) problems.invalid.push_back({where, limitBelowRequestMessage(request)});
          kept.AddMember(rapidjson::StringRef(name), Value(std::isfinite(value) ? value : 0.0), a);
        } else {
          problems.malformed.push_back({where, "error.expected.jsnumber"});
        }
      }
      put("resourceLimits", std::move(kept));
    }
  }
  {
    const Value* given_strategy = given("unreachableStrategy");
    Value strategy;
    if (given_strategy != nullptr && (given_strategy->IsObject() || given_strategy->IsString())) {
      strategy.CopyFrom(*given_strategy, a);
    } else {
      if (given_strategy != nullptr) problems.malformed.push_back({"/unreachableStrategy", "error.expected.jsobject"});
      strategy.SetObject();
      strategy.AddMember("inactiveAfterSeconds", 0, a);
      strategy.AddMember("expungeAfterSeconds", 0, a);
    }
    put("unreachableStrategy", std::move(strategy));
  }
  {
    const Value* given_strategy = given("upgradeStrategy");
    if (given_strategy != nullptr && !given_strategy->IsObject()) {
      problems.malformed.push_back({"/upgradeStrategy", "error.expected.jsobject"});
      given_strategy = nullptr;
    }
    Value strategy(rapidjson::kObjectType);
    for (const char* name : {"maximumOverCapacity", "minimumHealthCapacity"}) {
      double value = 1.0;
      if (const Value* v = given_strategy != nullptr ? json::find(*given_strategy, name) : nullptr;
          v != nullptr && !v->IsNull()) {
        if (!v->IsNumber()) {
          problems.malformed.push_back({std::string("/upgradeStrategy/") + name, "error.expected.jsnumber"});
        } else {
          value = v->GetDouble();
          if (value > 1) problems.invalid.push_back({std::string("/upgradeStrategy/") + name, "is greater than 1"});
          if (value < 0) problems.invalid.push_back({std::string("/upgradeStrategy/") + name, "is less than 0"});
        }
      }
      strategy.AddMember(rapidjson::StringRef(name), value, a);
    }
    put("upgradeStrategy", std::move(strategy));
  }
  if (fields.IsObject()) {
    for (const auto& member : fields.GetObject()) {
      const std::string_view name(member.name.GetString(), member.name.GetStringLength());
      if (placed.contains(name) || isReadOnlyField(name) || member.value.IsNull()) continue;
      out->AddMember(Value(member.name, a), Value(member.value, a), a);
    }
  }

  const Value* cmd = given("cmd");
  const Value* args = given("args");
  const bool has_cmd = cmd != nullptr && cmd->IsString() && cmd->GetStringLength() > 0;
  const bool has_args = args != nullptr && args->IsArray() && !args->Empty();
  const bool has_container = given("container") != nullptr;
  // "Either cmd or args must be supplied. It is invalid to supply both cmd
  // and args in the same app." (App.cmd); a container may run its image's.
  if ((has_cmd && has_args) || (!has_cmd && !has_args && !has_container)) {
    problems.invalid.push_back({"/", std::string(kCommandMessage)});
  }
  if (!sizing::validAppId(id)) problems.invalid.push_back({"/id", std::string(kPathIdMessage)});
  return problems.ok() ? Definition(std::move(out)) : nullptr;
}

Document overlay(const Value* current, const Value& fields) {
  Document merged(rapidjson::kObjectType);
  auto& a = merged.GetAllocator();
  if (current != nullptr) merged.CopyFrom(*current, a);
  // Marathon 1.10 takes resourceLimits from the update alone.
  if (json::find(fields, "resourceLimits") == nullptr) merged.RemoveMember("resourceLimits");
  for (const auto& member : fields.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "id" || isReadOnlyField(name)) continue;
    if (auto existing = merged.FindMember(member.name); existing != merged.MemberEnd()) {
      existing->value.CopyFrom(member.value, a);
    } else {
      merged.AddMember(Value(member.name, a), Value(member.value, a), a);
    }
  }
  return merged;
}

bool sameExcept(const Value& a, const Value& b, std::string_view skip) {
  if (!a.IsObject() || !b.IsObject()) return a == b;
  auto count = [skip](const Value& object) {
    return std::count_if(object.MemberBegin(), object.MemberEnd(), [skip](const auto& member) {
      return std::string_view(member.name.GetString(), member.name.GetStringLength()) != skip;
    });
  };
  if (count(a) != count(b)) return false;
  for (const auto& member : a.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == skip) continue;
    const Value* other = json::find(b, name);
    if (other == nullptr || !(*other == member.value)) return false;
  }
  return true;
}

HttpResponse problemsResponse(const Problems& problems) {
  const bool malformed = !problems.malformed.empty();
  const auto& list = malformed ? problems.malformed : problems.invalid;
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("message", text(malformed ? "Invalid JSON" : "Object is not valid", a), a);
  // One entry per path, its errors together, as Marathon groups them.
  Value details(rapidjson::kArrayType);
  std::vector<std::string> paths;
  for (const auto& v : list) {
    if (std::find(paths.begin(), paths.end(), v.path) == paths.end()) paths.push_back(v.path);
  }
  for (const auto& p : paths) {
    Value detail(rapidjson::kObjectType);
    detail.AddMember("path", text(p, a), a);
    Value errors(rapidjson::kArrayType);
    for (const auto& v : list) {
      if (v.path == p) errors.PushBack(text(v.error, a), a);
    }
    detail.AddMember("errors", std::move(errors), a);
    details.PushBack(std::move(detail), a);
  }
  body.AddMember("details", std::move(details), a);
  return jsonResponse(malformed ? 400 : 422, serialize(body));
}

std::optional<HttpResponse> parseBody(const std::string& body, Document& out) {
  auto parsed = json::parse(body, "the request body");
  Problems problems;
  if (!parsed) {
    problems.malformed.push_back({"/", parsed.error().message()});
  } else if (!parsed->IsObject()) {
    problems.malformed.push_back({"/", "error.expected.jsobject"});
  } else {
    out.Swap(*parsed);
    return std::nullopt;
  }
  return problemsResponse(problems);
}

Document specFields(const FakeAppSpec& spec) {
  Document fields(rapidjson::kObjectType);
  auto& a = fields.GetAllocator();
  if (!spec.cmd.empty()) fields.AddMember("cmd", text(spec.cmd, a), a);
  fields.AddMember("cpus", spec.cpus, a);
  fields.AddMember("mem", spec.mem_mib, a);
  fields.AddMember("disk", spec.disk_mib, a);
  fields.AddMember("instances", spec.instances, a);
  if (spec.resource_limits) {
    Value limits(rapidjson::kObjectType);
    auto limit = [&a](double value) { return std::isinf(value) && value > 0 ? text(kUnlimited, a) : Value(value); };
    if (spec.resource_limits->cpus) limits.AddMember("cpus", limit(*spec.resource_limits->cpus), a);
    if (spec.resource_limits->mem_mib) limits.AddMember("mem", limit(*spec.resource_limits->mem_mib), a);
    fields.AddMember("resourceLimits", std::move(limits), a);
  }
  for (const auto& [name, map] : {std::pair{"labels", &spec.labels}, std::pair{"env", &spec.env}}) {
    Value object(rapidjson::kObjectType);
    for (const auto& [key, value] : *map) object.AddMember(text(key, a), text(value, a), a);
    fields.AddMember(rapidjson::StringRef(name), std::move(object), a);
  }
  if (spec.health_checks) {
    // As Marathon normalizes {"protocol": "HTTP", "path": "/health"}.
    Value check(rapidjson::kObjectType);
    check.AddMember("gracePeriodSeconds", 300, a);
    check.AddMember("ignoreHttp1xx", false, a);
    check.AddMember("intervalSeconds", 60, a);
    check.AddMember("maxConsecutiveFailures", 3, a);
    check.AddMember("path", "/health", a);
    check.AddMember("portIndex", 0, a);
    check.AddMember("protocol", "HTTP", a);
    check.AddMember("ipProtocol", "IPv4", a);
    check.AddMember("timeoutSeconds", 20, a);
    check.AddMember("delaySeconds", 15, a);
    Value checks(rapidjson::kArrayType);
    checks.PushBack(std::move(check), a);
    fields.AddMember("healthChecks", std::move(checks), a);
  }
  return fields;
}

Expected<std::vector<FoundApp>> findApps(const Value& document, std::string_view source) {
  std::vector<FoundApp> found;
  std::string shape_error;
  // A group (or {"apps": [...]}), an array of apps, or one app.
  auto walk = [&](auto& self, const Value& value, const std::string& base, const std::string& where) -> void {
    if (value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        found.push_back({&value[i], base, where + "[" + std::to_string(i) + "]"});
      }
      return;
    }
    if (!value.IsObject()) {
      shape_error =
          (where.empty() ? "the document" : where) + ": expected an object, got " + std::string(json::typeName(value));
      return;
    }
    const Value* apps = json::find(value, "apps");
    const Value* groups = json::find(value, "groups");
    if ((apps != nullptr && apps->IsArray()) || (groups != nullptr && groups->IsArray())) {
      const std::string group = canonicalId(stringOr(value, "id", ""), base);
      const std::string prefix = where.empty() ? "" : where + ".";
      if (apps != nullptr && apps->IsArray()) self(self, *apps, group, prefix + "apps");
      if (groups != nullptr && groups->IsArray()) {
        for (rapidjson::SizeType i = 0; i < groups->Size(); ++i) {
          self(self, (*groups)[i], group, prefix + "groups[" + std::to_string(i) + "]");
        }
      }
      return;
    }
    found.push_back({&value, base, where});
  };
  walk(walk, document, "/", "");
  if (!shape_error.empty()) return Error(ErrorKind::kInvalidValue, std::string(source) + ": " + shape_error);
  return found;
}

}  // namespace rightsize::testing::fake_marathon
