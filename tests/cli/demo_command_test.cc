// The demo's pieces started and stopped: a short run of `rightsize-demo`
// must start redis-server, an agent per host and the sizer, resize apps
// through the Marathon double, report the savings, and leave no process
// behind.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "test_support.h"

#include "rightsize/core/filesystem.h"
#include "rightsize/core/json.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

// Whether a reason says an app was out of its band for whole minutes
// ("above band [-0.1, 0.6] for 12m"), as on the simulated clock.
bool waitedMinutes(const std::string& output) {
  for (std::size_t at = output.find("above band ["); at != std::string::npos;
       at = output.find("above band [", at + 1)) {
    const std::size_t close = output.find("] for ", at);
    if (close == std::string::npos) return false;
    std::size_t digit = close + 6;
    const std::size_t first = digit;
    while (digit < output.size() && output[digit] >= '0' && output[digit] <= '9') ++digit;
    if (digit > first && output[first] != '0' && digit < output.size() && output[digit] == 'm' &&
        (digit + 1 == output.size() || output[digit + 1] != 's')) {
      return true;
    }
  }
  return false;
}

std::vector<pid_t> childPids(const std::string& output) {
  std::vector<pid_t> pids;
  for (std::size_t at = output.find(": pid "); at != std::string::npos; at = output.find(": pid ", at + 1)) {
    pids.push_back(static_cast<pid_t>(std::stol(output.substr(at + 6))));
  }
  return pids;
}

TEST(DemoCommandTest, ResizesAppsThroughTheSizerReportsAndStopsEverything) {
  testing::TempDir dir;
  const std::string json_file = dir.path() + "/demo.json";
  auto demo = testing::spawn({testing::rightsizeDemoBinary(), "--trace",
                              std::string(RIGHTSIZE_SOURCE_DIR) + "/data/traces/bitbrains-demo.csv.gz", "--hosts", "2",
                              "--duration", "8s", "--report", "2s", "--speed", "3600", "--interval", "100ms", "--json",
                              json_file});
  const int status = demo->wait(60s);
  demo->drain(200ms);
  const std::string& out = demo->output();
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("24 apps"), std::string::npos) << out;
  EXPECT_NE(out.find("(CPU isolation cfs)"), std::string::npos) << out;  // the default
  EXPECT_NE(out.find("redis-server: pid"), std::string::npos) << out;
  EXPECT_NE(out.find("sizer: pid"), std::string::npos) << out;
  EXPECT_NE(out.find("] resize /bitbrains/"), std::string::npos) << out;  // live, as the sizer decides
  EXPECT_NE(out.find("[sim +"), std::string::npos) << out;
  // The sizer runs on the simulated clock: a shrink waited --sustain (10m)
  // of simulated time, and its reason says so (not milliseconds of real time).
  EXPECT_TRUE(waitedMinutes(out)) << out;
  EXPECT_NE(out.find("What the sizer did"), std::string::npos) << out;
  EXPECT_NE(out.find("/bitbrains/vm42 "), std::string::npos) << out;
  EXPECT_NE(out.find("% less)"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped the sizer, 2 agents, redis-server"), std::string::npos) << out;
  // --json: what the run did, in rightsize simulate --json's shape.
  std::string text;
  ASSERT_TRUE(RealFileSystem().readFile(json_file, text).ok());
  auto document = json::parse(text, json_file);
  ASSERT_TRUE(document) << text;
  EXPECT_STREQ((*document)["policy"].GetString(), "rightsize");
  EXPECT_EQ((*document)["apps"].GetUint64(), 24u);
  EXPECT_STREQ((*document)["cpu_isolation"].GetString(), "cfs");
  EXPECT_NEAR((*document)["days"].GetDouble(), 8.0 * 3600 / 86400, 0.1);  // 8 s at 3600x: 8 simulated hours
  EXPECT_GT((*document)["cpu"]["reserved_core_hours"].GetDouble(), 0);
  EXPECT_GT((*document)["cpu"]["used_core_hours"].GetDouble(), 0);
  EXPECT_TRUE((*document)["cpu"].HasMember("unmet_demand_pct"));
  EXPECT_GT((*document)["redeploys"].GetUint64(), 0u);
  EXPECT_EQ((*document)["restarts"].GetUint64(),
            (*document)["redeploys"].GetUint64() + (*document)["oom_kills"].GetUint64());
  const auto pids = childPids(out);
  ASSERT_EQ(pids.size(), 4u) << out;  // redis-server, 2 agents, the sizer
  for (pid_t pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still running";
}

TEST(DemoCommandTest, StopsEverythingOnSigint) {
  auto demo = testing::spawn({testing::rightsizeDemoBinary(), "--trace",
                              std::string(RIGHTSIZE_SOURCE_DIR) + "/data/traces/bitbrains-demo.csv.gz", "--hosts", "1",
                              "--duration", "10m", "--cpu-isolation", "shares"});
  ASSERT_NE(demo->waitForLine("sizer: pid", 30s), "") << demo->output();
  EXPECT_NE(demo->output().find("(CPU isolation shares)"), std::string::npos) << demo->output();
  const int status = demo->stop(SIGINT, 30s);
  demo->drain(200ms);
  ASSERT_TRUE(WIFEXITED(status)) << demo->output();
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(demo->output().find("(interrupted)"), std::string::npos);
  const auto pids = childPids(demo->output());
  ASSERT_EQ(pids.size(), 3u) << demo->output();  // redis-server, the agent, the sizer
  for (pid_t pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still running";
}

TEST(DemoCommandTest, AMissingTraceIsAClearError) {
  auto demo = testing::spawn({testing::rightsizeDemoBinary(), "--trace", "/nonexistent/trace.csv"});
  const int status = demo->wait(30s);
  demo->drain(200ms);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(demo->output().find("/nonexistent/trace.csv"), std::string::npos) << demo->output();
}

}  // namespace
}  // namespace rightsize::cli
