#include "rightsize/agent/mesos_source.h"

#include <gtest/gtest.h>

#include <map>

#include "test_support.h"

#include "rightsize/testing/fake_mesos_agent.h"

namespace rightsize::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The Mesos source against the Mesos agent double, over real HTTP on
// loopback, serving the real fixtures.
class MesosSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = testing::FakeMesosAgent::create(clock_, testing::readFixture("mesos/agent_state.json"),
                                                testing::readFixture("mesos/monitor_statistics_port_mapping.json"));
    ASSERT_TRUE(fake.ok()) << fake.error().message();
    fake_ = std::move(*fake);
    fake_->addExecutor({.executor_id = "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1",
                        .container_id = "c-web",
                        .app_id = "/web",
                        .cpus_limit = 1.1,
                        .mem_limit_bytes = 160ull << 20,
                        .labels = {{"env", "prod"}}},
                       {.used_cores = 0.42, .resident_bytes = 90'000'000});
    ASSERT_TRUE(fake_->start(HostPort{"127.0.0.1", 0}).ok());
    options_.url = fake_->url();
    options_.request_timeout = milliseconds(500);
  }

  ManualClock clock_;
  std::unique_ptr<testing::FakeMesosAgent> fake_;
  CurlHttpClient http_;
  MesosSourceOptions options_;
};

TEST_F(MesosSourceTest, MapsStatisticsToContainersThroughState) {
  fake_->setAttribute("instance_type", "r5.xlarge");
  MesosSource source(http_, clock_, options_);
  const SourceReading first = source.read();
  EXPECT_TRUE(first.complete);
  EXPECT_TRUE(first.errors.empty()) << first.errors.front().message();
  ASSERT_EQ(first.containers.size(), 1u);
  const auto& c = first.containers[0];
  EXPECT_EQ(c.identity.container_id, "c-web");
  EXPECT_EQ(c.identity.app_id, "/web");
  EXPECT_EQ(c.identity.task_id, "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1");
  EXPECT_EQ(c.identity.env, "prod");
  EXPECT_EQ(c.identity.instance_type, "r5.xlarge");
  EXPECT_DOUBLE_EQ(*c.reserved_cores, 1.1);
  EXPECT_EQ(*c.memory_used_bytes, 90'000'000u);
  EXPECT_EQ(*c.memory_limit_bytes, 160ull << 20);
  EXPECT_DOUBLE_EQ(*first.host_capacity_cores, 1.0);  // the fixture agent's resources.cpus

  clock_.advance(seconds(10));
  const SourceReading second = source.read();
  ASSERT_EQ(second.containers.size(), 1u);
  const double used = (second.containers[0].cpu_seconds - c.cpu_seconds) / toSeconds(second.containers[0].at - c.at);
  EXPECT_NEAR(used, 0.42, 0.002);  // counters written with 2 decimals, as Mesos does
}

TEST_F(MesosSourceTest, RefetchesStateOnlyForNewExecutorsOrWhenDue) {
  options_.state_refresh = seconds(60);
  MesosSource source(http_, clock_, options_);
  (void)source.read();
  clock_.advance(seconds(10));
  (void)source.read();
  EXPECT_EQ(fake_->requests("/state"), 1u);
  fake_->addExecutor({.executor_id = "api.instance-aaaaaaaa-1d6f-11ee-be56-0242ac120002._app.1",
                      .container_id = "c-api",
                      .app_id = "/api"});
  clock_.advance(seconds(10));
  const SourceReading reading = source.read();
  EXPECT_EQ(fake_->requests("/state"), 2u);
  ASSERT_EQ(reading.containers.size(), 2u);
  clock_.advance(seconds(61));
  (void)source.read();
  EXPECT_EQ(fake_->requests("/state"), 3u);
  EXPECT_EQ(fake_->requests("/monitor/statistics"), 4u);
}

