// `rightsize simulate` checked against the live system (docs/simulate.md,
// "The live demo against the replay"): the demo (agents and sizer as
// processes, Marathon and Mesos agent doubles, accelerated) and the replay
// run on the same 12 hours of the demo's trace with the same settings, in
// each CPU isolation mode, and must agree on the figures operators decide
// by: redeploys per app-day and reserved core-hours per day within 15 %,
// and unmet CPU demand never kinder in the replay than live by more than
// 25 % or 0.5 point. The replay may be the more pessimistic on unmet demand,
// up to 2.5 times the live figure: the demo's agents read a container
// several times a trace step, its sizer sees a throttled container sooner
// (a batch VM's CPU burst minutes before its memory passes the limit, where
// the replay kills the task at the start of the step and sees its CPU only
// after the restart), and the few starved batch jobs that carry the figure
// make it vary from run to run (2026-12-05: 2.05 to 3.43 % live against
// 4.00 % replayed in eight runs; earlier 14.3 to 15.1 % against 15.1 %, once
// 10.8 %; 2026-12-06 once 6.56 % under ASan, 2.43 to 2.51 % in three reruns):
// the live figures are the median of three demo runs, in either mode.
// Runs alone (ctest RUN_SERIAL): the demo keeps pace with an accelerated
// clock.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "test_support.h"

#include "rightsize/core/filesystem.h"
#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/simulate/trace.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

constexpr auto kSlice = std::chrono::hours(12);
// The demo's deployment slots, passed to both (the sizer's
// --max-concurrent-deployments).
constexpr const char* kSlots = "3";

// The first `span` of `trace` as a canonical CSV.
std::string sliceCsv(const simulate::Trace& trace, Duration span) {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (const auto& app : trace.apps) {
    for (const auto& point : app.points) {
      if (point.at >= trace.start + span) break;
      csv += app.app_id + "," + formatExact(toUnixSeconds(point.at)) + "," + formatExact(point.cpu_reserved_cores) +
             "," + formatExact(point.cpu_used_cores) + "," +
             (point.memory_reserved_mib ? formatExact(*point.memory_reserved_mib) : "") + "," +
             (point.memory_used_mib ? formatExact(*point.memory_used_mib) : "") + "\n";
    }
  }
  return csv;
}

struct Figures {
  double days = 0;
  double redeploys_per_app_day = 0;
  double reserved_core_hours_per_day = 0;
  double unmet_demand_pct = 0;
  double reserved_gib_hours_per_day = 0;
  double oom_kills = 0;
};

Figures figuresOf(const std::string& text, const std::string& what) {
  auto document = json::parse(text, what);
  if (!document || !document->IsObject()) {
    ADD_FAILURE() << what << " is not a JSON object: " << text;
    return {};
  }
  // Each member checked: a missing or mistyped one fails the test, not the
  // process.
  const auto number = [&](const json::Value& object, std::string_view name, std::string_view path) {
    auto value = object.IsObject()
                     ? json::getNumber(object, name, path)
                     : Expected<double>(Error(ErrorKind::kInvalidValue, std::string(path) + ": no object"));
    if (!value) {
      ADD_FAILURE() << what << ": " << value.error().message() << "\n" << text;
      return 0.0;
    }
    return *value;
  };
  const auto member = [&](std::string_view name) -> const json::Value& {
    static const json::Value none;
    const json::Value* found = json::find(*document, name);
    return found != nullptr ? *found : none;
  };
  Figures f;
  f.days = number(*document, "days", what);
  f.redeploys_per_app_day = number(*document, "redeploys_per_app_day", what);
  f.oom_kills = number(*document, "oom_kills", what);
  f.unmet_demand_pct = number(member("cpu"), "unmet_demand_pct", "cpu");
  if (!(f.days > 0)) {
    ADD_FAILURE() << what << ": no days\n" << text;
    return f;
  }
  f.reserved_core_hours_per_day = number(member("cpu"), "reserved_core_hours", "cpu") / f.days;
  f.reserved_gib_hours_per_day = number(member("mem"), "reserved_gib_hours", "mem") / f.days;
  return f;
}

double gapPct(double live, double replay) { return replay != 0 ? 100 * (live - replay) / replay : 0; }

class DemoAgreementTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DemoAgreementTest, DemoAndSimulateAgreeOnTheSameTraceSlice) {
  const std::string isolation = GetParam();
  testing::TempDir dir;
  auto trace = simulate::readTrace(std::string(RIGHTSIZE_SOURCE_DIR) + "/data/traces/bitbrains-demo.csv.gz");
  ASSERT_TRUE(trace) << trace.error().message();
  const std::string slice = dir.path() + "/slice.csv";
  std::ofstream(slice) << sliceCsv(*trace, kSlice);

