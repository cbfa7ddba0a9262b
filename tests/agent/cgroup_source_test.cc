#include "rightsize/agent/cgroup_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "test_support.h"

namespace rightsize::agent {
namespace {

using namespace std::string_literals;
using testing::TempDir;

struct V1Spec {
  std::uint64_t usage_ns = 0;
  std::string quota = "-1";
  std::uint64_t period = 100000;
  std::uint64_t shares = 1024;
  std::uint64_t periods = 0;
  std::uint64_t throttled = 0;
  std::uint64_t throttled_ns = 0;
  std::string limit = "9223372036854771712";
  std::string soft_limit = "9223372036854771712";  // the kernel's default: none
  std::uint64_t rss = 0;
  std::uint64_t mapped = 0;
  std::string procs;
};

// Writes a container's files the way the kernel lays them out. With
// `comounted`, cpu and cpuacct share the directory "cpu,cpuacct".
void writeV1(const TempDir& dir, const std::string& relative, const V1Spec& spec, bool comounted = false) {
  const std::string cpuacct = (comounted ? "cgroup/cpu,cpuacct/" : "cgroup/cpuacct/") + relative;
  const std::string cpu = (comounted ? "cgroup/cpu,cpuacct/" : "cgroup/cpu/") + relative;
  const std::string memory = "cgroup/memory/" + relative;
  dir.write(cpuacct + "/cpuacct.usage", std::to_string(spec.usage_ns) + "\n");
  dir.write(cpuacct + "/cgroup.procs", spec.procs);
  dir.write(cpu + "/cpu.cfs_quota_us", spec.quota + "\n");
  dir.write(cpu + "/cpu.cfs_period_us", std::to_string(spec.period) + "\n");
  dir.write(cpu + "/cpu.shares", std::to_string(spec.shares) + "\n");
  dir.write(cpu + "/cpu.stat", "nr_periods " + std::to_string(spec.periods) + "\nnr_throttled " +
                                   std::to_string(spec.throttled) + "\nthrottled_time " +
                                   std::to_string(spec.throttled_ns) + "\n");
  dir.write(memory + "/memory.limit_in_bytes", spec.limit + "\n");
  dir.write(memory + "/memory.soft_limit_in_bytes", spec.soft_limit + "\n");
  dir.write(memory + "/memory.stat", "cache 0\nrss " + std::to_string(spec.rss) + "\ntotal_cache 0\ntotal_rss " +
                                         std::to_string(spec.rss) + "\ntotal_mapped_file " +
                                         std::to_string(spec.mapped) + "\n");
}

void writeEnviron(const TempDir& dir, int pid, const std::string& app, const std::string& task,
                  const std::string& env = "") {
  std::string environ = "PATH=/bin\0"s;
  if (!app.empty()) environ += "MARATHON_APP_ID=" + app + "\0"s;
  if (!task.empty()) environ += "MESOS_TASK_ID=" + task + "\0"s;
  if (!env.empty()) environ += "MARATHON_APP_LABEL_ENV=" + env + "\0"s;
  dir.write("proc/" + std::to_string(pid) + "/environ", environ);
}

class CgroupSourceTest : public ::testing::Test {
 protected:
  CgroupSourceOptions options() const {
    CgroupSourceOptions o;
    o.root = dir_.path() + "/cgroup";
    o.proc_root = dir_.path() + "/proc";
    o.host_cores = 8;
    o.instance_type = "m5.2xlarge";
    return o;
  }
  static const ContainerSample* find(const SourceReading& reading, const std::string& id) {
    for (const auto& c : reading.containers) {
      if (c.identity.container_id == id) return &c;
    }
    return nullptr;
  }

