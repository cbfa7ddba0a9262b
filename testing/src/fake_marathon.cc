#include "rightsize/testing/fake_marathon.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "rightsize/core/json.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::testing {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;
// An app definition never changes once made, so that the current app, its
// version history and deployment snapshots can share it.
using Definition = std::shared_ptr<const Document>;

constexpr std::size_t kMaxRecordedRequests = 10000;
constexpr std::size_t kMaxFinishedDeployments = 10000;
// Marathon keeps this many versions of an app (--zk_max_versions).
constexpr std::size_t kMaxVersions = 50;
// Host ports come from the Mesos agents' default "ports" resource, service
// ports from Marathon's --local_port_min/--local_port_max range.
constexpr int kFirstHostPort = 31000;
constexpr int kLastHostPort = 32000;
constexpr int kFirstServicePort = 10000;
constexpr int kLastServicePort = 20000;
constexpr std::string_view kFrameworkId = "8c2f6b9e-4d1a-4e3b-9f6c-2a7d5e0b1c3f-0000";
constexpr std::string_view kAgentIdPrefix = "8c2f6b9e-4d1a-4e3b-9f6c-2a7d5e0b1c3f-S";
// mesosphere.marathon.AppLockedException: the placeholder is part of the text.
constexpr std::string_view kLockedMessage =
    "App is locked by one or more deployments. Override with the option '?force=true'. View details at "
    "'/v2/deployments/<DEPLOYMENT_ID>'.";
// The reference shows only the shape of validation errors and one message
// ("is greater than 1"); these texts follow Marathon's validators.
constexpr std::string_view kCommandMessage =
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
constexpr std::string_view kPathIdMessage =
    "must fully match regular expression "
    "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'";
// Mesos' command executor: its memory is added to the task's in the
// container's limit (src/slave/constants.hpp), as FakeMesosAgent counts it.
constexpr double kExecutorMemMib = 32;
constexpr std::uint64_t kMib = std::uint64_t{1} << 20;
// Terminal Mesos task states a task can be failed with; of them, those that
// Marathon records as the app's lastTaskFailure (state/TaskFailure.scala).
constexpr std::string_view kTerminalStates[] = {"TASK_FAILED", "TASK_KILLED",  "TASK_FINISHED", "TASK_LOST",
                                                "TASK_ERROR",  "TASK_DROPPED", "TASK_GONE",     "TASK_GONE_BY_OPERATOR",
                                                "TASK_UNKNOWN"};
constexpr std::string_view kFailureStates[] = {
    "TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"};
constexpr std::string_view kHealthFailureCause = "Health check failed";
// Computed by Marathon: ignored when they come in a request body or a file.
constexpr std::string_view kReadOnlyFields[] = {"version",         "versionInfo",  "tasks",
                                                "tasksStaged",     "tasksRunning", "tasksHealthy",
                                                "tasksUnhealthy",  "deployments",  "readinessCheckResults",
                                                "lastTaskFailure", "taskStats",    "tasksStats"};

bool isReadOnlyField(std::string_view name) {
  return std::find(std::begin(kReadOnlyFields), std::end(kReadOnlyFields), name) != std::end(kReadOnlyFields);
}

template <std::size_t N>
bool isOneOf(std::string_view value, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

Value text(std::string_view s, Allocator& a) { return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a); }

std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string_view stringOr(const Value& object, std::string_view name, std::string_view fallback) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsString() ? std::string_view(value->GetString(), value->GetStringLength())
                                               : fallback;
}

double numberOr(const Value& object, std::string_view name, double fallback) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsNumber() ? value->GetDouble() : fallback;
}