TEST_F(MesosSourceTest, AnAgentThatIsDownGivesAnIncompleteReadingNamingTheUrl) {
  MesosSource source(http_, clock_, options_);
  const std::string url = fake_->url();
  fake_.reset();
  const SourceReading reading = source.read();
  EXPECT_FALSE(reading.complete);
  EXPECT_TRUE(reading.containers.empty());
  ASSERT_EQ(reading.errors.size(), 1u);
  EXPECT_EQ(reading.errors[0].kind(), ErrorKind::kUnavailable);
  EXPECT_NE(reading.errors[0].message().find(url + "/monitor/statistics"), std::string::npos);
}

TEST_F(MesosSourceTest, ErrorStatusGarbageAndTruncationAreIncompleteReadings) {
  MesosSource source(http_, clock_, options_);
  const std::vector<std::pair<testing::FakeFault::Kind, ErrorKind>> faults = {
      {testing::FakeFault::Kind::kHttpStatus, ErrorKind::kHttpStatus},
      {testing::FakeFault::Kind::kGarbage, ErrorKind::kMalformed},
      {testing::FakeFault::Kind::kTruncated, ErrorKind::kMalformed},
  };
  for (const auto& [fault, kind] : faults) {
    fake_->setFault({.kind = fault, .remaining = 1, .path_filter = "/monitor/statistics"});
    const SourceReading reading = source.read();
    EXPECT_FALSE(reading.complete);
    ASSERT_EQ(reading.errors.size(), 1u);
    EXPECT_EQ(reading.errors[0].kind(), kind) << reading.errors[0].message();
    // The next read works again.
    clock_.advance(seconds(10));
    EXPECT_TRUE(source.read().complete);
  }
}

TEST_F(MesosSourceTest, ASlowAgentTimesOutWithinTheRequestTimeout) {
  options_.request_timeout = milliseconds(200);
  MesosSource source(http_, clock_, options_);
  fake_->setFault({.kind = testing::FakeFault::Kind::kSlow, .delay = milliseconds(1500), .remaining = 1});
  const auto started = std::chrono::steady_clock::now();
  const SourceReading reading = source.read();
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1200));
  EXPECT_FALSE(reading.complete);
  ASSERT_FALSE(reading.errors.empty());
  EXPECT_EQ(reading.errors[0].kind(), ErrorKind::kUnavailable);
}

TEST_F(MesosSourceTest, AFailingStateKeepsTheLastMappingAndFallsBackToTheTaskId) {
  MesosSource source(http_, clock_, options_);
  ASSERT_EQ(source.read().containers[0].identity.container_id, "c-web");
  fake_->setFault({.kind = testing::FakeFault::Kind::kHttpStatus, .path_filter = "/state"});
  fake_->addExecutor({.executor_id = "late.instance-bbbbbbbb-1d6f-11ee-be56-0242ac120002._app.1",
                      .container_id = "c-late",
                      .app_id = "/late"});
  clock_.advance(seconds(10));
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.complete);  // statistics were fine
  ASSERT_EQ(reading.errors.size(), 1u);
  EXPECT_EQ(reading.errors[0].kind(), ErrorKind::kHttpStatus);
  ASSERT_EQ(reading.containers.size(), 2u);
  for (const auto& c : reading.containers) {
    if (c.identity.app_id == "/late") {
      EXPECT_EQ(c.identity.container_id, c.identity.task_id);  // executor id until /state answers
    } else {
      EXPECT_EQ(c.identity.container_id, "c-web");
    }
  }
}

// An HttpClient answering fixed bodies per path, counting requests.
class CannedHttpClient final : public HttpClient {
 public:
  Expected<HttpResponse> send(const HttpClientRequest& request) override {
    const std::string path = request.url.substr(request.url.find('/', 8));
    ++requests[path];
    HttpResponse response;
    response.body = bodies[path];
    return response;
  }
  std::map<std::string, std::string> bodies;
  std::map<std::string, int> requests;
};

