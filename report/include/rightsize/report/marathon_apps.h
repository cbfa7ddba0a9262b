#pragma once

// `rightsize report --marathon-url`: Marathon's live app definitions beside
// the history Prometheus holds (docs/report.md, "With Marathon"). An app
// with history that Marathon has is reported on its definition's cpus, mem
// and instances (no executor's share to guess), and replayed with the
// settings its rightsize.* labels give the sizer (bad labels are warnings,
// the default used); one labelled rightsize.enabled=false is excluded (the
// sizer never touches it); one Marathon no longer has is "gone"; Marathon's
// apps without history are listed as "no history".

#include <string>
#include <vector>

#include "rightsize/core/status.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::report {

// The `env` of Marathon's apps among the history's: --marathon-env, else the
// one env the history's apps have ("" when none has one). Error when they
// have several and --marathon-env is not given.
Expected<std::string> marathonEnv(const AppsHistory& history, const ReportOptions& options);

// Fills history.marathon (one entry per trace app: apps of another env than
// `env` are left "" and replayed as without Marathon) from Marathon's
// `apps`, and returns the report rows of Marathon's apps that --apps names
// and that have no history. Label errors, and apps Marathon's listing could
// not give, are added to `warnings`. Pure.
std::vector<AppReport> matchMarathonApps(AppsHistory& history, const sizing::ParsedApps& apps, const std::string& env,
                                         const ReportOptions& options, std::vector<std::string>& warnings);

}  // namespace rightsize::report
