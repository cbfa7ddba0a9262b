// `rightsize simulate` end to end: the binary on small trace files.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.h"

#include "rightsize/core/json.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

struct SimulateRun {
  int exit_code = -1;
  std::string output;
};

SimulateRun simulate(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {testing::rightsizeBinary(), "simulate"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = testing::spawn(argv);
  const int status = child->wait(60s);
  child->drain(1s);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, child->output()};
}

// One JSON document per line of `output`; a line that does not parse fails the test.
std::vector<rapidjson::Document> jsonLines(const std::string& output) {
  std::vector<rapidjson::Document> documents;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto document = json::parse(line, "line");
    if (!document) {
      ADD_FAILURE() << document.error().message() << ": " << line;
      continue;
    }
    documents.push_back(std::move(*document));
  }
  return documents;
}

// The rightsize policy's replay of `trace` with `flags`: its JSON figure
// `name` (-1 when the replay gave no single object).
double rightsizeFigure(const std::string& trace, const std::vector<std::string>& flags, const char* name) {
  std::vector<std::string> args = {"--trace", trace, "--json", "--policy", "rightsize"};
  args.insert(args.end(), flags.begin(), flags.end());
  const SimulateRun run = simulate(args);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto documents = jsonLines(run.output);
  return documents.size() == 1 ? documents[0][name].GetDouble() : -1.0;
}

// Two apps, 4 hours: one idle on 2 cores, one busy on 1 core.
std::string smallTrace() {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (const auto& [app, reserved, used] : {std::tuple{"/idle", 2.0, 0.2}, std::tuple{"/busy", 1.0, 0.8}}) {
    for (int i = 0; i < 48; ++i) {
      csv += std::string(app) + "," + std::to_string(1'700'000'000 + 300 * i) + "," + std::to_string(reserved) + "," +
             std::to_string(used + 0.01 * (i % 3)) + ",4096,1000\n";
    }
  }
  return csv;
}

// The sizer's minimum change in a replay: a 1,200 MiB app that wants 1,056
// (its 900 MiB peak + 15 %) is not worth a restart at the default 512 MiB
// (--min-change-mem), and is with 128; out of range is refused naming it.
TEST(SimulateBinaryTest, TheMinimumChangeFlagsAreTheSizers) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 12 * 10; ++i) {  // 10 hours: beyond --min-history (6h)
    csv += "/small," + std::to_string(1'700'000'000 + 300 * i) + ",1,0.8," + "1200," + (i == 5 ? "900" : "500") + "\n";
  }
  dir.write("trace.csv", csv);
  const auto redeploys = [&](std::vector<std::string> flags) {
    return rightsizeFigure(dir.path() + "/trace.csv", flags, "redeploys_per_app_day");
  };
  EXPECT_EQ(redeploys({}), 0);
  EXPECT_GT(redeploys({"--min-change-mem", "128"}), 0);
  const SimulateRun bad = simulate({"--trace", dir.path() + "/trace.csv", "--min-change-cpus", "-1"});
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("--min-change-cpus"), std::string::npos) << bad.output;
}

// The sizer's restart budget and waits in a replay: an idle app of 2 cores
// is shrunk after --min-history by default, never with a budget of 0
// downsizes or a --sustain longer than the trace; a wait of 0 is refused
// naming the flag.
TEST(SimulateBinaryTest, TheRestartBudgetFlagsAreTheSizers) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 12 * 10; ++i) {  // 10 hours: beyond --min-history (6h)
    csv += "/idle," + std::to_string(1'700'000'000 + 300 * i) + ",2,0.2,1024,300\n";
  }
  dir.write("trace.csv", csv);
  const auto redeploys = [&](std::vector<std::string> flags) {
    return rightsizeFigure(dir.path() + "/trace.csv", flags, "redeploys_per_app_day");
  };
  EXPECT_GT(redeploys({}), 0);
  EXPECT_EQ(redeploys({"--max-downsizes-per-day", "0"}), 0);
  EXPECT_EQ(redeploys({"--sustain", "11h"}), 0);
  EXPECT_GT(redeploys({"--cooldown", "2h", "--downsize-window", "48h", "--oom-hold", "1h"}), 0);
  for (const char* flag : {"--sustain", "--cooldown", "--downsize-window", "--oom-hold"}) {
    const SimulateRun bad = simulate({"--trace", dir.path() + "/trace.csv", flag, "0s"});
    EXPECT_NE(bad.exit_code, 0) << flag;
    EXPECT_NE(bad.output.find(flag), std::string::npos) << bad.output;
  }
}