class MesosSourceCannedTest : public ::testing::Test {
 protected:
  MesosSourceCannedTest() {
    http_.bodies["/state"] = R"({"resources": {"cpus": 8}, "frameworks": [
      {"id": "fw-marathon", "name": "marathon", "executors": []},
      {"id": "fw-other", "name": "chronos", "executors": []}]})";
  }
  void statistics(const std::string& entries) { http_.bodies["/monitor/statistics"] = "[" + entries + "]"; }
  static std::string entry(const std::string& framework, const std::string& executor, double cpu = 1) {
    return R"({"executor_id": ")" + executor + R"(", "framework_id": ")" + framework +
           R"(", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": )" + std::to_string(cpu) +
           R"(, "cpus_system_time_secs": 0}})";
  }

  ManualClock clock_;
  CannedHttpClient http_;
  MesosSourceOptions options_{.url = "http://mesos:5051"};
};

TEST_F(MesosSourceCannedTest, OnlyMarathonExecutorsGetAnAppFromTheirId) {
  statistics(entry("fw-marathon", "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1") + "," +
             entry("fw-other", "job_run.6a3e0d2c-1d6f-11ee-be56-0242ac120002"));
  MesosSource source(http_, clock_, options_);
  const SourceReading reading = source.read();
  ASSERT_EQ(reading.containers.size(), 2u);
  EXPECT_EQ(reading.containers[0].identity.app_id, "/web");
  EXPECT_EQ(reading.containers[1].identity.app_id, "");
}

// The host's place: the agent's attributes and fault domain first, the
// agent's flags where the Mesos agent says nothing.
TEST_F(MesosSourceCannedTest, TheHostsPlaceFromAttributesAndDomainElseFromFlags) {
  statistics(entry("fw-marathon", "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1"));
  options_.instance_type = "flag-type";
  options_.zone = "flag-zone";
  options_.lifecycle = "on-demand";
  {
    MesosSource source(http_, clock_, options_);
    const SourceReading reading = source.read();
    EXPECT_EQ(reading.host_place, (wire::HostPlace{"flag-type", "flag-zone", "on-demand"}));
    EXPECT_FALSE(reading.host_capacity_bytes);
  }
  http_.bodies["/state"] = R"({"resources": {"cpus": 8, "mem": 1024},
    "attributes": {"instance_type": "c5.2xlarge", "zone": "attr-zone", "lifecycle": "spot"},
    "domain": {"fault_domain": {"region": {"name": "r"}, "zone": {"name": "domain-zone"}}},
    "frameworks": [{"id": "fw-marathon", "name": "marathon", "executors": []}]})";
  MesosSource source(http_, clock_, options_);
  const SourceReading reading = source.read();
  EXPECT_EQ(reading.host_place, (wire::HostPlace{"c5.2xlarge", "domain-zone", "spot"}));
  EXPECT_EQ(reading.host_capacity_bytes, 1024.0 * 1024 * 1024);
}

TEST_F(MesosSourceCannedTest, AnExecutorUnknownToStateRefetchesItOnlyEveryRetryPeriod) {
  statistics(entry("fw-marathon", "ghost"));
  options_.unknown_executor_retry = std::chrono::seconds(10);
  MesosSource source(http_, clock_, options_);
  for (int i = 0; i < 7; ++i) {  // reads at 0, 4, ..., 24 s
    (void)source.read();
    clock_.advance(std::chrono::seconds(4));
  }
  EXPECT_EQ(http_.requests["/monitor/statistics"], 7);
  EXPECT_EQ(http_.requests["/state"], 3);  // at 0 s, 12 s and 24 s
}

