#include "rightsize/sizing/alerts.h"

#include <algorithm>
#include <set>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::sizing {
namespace {

constexpr std::string_view kSource = "alertmanager notification";

std::string memberPath(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
}

Error invalid(const std::string& path, std::string_view what) {
  return Error(ErrorKind::kInvalidValue, std::string(kSource) + ": " + path + ": " + std::string(what));
}

Error missing(const std::string& path) {
  return Error(ErrorKind::kMissingField, std::string(kSource) + ": " + path + ": missing");
}

Expected<std::string> requiredString(const json::Value& object, std::string_view name, std::string_view path) {
  auto text = json::getString(object, name, path);
  if (!text) return text.error().withContext(kSource);
  return text;
}

Expected<std::string> requiredStatus(const json::Value& object, std::string_view path) {
  auto status = requiredString(object, "status", path);
  if (!status) return status;
  if (*status != "firing" && *status != "resolved") {
    return invalid(memberPath(path, "status"), "must be \"firing\" or \"resolved\"");
  }
  return status;
}

// A label or annotation set: an object whose members are all strings.
Expected<std::map<std::string, std::string>> stringMap(const json::Value& object, std::string_view name,
                                                       std::string_view path) {
  const std::string where = memberPath(path, name);
  const json::Value* value = json::find(object, name);
  if (value == nullptr) return missing(where);
  if (!value->IsObject()) return invalid(where, "not an object");
  std::map<std::string, std::string> out;
  for (const auto& member : value->GetObject()) {
    const std::string key(member.name.GetString(), member.name.GetStringLength());
    if (!member.value.IsString()) return invalid(where + "." + key, "not a string");
    out.emplace(key, std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  return out;
}

bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

int daysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// RFC 3339 section 5.6 date-time: 2006-01-02T15:04:05[.999999999](Z|+07:00),
// as Go writes a time.Time to JSON. "T" and "Z" may be lower case (5.6 NOTE);
// a leap second (:60) is allowed.
bool isRfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) ||
      text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t at = 19;
  if (text[at] == '.') {
    const std::size_t first = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == first) return false;
  }
  if (at == text.size()) return false;
  if (text[at] == 'Z' || text[at] == 'z') return at + 1 == text.size();
  int offset_hour = 0, offset_minute = 0;
  return (text[at] == '+' || text[at] == '-') && at + 6 == text.size() && digits(text, at + 1, 2, offset_hour) &&
         text[at + 3] == ':' && digits(text, at + 4, 2, offset_minute) && offset_hour <= 23 && offset_minute <= 59;
}

Expected<std::string> requiredTime(const json::Value& object, std::string_view name, std::string_view path) {
  auto text = requiredString(object, name, path);
  if (!text) return text;
  // The value is not repeated: it comes from outside and goes to the log.
  if (!isRfc3339(*text)) return invalid(memberPath(path, name), "not an RFC 3339 date-time");
  return text;
}

Expected<Alert> parseAlert(const json::Value& value, const std::string& path) {
  if (!value.IsObject()) return invalid(path, "not an object");
  Alert alert;
  auto status = requiredStatus(value, path);
  if (!status) return status.error();
  alert.status = std::move(*status);
  auto labels = stringMap(value, "labels", path);
  if (!labels) return labels.error();
  alert.labels = std::move(*labels);
  auto annotations = stringMap(value, "annotations", path);
  if (!annotations) return annotations.error();
  alert.annotations = std::move(*annotations);
  auto starts_at = requiredTime(value, "startsAt", path);
  if (!starts_at) return starts_at.error();
  alert.starts_at = std::move(*starts_at);
  auto ends_at = requiredTime(value, "endsAt", path);
  if (!ends_at) return ends_at.error();
  alert.ends_at = std::move(*ends_at);
  auto generator_url = requiredString(value, "generatorURL", path);
  if (!generator_url) return generator_url.error();
  alert.generator_url = std::move(*generator_url);
  auto fingerprint = requiredString(value, "fingerprint", path);
  if (!fingerprint) return fingerprint.error();
  alert.fingerprint = std::move(*fingerprint);
  return alert;
}

}  // namespace

