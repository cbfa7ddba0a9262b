// The shared Redis connection against a real redis-server on loopback:
// replies copied out of hiredis, pipelining, the handshake (AUTH, SELECT,
// the caller's connect commands), reconnection, timeouts and the mapping of
// failures to ErrorKind. URL parsing is tested on literal strings. (The
// sizer's store and the agent's checkpoint test what they build on it.)

#include "rightsize/core/redis.h"

#include <gtest/gtest.h>

#include "rightsize/testing/redis_harness.h"

namespace rightsize {
namespace {

using namespace std::chrono_literals;
using rightsize::testing::RedisConnection;
using rightsize::testing::RedisServer;
using rightsize::testing::RedisServerOptions;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { startServer({}); }

  void startServer(const RedisServerOptions& server_options) {
    auto server = RedisServer::start(server_options);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    auto raw = RedisConnection::open(server_->host(), server_->port(), 5s, server_options.password);
    ASSERT_TRUE(raw.ok()) << raw.error().message();
    raw_ = std::move(*raw);
    options_.host = server_->host();
    options_.port = server_->port();
    options_.timeout = 1s;
  }

  RedisConnectionOptions options_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisConnection> raw_;
};

TEST_F(RedisClientTest, PipelinesCommandsAndCopiesEveryKindOfReply) {
  RedisClient client(options_);
  EXPECT_FALSE(client.connected());
  auto replies = client.pipeline({{"SET", "k", std::string("a\0b", 3)},
                                  {"GET", "k"},
                                  {"GET", "missing"},
                                  {"INCR", "n"},
                                  {"HSET", "h", "f1", "v1", "f2", "v2"},
                                  {"HGETALL", "h"},
                                  {"INCR", "k"}},
                                 "testing");
  ASSERT_TRUE(replies.ok()) << replies.error().message();
  ASSERT_EQ(replies->size(), 7u);
  const auto& r = *replies;
  EXPECT_EQ(r[0].type, RedisReply::Type::kStatus);
  EXPECT_EQ(r[0].text, "OK");
  EXPECT_TRUE(r[1].isString());
  EXPECT_EQ(r[1].text, std::string("a\0b", 3));  // binary-safe
  EXPECT_EQ(r[2].type, RedisReply::Type::kNil);
  EXPECT_TRUE(r[3].isInteger());
  EXPECT_EQ(r[3].integer, 1);
  EXPECT_EQ(r[4].integer, 2);
  ASSERT_TRUE(r[5].isArray());
  ASSERT_EQ(r[5].elements.size(), 4u);
  EXPECT_EQ(r[5].elements[0].text, "f1");
  EXPECT_EQ(r[5].elements[3].text, "v2");
  EXPECT_TRUE(r[6].isError("ERR"));  // an error reply is a reply, not a failure
  EXPECT_TRUE(client.connected());

  const Error error = client.replyError(r[6], "counting");
  EXPECT_EQ(error.kind(), ErrorKind::kMalformed);  // "value is not an integer": the key holds something else
  EXPECT_EQ(error.message().rfind(client.where() + ": counting: Redis answered ERR", 0), 0u) << error.message();
}

TEST_F(RedisClientTest, MapsRepliesThatHoldSomethingElseToMalformed) {
  ASSERT_EQ(raw_->text({"SET", "s", "x"}), "OK");
  RedisClient client(options_);
  auto reply = client.command({"HGETALL", "s"}, "reading s");
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->isError("WRONGTYPE"));
  EXPECT_EQ(client.replyError(*reply, "reading s").kind(), ErrorKind::kMalformed);
  EXPECT_EQ(client.where(), "redis 127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(RedisClientTest, SelectsTheDatabaseAndRunsTheConnectCommandsOnEveryConnection) {
  options_.database = 3;
  RedisClient client(options_);
  int checks = 0;
  client.setConnectCommands({{"INCR", "connections"}}, [&checks](const RedisClient::Replies& replies) -> Status {
    ++checks;
    EXPECT_EQ(replies.size(), 1u);
    return Status::success();
  });
  ASSERT_TRUE(client.command({"SET", "here", "1"}, "writing").ok());
  EXPECT_EQ(raw_->text({"EXISTS", "here"}), "0");
  ASSERT_EQ(raw_->text({"SELECT", "3"}), "OK");
  EXPECT_EQ(raw_->text({"GET", "here"}), "1");

  client.disconnect();
  ASSERT_TRUE(client.command({"PING"}, "pinging").ok());
  EXPECT_EQ(raw_->text({"GET", "connections"}), "2");
  EXPECT_EQ(checks, 2);
}

TEST_F(RedisClientTest, AConnectCheckThatRefusesDropsTheConnection) {
  RedisClient client(options_);
  client.setConnectCommands({{"PING"}}, [&client](const RedisClient::Replies&) -> Status {
    return client.malformed("connecting", "refused by the test");
  });
  auto reply = client.command({"PING"}, "pinging");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind(), ErrorKind::kMalformed);
  EXPECT_NE(reply.error().message().find("pinging: " + client.where() + ": connecting: refused by the test"),
            std::string::npos)
      << reply.error().message();
  EXPECT_FALSE(client.connected());
}