  TempDir dir_;
  RealFileSystem fs_;
  ManualClock clock_;
};

TEST_F(CgroupSourceTest, ReadsMesosNestedAndDockerContainersFromV1Hierarchies) {
  writeV1(dir_, "mesos/c1",
          {.usage_ns = 2'500'000'000,
           .quota = "50000",
           .periods = 100,
           .throttled = 7,
           .throttled_ns = 840'000'000,
           .limit = "167772160",
           .rss = 1000,
           .mapped = 24,
           .procs = "101\n"});
  writeV1(dir_, "mesos/c2", {.usage_ns = 1'000'000'000, .shares = 2048, .procs = "202\n"});
  writeV1(dir_, "mesos/c2/mesos/n1", {.usage_ns = 400'000'000, .procs = "303\n"});
  writeV1(dir_, "docker/d1", {.usage_ns = 7, .quota = "200000", .shares = 2048, .procs = "404\n"});
  writeEnviron(dir_, 101, "/web", "web.instance-11111111-2222-3333-4444-555555555555._app.1", "prod");
  writeEnviron(dir_, 202, "", "team_batch.11111111-2222-3333-4444-555555555555");
  writeEnviron(dir_, 303, "/pod", "pod.instance-x.web.1");
  writeEnviron(dir_, 404, "/dockerized", "");

  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_EQ(source.version(), CgroupSource::Version::kV1);
  EXPECT_TRUE(reading.complete);
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  EXPECT_EQ(*reading.host_capacity_cores, 8.0);
  ASSERT_EQ(reading.containers.size(), 4u);

  const auto* c1 = find(reading, "c1");
  ASSERT_NE(c1, nullptr);
  EXPECT_DOUBLE_EQ(c1->cpu_seconds, 2.5);
  EXPECT_DOUBLE_EQ(*c1->reserved_cores, 0.5);  // shares above the quota: the quota
  EXPECT_DOUBLE_EQ(*c1->limit_cores, 0.5);
  EXPECT_EQ(*c1->cfs_periods, 100u);
  EXPECT_EQ(*c1->cfs_throttled_periods, 7u);
  EXPECT_DOUBLE_EQ(*c1->cfs_throttled_seconds, 0.84);
  EXPECT_EQ(*c1->memory_limit_bytes, 167772160u);
  EXPECT_EQ(*c1->memory_used_bytes, 1024u);
  EXPECT_EQ(c1->identity.app_id, "/web");
  EXPECT_EQ(c1->identity.env, "prod");
  EXPECT_EQ(c1->identity.instance_type, "m5.2xlarge");
  EXPECT_FALSE(c1->identity.nested);
  EXPECT_EQ(c1->at, clock_.now());

  const auto* c2 = find(reading, "c2");
  ASSERT_NE(c2, nullptr);
  EXPECT_DOUBLE_EQ(*c2->reserved_cores, 2.0);  // shares / 1024
  EXPECT_FALSE(c2->limit_cores);               // no quota
  EXPECT_FALSE(c2->memory_limit_bytes);        // unlimited
  EXPECT_FALSE(c2->memory_request_bytes);
  // Without MARATHON_APP_ID the task is not Marathon's: no app is guessed.
  EXPECT_EQ(c2->identity.app_id, "");
  EXPECT_EQ(c2->identity.task_id, "team_batch.11111111-2222-3333-4444-555555555555");

  const auto* nested = find(reading, "c2.n1");
  ASSERT_NE(nested, nullptr);
  EXPECT_TRUE(nested->identity.nested);
  EXPECT_EQ(nested->identity.app_id, "/pod");

  const auto* docker = find(reading, "d1");
  ASSERT_NE(docker, nullptr);
  EXPECT_DOUBLE_EQ(*docker->reserved_cores, 2.0);
  EXPECT_EQ(docker->identity.app_id, "/dockerized");
}

// Marathon's resourceLimits on Mesos 1.10+: the request in cpu.shares and
// memory.soft_limit_in_bytes, the limit in the CFS quota and
// memory.limit_in_bytes ("unlimited": no quota, the kernel's unlimited).
TEST_F(CgroupSourceTest, TellsV1RequestsFromLimits) {
  // cpus 0.5 + 0.1 and mem 128 + 32 MiB, limited to 2 (+ 0.1) cores and 512 (+ 32) MiB.
  writeV1(dir_, "mesos/burst",
          {.usage_ns = 1, .quota = "210000", .shares = 614, .limit = "570425344", .soft_limit = "167772160"});
  // No limits: Mesos writes the request as both (shares rounded down).
  writeV1(dir_, "mesos/plain",
          {.usage_ns = 1, .quota = "110000", .shares = 1126, .limit = "167772160", .soft_limit = "167772160"});
  // "unlimited" CPU and memory.
  writeV1(dir_, "mesos/free", {.usage_ns = 1, .shares = 614, .soft_limit = "167772160"});
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 3u);

  const auto* burst = find(reading, "burst");
  ASSERT_NE(burst, nullptr);
  EXPECT_DOUBLE_EQ(*burst->reserved_cores, 614.0 / 1024);
  EXPECT_DOUBLE_EQ(*burst->limit_cores, 2.1);
  EXPECT_EQ(*burst->memory_request_bytes, 167772160u);
  EXPECT_EQ(*burst->memory_limit_bytes, 570425344u);

  const auto* plain = find(reading, "plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_DOUBLE_EQ(*plain->reserved_cores, 1.1);  // the quota's figure, as before requests were read
  EXPECT_DOUBLE_EQ(*plain->limit_cores, 1.1);
  EXPECT_EQ(*plain->memory_request_bytes, 167772160u);
  EXPECT_EQ(*plain->memory_limit_bytes, 167772160u);

  const auto* free = find(reading, "free");
  ASSERT_NE(free, nullptr);
  EXPECT_DOUBLE_EQ(*free->reserved_cores, 614.0 / 1024);
  EXPECT_FALSE(free->limit_cores);
  EXPECT_EQ(*free->memory_request_bytes, 167772160u);
  EXPECT_FALSE(free->memory_limit_bytes);
}

TEST_F(CgroupSourceTest, TellsV2RequestsFromLimits) {
  dir_.write("cgroup/cgroup.controllers", "cpu memory pids\n");
  const auto write = [&](const std::string& id, const std::string& weight, const std::string& cpu_max,
                         const std::string& low, const std::string& max) {
    const std::string c = "cgroup/mesos/" + id + "/";
    dir_.write(c + "cpu.stat", "usage_usec 10\nnr_periods 0\nnr_throttled 0\n");
    dir_.write(c + "cpu.weight", weight + "\n");
    dir_.write(c + "cpu.max", cpu_max + "\n");
    dir_.write(c + "memory.low", low + "\n");
    dir_.write(c + "memory.max", max + "\n");
  };
  // Weights as runc converts the shares of 0.6 and 1.1 cores (614, 1126).
  write("burst", "24", "210000 100000", "167772160", "570425344");
  write("plain", "43", "110000 100000", "167772160", "167772160");
  write("free", "24", "max 100000", "167772160", "max");
  write("docker", "100", "max 100000", "0", "max");  // the kernel's defaults: no request beyond the weight
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 4u);

  const auto* burst = find(reading, "burst");
  ASSERT_NE(burst, nullptr);
  EXPECT_DOUBLE_EQ(*burst->reserved_cores, reservedCoresFromWeight(24));
  EXPECT_NEAR(*burst->reserved_cores, 0.6, kWeightToleranceCores);
  EXPECT_DOUBLE_EQ(*burst->limit_cores, 2.1);
  EXPECT_EQ(*burst->memory_request_bytes, 167772160u);
  EXPECT_EQ(*burst->memory_limit_bytes, 570425344u);

  const auto* plain = find(reading, "plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_DOUBLE_EQ(*plain->reserved_cores, 1.1);
  EXPECT_DOUBLE_EQ(*plain->limit_cores, 1.1);

  const auto* free = find(reading, "free");
  ASSERT_NE(free, nullptr);
  EXPECT_DOUBLE_EQ(*free->reserved_cores, reservedCoresFromWeight(24));
  EXPECT_FALSE(free->limit_cores);
  EXPECT_EQ(*free->memory_request_bytes, 167772160u);
  EXPECT_FALSE(free->memory_limit_bytes);

  const auto* docker = find(reading, "docker");
  ASSERT_NE(docker, nullptr);
  EXPECT_DOUBLE_EQ(*docker->reserved_cores, reservedCoresFromWeight(100));
  EXPECT_FALSE(docker->memory_request_bytes);
}

TEST_F(CgroupSourceTest, FindsCoMountedCpuAndCpuacct) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 3'000'000'000, .quota = "150000", .shares = 1536, .procs = ""},
          /*comounted=*/true);
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_DOUBLE_EQ(reading.containers[0].cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(*reading.containers[0].reserved_cores, 1.5);
}

TEST_F(CgroupSourceTest, ReadsTheUnifiedV2LayoutWithLeafCgroups) {
  dir_.write("cgroup/cgroup.controllers", "cpu memory pids\n");
  const std::string c = "cgroup/mesos/c1/";
  dir_.write(c + "cpu.stat",
             "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 40\n"
             "nr_throttled 4\nthrottled_usec 1000\n");
  dir_.write(c + "cpu.max", "25000 100000\n");
  dir_.write(c + "memory.max", "268435456\n");
  dir_.write(c + "memory.stat", "anon 1048576\nfile 99999\nfile_mapped 4096\n");
  dir_.write(c + "leaf/cgroup.procs", "77\n");
  dir_.write(c + "cgroup.procs", "");
  dir_.write("cgroup/mesos/c2/cpu.stat", "usage_usec 10\n");
  dir_.write("cgroup/mesos/c2/cpu.max", "max 100000\n");
  dir_.write("cgroup/mesos/c2/cpu.weight", "200\n");
  dir_.write("cgroup/mesos/c2/memory.max", "max\n");
  dir_.makeDirectories("cgroup/mesos/agent");  // the Mesos agent's own cgroup is not a container
  writeEnviron(dir_, 77, "/v2app", "v2app.instance-a._app.1");

  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_EQ(source.version(), CgroupSource::Version::kV2);
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 2u);
  const auto* c1 = find(reading, "c1");
  ASSERT_NE(c1, nullptr);
  EXPECT_DOUBLE_EQ(c1->cpu_seconds, 1.5);
  EXPECT_DOUBLE_EQ(*c1->reserved_cores, 0.25);
  EXPECT_EQ(*c1->cfs_periods, 40u);
  EXPECT_DOUBLE_EQ(*c1->cfs_throttled_seconds, 0.001);
  EXPECT_EQ(*c1->memory_limit_bytes, 268435456u);
  EXPECT_EQ(*c1->memory_used_bytes, 1048576u + 4096u);
  EXPECT_EQ(c1->identity.app_id, "/v2app");
  const auto* c2 = find(reading, "c2");
  ASSERT_NE(c2, nullptr);
  EXPECT_NEAR(*c2->reserved_cores, reservedCoresFromWeight(200), 1e-12);
  EXPECT_FALSE(c2->cfs_throttled_seconds);  // without CFS bandwidth control
  EXPECT_FALSE(c2->memory_limit_bytes);
}

// Docker's systemd cgroup driver, its default on cgroup v2: one scope per
// container in system.slice, next to units that are not containers.
TEST_F(CgroupSourceTest, ReadsDockerSystemdScopesUnderV2) {
  const std::string id = "4f1c2b8e9a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";
  dir_.write("cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
  const std::string scope = "cgroup/system.slice/docker-" + id + ".scope/";
  dir_.write(scope + "cpu.stat",
             "usage_usec 4000000\nuser_usec 3000000\nsystem_usec 1000000\nnr_periods 10\n"
             "nr_throttled 1\nthrottled_usec 500\n");
  dir_.write(scope + "cpu.max", "150000 100000\n");
  dir_.write(scope + "memory.max", "536870912\n");
  dir_.write(scope + "memory.stat", "anon 2097152\nfile 8192\nfile_mapped 8192\n");
  dir_.write(scope + "cgroup.procs", "88\n89\n");
  writeEnviron(dir_, 88, "/shop/api", "shop_api.instance-c1a2b3c4-0000-1111-2222-333344445555._app.1");
  // Units of the slice that are not containers: the daemons, a mount, a
  // scope of another program, a name that only looks like a container's.
  for (const std::string& unit : std::vector<std::string>{
           "docker.service", "containerd.service", "docker-" + id + ".mount", "session-" + id + ".scope",
           "docker-" + id.substr(0, 12) + ".scope", "docker-" + std::string(64, 'G') + ".scope"}) {
    dir_.write("cgroup/system.slice/" + unit + "/cpu.stat", "usage_usec 1\n");
  }
  dir_.write("cgroup/mesos/c1/cpu.stat", "usage_usec 10\n");  // the Mesos layout still read beside it

  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_EQ(source.version(), CgroupSource::Version::kV2);
  EXPECT_TRUE(reading.complete);
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 2u);
  ASSERT_NE(find(reading, "c1"), nullptr);
  const auto* docker = find(reading, id);
  ASSERT_NE(docker, nullptr);
  EXPECT_FALSE(docker->identity.nested);
  EXPECT_DOUBLE_EQ(docker->cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(*docker->reserved_cores, 1.5);
  EXPECT_EQ(*docker->cfs_throttled_periods, 1u);
  EXPECT_EQ(*docker->memory_limit_bytes, 536870912u);
  EXPECT_EQ(*docker->memory_used_bytes, 2097152u + 8192u);
  EXPECT_EQ(docker->identity.app_id, "/shop/api");
  EXPECT_EQ(docker->identity.task_id, "shop_api.instance-c1a2b3c4-0000-1111-2222-333344445555._app.1");
}

// The same driver on cgroup v1: the scope in each controller's hierarchy.
TEST_F(CgroupSourceTest, ReadsDockerSystemdScopesUnderV1) {
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  writeV1(dir_, "system.slice/docker-" + id + ".scope",
          {.usage_ns = 6'000'000'000, .quota = "50000", .limit = "104857600", .rss = 4096, .procs = "91\n"});
  writeV1(dir_, "system.slice/docker.service", {.usage_ns = 1});
  writeEnviron(dir_, 91, "/billing", "billing.marathon-11111111-2222-3333-4444-555555555555");

  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_EQ(source.version(), CgroupSource::Version::kV1);
  EXPECT_TRUE(reading.errors.empty()) << reading.errors.front().message();
  ASSERT_EQ(reading.containers.size(), 1u);
  const auto& docker = reading.containers[0];
  EXPECT_EQ(docker.identity.container_id, id);
  EXPECT_DOUBLE_EQ(docker.cpu_seconds, 6.0);
  EXPECT_DOUBLE_EQ(*docker.reserved_cores, 0.5);
  EXPECT_EQ(*docker.memory_limit_bytes, 104857600u);
  EXPECT_EQ(*docker.memory_used_bytes, 4096u);
  EXPECT_EQ(docker.identity.app_id, "/billing");
}

TEST_F(CgroupSourceTest, RetriesAnUnknownIdentityOnlyAfterTheRetryInterval) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1, .procs = "501\n"});
  auto o = options();
  o.identity_retry = std::chrono::seconds(30);
  CgroupSource source(fs_, clock_, o);
  EXPECT_EQ(source.read().containers[0].identity.app_id, "");  // no such process yet
  writeEnviron(dir_, 501, "/late", "");
  clock_.advance(std::chrono::seconds(10));
  EXPECT_EQ(source.read().containers[0].identity.app_id, "");  // not retried yet
  clock_.advance(std::chrono::seconds(25));
  EXPECT_EQ(source.read().containers[0].identity.app_id, "/late");
}

TEST_F(CgroupSourceTest, RereadsLimitsOnlyEveryLimitsRefresh) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1, .quota = "50000", .shares = 512, .limit = "1000"});
  auto o = options();
  o.limits_refresh = std::chrono::seconds(60);
  CgroupSource source(fs_, clock_, o);
  EXPECT_DOUBLE_EQ(*source.read().containers[0].reserved_cores, 0.5);
  dir_.write("cgroup/cpu/mesos/c1/cpu.cfs_quota_us", "200000\n");  // the container was updated
  dir_.write("cgroup/cpu/mesos/c1/cpu.shares", "2048\n");
  dir_.write("cgroup/memory/mesos/c1/memory.limit_in_bytes", "2000\n");
  dir_.write("cgroup/cpuacct/mesos/c1/cpuacct.usage", "2000000000\n");
  clock_.advance(std::chrono::seconds(10));
  const SourceReading soon = source.read();
  EXPECT_DOUBLE_EQ(soon.containers[0].cpu_seconds, 2.0);      // usage: every read
  EXPECT_DOUBLE_EQ(*soon.containers[0].reserved_cores, 0.5);  // limits: not yet
  clock_.advance(std::chrono::seconds(55));
  const SourceReading later = source.read();
  EXPECT_DOUBLE_EQ(*later.containers[0].reserved_cores, 2.0);
  EXPECT_EQ(*later.containers[0].memory_limit_bytes, 2000u);
}