std::size_t arraySize(const Value& object, std::string_view name) {
  const Value* value = json::find(object, name);
  return value != nullptr && value->IsArray() ? value->Size() : 0;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Scala's Double.toString, as Marathon's validation messages print numbers:
// "-1.0", "0.25".
std::string scalaNumber(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string out(buffer, result.ptr);
  if (out.find_first_of(".en") == std::string::npos) out += ".0";
  return out;
}

std::string uuid(std::mt19937_64& random) {
  std::uint64_t high = random();
  std::uint64_t low = random();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return buffer;
}

// Marathon's path ids: names separated by '/'. Relative ids are resolved
// against `base`; "." and ".." work as in file paths; empty names (as in
// "/v2/apps//team/web") are dropped.
std::string canonicalId(std::string_view raw, std::string_view base = "/") {
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

// "/team/web" -> "team_web", the prefix of the app's task ids.
std::string taskIdPrefix(std::string_view app_id) {
  std::string out(app_id.substr(app_id.starts_with('/') ? 1 : 0));
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
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

class Query {
 public:
  explicit Query(std::string_view raw) {
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

  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [key, value] : params_) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [key, value] : params_) {
      if (key == name) out.push_back(value);
    }
    return out;
  }

  // As Java's Boolean.parseBoolean, which Marathon's query parameters go
  // through: "true" in any case is true, anything else false.
  bool flag(std::string_view name, bool fallback) const {
    const auto value = get(name);
    return value ? equalsIgnoreCase(*value, "true") : fallback;
  }

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

// What GET /v2/apps/{id} and /v2/apps/{group}/* embed whatever is asked
// ("deprecated. For compatibility." in AppsResource.show).
Embeds showEmbeds(const Query& query) {
  Embeds embeds = parseEmbeds(query);
  embeds.tasks = true;
  embeds.last_task_failure = true;
  return embeds;
}

// Marathon's label selector query: comma-separated (AND) selectors, each
// `key`, `key==value` (or `=`), `key!=value`, `key in (a, b)` or
// `key notin (a, b)`; a backslash escapes the next character.
struct LabelSelector {
  enum class Op { kExists, kEquals, kNotEquals, kIn, kNotIn };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;

  bool matches(const std::map<std::string, std::string>& labels) const {
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
};

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
  std::string describe() const {
    std::string out;
    for (const auto* list : {&malformed, &invalid}) {
      for (const auto& v : *list) out += (out.empty() ? "" : "; ") + v.path + ": " + v.error;
    }
    return out;
  }
};

// Service ports: those given are kept, 0 takes the next free one.
class ServicePorts {
 public:
  void mark(int port) { used_.insert(port); }
  int take() {
    for (int i = 0; i <= kLastServicePort - kFirstServicePort; ++i) {
      const int port = next_;
      next_ = next_ >= kLastServicePort ? kFirstServicePort : next_ + 1;
      if (used_.insert(port).second) return port;
    }
    return 0;  // range exhausted: Marathon would refuse; the double keeps going
  }

 private:
  std::set<int> used_;
  int next_ = kFirstServicePort;
};

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

// Builds Marathon's normalized app definition from the writable `fields` (a
// whole app, or an existing app with a partial update laid over it): every
// field Marathon returns, with its default when not given, then any other
// field given, kept as it is. Read-only fields are dropped.
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

// True when `a` and `b` are the same definition but for `skip`.
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

// The "deployable" answer: {"version": ..., "deploymentId": ...} and the
// Marathon-Deployment-Id header.
HttpResponse deploymentResult(int status, const std::string& deployment_id, const std::string& version) {
  Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("version", text(version, a), a);
  body.AddMember("deploymentId", text(deployment_id, a), a);
  HttpResponse response = jsonResponse(status, serialize(body));
  response.headers.emplace_back("Marathon-Deployment-Id", deployment_id);
  return response;
}

// Request paths as core's HttpServer hands them over: repeated slashes collapsed, no
// trailing slash (so that handle() answers what the socket would).
std::string normalizePath(std::string_view path) {
  std::string out;
  for (const char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out.empty() ? "/" : out;
}

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

}  // namespace

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

std::string formatMesosBytes(std::uint64_t bytes) {
  // stout's Bytes: only raise the unit when no information is lost.
  constexpr std::string_view kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  std::size_t unit = 0;
  while (bytes != 0 && bytes % 1024 == 0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + std::string(kUnits[unit]);
}

std::string mesosMemoryLimitMessage(std::uint64_t limit_bytes, std::uint64_t max_used_bytes) {
  // The cgroup's memory.stat at the kill: anonymous memory up to the limit.
  constexpr std::uint64_t kPage = 4096;
  constexpr std::uint64_t kNoSwapLimit = 9223372036854771712ULL;  // what cgroup v1 shows for "unlimited"
  const std::uint64_t rss = max_used_bytes / kPage * kPage;
  const std::uint64_t pages = rss / kPage;
  const std::pair<std::string_view, std::uint64_t> own[] = {{"cache", max_used_bytes - rss},
                                                            {"rss", rss},
                                                            {"rss_huge", 0},
                                                            {"shmem", 0},
                                                            {"mapped_file", 0},
                                                            {"dirty", 0},
                                                            {"writeback", 0},
                                                            {"swap", 0},
                                                            {"pgpgin", pages},
                                                            {"pgpgout", 0},
                                                            {"pgfault", pages},
                                                            {"pgmajfault", 0},
                                                            {"inactive_anon", 0},
                                                            {"active_anon", rss},
                                                            {"inactive_file", 0},
                                                            {"active_file", 0},
                                                            {"unevictable", 0}};
  std::string stat;
  for (const auto& [name, value] : own) stat += std::string(name) + " " + std::to_string(value) + "\n";
  stat += "hierarchical_memory_limit " + std::to_string(limit_bytes) + "\n";
  stat += "hierarchical_memsw_limit " + std::to_string(kNoSwapLimit) + "\n";
  for (const auto& [name, value] : own) stat += "total_" + std::string(name) + " " + std::to_string(value) + "\n";
  // MemorySubsystemProcess::oomWaited: the limit, the peak usage, memory.stat.
  return "Memory limit exceeded: Requested: " + formatMesosBytes(limit_bytes) +
         " Maximum Used: " + formatMesosBytes(max_used_bytes) + "\n\nMEMORY STATISTICS: \n" + stat + "\n";
}

struct FakeMarathon::Impl {
  Impl(const Clock& c, FakeMarathonOptions o)
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

  // Versions are timestamps at millisecond precision; two changes within a
  // millisecond (a manual clock that did not move) still get distinct ones.
  std::string newVersion() {
    TimePoint t = std::chrono::floor<std::chrono::milliseconds>(clock.now());
    if (t <= last_version) t = last_version + std::chrono::milliseconds(1);
    last_version = t;
    return formatMarathonTime(t);
  }

  const std::vector<std::string>& hostsOf(const AppState& app) const {
    return app.hosts.empty() ? options.default_hosts : app.hosts;
  }

  std::string agentId(const std::string& host) {
    const auto [it, added] = agent_numbers.emplace(host, static_cast<int>(agent_numbers.size()));
    return std::string(kAgentIdPrefix) + std::to_string(it->second);
  }

  std::vector<std::uint16_t> hostPorts(const AppState& app, int slot) {
    if (!app.task_ports.empty()) return app.task_ports[static_cast<std::size_t>(slot) % app.task_ports.size()];
    std::vector<std::uint16_t> out;
    const std::size_t count = arraySize(*app.definition, "portDefinitions");
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(static_cast<std::uint16_t>(next_host_port));
      next_host_port = next_host_port >= kLastHostPort ? kFirstHostPort : next_host_port + 1;
    }
    return out;
  }

  void launch(const std::string& app_id, AppState& app, int slot, TimePoint at) {
    const auto& hosts = hostsOf(app);
    TaskState state;
    state.slot = slot;
    FakeTask& task = state.task;
    task.id = taskIdPrefix(app_id) + ".instance-" + uuid(random) + "._app.1";
    task.app_id = app_id;
    task.host = hosts.empty() ? "localhost" : hosts[static_cast<std::size_t>(slot) % hosts.size()];
    task.slave_id = agentId(task.host);
    task.ports = hostPorts(app, slot);
    if (const Value* definitions = json::find(*app.definition, "portDefinitions");
        definitions != nullptr && definitions->IsArray()) {
      for (const auto& definition : definitions->GetArray()) {
        task.service_ports.push_back(static_cast<std::uint16_t>(numberOr(definition, "port", 0)));
      }
    }
    task.staged_at = at;
    task.started_at = at;
    task.version = app.version;
    state.last_success = at;
    app.tasks.push_back(std::move(state));
  }

  bool slotTaken(const AppState& app, int slot) const {
    return std::any_of(app.tasks.begin(), app.tasks.end(), [slot](const auto& t) { return t.slot == slot; });
  }

  // Launches the tasks waiting after failures, in free slots, once their
  // back-off has passed.
  void relaunch(const std::string& app_id, AppState& app) {
    int count = std::min(app.queued, instancesOf(app) - static_cast<int>(app.tasks.size()));
    app.queued = 0;
    for (int slot = 0; count > 0; ++slot) {
      if (slotTaken(app, slot)) continue;
      launch(app_id, app, slot, app.launch_at);
      --count;
    }
  }

  static int instancesOf(const AppState& app) { return static_cast<int>(numberOr(*app.definition, "instances", 0)); }

  // Kills or launches tasks until the app has `instances`.
  void scaleTasks(const std::string& app_id, AppState& app, TimePoint at) {
    const int wanted = instancesOf(app);
    const bool oldest_first = stringOr(*app.definition, "killSelection", "") == "OLDEST_FIRST";
    while (static_cast<int>(app.tasks.size()) > wanted) {
      auto victim = std::max_element(app.tasks.begin(), app.tasks.end(), [oldest_first](const auto& x, const auto& y) {
        if (x.task.started_at != y.task.started_at) {
          return oldest_first ? x.task.started_at > y.task.started_at : x.task.started_at < y.task.started_at;
        }
        return x.slot < y.slot;
      });
      app.tasks.erase(victim);
    }
    for (int slot = 0; static_cast<int>(app.tasks.size()) < wanted; ++slot) {
      if (!slotTaken(app, slot)) launch(app_id, app, slot, at);
    }
    app.queued = 0;  // the deployment filled every slot
  }

  void replaceTasks(const std::string& app_id, AppState& app, TimePoint at) {
    app.tasks.clear();
    for (int slot = 0; slot < instancesOf(app); ++slot) launch(app_id, app, slot, at);
    app.queued = 0;
  }

  void recordFinished(const std::string& id, const std::string& app_id, FinishedDeployment::End end, TimePoint at) {
    finished.push_back({id, app_id, end, at});
    if (finished.size() > kMaxFinishedDeployments) finished.pop_front();
  }

  void unlock(const std::string& app_id, const std::string& deployment_id) {
    if (auto it = apps.find(app_id); it != apps.end()) {
      std::erase(it->second.deployment_ids, deployment_id);
    }
  }

  DeploymentOutcome outcomeFor(const std::string& app_id) const {
    if (auto it = outcomes.find(app_id); it != outcomes.end()) return it->second;
    if (auto it = outcomes.find(""); it != outcomes.end()) return it->second;
    return DeploymentOutcome::kSucceed;
  }

  // Starts a deployment of `actions` (one per step); one without steps ends
  // at once, as Marathon's empty plans do.
  std::string startDeployment(const std::string& app_id, ChangeKind kind, std::vector<std::string> actions,
                              std::optional<AppState> previous, const std::string& version) {
    Deployment d;
    d.info.id = uuid(random);
    d.info.version = version;
    d.info.app_id = app_id;
    d.info.actions = std::move(actions);
    d.info.started_at = clock.now();
    d.info.outcome = outcomeFor(app_id);
    d.duration = deployment_duration;
    if (d.info.outcome != DeploymentOutcome::kNeverFinish) d.info.ends_at = d.info.started_at + d.duration;
    d.kind = kind;
    d.previous = std::move(previous);
    const std::string id = d.info.id;
    if (d.info.actions.empty()) {
      recordFinished(id, app_id, FinishedDeployment::End::kSucceeded, d.info.started_at);
      return id;
    }
    if (auto it = apps.find(app_id); it != apps.end()) it->second.deployment_ids.push_back(id);
    running.push_back(std::move(d));
    return id;
  }

  void complete(Deployment& d, TimePoint at) {
    const std::string& app_id = d.info.app_id;
    unlock(app_id, d.info.id);
    auto it = apps.find(app_id);
    if (d.info.outcome != DeploymentOutcome::kFail) {
      if (it != apps.end()) {
        if (d.kind == ChangeKind::kRestart) {
          replaceTasks(app_id, it->second, at);
        } else if (d.kind == ChangeKind::kStart || d.kind == ChangeKind::kScale) {
          scaleTasks(app_id, it->second, at);
        }
      }
      recordFinished(d.info.id, app_id, FinishedDeployment::End::kSucceeded, at);
      return;
    }
    // Failed: rolled back to the definition before, tasks as they are.
    if (!d.previous) {
      if (it != apps.end()) apps.erase(it);
    } else if (d.kind == ChangeKind::kStop || it == apps.end()) {
      AppState restored = std::move(*d.previous);
      restored.deployment_ids.clear();
      apps[app_id] = std::move(restored);
    } else {
      AppState restored = std::move(*d.previous);
      AppState& current = it->second;
      restored.tasks = std::move(current.tasks);
      restored.versions = std::move(current.versions);
      restored.deployment_ids = std::move(current.deployment_ids);
      restored.last_failure = std::move(current.last_failure);
      restored.backoff = current.backoff;
      restored.queued = current.queued;
      restored.queued_since = current.queued_since;
      restored.launch_at = current.launch_at;
      it->second = std::move(restored);
    }
    recordFinished(d.info.id, app_id, FinishedDeployment::End::kFailed, at);
  }

  // Completes, in time order, the deployments whose time has passed and the
  // relaunches whose back-off has.
  void completeDue() {
    const TimePoint now = clock.now();
    while (true) {
      auto due = running.end();
      for (auto it = running.begin(); it != running.end(); ++it) {
        if (it->info.ends_at && *it->info.ends_at <= now &&
            (due == running.end() || *it->info.ends_at < *due->info.ends_at)) {
          due = it;
        }
      }
      auto launching = apps.end();
      for (auto it = apps.begin(); it != apps.end(); ++it) {
        if (it->second.queued > 0 && it->second.launch_at <= now &&
            (launching == apps.end() || it->second.launch_at < launching->second.launch_at)) {
          launching = it;
        }
      }
      if (launching != apps.end() && (due == running.end() || launching->second.launch_at < *due->info.ends_at)) {
        relaunch(launching->first, launching->second);
        continue;
      }
      if (due == running.end()) return;
      Deployment d = std::move(*due);
      running.erase(due);
      complete(d, *d.info.ends_at);
    }
  }

  std::vector<std::string> lockers(const std::string& app_id) const {
    std::vector<std::string> out;
    for (const auto& d : running) {
      if (d.info.app_id == app_id) out.push_back(d.info.id);
    }
    return out;
  }

  // Stops a running deployment where it is (force=true): the app keeps its
  // current definition and tasks.
  std::optional<Deployment> cancel(const std::string& deployment_id, FinishedDeployment::End end) {
    auto it = std::find_if(running.begin(), running.end(), [&](const auto& d) { return d.info.id == deployment_id; });
    if (it == running.end()) return std::nullopt;
    Deployment d = std::move(*it);
    running.erase(it);
    unlock(d.info.app_id, d.info.id);
    recordFinished(d.info.id, d.info.app_id, end, clock.now());
    return d;
  }

  void cancelAll(const std::string& app_id) {
    for (const auto& id : lockers(app_id)) cancel(id, FinishedDeployment::End::kCanceled);
  }

  void remember(AppState& app) {
    app.versions.emplace_back(app.version, app.definition);
    if (app.versions.size() > kMaxVersions) app.versions.erase(app.versions.begin());
  }

  // A new app, or one back from a stop: its tasks start with the deployment.
  ChangeResult create(const std::string& app_id, Definition definition) {
    AppState app;
    app.definition = std::move(definition);
    app.version = newVersion();
    app.last_scaling_at = app.last_config_change_at = app.version;
    remember(app);
    const std::string version = app.version;
    apps[app_id] = std::move(app);
    return {
        startDeployment(app_id, ChangeKind::kStart, {"StartApplication", "ScaleApplication"}, std::nullopt, version),
        version};
  }

  // Moves an existing app to `target`; `restart` restarts it even when the
  // definition does not change (POST .../restart).
  ChangeResult change(const std::string& app_id, AppState& app, Definition target, bool restart) {
    AppState previous = app;
    const std::string version = newVersion();
    const bool same = static_cast<const Value&>(*app.definition) == static_cast<const Value&>(*target);
    ChangeKind kind = ChangeKind::kRestart;
    std::vector<std::string> actions;
    if (same && !restart) {
      // Nothing to do: Marathon answers with a deployment without steps and
      // the app keeps its version.
    } else if (same) {
      app.version = app.last_scaling_at = version;
      actions = {"RestartApplication"};
    } else if (sameExcept(*app.definition, *target, "instances")) {
      app.definition = std::move(target);
      app.version = app.last_scaling_at = version;
      kind = ChangeKind::kScale;
      actions = {"ScaleApplication"};
    } else {
      app.definition = std::move(target);
      app.version = app.last_scaling_at = app.last_config_change_at = version;
      actions = {"RestartApplication"};
      // Marathon keeps launch delays per app config: a new one starts without.
      app.backoff.reset();
      app.launch_at = std::min(app.launch_at, clock.now());
    }
    if (!actions.empty()) remember(app);
    return {startDeployment(app_id, kind, std::move(actions), std::move(previous), version), version};
  }

  ChangeResult stop(const std::string& app_id) {
    auto it = apps.find(app_id);
    AppState previous = std::move(it->second);
    apps.erase(it);
    const std::string version = newVersion();
    return {startDeployment(app_id, ChangeKind::kStop, {"StopApplication"}, std::move(previous), version), version};
  }

  struct TaskRef {
    std::map<std::string, AppState>::iterator app;
    std::vector<TaskState>::iterator task;
  };

  std::optional<TaskRef> findTask(const std::string& task_id) {
    for (auto app = apps.begin(); app != apps.end(); ++app) {
      auto& tasks = app->second.tasks;
      auto task = std::find_if(tasks.begin(), tasks.end(), [&](const auto& t) { return t.task.id == task_id; });
      if (task != tasks.end()) return TaskRef{app, task};
    }
    return std::nullopt;
  }

  // The definition a task was launched with (the app's versions keep it).
  static const Value& definitionOf(const AppState& app, const std::string& version) {
    for (const auto& [v, definition] : app.versions) {
      if (v == version) return *definition;
    }
    return *app.definition;
  }

  // Marathon's RateLimiter: the first failure delays launches by
  // backoffSeconds, each further one by backoffFactor times the delay before,
  // up to maxLaunchDelaySeconds; a delay unused for itself plus that maximum
  // is forgotten.
  static void increaseBackoff(AppState& app, TimePoint now) {
    const Value& d = *app.definition;
    const double maximum_seconds = numberOr(d, "maxLaunchDelaySeconds", 300);
    const Duration maximum = std::chrono::duration_cast<Duration>(Seconds(maximum_seconds));
    double seconds = numberOr(d, "backoffSeconds", 1);
    if (app.backoff && now <= app.backoff->deadline() + maximum) {
      seconds = std::min(maximum_seconds, toSeconds(app.backoff->delay) * numberOr(d, "backoffFactor", 1.15));
    }
    app.backoff = Backoff{now, std::chrono::duration_cast<Duration>(Seconds(seconds))};
  }

  Status failTask(const std::string& task_id, const std::string& state, const std::string& message) {
    completeDue();
    if (!isOneOf(state, kTerminalStates)) {
      return Error(ErrorKind::kInvalidArgument,
                   "failTask(" + task_id + "): '" + state + "' is not a terminal Mesos task state");
    }
    auto ref = findTask(task_id);
    if (!ref) return Error(ErrorKind::kInvalidArgument, "failTask: no running task '" + task_id + "'");
    const TimePoint now = clock.now();
    const std::string& app_id = ref->app->first;
    AppState& app = ref->app->second;
    const FakeTask task = std::move(ref->task->task);
    app.tasks.erase(ref->task);
    if (isOneOf(state, kFailureStates)) {
      app.last_failure = FakeTaskFailure{app_id, task.id, state, message, task.host, task.slave_id, task.version, now};
    }
    if (state != "TASK_KILLED") increaseBackoff(app, now);
    if (app.queued == 0) app.queued_since = now;
    ++app.queued;
    app.launch_at = app.backoff ? std::max(now, app.backoff->deadline()) : now;
    return Status::success();
  }

  Status oomKillTask(const std::string& task_id) {
    completeDue();
    auto ref = findTask(task_id);
    if (!ref) return Error(ErrorKind::kInvalidArgument, "oomKillTask: no running task '" + task_id + "'");
    const double mem_mib = numberOr(definitionOf(ref->app->second, ref->task->task.version), "mem", 0);
    // Mesos limits the container to its resources in whole MB.
    const auto limit_bytes = static_cast<std::uint64_t>(std::floor(mem_mib + kExecutorMemMib)) * kMib;
    return failTask(task_id, "TASK_FAILED", mesosMemoryLimitMessage(limit_bytes, limit_bytes));
  }

  Status setTaskHealth(const std::string& task_id, bool alive) {
    completeDue();
    auto ref = findTask(task_id);
    if (!ref) return Error(ErrorKind::kInvalidArgument, "setTaskHealth: no running task '" + task_id + "'");
    if (arraySize(*ref->app->second.definition, "healthChecks") == 0) {
      return Error(ErrorKind::kInvalidArgument,
                   "setTaskHealth(" + task_id + "): app '" + ref->app->first + "' has no health checks");
    }
    TaskState& state = *ref->task;
    FakeTask& task = state.task;
    const TimePoint now = clock.now();
    if (alive) {
      task.consecutive_failures = 0;
    } else {
      if (task.alive) state.last_success = now;
      ++task.consecutive_failures;
      task.last_health_failure = now;
    }
    task.alive = alive;
    return Status::success();
  }

  struct Counts {
    std::int64_t staged = 0;
    std::int64_t running = 0;
    std::int64_t healthy = 0;
    std::int64_t unhealthy = 0;
  };

  // Marathon's TaskCounts: tasks without health results count neither
  // healthy nor unhealthy.
  static Counts countsOf(const AppState& app) {
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

  void addTask(Value& array, const TaskState& state, const Value& definition, Allocator& a) const {
    const FakeTask& task = state.task;
    Value out(rapidjson::kObjectType);
    out.AddMember("appId", text(task.app_id, a), a);
    Value health(rapidjson::kArrayType);
    const std::string instance_id = task.id.substr(0, task.id.rfind("._app."));
    auto optionalTime = [&a](const std::optional<TimePoint>& t) {
      return t ? text(formatMarathonTime(*t), a) : Value();
    };
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
  static Value definitionJson(const AppState& app, Allocator& a) {
    Value out;
    out.CopyFrom(*app.definition, a);
    out.AddMember("version", text(app.version, a), a);
    Value version_info(rapidjson::kObjectType);
    version_info.AddMember("lastScalingAt", text(app.last_scaling_at, a), a);
    version_info.AddMember("lastConfigChangeAt", text(app.last_config_change_at, a), a);
    out.AddMember("versionInfo", std::move(version_info), a);
    return out;
  }

  static Value taskFailureJson(const FakeTaskFailure& failure, Allocator& a) {
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

  Value appJson(const AppState& app, const Embeds& embeds, Allocator& a) const {
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

  Value deploymentJson(const Deployment& d, Allocator& a) const {
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

  static std::map<std::string, std::string> stringMap(const Value& definition, std::string_view name) {
    std::map<std::string, std::string> out;
    if (const Value* map = json::find(definition, name); map != nullptr && map->IsObject()) {
      for (const auto& member : map->GetObject()) {
        if (member.value.IsString()) out[member.name.GetString()] = member.value.GetString();
      }
    }
    return out;
  }

  static FakeApp toFakeApp(const std::string& app_id, const AppState& app) {
    const Value& d = *app.definition;
    FakeApp out;
    out.id = app_id;
    if (const Value* cmd = json::find(d, "cmd"); cmd != nullptr && cmd->IsString()) out.cmd = cmd->GetString();
    out.cpus = numberOr(d, "cpus", 0);
    out.mem_mib = numberOr(d, "mem", 0);
    out.disk_mib = numberOr(d, "disk", 0);
    out.instances = static_cast<int>(numberOr(d, "instances", 0));
    out.labels = stringMap(d, "labels");
    out.env = stringMap(d, "env");
    if (const Value* definitions = json::find(d, "portDefinitions"); definitions != nullptr && definitions->IsArray()) {
      for (const auto& definition : definitions->GetArray()) {
        out.service_ports.push_back(static_cast<std::uint16_t>(numberOr(definition, "port", 0)));
      }
    }
    out.version = app.version;
    out.last_scaling_at = app.last_scaling_at;
    out.last_config_change_at = app.last_config_change_at;
    for (const auto& t : app.tasks) out.tasks.push_back(t.task);
    out.deployment_ids = app.deployment_ids;
    out.last_task_failure = app.last_failure;
    out.tasks_queued = app.queued;
    if (app.queued > 0) out.launch_delayed_until = app.launch_at;
    return out;
  }

  HttpResponse serve(const HttpRequest& request) {
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

  HttpResponse serveApp(const std::string& method, std::string_view rest, const Query& query, const std::string& body) {
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

  HttpResponse info() const {
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

  std::string leaderAddress() const {
    std::string address = base_url.empty() ? "http://127.0.0.1:8080" : base_url;
    return address.substr(address.find("://") + 3);
  }

  HttpResponse leader() const {
    Document body(rapidjson::kObjectType);
    body.AddMember("leader", text(leaderAddress(), body.GetAllocator()), body.GetAllocator());
    return jsonResponse(200, serialize(body));
  }

  HttpResponse listApps(const Query& query, const std::string& group, const Embeds& embeds) const {
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

  HttpResponse getApp(const std::string& app_id, const Query& query) const {
    auto it = apps.find(app_id);
    if (it == apps.end()) return appNotFound(app_id);
    Document body(rapidjson::kObjectType);
    body.AddMember("app", appJson(it->second, showEmbeds(query), body.GetAllocator()), body.GetAllocator());
    return jsonResponse(200, serialize(body));
  }

  HttpResponse appTasks(const std::string& app_id) const {
    auto it = apps.find(app_id);
    if (it == apps.end()) return appNotFound(app_id);
    Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    Value tasks(rapidjson::kArrayType);
    for (const auto& t : it->second.tasks) addTask(tasks, t, *it->second.definition, a);
    body.AddMember("tasks", std::move(tasks), a);
    return jsonResponse(200, serialize(body));
  }

  HttpResponse listTasks(const Query& query) const {
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

  HttpResponse versions(const std::string& app_id) const {
    auto it = apps.find(app_id);
    if (it == apps.end()) return appNotFound(app_id);
    Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    Value list(rapidjson::kArrayType);
    for (auto v = it->second.versions.rbegin(); v != it->second.versions.rend(); ++v)
      list.PushBack(text(v->first, a), a);
    body.AddMember("versions", std::move(list), a);
    return jsonResponse(200, serialize(body));
  }

  HttpResponse versionOf(const std::string& app_id, const std::string& version) const {
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
  HttpResponse queue() const {
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

  HttpResponse listDeployments() const {
    Document body(rapidjson::kArrayType);
    for (const auto& d : running) body.PushBack(deploymentJson(d, body.GetAllocator()), body.GetAllocator());
    return jsonResponse(200, serialize(body));
  }

  // Parses a request body that must be one JSON object.
  static std::optional<HttpResponse> parseBody(const std::string& body, Document& out) {
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

  HttpResponse createApp(const Query& query, const std::string& body) {
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

  HttpResponse updateApp(const std::string& app_id, const Query& query, const std::string& body, bool patch) {
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
      Document merged(rapidjson::kObjectType);
      auto& a = merged.GetAllocator();
      const bool partial = patch || query.flag("partialUpdate", true);
      if (it != apps.end() && partial) merged.CopyFrom(*it->second.definition, a);
      for (const auto& member : fields.GetObject()) {
        const std::string_view name(member.name.GetString(), member.name.GetStringLength());
        if (name == "id" || isReadOnlyField(name)) continue;
        if (auto existing = merged.FindMember(member.name); existing != merged.MemberEnd()) {
          existing->value.CopyFrom(member.value, a);
        } else {
          merged.AddMember(Value(member.name, a), Value(member.value, a), a);
        }
      }
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

  HttpResponse restartApp(const std::string& app_id, const Query& query) {
    auto it = apps.find(app_id);
    if (it == apps.end()) return appNotFound(app_id);
    if (auto locks = lockers(app_id); !locks.empty()) {
      if (!query.flag("force", false)) return lockedResponse(locks);
      cancelAll(app_id);
    }
    const ChangeResult result = change(app_id, it->second, it->second.definition, /*restart=*/true);
    return deploymentResult(200, result.deployment_id, result.version);
  }

  HttpResponse deleteApp(const std::string& app_id, const Query& query) {
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
  HttpResponse deleteDeployment(const std::string& deployment_id, const Query& query) {
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

  void record(const HttpRequest& request, int status) {
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
  std::string appOfPath(const std::string& path) const {
    std::string_view rest = std::string_view(path).substr(path.starts_with("/v2/apps/") ? 9 : path.size());
    for (std::string_view suffix : {"/tasks", "/restart", "/versions"}) {
      if (rest.ends_with(suffix)) rest.remove_suffix(suffix.size());
    }
    if (const std::size_t at = rest.rfind("/versions/"); at != std::string_view::npos) rest = rest.substr(0, at);
    return canonicalId(rest);
  }

  std::optional<MarathonFault> takeFault(const HttpRequest& request) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->method.empty() && it->method != request.method) continue;
      if (!it->path_prefix.empty() && !request.path.starts_with(it->path_prefix)) continue;
      MarathonFault fault = *it;
      if (it->count > 0 && --it->count == 0) faults.erase(it);
      return fault;
    }
    return std::nullopt;
  }

  // Adds running apps: tasks started now, no deployment.
  void addRunning(std::vector<std::pair<std::string, Definition>> definitions, const std::vector<std::string>& hosts,
                  const std::vector<std::vector<std::uint16_t>>& task_ports) {
    for (auto& [app_id, definition] : definitions) {
      AppState app;
      app.definition = std::move(definition);
      app.hosts = hosts;
      app.task_ports = task_ports;
      app.version = newVersion();
      app.last_scaling_at = app.last_config_change_at = app.version;
      remember(app);
      // Not before the version they run (versions may run ahead of the clock).
      replaceTasks(app_id, app, std::max(clock.now(), last_version));
      apps[app_id] = std::move(app);
    }
  }
};

FakeMarathon::FakeMarathon(const Clock& clock, FakeMarathonOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}

FakeMarathon::~FakeMarathon() {
  if (server_) server_->stop();
}

Status FakeMarathon::addApp(const FakeAppSpec& spec) {
  const std::string app_id = canonicalId(spec.id);
  Document fields(rapidjson::kObjectType);
  auto& a = fields.GetAllocator();
  if (!spec.cmd.empty()) fields.AddMember("cmd", text(spec.cmd, a), a);
  fields.AddMember("cpus", spec.cpus, a);
  fields.AddMember("mem", spec.mem_mib, a);
  fields.AddMember("disk", spec.disk_mib, a);
  fields.AddMember("instances", spec.instances, a);
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
  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  Problems problems;
  Definition definition = normalizeApp(fields, app_id, impl_->service_ports, problems);
  if (!definition) {
    return Error(ErrorKind::kInvalidValue, "app '" + spec.id + "': " + problems.describe());
  }
  if (impl_->apps.contains(app_id) || !impl_->lockers(app_id).empty()) {
    return Error(ErrorKind::kInvalidArgument, "app '" + app_id + "' already exists");
  }
  impl_->addRunning({{app_id, std::move(definition)}}, spec.hosts, spec.task_ports);
  return Status::success();
}

Expected<std::size_t> FakeMarathon::addAppsFromJson(std::string_view text_in, std::string_view source) {
  auto document = json::parse(text_in, source);
  if (!document) return document.error();
  struct Found {
    const Value* app;
    std::string base;   // the enclosing group, for relative ids
    std::string where;  // for messages: "groups[0].apps[2]"
  };
  std::vector<Found> found;
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
  walk(walk, *document, "/", "");
  const std::string origin(source);
  if (!shape_error.empty()) return Error(ErrorKind::kInvalidValue, origin + ": " + shape_error);

  std::lock_guard lock(impl_->mutex);
  impl_->completeDue();
  std::vector<std::pair<std::string, Definition>> definitions;
  for (const auto& [app, base, where] : found) {
    const std::string name = where.empty() ? "the app" : where;
    if (!app->IsObject()) {
      return Error(ErrorKind::kInvalidValue,
                   origin + ": " + name + ": expected an app object, got " + std::string(json::typeName(*app)));
    }
    const Value* raw_id = json::find(*app, "id");
    if (raw_id == nullptr || !raw_id->IsString()) {
      return Error(ErrorKind::kMissingField, origin + ": " + name + ": id: missing or not a string");
    }
    const std::string app_id = canonicalId(raw_id->GetString(), base);
    Problems problems;
    Definition definition = normalizeApp(*app, app_id, impl_->service_ports, problems);
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
  std::optional<MarathonFault> fault;
  {
    std::lock_guard lock(impl_->mutex);
    fault = impl_->takeFault(request);
  }
  // A deliberately slow peer: the real delay is the point of this fault.
  if (fault && fault->kind == MarathonFault::Kind::kDelay) std::this_thread::sleep_for(fault->delay);
  std::lock_guard lock(impl_->mutex);
  HttpResponse response;
  if (fault && fault->kind == MarathonFault::Kind::kHttpStatus) {
    response = jsonResponse(fault->http_status, fault->body);
  } else if (fault && fault->kind == MarathonFault::Kind::kLocked) {
    impl_->completeDue();
    auto locks = impl_->lockers(impl_->appOfPath(normalizePath(request.path)));
    // No deployment to name: one that has already ended, as after a race.
    if (locks.empty()) locks.push_back(uuid(impl_->random));
    response = lockedResponse(locks);
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

std::string FakeMarathon::url() const { return server_ ? server_->baseUrl() : std::string(); }

}  // namespace rightsize::testing
