#pragma once

// `rightsize report` for fleets with no rightsize agent yet: each app's
// history from cAdvisor's standard container series (docs/report.md,
// "cAdvisor"). The Marathon app of a container is read from one of its
// labels (--cadvisor-app-label), holding either the app id
// (`container_env_marathon_app_id`: Docker containers, cAdvisor run with
// --env_metadata_whitelist=MARATHON_APP_ID) or a Marathon task id
// (`container_env_mesos_task_id`, Marathon's Docker label
// `container_label_MESOS_TASK_ID`, or cAdvisor's Mesos handler's
// `container_label_source`), mapped to `app_id` in PromQL with
// label_replace.

#include <string>
#include <string_view>

#include "rightsize/core/status.h"
#include "rightsize/report/fleet_report.h"

namespace rightsize::report {

inline constexpr std::string_view kDefaultCadvisorAppLabel = "container_env_marathon_app_id";

// A Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), not one of the labels
// the queries make (app_id, env, rightsize_app). The error names the flag.
Status validCadvisorAppLabel(std::string_view label);

// The queries over cAdvisor's series. `{APPS_RE}` in them is the --apps
// regular expression (see fleet_report.cc's expand()).
SeriesSource cadvisorSource(std::string_view app_label);

// The expression that gives each series of `vector` (cAdvisor's labels) an
// `app_id` from `app_label`, keeps those of the apps `{APPS_RE}` matches and
// aggregates them with `aggregation` ("max", "count") by (env, app_id).
std::string cadvisorByApp(std::string_view vector, std::string_view app_label, std::string_view aggregation);

}  // namespace rightsize::report