TEST_F(CgroupSourceTest, SharesWhenTheKernelHasNoCfsQuotaFile) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1, .shares = 2048});
  dir_.remove("cgroup/cpu/mesos/c1/cpu.cfs_quota_us");
  dir_.remove("cgroup/cpu/mesos/c1/cpu.cfs_period_us");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty());
  EXPECT_DOUBLE_EQ(*reading.containers[0].reserved_cores, 2.0);
}

TEST_F(CgroupSourceTest, AContainerWithAnUnreadableUsageFileIsKeptNotVanished) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1});
  dir_.write("cgroup/cpuacct/mesos/c1/cpuacct.usage", "garbage\n");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.complete);
  EXPECT_TRUE(reading.containers.empty());
  EXPECT_EQ(reading.unreadable, (std::vector<std::string>{"c1"}));
}

TEST_F(CgroupSourceTest, MissingHierarchiesLeaveFiguresUnknownWithoutErrors) {
  dir_.write("cgroup/cpuacct/mesos/c1/cpuacct.usage", "5000000000\n");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty());
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_FALSE(reading.containers[0].reserved_cores);
  EXPECT_FALSE(reading.containers[0].memory_used_bytes);
}

TEST_F(CgroupSourceTest, MalformedFilesAreReportedAndOnlyTheirFiguresSkipped) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1, .quota = "50000", .limit = "lots", .procs = "abc\n"});
  dir_.write("cgroup/cpu/mesos/c1/cpu.stat", "nr_periods many\nnr_throttled 1\nthrottled_time soon\n");
  writeV1(dir_, "mesos/c2", {.usage_ns = 1});
  dir_.write("cgroup/cpuacct/mesos/c2/cpuacct.usage", "garbage\n");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  ASSERT_EQ(reading.containers.size(), 1u);  // c2's CPU time is unusable: skipped
  const auto& c1 = reading.containers[0];
  EXPECT_DOUBLE_EQ(*c1.reserved_cores, 0.5);
  EXPECT_FALSE(c1.cfs_periods);
  EXPECT_FALSE(c1.cfs_throttled_seconds);
  EXPECT_FALSE(c1.memory_limit_bytes);
  ASSERT_EQ(reading.errors.size(), 5u);  // cpu.stat's two, memory, cgroup.procs, cpuacct.usage
  std::set<std::string> named;
  for (const auto& error : reading.errors) {
    EXPECT_EQ(error.kind(), ErrorKind::kMalformed) << error.message();
    for (const char* file : {"cpu.stat", "memory", "cgroup.procs", "cpuacct.usage"}) {
      if (error.message().find(file) != std::string::npos) named.insert(file);
    }
  }
  EXPECT_EQ(named.size(), 4u);
}

