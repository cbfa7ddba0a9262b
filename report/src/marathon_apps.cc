#include "rightsize/report/marathon_apps.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "rightsize/core/text.h"
#include "rightsize/sizing/app_settings.h"

namespace rightsize::report {
namespace {

// The sizer's settings for `app` from its labels, as the replay takes them;
// each bad label a warning.
sizing::AppSettings settingsOf(const sizing::MarathonApp& app, const ReportOptions& options,
                               std::vector<std::string>& warnings) {
  sizing::AppSettings defaults = options.policy.settings;
  // The sizer's default (--allow-single-instance off): a one-instance app is
  // shrunk only when labelled so.
  defaults.allow_single_instance = false;
  sizing::ParsedSettings parsed = sizing::parseAppLabels(app.labels, defaults);
  for (const std::string& error : parsed.errors) {
    warnings.push_back("Marathon app " + app.id + ": label " + error + " (the default used)");
  }
  // The replay's one container stands for the app's alike instances: one of
  // several may be shrunk as any.
  if (app.instances > 1) parsed.settings.allow_single_instance = true;
  return parsed.settings;
}

}  // namespace

Expected<std::string> marathonEnv(const AppsHistory& history, const ReportOptions& options) {
  if (options.marathon_env) return *options.marathon_env;
  const std::set<std::string> envs(history.envs.begin(), history.envs.end());
  if (envs.size() <= 1) return envs.empty() ? std::string() : *envs.begin();
  std::string listed;
  for (const auto& env : envs) listed += (listed.empty() ? "" : ", ") + (env.empty() ? "(none)" : env);
  return Error(ErrorKind::kInvalidArgument, "Prometheus holds apps of several env labels (" + listed +
                                                "): say which is this Marathon's with --marathon-env");
}

std::vector<AppReport> matchMarathonApps(AppsHistory& history, const sizing::ParsedApps& apps, const std::string& env,
                                         const ReportOptions& options, std::vector<std::string>& warnings) {
  std::map<std::string, const sizing::MarathonApp*> by_id;
  for (const auto& app : apps.apps) by_id[app.id] = &app;
  std::set<std::string> unusable;
  for (const auto& app : apps.unusable) {
    unusable.insert(app.app_id);
    warnings.push_back("Marathon app " + (app.app_id.empty() ? std::string("(its id unreadable)") : app.app_id) +
                       " could not be read: " + app.error.message() + "; reported from Prometheus alone");
  }
  history.marathon.assign(history.trace.apps.size(), AppMarathon{});
  if (!history.envs.empty() && std::find(history.envs.begin(), history.envs.end(), env) == history.envs.end()) {
    warnings.push_back("no app in Prometheus has env=\"" + env +
                       "\" (--marathon-env): Marathon's apps are all listed without history");
  }
  std::set<std::string> with_history;
  for (std::size_t i = 0; i < history.trace.apps.size(); ++i) {
    const std::string& id = history.trace.apps[i].app_id;
    if (history.envs[i] != env || unusable.contains(id)) continue;
    AppMarathon& marathon = history.marathon[i];
    const auto found = by_id.find(id);
    if (found == by_id.end()) {
      marathon.state = "gone";
      continue;
    }
    with_history.insert(id);
    const sizing::MarathonApp& app = *found->second;
    marathon.cpus = app.cpus;
    marathon.mem_mib = app.mem_mib;
    marathon.instances = app.instances;
    sizing::AppSettings settings = settingsOf(app, options, warnings);
    if (settings.disabled) {
      marathon.state = "excluded";
    } else {
      marathon.state = "live";
      marathon.settings = std::move(settings);
    }
  }
  // Marathon's apps --apps names (as Prometheus matched it: anchored) that
  // have no history.
  std::optional<std::regex> names;
  try {
    names.emplace(options.apps_regex, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    warnings.push_back("--apps '" + sanitizeUtf8(options.apps_regex) +
                       "' is not a regular expression this program can match itself: every Marathon app without "
                       "history is listed");
  }
  std::vector<AppReport> out;
  for (const auto& app : apps.apps) {
    if (with_history.contains(app.id) || (names && !std::regex_match(app.id, *names))) continue;
    AppReport row;
    row.env = env;
    row.app_id = app.id;
    row.marathon = "no history";
    row.tasks = app.instances;
    row.cpus = app.cpus;
    row.mem_mib = app.mem_mib;
    row.recommended_cpus = app.cpus;
    row.recommended_mem_mib = app.mem_mib;
    row.confidence_label = "none";
    (void)settingsOf(app, options, warnings);  // its bad labels are worth knowing all the same
    if (options.core_hour_price || options.gib_hour_price) row.money_saved_per_month = 0;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace rightsize::report