// The sizer's slot order in a replay: three idle apps due at once, one
// slot; with `largest` the app of 4 cores is shrunk before /b (2 cores),
// which comes before it in the ids' order: fewer core-hours reserved.
TEST(SimulateBinaryTest, TheSlotOrderFlagIsTheSizers) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (const auto& [app, cores] : {std::pair{"/a", "2"}, std::pair{"/b", "2"}, std::pair{"/z", "4"}}) {
    for (int i = 0; i < 12 * 10; ++i) {  // 10 hours: beyond --min-history (6h)
      csv += std::string(app) + "," + std::to_string(1'700'000'000 + 300 * i) + "," + cores + ",0.2,1024,300\n";
    }
  }
  dir.write("trace.csv", csv);
  const auto core_hours = [&](std::vector<std::string> flags) {
    std::vector<std::string> args = {"--trace", dir.path() + "/trace.csv", "--json", "--policy", "rightsize"};
    args.insert(args.end(), flags.begin(), flags.end());
    const SimulateRun run = simulate(args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    const auto documents = jsonLines(run.output);
    return documents.size() == 1 ? documents[0]["cpu"]["reserved_core_hours"].GetDouble() : -1.0;
  };
  const double ids = core_hours({});
  EXPECT_EQ(core_hours({"--slot-order", "ids"}), ids);
  EXPECT_LT(core_hours({"--slot-order", "largest"}), ids - 0.1);
  const SimulateRun bad = simulate({"--trace", dir.path() + "/trace.csv", "--slot-order", "sideways"});
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("--slot-order"), std::string::npos) << bad.output;
}

TEST(SimulateBinaryTest, PrintsEveryPolicySideBySide) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("2 apps, 96 samples"), std::string::npos) << run.output;
  for (const char* policy : {"rightsize", "static"}) {
    EXPECT_NE(run.output.find(std::string("\n") + policy + " "), std::string::npos) << policy << "\n" << run.output;
  }
}

