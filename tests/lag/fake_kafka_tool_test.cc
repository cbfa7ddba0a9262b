// rightsize-fake-kafka as a process: set up by flags, changed by commands on
// stdin, read by the lag monitor over the Kafka protocol.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "test_support.h"

#include "rightsize/lag/lag_monitor.h"
#include "rightsize/lag/rdkafka_client.h"

namespace rightsize::lag {
namespace {

using namespace std::chrono_literals;

TEST(FakeKafkaToolTest, SetUpByFlagsChangedByCommandsStoppedByQuit) {
  auto tool = ChildProcess::start({RIGHTSIZE_FAKE_KAFKA, "--brokers", "2", "--topic", "orders:2", "--produce",
                                   "orders:0:100:1700000000000:1000", "--commit", "billing:orders:0:40"},
                                  {}, /*with_input=*/true);
  ASSERT_TRUE(tool.ok());
  auto& child = **tool;
  const std::string line = child.waitForLine("bootstrap ", 30s);
  ASSERT_FALSE(line.empty()) << child.output();
  const std::string bootstrap = line.substr(line.find(' ') + 1);

  ManualWallClock clock;  // the mock cluster answers in real time
  auto client = RdKafkaClient::create({.brokers = bootstrap}, clock);
  ASSERT_TRUE(client.ok());
  CountingErrorSink errors;
  LagMonitor monitor(**client, clock, errors, {});
  auto lagOf = [&]() -> std::optional<std::int64_t> {
    monitor.collectOnce({{"billing", "", ""}});
    auto snapshot = monitor.snapshot();
    if (snapshot->groups.empty() || snapshot->groups[0].partitions.empty()) return std::nullopt;
    return snapshot->groups[0].partitions[0].lag_messages;
  };
  EXPECT_EQ(lagOf(), 60);

  ASSERT_TRUE(child.writeInput("commit billing orders 0 90\n"));
  EXPECT_EQ(child.waitForLine("ok", 10s), "ok");
  clock.advance(10s);
  EXPECT_EQ(lagOf(), 10);

  ASSERT_TRUE(child.writeInput("produce orders 9 1 0 0\n"));  // no partition 9
  EXPECT_NE(child.waitForLine("error", 10s).find("error: "), std::string::npos);
  ASSERT_TRUE(child.writeInput("frobnicate\n"));
  EXPECT_NE(child.waitForLine("error", 10s).find("unknown command 'frobnicate'"), std::string::npos);

  ASSERT_TRUE(child.writeInput("quit\n"));
  const int status = child.wait(30s);
  ASSERT_TRUE(WIFEXITED(status)) << child.output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FakeKafkaToolTest, BadFlagsAreRefusedNamingThem) {
  auto tool = ChildProcess::start({RIGHTSIZE_FAKE_KAFKA, "--produce", "orders:zero:1:0:0"});
  ASSERT_TRUE(tool.ok());
  const int status = (*tool)->wait(30s);
  (*tool)->drain(100ms);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE((*tool)->output().find("--produce orders:zero:1:0:0"), std::string::npos) << (*tool)->output();
}

}  // namespace
}  // namespace rightsize::lag
