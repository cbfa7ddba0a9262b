#pragma once

// Alertmanager's webhook payload (version 4), as POSTed to the sizer's
// /v1/alerts: parsed strictly, since it comes from outside. The sizer
// re-evaluates at once the apps named by firing alerts' app_id label.
//
// Version 4 as Alertmanager writes it (template.Data and notify/webhook):
//   {"version": "4", "groupKey": "...", "truncatedAlerts": 0,
//    "status": "firing"|"resolved", "receiver": "...",
//    "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
//    "externalURL": "...",
//    "alerts": [{"status": "firing"|"resolved", "labels": {...},
//                "annotations": {...}, "startsAt": "<RFC 3339>",
//                "endsAt": "<RFC 3339>", "generatorURL": "...",
//                "fingerprint": "..."}]}
// Every member is required except truncatedAlerts (older Alertmanagers, from
// before webhook_config's max_alerts, leave it out): label and annotation
// sets are objects of strings, times RFC 3339 date-times
// ("0001-01-01T00:00:00Z" is the endsAt of a firing alert).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize::sizing {

struct Alert {
  std::string status;  // "firing" or "resolved"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string starts_at;  // RFC 3339, as sent
  std::string ends_at;    // RFC 3339, as sent
  std::string generator_url;
  std::string fingerprint;
};

struct AlertNotification {
  std::string receiver;
  std::string status;  // of the group: "firing" or "resolved"
  std::string group_key;
  std::map<std::string, std::string> group_labels;
  std::map<std::string, std::string> common_labels;
  std::map<std::string, std::string> common_annotations;
  std::string external_url;
  // Alerts of the group left out by the receiver's max_alerts (0 when the
  // member is absent): the apps they name are not in `alerts`.
  std::uint64_t truncated_alerts = 0;
  std::vector<Alert> alerts;
};

// Fails with kMalformed (not JSON, not an object), kMissingField naming the
// member ("alerts[2].fingerprint: missing") or kInvalidValue naming it and
// what is wrong ("alerts[2].labels.app_id: not a string", "alerts[0].startsAt:
// not an RFC 3339 date-time") when the body is not a version 4 notification.
// Members beyond those above are ignored, as Alertmanager adds some over time.
Expected<AlertNotification> parseAlertNotification(std::string_view body);

// The app ids named by firing alerts (label app_id) that ask nothing of
// scaling (no rightsize_scale label): hot spots. Sorted, without duplicates;
// ids that are not Marathon app ids are left out.
std::vector<std::string> firingApps(const AlertNotification& notification);

// Firing alerts that ask to scale an app (docs/scaling.md): labels app_id
// and rightsize_scale, "out" or "in". By app id; an app asked both ways in
// one notification is left out, and so is an alert whose rightsize_scale is
// neither, or whose app_id is no Marathon app id: each is a problem in
// `problems` (kInvalidValue, naming the alert).
std::map<std::string, std::string> scaleRequests(const AlertNotification& notification, std::vector<Error>& problems);

}  // namespace rightsize::sizing
