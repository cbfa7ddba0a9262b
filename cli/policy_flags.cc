#include "policy_flags.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "flags.h"

#include "rightsize/core/text.h"

namespace rightsize::cli {

namespace {

// A flag's help, for the sizer or for a replay of it.
std::string helpFor(bool replay, const std::string& flag, const std::string& text) {
  if (!replay) return text;
  std::string lowered = text;
  lowered[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lowered[0])));
  return "The sizer's " + flag + " for the rightsize policy: " + lowered;
}

}  // namespace

void addMinChangeFlags(CLI::App& command, MinChangeFlags& flags, bool replay) {
  command
      .add_option("--min-change", flags.share,
                  helpFor(replay, "--min-change",
                          "A resize that only shrinks is made when a resource goes down by at least this share of "
                          "what it reserves, and by --min-change-cpus or --min-change-mem (label "
                          "rightsize.min-change; VPA's updater: 0.1)"))
      ->envname(envNameFor("--min-change"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  command
      .add_option("--min-change-cpus", flags.cpus,
                  helpFor(replay, "--min-change-cpus",
                          "The cores a shrink of CPU must take off, besides --min-change's share (label "
                          "rightsize.cpu.min-change)"))
      ->envname(envNameFor("--min-change-cpus"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, sizing::kMaxMinChangeCpus));
  command
      .add_option("--min-change-mem", flags.mem_mib,
                  helpFor(replay, "--min-change-mem",
                          "The MiB a shrink of memory must take off, besides --min-change's share (label "
                          "rightsize.mem.min-change)"))
      ->envname(envNameFor("--min-change-mem"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, sizing::kMaxMinChangeMemMib));
}

void addSlotFlags(CLI::App& command, std::size_t& deployments, std::size_t& oom_deployments, std::string& order,
                  bool replay) {
  command
      .add_option("--max-concurrent-deployments", deployments,
                  helpFor(replay, "--max-concurrent-deployments",
                          "Deployments of the sizer's own in flight at once, across apps, beyond which a resize "
                          "waits for a slot"))
      ->envname(envNameFor("--max-concurrent-deployments"))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  command
      .add_option("--max-concurrent-oom-deployments", oom_deployments,
                  helpFor(replay, "--max-concurrent-oom-deployments",
                          "An OOM-killed app's memory grow starts while fewer than --max-concurrent-deployments "
                          "plus this many of the sizer's deployments are in flight (it restarts at each kill "
                          "anyway; 0: it waits as the others do)"))
      ->envname(envNameFor("--max-concurrent-oom-deployments"))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000}));
  command
      .add_option("--slot-order", order,
                  helpFor(replay, "--slot-order",
                          "Which resize that can wait (after the apps at risk) a freed slot goes to: ids, the "
                          "first in the order of the apps' ids; largest, the one that moves more of the fleet's "
                          "reservation (cores, and memory at the fleet's MiB per core)"))
      ->envname(envNameFor("--slot-order"))
      ->capture_default_str()
      ->check(CLI::IsMember({"ids", "largest"}));
}

void applyMinChangeFlags(const MinChangeFlags& flags, sizing::AppSettings& defaults) {
  defaults.min_change = flags.share;
  defaults.min_change_cpus = flags.cpus;
  defaults.min_change_mem_mib = flags.mem_mib;
}

void addPolicyFlags(CLI::App& command, PolicyFlags& flags, bool replay) {
  const auto help = [replay](const std::string& flag, const std::string& text) { return helpFor(replay, flag, text); };
  addFlag(command, "--min-history", flags.min_history,
          help("--min-history",
               "History an app's figures must cover before it is shrunk (growing an app at risk never waits for "
               "it; at most the longer of " +
                   flags.history_flag + " and --memory-history)"))
      ->check(durationValidator(true));
  addFlag(command, "--min-task-age", flags.min_task_age,
          help("--min-task-age",
               "How long an app's youngest task must have run (in a replay: since the trace's start, its last "
               "redeploy or OOM kill) before the app is shrunk (0s: no wait; growing an app at risk never waits "
               "for it)"))
      ->check(durationValidator(true));
  addFlag(command, "--min-app-age", flags.min_app_age,
          help("--min-app-age",
               "How long an app born while the sizer watches the fleet (in a replay: one whose trace begins after "
               "the trace's start) must have lived before it is shrunk; the apps found when the sizer first lists "
               "the fleet are taken as old (0s: no wait; growing an app at risk never waits for it)"))
      ->check(durationValidator(true));
  // (Under another name, the command adds it itself: report's
  // --sizer-history.)
  if (flags.history_flag == "--history") {
    addFlag(command, "--history", flags.history,
            help("--history", "How far back the agents' CPU p95s are looked at when sizing"))
        ->check(durationValidator());
  }
  addFlag(command, "--memory-history", flags.memory_history,
          help("--memory-history", "How far back the memory peak is looked for when sizing"))
      ->check(durationValidator());
  command
      .add_option("--memory-days", flags.memory_days,
                  help("--memory-days",
                       "Days of daily memory peaks kept before today: memory is sized above the peak of them (0: "
                       "none)"))
      ->envname(envNameFor("--memory-days"))
      ->capture_default_str()
      ->check(CLI::Range(0, 365));
  command
      .add_option("--peak-days", flags.peak_days,
                  help("--peak-days",
                       "A shrink holds through the CPU peak of each hour of the day seen on this many days or more, "
                       "fed within the last week (its peak fading by half a week; 1: every hour seen; 0: the time "
                       "of day floors no shrink)"))
      ->envname(envNameFor("--peak-days"))
      ->capture_default_str()
      ->check(CLI::Range(0, 7));
  command
      .add_option("--forecast-days", flags.forecast_days,
                  help("--forecast-days",
                       "Days an hour of the day must have been seen on before the app is grown ahead of its peak "
                       "(within the hour before it), and before an app labelled a lower rightsize.cpu.percentile "
                       "than 95 has its shrink floored by it"))
      ->envname(envNameFor("--forecast-days"))
      ->capture_default_str()
      ->check(CLI::Range(1, 30));
  command
      .add_option("--anomaly-days", flags.anomaly_days,
                  help("--anomaly-days",
                       "Days an hour of the day must have been seen on before use now is scored against it: a "
                       "collapse (an outage) holds every shrink"))
      ->envname(envNameFor("--anomaly-days"))
      ->capture_default_str()
      ->check(CLI::Range(1, 30));
  command
      .add_option("--anomaly-sigmas", flags.anomaly_sigmas,
                  help("--anomaly-sigmas",
                       "Standard deviations below what the hour expects (and under half of it) that make use a "
                       "collapse"))
      ->envname(envNameFor("--anomaly-sigmas"))
      ->capture_default_str()
      ->check(CLI::Range(0.5, 100.0));
  addFlag(command, "--cpu-half-life", flags.cpu_half_life,
          help("--cpu-half-life",
               "Half-life of the CPU histogram kept over days: CPU is sized on the higher of the recent percentile "
               "and the histogram's, so it shrinks slowly (0s: no histogram)"))
      ->check(durationValidator(true));
  addFlag(command, "--search-back-window", flags.search_back_window,
          help("--search-back-window",
               "How long what the last shrink of each resource took away is remembered: an app at risk within it "
               "(OOM-killed, at its memory limit, throttled or, under CPU shares, using more CPU than it "
               "reserves) goes back towards that at once, on both resources; all the way when OOM-killed"))
      ->check(durationValidator());
  addFlag(command, "--wrong-shrink-hold", flags.wrong_shrink_hold,
          help("--wrong-shrink-hold",
               "After a shrink proved wrong (the app at risk within --search-back-window of it, below what it was "
               "shrunk from), nothing of the app shrinks for this long from the last time it did: each wrong "
               "shrink costs two restarts (0s: no hold; growing is never held)"))
      ->check(durationValidator(true));
}