TEST(SimulateBinaryTest, JsonOneObjectPerPolicy) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun run =
      simulate({"--trace", dir.path() + "/trace.csv", "--json", "--policy", "rightsize", "--policy", "static"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<std::string> policies;
  for (const auto& document : jsonLines(run.output)) {
    policies.emplace_back(document["policy"].GetString());
    EXPECT_EQ(document["apps"].GetUint64(), 2u);
  }
  EXPECT_EQ(policies, (std::vector<std::string>{"rightsize", "static"}));
}

// --cpu-isolation: cfs by default; shares serves demand above the
// reservation (the busy app's bursts): nothing unmet; a bad mode is refused.
// The sizer's history flags shape the rightsize policy's replay: a 20-minute
// burst to 1.9 of 2 cores, then 0.2 for four hours, is remembered by the
// defaults (6 h of p95s, a CPU histogram over days, the last day's peak
// hours) and not shrunk; looking back half an hour without the histogram
// nor the peak hours, it is.
TEST(SimulateBinaryTest, TheSizersHistoryFlagsShapeTheReplay) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 48; ++i) {
    csv += "/burst," + std::to_string(1'700'000'000 + 300 * i) + ",2," + (i < 4 ? "1.9" : "0.2") + ",2048,1700\n";
  }
  dir.write("trace.csv", csv);
  const auto redeploys = [&](const std::vector<std::string>& extra) {
    // Shrunk on half an hour of history: the trace is four hours long.
    std::vector<std::string> args = {"--trace",   dir.path() + "/trace.csv", "--json", "--policy",
                                     "rightsize", "--min-history",           "30m"};
    args.insert(args.end(), extra.begin(), extra.end());
    const SimulateRun run = simulate(args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    const auto documents = jsonLines(run.output);
    return documents.size() == 1 ? documents[0]["redeploys"].GetUint64() : 99;
  };
  EXPECT_EQ(redeploys({}), 0u);
  EXPECT_EQ(redeploys({"--history", "30m", "--cpu-half-life", "0s", "--peak-days", "0"}), 1u);
  EXPECT_EQ(redeploys({"--history", "30m", "--peak-days", "0"}), 0u);       // the histogram alone remembers it
  EXPECT_EQ(redeploys({"--history", "30m", "--cpu-half-life", "0s"}), 0u);  // so does its hour's peak
  EXPECT_EQ(redeploys({"--history", "30m", "--cpu-half-life", "0s", "--peak-days", "2"}), 1u);  // seen once
  for (const auto& bad :
       std::vector<std::vector<std::string>>{{"--history", "0s"},
                                             {"--memory-days", "-1"},
                                             {"--cpu-half-life", "a day"},
                                             {"--memory-history", "x"},
                                             {"--peak-days", "8"},
                                             {"--search-back-window", "a week"},
                                             {"--wrong-shrink-hold", "two days"},
                                             {"--min-history", "13h"}}) {  // longer than the 12 h the history keeps
    std::vector<std::string> args = {"--trace", dir.path() + "/trace.csv", "--policy", "rightsize"};
    args.insert(args.end(), bad.begin(), bad.end());
    const SimulateRun run = simulate(args);
    EXPECT_NE(run.exit_code, 0) << bad[0];
    EXPECT_NE(run.output.find(bad[0]), std::string::npos) << run.output;
  }
}

TEST(SimulateBinaryTest, CpuIsolationIsAFlagAndShownWithItsFigures) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 24; ++i) {
    csv += "/hot," + std::to_string(1'700'000'000 + 300 * i) + ",1," + (i % 2 == 0 ? "1.5" : "0.5") + ",4096,1000\n";
  }
  dir.write("trace.csv", csv);
  std::map<std::string, double> unmet;
  for (const char* mode : {"", "cfs", "shares"}) {
    std::vector<std::string> args = {"--trace", dir.path() + "/trace.csv", "--json", "--policy", "static"};
    if (*mode != '\0') args.insert(args.end(), {"--cpu-isolation", mode});
    const SimulateRun run = simulate(args);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto documents = jsonLines(run.output);
    ASSERT_EQ(documents.size(), 1u) << run.output;
    const std::string shown = documents[0]["cpu_isolation"].GetString();
    EXPECT_EQ(shown, *mode == '\0' ? "cfs" : mode);
    unmet[mode] = documents[0]["cpu"]["unmet_demand_pct"].GetDouble();
    EXPECT_EQ(documents[0]["restarts"].GetUint64(), 0u);
  }
  // 1.5 cores asked of a container limited to 1.1 (1 reserved and the
  // command executor's 0.1): 0.4 unmet every other step.
  EXPECT_NEAR(unmet[""], 100 * 0.4 * 12 / (1.5 * 12 + 0.5 * 12), 1e-6);
  EXPECT_EQ(unmet["cfs"], unmet[""]);
  EXPECT_EQ(unmet["shares"], 0);
  const SimulateRun table = simulate({"--trace", dir.path() + "/trace.csv", "--cpu-isolation", "shares"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("CPU isolation shares"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("restarts/d"), std::string::npos) << table.output;
  const SimulateRun bad = simulate({"--trace", dir.path() + "/trace.csv", "--cpu-isolation", "quota"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--cpu-isolation"), std::string::npos) << bad.output;
}

// --limits burstable replays the sizer's burstable apps: an app idle at
// 0.2 cores of 4 that bursts to 3 one step in six is sized to its sustained
// use and keeps its 4 cores as its limit, its bursts served from its host's
// spare CPU (burst core-hours); on hosts of 2 cores, that leaves nothing to
// spare above its request and the bursts go unmet. Bad values are refused.
TEST(SimulateBinaryTest, BurstableLimitsAndHostsAreFlags) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 96; ++i) {
    csv += "/bursty," + std::to_string(1'700'000'000 + 300 * i) + ",4," + (i % 6 == 5 ? "3" : "0.2") + ",4096,500\n";
  }
  dir.write("trace.csv", csv);
  std::string warnings;  // the lines on stderr
  const auto figures = [&](const std::vector<std::string>& extra) {
    // Shrunk on half an hour of history: the trace is eight hours long.
    std::vector<std::string> args = {"--trace",   dir.path() + "/trace.csv", "--json", "--policy",
                                     "rightsize", "--min-history",           "30m"};
    args.insert(args.end(), extra.begin(), extra.end());
    const SimulateRun run = simulate(args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::string json_lines;
    std::istringstream lines(run.output);
    for (std::string line; std::getline(lines, line);) (line.starts_with("{") ? json_lines : warnings) += line + "\n";
    auto documents = jsonLines(json_lines);
    EXPECT_EQ(documents.size(), 1u) << run.output;
    return documents.empty() ? rapidjson::Document() : std::move(documents.front());
  };
  const rapidjson::Document plain = figures({});
  const rapidjson::Document burstable = figures({"--limits", "burstable"});
  EXPECT_LT(burstable["cpu"]["reserved_core_hours"].GetDouble(), plain["cpu"]["reserved_core_hours"].GetDouble() / 2);
  EXPECT_GT(burstable["cpu"]["burst_core_hours"].GetDouble(), 0);
  EXPECT_LT(burstable["cpu"]["unmet_demand_pct"].GetDouble(), 0.1);
  EXPECT_EQ(plain["cpu"]["burst_core_hours"].GetDouble(), 0);
  EXPECT_EQ(warnings, "");
  const rapidjson::Document small_hosts = figures({"--limits", "burstable", "--host-cores", "2"});
  EXPECT_GT(small_hosts["cpu"]["unmet_demand_pct"].GetDouble(), 10);
  // The app uses 3 cores at its peaks: more than such a host has.
  EXPECT_NE(warnings.find("the most /bursty (1.5 times a host)"), std::string::npos) << warnings;
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--limits", "burst"}, {"--host-cores", "-1"}, {"--host-memory", "lots"}}) {
    std::vector<std::string> args = {"--trace", dir.path() + "/trace.csv", "--policy", "rightsize"};
    args.insert(args.end(), bad.begin(), bad.end());
    const SimulateRun run = simulate(args);
    EXPECT_NE(run.exit_code, 0) << bad[0];
    EXPECT_NE(run.output.find(bad[0]), std::string::npos) << run.output;
  }
}

TEST(SimulateBinaryTest, HindsightShowsAClairvoyantPlanWithinEachPolicysRates) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun text =
      simulate({"--trace", dir.path() + "/trace.csv", "--policy", "static", "--policy", "rightsize", "--hindsight"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("\nhindsight:static "), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("\nhindsight:rightsize "), std::string::npos) << text.output;

  const SimulateRun run = simulate(
      {"--trace", dir.path() + "/trace.csv", "--json", "--policy", "static", "--policy", "rightsize", "--hindsight"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::map<std::string, std::pair<double, double>> core_hours_and_insufficient;
  for (const auto& document : jsonLines(run.output)) {
    if (!document.HasMember("policy")) continue;  // the lower bounds
    const auto& cpu = document["cpu"];
    core_hours_and_insufficient[document["policy"].GetString()] = {cpu["reserved_core_hours"].GetDouble(),
                                                                   cpu["insufficient_sample_pct"].GetDouble()};
  }
  ASSERT_EQ(core_hours_and_insufficient.size(), 4u) << run.output;
  // Static never redeploys and is never short here: the plan within its rates is to keep the reservations.
  EXPECT_NEAR(core_hours_and_insufficient["hindsight:static"].first, core_hours_and_insufficient["static"].first, 1e-6);
  // Within rightsize's rates the plan reserves no more, and is short no more often.
  EXPECT_LE(core_hours_and_insufficient["hindsight:rightsize"].first,
            core_hours_and_insufficient["rightsize"].first + 1e-6);
  EXPECT_LE(core_hours_and_insufficient["hindsight:rightsize"].second,
            core_hours_and_insufficient["rightsize"].second + 1e-9);
}

// --orders N replays each policy in N orders of the apps (the trace's own
// first) and gives the spread of its figures: one more object per policy,
// the trace's own order's figures within it; a policy that no order moves
// (static: no slot, no redeploy) spreads over nothing.
TEST(SimulateBinaryTest, OrdersShowTheSpreadOverOrdersOfTheApps) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun run = simulate(
      {"--trace", dir.path() + "/trace.csv", "--json", "--policy", "rightsize", "--policy", "static", "--orders", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::map<std::string, double> own_core_hours;
  std::map<std::string, std::tuple<double, double, double>> spread;
  for (const auto& document : jsonLines(run.output)) {
    if (!document.HasMember("spread_of")) {
      own_core_hours[document["policy"].GetString()] = document["cpu"]["reserved_core_hours"].GetDouble();
      continue;
    }
    EXPECT_EQ(document["orders"].GetUint64(), 3u);
    for (const char* figure : {"reserved_core_hours", "cpu_insufficient_sample_pct", "cpu_unmet_demand_pct",
                               "reserved_gib_hours", "oom_kills", "redeploys_per_app_day", "restarts_per_app_day"}) {
      ASSERT_TRUE(document.HasMember(figure)) << figure;
      EXPECT_LE(document[figure]["min"].GetDouble(), document[figure]["median"].GetDouble()) << figure;
      EXPECT_LE(document[figure]["median"].GetDouble(), document[figure]["max"].GetDouble()) << figure;
    }
    const auto& core_hours = document["reserved_core_hours"];
    spread[document["spread_of"].GetString()] = {core_hours["min"].GetDouble(), core_hours["median"].GetDouble(),
                                                 core_hours["max"].GetDouble()};
  }
  ASSERT_EQ(spread.size(), 2u) << run.output;
  ASSERT_EQ(own_core_hours.size(), 2u) << run.output;
  for (const auto& [policy, figures] : spread) {
    const auto [least, median, most] = figures;
    EXPECT_LE(least, own_core_hours[policy] + 1e-9) << policy;
    EXPECT_GE(most, own_core_hours[policy] - 1e-9) << policy;
  }
  EXPECT_DOUBLE_EQ(std::get<0>(spread["static"]), std::get<2>(spread["static"]));

  const SimulateRun text = simulate({"--trace", dir.path() + "/trace.csv", "--policy", "static", "--orders", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("over 2 orders of the apps"), std::string::npos) << text.output;
  const SimulateRun none = simulate({"--trace", dir.path() + "/trace.csv", "--orders", "0"});
  EXPECT_NE(none.exit_code, 0) << none.output;
  EXPECT_NE(none.output.find("--orders"), std::string::npos) << none.output;
  const SimulateRun slots =
      simulate({"--trace", dir.path() + "/trace.csv", "--max-concurrent-oom-deployments", "1001"});
  EXPECT_NE(slots.exit_code, 0) << slots.output;
  EXPECT_NE(slots.output.find("--max-concurrent-oom-deployments"), std::string::npos) << slots.output;
  const SimulateRun grid = simulate({"--trace", dir.path() + "/trace.csv", "--grid", "--orders", "2"});
  EXPECT_EQ(grid.exit_code, 2) << grid.output;
  EXPECT_NE(grid.output.find("--orders: replays the policies in several orders; not with"), std::string::npos)
      << grid.output;
}

TEST(SimulateBinaryTest, SaysWhichPoliciesTheProductDominatesAndBoundsWhatAnyPolicyCanReach) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun text = simulate({"--trace", dir.path() + "/trace.csv", "--hindsight"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  // Static never redeploys: nothing that resizes dominates it.
  EXPECT_NE(text.output.find("\n  static             not dominated: "), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("redeploys/d "), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("\nvpa+autopilot+band "), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("to dominate vpa+autopilot+band at once a policy needs < "), std::string::npos)
      << text.output;

  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv", "--json", "--hindsight"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::map<std::string, double> reserved;
  std::map<std::string, double> at_least;
  for (const auto& document : jsonLines(run.output)) {
    if (document.HasMember("policy")) {
      reserved[document["policy"].GetString()] = document["cpu"]["reserved_core_hours"].GetDouble();
    } else {
      at_least[document["bound"].GetString()] = document["cpu_reserved_core_hours_at_least"].GetDouble();
      EXPECT_TRUE(document.HasMember("mem_reserved_gib_hours_at_least"));
      EXPECT_LE(document["cpu_reserved_core_hours_at_least_off_grid"].GetDouble(),
                document["cpu_reserved_core_hours_at_least"].GetDouble());
      EXPECT_TRUE(document.HasMember("redeploys_per_app_day"));
    }
  }
  ASSERT_EQ(at_least.size(), 6u) << run.output;  // five policies and the baselines at once
  for (const char* policy : {"rightsize", "static", "vpa", "autopilot", "band"}) {
    // No plan within a policy's rates reserves less than the bound: neither the policy nor its clairvoyant.
    EXPECT_LE(at_least[policy], reserved[policy] + 1e-6) << policy;
    EXPECT_LE(at_least[policy], reserved[std::string("hindsight:") + policy] + 1e-6) << policy;
    EXPECT_GT(at_least[policy], 0) << policy;
  }
}

// The words of the `nth` line of `output` whose first word is `first`;
// empty if there is none.
std::vector<std::string> rowOf(const std::string& output, const std::string& first, std::size_t nth) {
  std::istringstream lines(output);
  std::size_t seen = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string word; words >> word;) row.push_back(word);
    if (!row.empty() && row[0] == first && seen++ == nth) return row;
  }
  return {};
}

// A trace without memory figures (PlanetLab's: empty mem_* cells) says so
// in every table, where a 0 would read as memory reserved for nothing; the
// JSON counts each resource's samples.
// A container that used more than a replayed host has: every policy's
// figures count its use beyond the host as unmet, which the run says, naming
// it and the flags; a trace whose containers fit says nothing of it.
TEST(SimulateBinaryTest, AContainerUsingMoreThanAHostIsNamed) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 24; ++i) csv += "/huge," + std::to_string(1'700'000'000 + 300 * i) + ",64,48,4096,1000\n";
  for (int i = 0; i < 24; ++i) csv += "/small," + std::to_string(1'700'000'000 + 300 * i) + ",2,1,4096,1000\n";
  dir.write("huge.csv", csv);
  dir.write("small.csv", smallTrace());
  const std::string warning =
      "1 app(s) of the trace use more than a host has (32 cores, 128 GiB: --host-cores, "
      "--host-memory), the most /huge (1.5 times a host)";
  const SimulateRun huge = simulate({"--trace", dir.path() + "/huge.csv", "--policy", "static"});
  ASSERT_EQ(huge.exit_code, 0) << huge.output;
  EXPECT_NE(huge.output.find(warning), std::string::npos) << huge.output;
  // Hosts as large as the trace's: no word of it.
  const SimulateRun fits = simulate({"--trace", dir.path() + "/huge.csv", "--policy", "static", "--host-cores", "64"});
  ASSERT_EQ(fits.exit_code, 0) << fits.output;
  EXPECT_EQ(fits.output.find("more than a host"), std::string::npos) << fits.output;
  const SimulateRun small = simulate({"--trace", dir.path() + "/small.csv", "--policy", "static"});
  ASSERT_EQ(small.exit_code, 0) << small.output;
  EXPECT_EQ(small.output.find("more than a host"), std::string::npos) << small.output;
}

// A trace with gaps in its samples (a monitoring outage) says how much of it
// is unobserved: its use counts in no figure.
TEST(SimulateBinaryTest, GapsInTheTraceAreNamed) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 24; ++i) {
    // Three hours without samples after the twelfth; two of 40 minutes in /b.
    csv += "/a," + std::to_string(1'700'000'000 + 300 * i + (i >= 12 ? 10'800 : 0)) + ",2,1,4096,1000\n";
  }
  for (int i = 0; i < 24; ++i) {
    csv += "/b," + std::to_string(1'700'000'000 + 300 * i + (i >= 6 ? 2'400 : 0) + (i >= 18 ? 2'400 : 0)) +
           ",2,1,4096,1000\n";
  }
  dir.write("gaps.csv", csv);
  dir.write("small.csv", smallTrace());
  const SimulateRun gaps = simulate({"--trace", dir.path() + "/gaps.csv", "--policy", "static"});
  ASSERT_EQ(gaps.exit_code, 0) << gaps.output;
  // /a: 3 h 5 min between samples, 10 min of it observed (24 samples: 5 h in all); /b: 45 min, 10
  // observed, twice (3 h 20 min in all): 245 of 500 minutes.
  EXPECT_NE(gaps.output.find("3 gap(s) in the trace's samples (a step more than twice its app's usual one) in 2 "
                             "app(s): 4.1 h of the apps' 8 h unobserved (49.00 %), the longest 2.9 h in /a"),
            std::string::npos)
      << gaps.output;
  const SimulateRun small = simulate({"--trace", dir.path() + "/small.csv", "--policy", "static"});
  ASSERT_EQ(small.exit_code, 0) << small.output;
  EXPECT_EQ(small.output.find("gap(s)"), std::string::npos) << small.output;
}

TEST(SimulateBinaryTest, ATraceWithoutMemoryShowsNoMemoryFigures) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 48; ++i) csv += "/cpu-only," + std::to_string(1'700'000'000 + 300 * i) + ",1,0.2,,\n";
  dir.write("cpu-only.csv", csv);
  dir.write("both.csv", smallTrace());

  const SimulateRun json = simulate({"--trace", dir.path() + "/cpu-only.csv", "--json", "--policy", "static"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto documents = jsonLines(json.output);
  ASSERT_EQ(documents.size(), 1u) << json.output;
  EXPECT_EQ(documents[0]["cpu"]["samples"].GetUint64(), 48u);
  EXPECT_EQ(documents[0]["mem"]["samples"].GetUint64(), 0u);
  const SimulateRun both = simulate({"--trace", dir.path() + "/both.csv", "--json", "--policy", "static"});
  ASSERT_EQ(both.exit_code, 0) << both.output;
  EXPECT_EQ(jsonLines(both.output).at(0)["mem"]["samples"].GetUint64(), 96u);

  const std::string out = dir.path() + "/report";
  const SimulateRun text = simulate(
      {"--trace", dir.path() + "/cpu-only.csv", "--policy", "static", "--orders", "2", "--hindsight", "--out", out});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  // The rows of the static policy: its figures, then "-" for the memory
  // GiB-hours, their share of the trace's and the insufficient samples (the
  // replay's table, the hindsight plan's), or for the GiB-hours' spread.
  const auto fields = [&text](const std::string& first, std::size_t nth) { return rowOf(text.output, first, nth); };
  const std::vector<std::string> replayed = fields("static", 0);
  ASSERT_GE(replayed.size(), 9u) << text.output;
  EXPECT_EQ(replayed[1], "4");
  EXPECT_EQ(std::vector<std::string>(replayed.begin() + 6, replayed.begin() + 9),
            (std::vector<std::string>{"-", "-", "-"}))
      << text.output;
  const std::vector<std::string> spread = fields("static", 1);
  ASSERT_GE(spread.size(), 6u) << text.output;
  EXPECT_EQ(spread[1], "4-4");
  EXPECT_EQ(spread[4], "-") << text.output;
  const std::vector<std::string> hindsight = fields("hindsight:static", 0);
  ASSERT_GE(hindsight.size(), 9u) << text.output;
  EXPECT_EQ(hindsight[6], "-") << text.output;
  std::ifstream summary(out + "/summary.md");
  std::stringstream markdown;
  markdown << summary.rdbuf();
  EXPECT_NE(markdown.str().find("| static | 4 | 100.0% | 80.0 | 0.00 | 0.00 | – | – | – |"), std::string::npos)
      << markdown.str();

  const SimulateRun with_mem = simulate({"--trace", dir.path() + "/both.csv", "--policy", "static"});
  ASSERT_EQ(with_mem.exit_code, 0) << with_mem.output;
  const std::vector<std::string> measured = rowOf(with_mem.output, "static", 0);
  ASSERT_GE(measured.size(), 9u) << with_mem.output;
  EXPECT_EQ(std::vector<std::string>(measured.begin() + 6, measured.begin() + 9),
            (std::vector<std::string>{"32", "100.0%", "0.00"}))
      << with_mem.output;
}

TEST(SimulateBinaryTest, OutWritesCsvPlotsAndASummary) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const std::string out = dir.path() + "/report";
  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv", "--out", out});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* file : {"summary.md", "rightsize.csv", "static.csv", "rightsize-worst.svg", "rightsize-median.svg",
                           "rightsize-best.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + file)) << file;
  }
  std::ifstream summary(out + "/summary.md");
  std::stringstream text;
  text << summary.rdbuf();
  EXPECT_NE(text.str().find("| rightsize |"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("![best](rightsize-best.svg)"), std::string::npos);
  std::ifstream svg(out + "/rightsize-best.svg");
  std::stringstream plot;
  plot << svg.rdbuf();
  EXPECT_NE(plot.str().find("<polyline"), std::string::npos);

  // An app id with quotes and a backtick in it (a trace's ids are not
  // quoted, and may hold them) is one CSV field, quoted, in the series, and a
  // code span of itself in the summary.
  std::string quoted_trace = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 4; ++i) quoted_trace += "\"/a`\"," + std::to_string(1'700'000'000 + 300 * i) + ",1,0.5,,\n";
  dir.write("quoted.csv", quoted_trace);
  const std::string quoted_out = dir.path() + "/quoted";
  const SimulateRun quoted =
      simulate({"--trace", dir.path() + "/quoted.csv", "--policy", "static", "--out", quoted_out});
  ASSERT_EQ(quoted.exit_code, 0) << quoted.output;
  std::ifstream series(quoted_out + "/static.csv");
  std::string header;
  std::string row;
  std::getline(series, header);
  std::getline(series, row);
  EXPECT_TRUE(row.starts_with("\"\"\"/a`\"\"\",1700000000,")) << row;
  std::ifstream quoted_summary(quoted_out + "/summary.md");
  std::stringstream quoted_text;
  quoted_text << quoted_summary.rdbuf();
  EXPECT_NE(quoted_text.str().find("**best**: ``\"/a`\"``, "), std::string::npos) << quoted_text.str();
}

TEST(SimulateBinaryTest, ABadRowIsNamedWithFileAndLine) {
  testing::TempDir dir;
  std::string csv = smallTrace();
  csv += "/idle,1700100000,2.0,lots,4096,1000\n";
  dir.write("bad.csv", csv);
  const SimulateRun run = simulate({"--trace", dir.path() + "/bad.csv"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("bad.csv:98"), std::string::npos) << run.output;
  const SimulateRun missing = simulate({"--trace", dir.path() + "/none.csv"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("none.csv"), std::string::npos) << missing.output;
  const SimulateRun unknown = simulate({"--trace", dir.path() + "/bad.csv", "--policy", "magic"});
  EXPECT_NE(unknown.exit_code, 0);
}

// Hostile traces: values beyond the format's limits (docs/simulate.md) and a
// line without end stop the run with exit code 2, naming file, line and
// column, instead of being replayed (1e300 s was taken as the year 2255) or
// aborting (a 4 GB line: bad_alloc).
TEST(SimulateBinaryTest, AHostileTraceStopsWithExitCode2NamingFileLineAndColumn) {
  testing::TempDir dir;
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"timestamp.csv", "/hostile,1e300,2.0,0.2,4096,1000\n",
       "timestamp.csv:98: timestamp_s: '1e300' is out of range: must be from 0 to 7258118400 (1970 to 2200)"},
      {"cpu.csv", "/hostile,1700100000,2.0,1e308,4096,1000\n",
       "cpu.csv:98: cpu_used_cores: '1e308' is out of range: must be from 0 to 1000000 cores"},
      {"memory.csv", "/hostile,1700100000,2.0,0.2,4096,inf\n",
       "memory.csv:98: mem_used_mb: 'inf' is not a finite number"},
      {"long.csv", "/hostile,1700100000,2.0,0.2,4096," + std::string(1 << 20, '1'),
       "long.csv:98: line longer than 65536 bytes"},
  };
  for (const auto& [file, row, message] : cases) {
    dir.write(file, smallTrace() + row);
    const SimulateRun run = simulate({"--trace", dir.path() + "/" + file});
    EXPECT_EQ(run.exit_code, 2) << file;
    EXPECT_NE(run.output.find(dir.path() + "/" + message), std::string::npos) << run.output.substr(0, 2000);
  }
  dir.write("trace.csv", smallTrace());
  const SimulateRun delay = simulate({"--trace", dir.path() + "/trace.csv", "--deploy-delay", "36500d"});
  EXPECT_EQ(delay.exit_code, 2);
  EXPECT_NE(delay.output.find("--deploy-delay: "), std::string::npos) << delay.output;
}

TEST(SimulateBinaryTest, GridFindsTheMostEfficientSettingWithinTheBound) {
  testing::TempDir dir;
  dir.write("trace.csv", smallTrace());
  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv", "--grid", "--max-insufficient-pct", "5"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("most efficient within 5% insufficient samples: cpu band"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("<- best"), std::string::npos);
}

// --scaling: the trace's use as the app's total load over its instances,
// replayed reactive and ahead of the daily peak; JSON totals; bad bounds
// refused; --grid with a bound nothing meets says so.
TEST(SimulateBinaryTest, ScalingReplaysInstancesReactiveAndAheadOfThePeak) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  // Three days at 5 minutes: 1 core, 4 cores from 08:00 to 12:00 UTC.
  const long long midnight = 1'700'006'400;
  for (int i = 0; i < 3 * 288; ++i) {
    const int hour = (i % 288) / 12;
    csv +=
        "/ramp," + std::to_string(midnight + 300LL * i) + ",2," + (hour >= 8 && hour < 12 ? "4" : "1") + ",2048,1000\n";
  }
  dir.write("trace.csv", csv);
  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv", "--scaling", "--json", "--instances-min", "2",
                                    "--scale-up", "0.7", "--instance-start", "5m"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto documents = jsonLines(run.output);
  ASSERT_EQ(documents.size(), 2U) << run.output;
  EXPECT_STREQ(documents[0]["scaling"].GetString(), "reactive");
  EXPECT_STREQ(documents[1]["scaling"].GetString(), "forecast");
  EXPECT_EQ(documents[0]["ahead_of_peak"].GetDouble(), 0);
  EXPECT_GT(documents[1]["ahead_of_peak"].GetDouble(), 0);
  EXPECT_LT(documents[1]["hours_above_up"].GetDouble(), documents[0]["hours_above_up"].GetDouble());
  EXPECT_GT(documents[0]["scale_outs"].GetDouble(), 0);

  const SimulateRun bad = simulate({"--trace", dir.path() + "/trace.csv", "--scaling", "--scale-down", "0.9"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("below --scale-up"), std::string::npos) << bad.output;
  const SimulateRun grid =
      simulate({"--trace", dir.path() + "/trace.csv", "--scaling", "--grid", "--max-utilisation", "0.05"});
  ASSERT_EQ(grid.exit_code, 0) << grid.output;
  EXPECT_NE(grid.output.find("no setting keeps the peak utilisation within the bound"), std::string::npos)
      << grid.output;
}

// --host-loss-rate: the same losses without headroom and with the sizer's;
// the headroom places more of the lost hosts' tasks at once.
TEST(SimulateBinaryTest, HostLossesAgainstTheHeadroom) {
  testing::TempDir dir;
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int a = 0; a < 24; ++a) {
    for (int i = 0; i < 2 * 288; ++i) {
      csv += "/app-" + std::to_string(a) + "," + std::to_string(1'700'006'400LL + 300LL * i) + ",4,1,8192,4000\n";
    }
  }
  dir.write("trace.csv", csv);
  const SimulateRun run = simulate({"--trace", dir.path() + "/trace.csv", "--host-loss-rate", "24", "--host-cores",
                                    "16", "--host-memory", "64", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto documents = jsonLines(run.output);
  ASSERT_EQ(documents.size(), 2U) << run.output;
  EXPECT_EQ(documents[0]["headroom_multiple"].GetDouble(), 0);
  EXPECT_EQ(documents[1]["headroom_multiple"].GetDouble(), 3);
  EXPECT_EQ(documents[0]["events"].GetDouble(), documents[1]["events"].GetDouble());
  EXPECT_GT(documents[0]["tasks_unplaced"].GetDouble(), 0);
  EXPECT_LT(documents[1]["unplaced_task_hours"].GetDouble(), documents[0]["unplaced_task_hours"].GetDouble());
  EXPECT_GT(documents[1]["spare_host_hours"].GetDouble(), 0);
  const SimulateRun table = simulate(
      {"--trace", dir.path() + "/trace.csv", "--host-loss-rate", "24", "--host-cores", "16", "--host-memory", "64"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("spare host-h"), std::string::npos) << table.output;
  const SimulateRun bad =
      simulate({"--trace", dir.path() + "/trace.csv", "--host-loss-rate", "24", "--host-cores", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--host-cores must be above 0"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace rightsize::cli