TEST_F(CgroupSourceTest, AMalformedRequestIsReportedAndTheLimitKept) {
  writeV1(dir_, "mesos/c1", {.usage_ns = 1, .quota = "210000", .limit = "570425344", .soft_limit = "some"});
  dir_.write("cgroup/cpu/mesos/c1/cpu.shares", "many\n");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  ASSERT_EQ(reading.containers.size(), 1u);
  const auto& c1 = reading.containers[0];
  EXPECT_DOUBLE_EQ(*c1.reserved_cores, 2.1);  // no request known: the limit, as before requests were read
  EXPECT_DOUBLE_EQ(*c1.limit_cores, 2.1);
  EXPECT_FALSE(c1.memory_request_bytes);
  EXPECT_EQ(*c1.memory_limit_bytes, 570425344u);
  ASSERT_EQ(reading.errors.size(), 2u);
  EXPECT_NE(reading.errors[0].message().find("cpu.shares"), std::string::npos) << reading.errors[0].message();
  EXPECT_NE(reading.errors[1].message().find("memory.soft_limit_in_bytes"), std::string::npos)
      << reading.errors[1].message();
}

// A file system where chosen paths have just disappeared, as when a
// container exits between the directory listing and the reads.
class VanishingFileSystem final : public FileSystem {
 public:
  explicit VanishingFileSystem(std::string gone) : gone_(std::move(gone)) {}
  Status readFile(const std::string& path, std::string& out) const override {
    if (path.find(gone_) != std::string::npos) return Error(ErrorKind::kMissingField, path + ": gone");
    return real_.readFile(path, out);
  }
  Expected<std::vector<std::string>> listDirectories(const std::string& path) const override {
    return real_.listDirectories(path);
  }
  bool isDirectory(const std::string& path) const override { return real_.isDirectory(path); }
  bool exists(const std::string& path) const override { return real_.exists(path); }