  auto replay = testing::spawn({testing::rightsizeBinary(), "simulate", "--trace", slice, "--policy", "rightsize",
                                "--json", "--cpu-isolation", isolation, "--max-concurrent-deployments", kSlots});
  const int replay_status = replay->wait(60s);
  replay->drain(1s);
  ASSERT_TRUE(WIFEXITED(replay_status) && WEXITSTATUS(replay_status) == 0) << replay->output();
  // The JSON object's line (stderr's, such as a note of gaps in the slice, share the output).
  const std::string output = replay->output();
  std::size_t object = 0;
  if (!output.starts_with('{')) {
    const std::size_t line = output.find("\n{");
    ASSERT_NE(line, std::string::npos) << output;
    object = line + 1;
  }
  const Figures simulated = figuresOf(output.substr(object, output.find('\n', object) - object), "simulate --json");

  // The demo's defaults otherwise: 1800x, agents every 3 simulated minutes
  // with the agent's 5-minute window, the sizer every simulated minute.
  // A live run varies: under a quota its unmet demand rests on a few starved
  // batch jobs (once 6.56 % against 2.43-2.51 % in three reruns, an OOM kill
  // more), under shares its redeploys on which app a slot frees for first
  // (+6.0 % against the replay, once +12.4 %). The median of three runs,
  // figure by figure (about 22 s each).
  constexpr int runs = 3;
  std::vector<Figures> lives;
  for (int run = 0; run < runs; ++run) {
    const std::string json_file = dir.path() + "/demo-" + std::to_string(run) + ".json";
    auto demo = testing::spawn({testing::rightsizeDemoBinary(), "--trace", slice, "--cpu-isolation", isolation,
                                "--max-concurrent-deployments", kSlots, "--duration", "100s", "--json", json_file});
    const int demo_status = demo->wait(150s);
    demo->drain(1s);
    ASSERT_TRUE(WIFEXITED(demo_status) && WEXITSTATUS(demo_status) == 0) << demo->output();
    std::string text;
    ASSERT_TRUE(RealFileSystem().readFile(json_file, text).ok()) << demo->output();
    lives.push_back(figuresOf(text, json_file));
    // The demo ran over the whole slice.
    EXPECT_NEAR(lives.back().days, toSeconds(kSlice) / 86400, 0.02) << demo->output();
    std::printf("cpu isolation %s, demo run %d: unmet CPU demand %.2f%%, OOM kills %.0f\n", isolation.c_str(), run + 1,
                lives.back().unmet_demand_pct, lives.back().oom_kills);
  }
  const auto median = [&](double Figures::*figure) {
    std::vector<double> values;
    for (const Figures& f : lives) values.push_back(f.*figure);
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  Figures live;
  live.days = median(&Figures::days);
  live.redeploys_per_app_day = median(&Figures::redeploys_per_app_day);
  live.reserved_core_hours_per_day = median(&Figures::reserved_core_hours_per_day);
  live.reserved_gib_hours_per_day = median(&Figures::reserved_gib_hours_per_day);
  live.unmet_demand_pct = median(&Figures::unmet_demand_pct);
  live.oom_kills = median(&Figures::oom_kills);

  std::printf(
      "cpu isolation %s, simulate vs demo: redeploys/app-day %.2f vs %.2f (%+.1f%%); reserved core-h/day %.1f vs "
      "%.1f (%+.1f%%); unmet CPU demand %.2f%% vs %.2f%%; GiB-h/day %.0f vs %.0f (%+.1f%%); OOM kills %.0f vs "
      "%.0f\n",
      isolation.c_str(), simulated.redeploys_per_app_day, live.redeploys_per_app_day,
      gapPct(live.redeploys_per_app_day, simulated.redeploys_per_app_day), simulated.reserved_core_hours_per_day,
      live.reserved_core_hours_per_day, gapPct(live.reserved_core_hours_per_day, simulated.reserved_core_hours_per_day),
      simulated.unmet_demand_pct, live.unmet_demand_pct, simulated.reserved_gib_hours_per_day,
      live.reserved_gib_hours_per_day, gapPct(live.reserved_gib_hours_per_day, simulated.reserved_gib_hours_per_day),
      simulated.oom_kills, live.oom_kills);
  EXPECT_GT(simulated.redeploys_per_app_day, 0);
  EXPECT_NEAR(live.redeploys_per_app_day, simulated.redeploys_per_app_day, 0.15 * simulated.redeploys_per_app_day);
  EXPECT_NEAR(live.reserved_core_hours_per_day, simulated.reserved_core_hours_per_day,
              0.15 * simulated.reserved_core_hours_per_day);
  // Not kinder than live: the replay's unmet demand at most 25 % (or 0.5
  // point) below the demo's; more pessimistic by up to 2.5 times.
  EXPECT_GE(simulated.unmet_demand_pct, live.unmet_demand_pct - std::max(0.25 * live.unmet_demand_pct, 0.5));
  EXPECT_LE(simulated.unmet_demand_pct, std::max(2.5 * live.unmet_demand_pct, live.unmet_demand_pct + 0.5));
  if (isolation == "cfs") {
    EXPECT_GT(simulated.unmet_demand_pct, 1);  // the quota denied demand: a figure to agree on
  }
}

INSTANTIATE_TEST_SUITE_P(BothIsolationModes, DemoAgreementTest, ::testing::Values("cfs", "shares"));

}  // namespace
}  // namespace rightsize::cli