Expected<AlertNotification> parseAlertNotification(std::string_view body) {
  auto document = json::parse(body, kSource);
  if (!document) return document.error();
  if (!document->IsObject()) return Error(ErrorKind::kMalformed, std::string(kSource) + ": not a JSON object");
  auto version = requiredString(*document, "version", "");
  if (!version) return version.error();
  if (*version != "4") return invalid("version", "\"" + *version + "\" is not the supported version \"4\"");

  AlertNotification out;
  auto receiver = requiredString(*document, "receiver", "");
  if (!receiver) return receiver.error();
  out.receiver = std::move(*receiver);
  auto status = requiredStatus(*document, "");
  if (!status) return status.error();
  out.status = std::move(*status);
  auto group_key = requiredString(*document, "groupKey", "");
  if (!group_key) return group_key.error();
  out.group_key = std::move(*group_key);
  for (auto [name, target] :
       {std::pair{"groupLabels", &out.group_labels}, std::pair{"commonLabels", &out.common_labels},
        std::pair{"commonAnnotations", &out.common_annotations}}) {
    auto labels = stringMap(*document, name, "");
    if (!labels) return labels.error();
    *target = std::move(*labels);
  }
  auto external_url = requiredString(*document, "externalURL", "");
  if (!external_url) return external_url.error();
  out.external_url = std::move(*external_url);
  if (const json::Value* truncated = json::find(*document, "truncatedAlerts"); truncated != nullptr) {
    if (!truncated->IsUint64()) return invalid("truncatedAlerts", "not a non-negative integer");
    out.truncated_alerts = truncated->GetUint64();
  }

  const json::Value* alerts = json::find(*document, "alerts");
  if (alerts == nullptr) return missing("alerts");
  if (!alerts->IsArray()) return invalid("alerts", "not an array");
  std::size_t index = 0;
  for (const auto& value : alerts->GetArray()) {
    auto alert = parseAlert(value, "alerts[" + std::to_string(index++) + "]");
    if (!alert) return alert.error();
    out.alerts.push_back(std::move(*alert));
  }
  return out;
}

std::vector<std::string> firingApps(const AlertNotification& notification) {
  std::vector<std::string> apps;
  for (const auto& alert : notification.alerts) {
    if (alert.status != "firing" || alert.labels.contains("rightsize_scale")) continue;
    auto app = alert.labels.find("app_id");
    if (app != alert.labels.end() && validAppId(app->second)) apps.push_back(app->second);
  }
  std::sort(apps.begin(), apps.end());
  apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
  return apps;
}

std::map<std::string, std::string> scaleRequests(const AlertNotification& notification, std::vector<Error>& problems) {
  std::map<std::string, std::string> out;
  std::set<std::string> conflicting;
  for (std::size_t i = 0; i < notification.alerts.size(); ++i) {
    const Alert& alert = notification.alerts[i];
    auto scale = alert.labels.find("rightsize_scale");
    if (alert.status != "firing" || scale == alert.labels.end()) continue;
    const std::string where = "alerts[" + std::to_string(i) + "].labels";
    if (scale->second != "out" && scale->second != "in") {
      problems.emplace_back(ErrorKind::kInvalidValue, where + ".rightsize_scale: '" +
                                                          sanitizeUtf8(scale->second.substr(0, 64)) +
                                                          "' is neither out nor in; the alert is ignored");
      continue;
    }
    auto app = alert.labels.find("app_id");
    if (app == alert.labels.end() || !validAppId(app->second)) {
      problems.emplace_back(ErrorKind::kInvalidValue,
                            where + ".app_id: " + (app == alert.labels.end() ? "missing" : "not a Marathon app id") +
                                "; the scale alert is ignored");
      continue;
    }
    auto [it, added] = out.emplace(app->second, scale->second);
    if (!added && it->second != scale->second) conflicting.insert(app->second);
  }
  for (const auto& app_id : conflicting) {
    out.erase(app_id);
    problems.emplace_back(ErrorKind::kInvalidValue,
                          "alerts: app " + app_id + " is asked to scale both out and in; neither is done");
  }
  return out;
}

}  // namespace rightsize::sizing