 private:
  std::string gone_;
  RealFileSystem real_;
};

TEST_F(CgroupSourceTest, AContainerVanishingMidReadIsSkippedSilently) {
  writeV1(dir_, "mesos/stays", {.usage_ns = 1});
  writeV1(dir_, "mesos/goes", {.usage_ns = 1});
  VanishingFileSystem fs("/goes/");
  CgroupSource source(fs, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_TRUE(reading.errors.empty());
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_EQ(reading.containers[0].identity.container_id, "stays");
}

TEST_F(CgroupSourceTest, ARootWithoutHierarchiesIsAnIncompleteReading) {
  dir_.makeDirectories("cgroup");
  CgroupSource source(fs_, clock_, options());
  const SourceReading reading = source.read();
  EXPECT_FALSE(reading.complete);
  ASSERT_EQ(reading.errors.size(), 1u);
  EXPECT_EQ(reading.errors[0].kind(), ErrorKind::kUnreadable);
  EXPECT_NE(reading.errors[0].message().find(dir_.path() + "/cgroup"), std::string::npos);
}

TEST_F(CgroupSourceTest, PrefixMayBeANestedPath) {
  writeV1(dir_, "scratch-1/mesos/c9", {.usage_ns = 1});
  auto o = options();
  o.prefix = "scratch-1/mesos";
  CgroupSource source(fs_, clock_, o);
  const SourceReading reading = source.read();
  ASSERT_EQ(reading.containers.size(), 1u);
  EXPECT_EQ(reading.containers[0].identity.container_id, "c9");
}

}  // namespace
}  // namespace rightsize::agent