Status applyPolicyFlags(const PolicyFlags& flags, sizing::PolicyOptions& policy, sizing::HistoryOptions& history,
                        Duration& search_back_window) {
  for (auto [flag, text, out, zero_allowed] :
       {std::tuple{"--min-history", &flags.min_history, &policy.min_history, true},
        {"--min-task-age", &flags.min_task_age, &policy.min_task_age, true},
        {"--min-app-age", &flags.min_app_age, &policy.min_app_age, true},
        {flags.history_flag.c_str(), &flags.history, &history.span, false},
        {"--memory-history", &flags.memory_history, &history.mem_span, false},
        {"--cpu-half-life", &flags.cpu_half_life, &history.cpu_half_life, true},
        {"--wrong-shrink-hold", &flags.wrong_shrink_hold, &policy.wrong_shrink_hold, true},
        {"--search-back-window", &flags.search_back_window, &search_back_window, false}}) {
    auto parsed = parseWait(*text);
    if (!parsed) return parsed.error().withContext(flag);
    if (*parsed < Duration::zero() || (!zero_allowed && *parsed == Duration::zero())) {
      return Error(ErrorKind::kInvalidArgument,
                   std::string(flag) + (zero_allowed ? ": must not be negative" : ": must be longer than 0"));
    }
    *out = *parsed;
  }
  if (flags.memory_days < 0 || flags.memory_days > 365) {
    return Error(ErrorKind::kInvalidArgument,
                 "--memory-days: " + std::to_string(flags.memory_days) + " is not 0 to 365");
  }
  if (flags.peak_days < 0 || flags.peak_days > 7) {
    return Error(ErrorKind::kInvalidArgument, "--peak-days: " + std::to_string(flags.peak_days) + " is not 0 to 7");
  }
  if (flags.forecast_days < 1 || flags.forecast_days > 30) {
    return Error(ErrorKind::kInvalidArgument,
                 "--forecast-days: " + std::to_string(flags.forecast_days) + " is not 1 to 30");
  }
  if (flags.anomaly_days < 1 || flags.anomaly_days > 30) {
    return Error(ErrorKind::kInvalidArgument,
                 "--anomaly-days: " + std::to_string(flags.anomaly_days) + " is not 1 to 30");
  }
  if (!(flags.anomaly_sigmas >= 0.5 && flags.anomaly_sigmas <= 100)) {
    return Error(ErrorKind::kInvalidArgument,
                 "--anomaly-sigmas: " + formatExact(flags.anomaly_sigmas) + " is not 0.5 to 100");
  }
  history.mem_days = flags.memory_days;
  history.floor_min_days = flags.peak_days;
  history.profile_min_days = flags.forecast_days;
  history.anomaly_min_days = flags.anomaly_days;
  history.anomaly_sigmas = flags.anomaly_sigmas;
  // The history keeps max(--history, --memory-history): a longer wait could
  // never end, and no app would ever be shrunk.
  if (policy.min_history > std::max(history.span, history.mem_span)) {
    return Error(ErrorKind::kInvalidArgument, "--min-history (" + flags.min_history +
                                                  ") is longer than the history kept (" + flags.history_flag + " " +
                                                  flags.history + ", --memory-history " + flags.memory_history +
                                                  "): nothing would ever be shrunk");
  }
  return Status::success();
}

}  // namespace rightsize::cli