// Mesos 1.10+ reports a container's request (cpus_soft_limit,
// mem_soft_limit_bytes) beside its hard limit (cpus_limit,
// mem_limit_bytes); what is reserved is the request. Without soft limits
// (Mesos before 1.10) cpus_limit is, as it always was.
TEST_F(MesosSourceCannedTest, ReservesTheRequestAndReportsTheLimitApart) {
  const auto with = [](const std::string& executor, const std::string& figures) {
    return R"({"executor_id": ")" + executor +
           R"(", "framework_id": "fw-marathon", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,)"
           R"( "cpus_system_time_secs": 0, )" +
           figures + "}}";
  };
  statistics(with("burst", R"("cpus_soft_limit": 0.6, "cpus_limit": 2.1, "mem_soft_limit_bytes": 167772160,)"
                           R"( "mem_limit_bytes": 570425344)") +
             "," +
             with("plain", R"("cpus_soft_limit": 1.1, "cpus_limit": 1.1, "mem_soft_limit_bytes": 167772160,)"
                           R"( "mem_limit_bytes": 167772160)") +
             "," + with("nocfs", R"("cpus_soft_limit": 1.1, "mem_limit_bytes": 167772160)") + "," +
             with("old", R"("cpus_limit": 1.1, "mem_limit_bytes": 167772160)"));
  MesosSource source(http_, clock_, options_);
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 4u);
  const ContainerSample& burst = reading.containers[0];
  EXPECT_DOUBLE_EQ(*burst.reserved_cores, 0.6);
  EXPECT_DOUBLE_EQ(*burst.limit_cores, 2.1);
  EXPECT_EQ(*burst.memory_request_bytes, 167772160u);
  EXPECT_EQ(*burst.memory_limit_bytes, 570425344u);
  const ContainerSample& plain = reading.containers[1];
  EXPECT_DOUBLE_EQ(*plain.reserved_cores, 1.1);
  EXPECT_DOUBLE_EQ(*plain.limit_cores, 1.1);
  const ContainerSample& nocfs = reading.containers[2];
  EXPECT_DOUBLE_EQ(*nocfs.reserved_cores, 1.1);
  EXPECT_FALSE(nocfs.limit_cores);
  const ContainerSample& old = reading.containers[3];
  EXPECT_DOUBLE_EQ(*old.reserved_cores, 1.1);
  EXPECT_DOUBLE_EQ(*old.limit_cores, 1.1);
  EXPECT_FALSE(old.memory_request_bytes);
  EXPECT_EQ(*old.memory_limit_bytes, 167772160u);
}

// A task with an "unlimited" limit makes Mesos write Infinity in /state:
// the mapping to containers, apps and labels still comes from it.
TEST_F(MesosSourceCannedTest, AnUnlimitedTaskInStateKeepsTheMapping) {
  http_.bodies["/state"] = R"({"resources": {"cpus": 8}, "frameworks": [
    {"id": "fw-marathon", "name": "marathon", "executors": [
      {"id": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1", "container": "c-free",
       "tasks": [{"id": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1",
                  "limits": {"cpus": Infinity, "mem": Infinity}, "labels": [{"key": "env", "value": "prod"}]}]}]}]})";
  statistics(entry("fw-marathon", "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1"));
  MesosSource source(http_, clock_, options_);
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_EQ(reading.containers[0].identity.container_id, "c-free");
  EXPECT_EQ(reading.containers[0].identity.env, "prod");
  EXPECT_DOUBLE_EQ(*reading.host_capacity_cores, 8);
}

TEST_F(MesosSourceCannedTest, ABadEntryLeavesTheListingCompleteAndItsContainerKept) {
  statistics(entry("fw-marathon", "good") + R"(, {"executor_id": "broken", "framework_id": "fw-marathon"})");
  MesosSource source(http_, clock_, options_);
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.complete);
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_EQ(reading.unreadable, (std::vector<std::string>{"broken"}));
  ASSERT_EQ(reading.errors.size(), 1u);
  EXPECT_EQ(reading.errors[0].kind(), ErrorKind::kMissingField);
}

}  // namespace
}  // namespace rightsize::agent
