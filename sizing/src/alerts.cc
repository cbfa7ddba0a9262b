#include "rightsize/sizing/alerts.h"

#include <algorithm>

#include "rightsize/core/json.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::sizing {
namespace {

constexpr std::string_view kSource = "alertmanager notification";

Error invalid(const std::string& path, std::string_view what) {
  return Error(ErrorKind::kInvalidValue, std::string(kSource) + ": " + path + ": " + std::string(what));
}

Status checkStatus(const std::string& status, const std::string& path) {
  if (status != "firing" && status != "resolved") return invalid(path, "must be \"firing\" or \"resolved\"");
  return Status::success();
}

Expected<std::map<std::string, std::string>> stringMap(const json::Value& object, const std::string& path,
                                                       bool required) {
  std::map<std::string, std::string> out;
  const json::Value* value = json::find(object, path.substr(path.rfind('.') + 1));
  if (value == nullptr) {
    if (required) return Error(ErrorKind::kMissingField, std::string(kSource) + ": " + path + ": missing");
    return out;
  }
  if (!value->IsObject()) return invalid(path, "not an object");
  for (const auto& member : value->GetObject()) {
    if (!member.value.IsString()) {
      return invalid(path + "." + member.name.GetString(), "not a string");
    }
    out.emplace(member.name.GetString(), member.value.GetString());
  }
  return out;
}

}  // namespace

Expected<AlertNotification> parseAlertNotification(std::string_view body) {
  auto document = json::parse(body, kSource);
  if (!document) return document.error();
  if (!document->IsObject()) return Error(ErrorKind::kMalformed, std::string(kSource) + ": not a JSON object");
  auto version = json::getString(*document, "version", "");
  if (!version) return version.error().withContext(kSource);
  if (*version != "4") return invalid("version", "\"" + *version + "\" is not the supported version \"4\"");
  AlertNotification out;
  auto receiver = json::getString(*document, "receiver", "");
  if (!receiver) return receiver.error().withContext(kSource);
  out.receiver = std::move(*receiver);
  auto status = json::getString(*document, "status", "");
  if (!status) return status.error().withContext(kSource);
  if (Status ok = checkStatus(*status, "status"); !ok) return ok.error();
  out.status = std::move(*status);
  const json::Value* alerts = json::find(*document, "alerts");
  if (alerts == nullptr) return Error(ErrorKind::kMissingField, std::string(kSource) + ": alerts: missing");
  if (!alerts->IsArray()) return invalid("alerts", "not an array");
  std::size_t index = 0;
  for (const auto& value : alerts->GetArray()) {
    const std::string path = "alerts[" + std::to_string(index++) + "]";
    if (!value.IsObject()) return invalid(path, "not an object");
    Alert alert;
    auto alert_status = json::getString(value, "status", path);
    if (!alert_status) return alert_status.error().withContext(kSource);
    if (Status ok = checkStatus(*alert_status, path + ".status"); !ok) return ok.error();
    alert.status = std::move(*alert_status);
    auto labels = stringMap(value, path + ".labels", true);
    if (!labels) return labels.error();
    alert.labels = std::move(*labels);
    auto annotations = stringMap(value, path + ".annotations", false);
    if (!annotations) return annotations.error();
    out.alerts.push_back(std::move(alert));
  }
  return out;
}

std::vector<std::string> firingApps(const AlertNotification& notification) {
  std::vector<std::string> apps;
  for (const auto& alert : notification.alerts) {
    if (alert.status != "firing") continue;
    auto app = alert.labels.find("app_id");
    if (app != alert.labels.end() && validAppId(app->second)) apps.push_back(app->second);
  }
  std::sort(apps.begin(), apps.end());
  apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
  return apps;
}

}  // namespace rightsize::sizing