TEST_F(RedisClientTest, AuthenticatesAndNeverShowsThePassword) {
  startServer({.password = "pw-5e1f"});
  RedisClient without(options_);
  auto refused = without.command({"PING"}, "pinging");
  ASSERT_TRUE(refused.ok());  // no AUTH sent: Redis answers NOAUTH
  EXPECT_EQ(without.replyError(*refused, "pinging").kind(), ErrorKind::kInvalidArgument);

  options_.password = "wrong-pw-93c2";
  RedisClient wrong(options_);
  auto failed = wrong.command({"PING"}, "pinging");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(failed.error().message().find("AUTH refused"), std::string::npos) << failed.error().message();
  EXPECT_EQ(failed.error().message().find("wrong-pw-93c2"), std::string::npos) << failed.error().message();

  options_.password = "pw-5e1f";
  RedisClient right(options_);
  auto pong = right.command({"PING"}, "pinging");
  ASSERT_TRUE(pong.ok()) << pong.error().message();
  EXPECT_EQ(pong->text, "PONG");
}

TEST_F(RedisClientTest, AStoppedRedisIsUnavailableAndTheClientReconnectsWhenItReturns) {
  RedisClient client(options_);
  ASSERT_TRUE(client.command({"PING"}, "pinging").ok());
  ASSERT_TRUE(server_->stop().ok());
  auto broken = client.command({"PING"}, "pinging");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().kind(), ErrorKind::kUnavailable);
  EXPECT_FALSE(client.connected());
  auto refused = client.command({"PING"}, "pinging");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(refused.error().message().find("pinging: " + client.where() + ": connecting: "), std::string::npos)
      << refused.error().message();

  ASSERT_TRUE(server_->restart().ok()) << server_->log();
  auto pong = client.command({"PING"}, "pinging");
  ASSERT_TRUE(pong.ok()) << pong.error().message();
}

TEST_F(RedisClientTest, ASlowRedisTimesOutWithinTheTimeout) {
  options_.timeout = 200ms;
  RedisClient client(options_);
  ASSERT_TRUE(client.command({"PING"}, "pinging").ok());
  ASSERT_TRUE(raw_->send({"DEBUG", "SLEEP", "1"}).ok());
  const auto start = std::chrono::steady_clock::now();
  auto slow = client.command({"PING"}, "pinging");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(slow.error().message().find("no answer within 200ms"), std::string::npos) << slow.error().message();
  EXPECT_LT(elapsed, 800ms);
  ASSERT_TRUE(raw_->receive().ok());
  EXPECT_TRUE(client.command({"PING"}, "pinging").ok());
}

TEST(ParseRedisUrlCoreTest, ReadsHostPortDatabaseAndRefusesPasswords) {
  auto parsed = parseRedisUrl("redis://[::1]:6390/4");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 6390);
  EXPECT_EQ(parsed->database, 4);
  EXPECT_TRUE(parsed->password.empty());
  EXPECT_EQ(RedisClient(*parsed).where(), "redis [::1]:6390");

  auto secret = parseRedisUrl("redis://:hunter2@redis:6379/0");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(secret.error().message().find("hunter2"), std::string::npos);
  EXPECT_FALSE(parseRedisUrl("rediss://redis:6379").ok());
}

}  // namespace
}  // namespace rightsize
