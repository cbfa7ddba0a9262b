// The agent's checkpoint store against a real redis-server on loopback:
// the key and its TTL, whole replacement, a key holding something else, and
// a Redis that stops and comes back. Expiry is Redis' own time: read, not
// waited for.

#include "rightsize/agent/redis_checkpoint_store.h"

#include <gtest/gtest.h>

#include "rightsize/testing/redis_harness.h"

namespace rightsize::agent {
namespace {

using namespace std::chrono_literals;
using rightsize::testing::RedisConnection;
using rightsize::testing::RedisServer;

class RedisCheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    auto raw = RedisConnection::open(server_->host(), server_->port());
    ASSERT_TRUE(raw.ok()) << raw.error().message();
    raw_ = std::move(*raw);
  }

  std::unique_ptr<RedisCheckpointStore> store(const std::string& key = "test:agent:h1") const {
    RedisConnectionOptions options;
    options.host = server_->host();
    options.port = server_->port();
    options.timeout = 1s;
    return std::make_unique<RedisCheckpointStore>(options, key);
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisConnection> raw_;
};

TEST(CheckpointKeyTest, IsThePrefixAgentAndTheHost) {
  EXPECT_EQ(checkpointKey("rightsize:", "agent-7.dc1"), "rightsize:agent:agent-7.dc1");
}

TEST_F(RedisCheckpointStoreTest, WritesOneHashWithATtlAndReadsItBack) {
  auto s = store();
  auto empty = s->load();
  ASSERT_TRUE(empty.ok()) << empty.error().message();
  EXPECT_TRUE(empty->empty());

  const std::map<std::string, std::string> entries = {{"c-web", R"({"version":1})"}, {"c-batch", "two"}};
  ASSERT_TRUE(s->replace(entries, 15min).ok());
  EXPECT_EQ(raw_->strings({"HKEYS", "test:agent:h1"}, true), (std::vector<std::string>{"c-batch", "c-web"}));
  const long long ttl_ms = std::stoll(raw_->text({"PTTL", "test:agent:h1"}));
  EXPECT_GT(ttl_ms, 14 * 60 * 1000);
  EXPECT_LE(ttl_ms, 15 * 60 * 1000);
  auto loaded = store()->load();  // a fresh connection
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded, entries);
  EXPECT_EQ(s->describe(), "redis 127.0.0.1:" + std::to_string(server_->port()) + " key test:agent:h1");
}

TEST_F(RedisCheckpointStoreTest, AReplacementDropsVanishedContainersAndRenewsTheTtl) {
  auto s = store();
  ASSERT_TRUE(s->replace({{"c-old", "1"}, {"c-kept", "1"}}, 1min).ok());
  ASSERT_TRUE(s->replace({{"c-kept", "2"}, {"c-new", "3"}}, 10min).ok());
  auto loaded = s->load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (std::map<std::string, std::string>{{"c-kept", "2"}, {"c-new", "3"}}));
  EXPECT_GT(std::stoll(raw_->text({"PTTL", "test:agent:h1"})), 9 * 60 * 1000);
  // No container left: no key.
  ASSERT_TRUE(s->replace({}, 10min).ok());
  EXPECT_EQ(raw_->text({"EXISTS", "test:agent:h1"}), "0");
}

TEST_F(RedisCheckpointStoreTest, AKeyHoldingSomethingElseIsMalformedAndTheNextWriteReplacesIt) {
  ASSERT_EQ(raw_->text({"SET", "test:agent:h1", "not a hash"}), "OK");
  auto s = store();
  auto loaded = s->load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kMalformed) << loaded.error().message();
  EXPECT_NE(loaded.error().message().find("loading the checkpoint test:agent:h1"), std::string::npos)
      << loaded.error().message();
  ASSERT_TRUE(s->replace({{"c1", "x"}}, 1min).ok());
  EXPECT_EQ(raw_->text({"TYPE", "test:agent:h1"}), "hash");
}

TEST_F(RedisCheckpointStoreTest, AStoppedRedisIsUnavailableUntilItComesBack) {
  auto s = store();
  ASSERT_TRUE(s->replace({{"c1", "x"}}, 1min).ok());
  ASSERT_TRUE(server_->stop().ok());
  const Status written = s->replace({{"c1", "y"}}, 1min);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().kind(), ErrorKind::kUnavailable) << written.error().message();
  EXPECT_NE(written.error().message().find("writing the checkpoint test:agent:h1"), std::string::npos)
      << written.error().message();
  auto loaded = s->load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kUnavailable);

  ASSERT_TRUE(server_->restart().ok()) << server_->log();
  ASSERT_TRUE(s->replace({{"c1", "z"}}, 1min).ok());
  loaded = s->load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->at("c1"), "z");
}

}  // namespace
}  // namespace rightsize::agent
