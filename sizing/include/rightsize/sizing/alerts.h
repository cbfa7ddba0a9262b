#pragma once

// Alertmanager's webhook payload (version 4), as POSTed to the sizer's
// /v1/alerts: parsed strictly, since it comes from outside. The sizer
// re-evaluates at once the apps named by firing alerts' app_id label.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize::sizing {

struct Alert {
  std::string status;  // "firing" or "resolved"
  std::map<std::string, std::string> labels;
};

struct AlertNotification {
  std::string receiver;
  std::string status;  // of the group: "firing" or "resolved"
  std::vector<Alert> alerts;
};

// Fails with kMalformed (not JSON, not an object) or kInvalidValue /
// kMissingField naming the field ("alerts[2].labels.app_id: not a string")
// when the body is not a version 4 notification. Fields beyond those read
// are ignored, as Alertmanager adds some over time.
Expected<AlertNotification> parseAlertNotification(std::string_view body);

// The app ids named by firing alerts (label app_id), sorted, without
// duplicates; ids that are not Marathon app ids are left out.
std::vector<std::string> firingApps(const AlertNotification& notification);

}  // namespace rightsize::sizing
