// The cgroup source against the kernel: a container laid out as the Mesos
// containerizer does (<prefix>/mesos/<id> in the cpu, cpuacct and memory
// hierarchies), capped at 0.5 cores by a CFS quota, running a CPU-burning
// child. Needs root and writable cgroup v1 hierarchies; says so loudly when
// they are not there.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "rightsize/agent/agent.h"
#include "rightsize/agent/cgroup_source.h"

namespace rightsize::agent {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr const char* kContainerId = "8f1c2f0e-real-cgroup-test";

bool writeFile(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

class RealCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = "rightsize-test-" + std::to_string(::getpid()) + "/mesos";
    for (const char* controller : {"cpu", "cpuacct", "memory"}) {
      const std::string hierarchy = std::string(kRoot) + "/" + controller;
      if (!std::filesystem::is_directory(hierarchy)) {
        GTEST_SKIP() << "REAL CGROUP TEST SKIPPED: no cgroup v1 '" << controller << "' hierarchy at " << hierarchy
                     << " (this test needs cgroup v1 mounted read-write, as root)";
      }
      const std::string dir = hierarchy + "/" + prefix_ + "/" + kContainerId;
      std::error_code error;
      std::filesystem::create_directories(dir, error);
      if (error) {
        GTEST_SKIP() << "REAL CGROUP TEST SKIPPED: cannot create " << dir << ": " << error.message()
                     << " (this test needs cgroup v1 mounted read-write, as root)";
      }
      dirs_.push_back(dir);
    }
    const std::string cpu = std::string(kRoot) + "/cpu/" + prefix_ + "/" + kContainerId;
    ASSERT_TRUE(writeFile(cpu + "/cpu.cfs_period_us", "100000"));
    ASSERT_TRUE(writeFile(cpu + "/cpu.cfs_quota_us", "50000"));
    const std::string memory = std::string(kRoot) + "/memory/" + prefix_ + "/" + kContainerId;
    ASSERT_TRUE(writeFile(memory + "/memory.limit_in_bytes", std::to_string(64 << 20)));
    startBurner();
  }

  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    // Remove the container's cgroups, then the scratch parents (rmdir only:
    // cgroupfs directories cannot be emptied by unlinking their files).
    for (const auto& dir : dirs_) {
      std::filesystem::path path = dir;
      for (int level = 0; level < 3; ++level) {
        ::rmdir(path.c_str());
        path = path.parent_path();
      }
    }
  }

  // Forks a child that joins the container's cgroups and then execs a shell
  // spinning forever, with a Marathon task's environment.
  void startBurner() {
    std::vector<std::string> procs;
    for (const auto& dir : dirs_) procs.push_back(dir + "/cgroup.procs");
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      char pid[32];
      const int length = std::snprintf(pid, sizeof pid, "%d\n", static_cast<int>(::getpid()));
      for (const auto& path : procs) {
        const int fd = ::open(path.c_str(), O_WRONLY);
        if (fd < 0 || ::write(fd, pid, static_cast<std::size_t>(length)) != length) ::_exit(3);
        ::close(fd);
      }
      const char* argv[] = {"/bin/sh", "-c", "while :; do :; done", nullptr};
      const char* envp[] = {"MARATHON_APP_ID=/burn",
                            "MESOS_TASK_ID=burn.instance-0c6f2c8e-8a1b-11ee-b9d1-0242ac120002._app.1",
                            "MARATHON_APP_LABEL_ENV=test", nullptr};
      ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
      ::_exit(127);
    }
  }

  // CPU seconds charged to the container so far, read straight from the kernel.
  double chargedSeconds() const {
    std::ifstream in(std::string(kRoot) + "/cpuacct/" + prefix_ + "/" + kContainerId + "/cpuacct.usage");
    double ns = 0;
    in >> ns;
    return ns / 1e9;
  }

  std::string prefix_;
  std::vector<std::string> dirs_;
  pid_t child_ = -1;
};

TEST_F(RealCgroupTest, ReportsTheQuotaAsReservedAndMeasuresUsageWithinFifteenPercent) {
  SystemClock clock;
  RealFileSystem fs;
  CgroupSourceOptions options;
  options.root = kRoot;
  options.prefix = prefix_;
  CgroupSource source(fs, clock, options);
  CountingErrorSink errors;
  AgentOptions agent_options;
  agent_options.host = "test";
  Agent agent(source, clock, errors, agent_options);

  // Let the burner get going, then measure over about three CPU-bound seconds.
  // The wait is on the kernel's own accounting and bounded.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (chargedSeconds() < 0.2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  agent.collectOnce();
  const double start_charge = chargedSeconds();
  while (chargedSeconds() < start_charge + 1.5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  agent.collectOnce();

  auto snapshot = agent.snapshot();
  const ContainerStats* stats = nullptr;
  for (const auto& c : snapshot->containers) {
    if (c.identity.container_id == kContainerId) stats = &c;
  }
  ASSERT_NE(stats, nullptr) << "the agent did not find " << prefix_ << "/" << kContainerId;
  EXPECT_EQ(errors.total(), 0u) << errors.lastMessage();
  EXPECT_EQ(stats->identity.app_id, "/burn");
  EXPECT_EQ(stats->identity.env, "test");
  ASSERT_TRUE(stats->reserved_cores);
  EXPECT_DOUBLE_EQ(*stats->reserved_cores, 0.5);
  ASSERT_TRUE(stats->used_cores);
  EXPECT_NEAR(*stats->used_cores, 0.5, 0.5 * 0.15);
  ASSERT_TRUE(stats->throttled_ratio);
  EXPECT_GT(*stats->throttled_ratio, 0.5);  // a spinning loop is throttled in most periods
  // One spinning thread (a demand of 1 core) under a quota of 0.5: held back
  // half of each period on its one CPU, the kernel's throttled_time says
  // half a core of demand waited (0.5 on an idle host). On a busy one the
  // thread also waits for a CPU, which is not throttling: less (0.29 seen
  // with a build running), never more than the demand above the quota.
  ASSERT_TRUE(stats->throttled_cores);
  EXPECT_GT(*stats->throttled_cores, 0.15);
  EXPECT_LT(*stats->throttled_cores, 0.5 * 1.3);
  EXPECT_DOUBLE_EQ(*stats->memory_reserved_bytes, 64 << 20);
  ASSERT_TRUE(stats->memory_used_bytes);
  EXPECT_GT(*stats->memory_used_bytes, 0);
}

}  // namespace
}  // namespace rightsize::agent
