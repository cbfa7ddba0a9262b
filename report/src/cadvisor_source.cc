#include "rightsize/report/cadvisor_source.h"

#include "rightsize/core/text.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::report {
namespace {

// Marathon's task ids: "<app path, '/' as '_'>.<uuid>" (before 1.5),
// "....instance-<uuid>._app.<n>" and "....marathon-<uuid>" since: the app's
// part is what comes before the uuid (app names may hold dots, never '_').
constexpr std::string_view kTaskIdRegex =
    R"re((.+?)\\.(?:instance-|marathon-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\\._app\\.[0-9]+)?)re";
// A task id's '_' are the app id's '/': one label_replace a level, as deep
// as app ids are made.
constexpr int kAppLevels = 10;

std::string selector(std::string_view app_label, std::string_view more = {}) {
  std::string out = "{" + std::string(app_label) + "!=\"\"";
  if (!more.empty()) out += "," + std::string(more);
  return out + "}";
}

// `query` over Docker containers (cAdvisor's `image` label set) with the
// executor's share added, `or` over the others: see docs/report.md
// ("The executor's share").
std::string withExecutorShare(std::string_view app_label, const auto& query, double share) {
  return "((" + query(selector(app_label, "image!=\"\"")) + ") + " + formatExact(share) + ") or (" +
         query(selector(app_label, "image=\"\"")) + ")";
}

}  // namespace

Status validCadvisorAppLabel(std::string_view label) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorKind::kInvalidArgument, "--cadvisor-app-label: '" + sanitizeUtf8(label) + "' " + why);
  };
  if (label.empty()) return bad("is empty");
  for (std::size_t i = 0; i < label.size(); ++i) {
    const char c = label[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) {
      return bad("is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    }
  }
  if (label == "app_id" || label == "env" || label == "rightsize_app" || label.starts_with("__")) {
    return bad("is a label the report's queries make or Prometheus reserves");
  }
  return Status::success();
}

std::string cadvisorByApp(std::string_view vector, std::string_view app_label, std::string_view aggregation) {
  const std::string label(app_label);
  // The label holds the app id ("/shop/web")...
  std::string out = "label_replace(" + std::string(vector) + ", \"app_id\", \"$1\", \"" + label + "\", \"(/.+)\")";
  // ... or a task id ("shop_web.instance-<uuid>._app.1").
  out = "label_replace(" + out + ", \"app_id\", \"/$1\", \"" + label + "\", \"" + std::string(kTaskIdRegex) + "\")";
  for (int level = 0; level < kAppLevels; ++level) {
    out = "label_replace(" + out + R"q(, "app_id", "$1/$2", "app_id", "([^_]*)_(.*)"))q";
  }
  // Only the apps --apps names: the others keep no rightsize_app, and their
  // group gets no app_id.
  out = "label_replace(" + out + R"q(, "rightsize_app", "$1", "app_id", "({APPS_RE})"))q";
  return "label_replace(" + std::string(aggregation) + " by (env, rightsize_app) (" + out +
         R"q(), "app_id", "$1", "rightsize_app", "(.+)"))q";
}

SeriesSource cadvisorSource(std::string_view app_label) {
  SeriesSource s;
  s.name = "cAdvisor series";
  s.probe = "count(container_spec_cpu_shares" + selector(app_label) + ")";
  // CPU: the counter's rate over the step (cAdvisor's `cpu` label is
  // "total", or one series per CPU with --enable_metrics=percpu: summed).
  s.cpu_used = cadvisorByApp(
      "sum without (cpu) (rate(container_cpu_usage_seconds_total" + selector(app_label) + "[{RATE_STEP}]))", app_label,
      "max");
  // The request: cpu.shares / 1024, Mesos' and Docker's 1024 shares a core;
  // the CFS quota / period instead where it is the same reservation to
  // 1/1024 of a core (more exact: shares are whole numbers), not where it is
  // a burstable app's limit.
  const auto cpu = [](const std::string& sel) {
    const std::string quota = "container_spec_cpu_quota" + sel + " / container_spec_cpu_period" + sel;
    const std::string shares = "container_spec_cpu_shares" + sel + " / 1024";
    return "(" + quota + " and abs(" + quota + " - " + shares + ") < 0.001) or " + shares;
  };
  s.cpu_reserved = cadvisorByApp(withExecutorShare(app_label, cpu, sizing::kExecutorCpus), app_label, "max");
  // Memory in use as the agents measure it: anonymous + mapped file
  // (cAdvisor's rss and mapped_file; rss alone where mapped_file is not
  // exported).
  const std::string rss = "avg_over_time(container_memory_rss" + selector(app_label) + "[{STEP}])";
  s.mem_used = cadvisorByApp(
      "(" + rss + " + avg_over_time(container_memory_mapped_file" + selector(app_label) + "[{STEP}])) or " + rss,
      app_label, "max");
  // The request: the soft limit when set and below the hard limit, else the
  // hard limit (cAdvisor writes 0 for unlimited).
  const auto mem = [](const std::string& sel) {
    const std::string soft = "container_spec_memory_reservation_limit_bytes" + sel;
    const std::string hard = "container_spec_memory_limit_bytes" + sel;
    return "((" + soft + " > 0) < " + hard + ") or (" + hard + " > 0) or (" + soft + " > 0)";
  };
  s.mem_reserved =
      cadvisorByApp(withExecutorShare(app_label, mem, sizing::kExecutorMemMib * 1024 * 1024), app_label, "max");
  s.tasks = cadvisorByApp("container_spec_cpu_shares" + selector(app_label), app_label, "count");
  return s;
}

}  // namespace rightsize::report
