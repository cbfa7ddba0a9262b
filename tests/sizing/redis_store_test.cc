// The Redis state store against a real redis-server started for each test:
// exact keys and fields, fencing by the leader lease, the decisions stream,
// and a Redis that stops, restarts or turns slow. Expiry and timeouts are
// Redis' own time and the socket's: tests poll them with bounded deadlines.

#include "rightsize/sizing/redis_store.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/record_codec.h"
#include "rightsize/sizing/resource_limits.h"
#include "rightsize/testing/redis_harness.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;
using rightsize::testing::RedisConnection;
using rightsize::testing::RedisServer;
using rightsize::testing::RedisServerOptions;
using Strings = std::vector<std::string>;

TimePoint at(std::int64_t nanoseconds) { return TimePoint(Duration(nanoseconds)); }

AppRecord fullRecord(const std::string& app_id) {
  AppRecord r;
  r.app_id = app_id;
  r.state = AppState::kDeploying;
  r.out_of_band_since = at(1'700'000'000'123'456'789);
  r.out_of_band_direction = "down";
  r.limit_out_of_band_since = at(1'700'000'100'000'000'000);
  r.limit_out_of_band_direction = "up";
  r.intent_cpus = 0.35;
  r.intent_mem_mib = 1536.5;
  r.intent_cpus_limit = kUnlimited;
  r.intent_mem_limit_mib = 3072;
  r.intent_id = "intent-7f3a";
  r.deployment_id = "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43";
  r.intent_at = at(1'700'000'600'000'000'001);
  r.last_change_at = at(1'699'990'000'500'000'000);
  r.cooldown_until = at(1'700'001'800'000'000'000);
  r.resizes = 12;
  r.refused_version = "2026-11-20T10:00:00.000Z";
  r.refusal = R"(HTTP 422: Object is not valid [{"path":"/mem","errors":["error.min"]}])";
  r.refused_until = at(1'700'001'500'000'000'000);
  r.oom_task_id = "prod_web.instance-1._app.1";
  r.mem_hold_mib = 1248;
  r.mem_hold_until = at(1'700'086'400'000'000'000);
  r.oom_streak = 3;
  r.shrunk_from_mem_mib = 4096;
  r.mem_shrunk_at = at(1'699'990'000'500'000'000);
  r.shrunk_from_cpus = 4;
  r.cpu_shrunk_at = at(1'699'990'100'000'000'000);
  r.failed_version = "2026-11-21T08:00:00.000Z";
  r.failed_until = at(1'700'090'000'000'000'000);
  r.downsizes = {at(1'699'950'000'000'000'000), at(1'699'990'000'500'000'000)};
  r.intent_instances = 5;
  r.scale_since = at(1'700'000'300'000'000'000);
  r.scale_direction = "out";
  r.last_scale_at = at(1'699'999'000'000'000'000);
  r.scales = 4;
  r.born_at = at(1'699'900'000'000'000'000);
  r.shrink_proved_wrong_at = at(1'699'995'000'250'000'000);
  return r;
}

AppRecord minimalRecord(const std::string& app_id) {
  AppRecord r;
  r.app_id = app_id;
  return r;
}

Decision resize(const std::string& app_id, std::int64_t seconds, std::uint64_t token) {
  Decision d;
  d.at = at(seconds * 1'000'000'000 + 250'000'000);
  d.app_id = app_id;
  d.action = DecisionAction::kResize;
  d.from_cpus = 1.0;
  d.to_cpus = 0.5;
  d.from_mem_mib = 1024;
  d.to_mem_mib = 768.25;
  d.reason = "cpu lying factor 0.93 above band [-0.1, 0.6] for 12m";
  d.deployment_id = "dep-1";
  d.fencing_token = token;
  return d;
}

class RedisStoreTest : public ::testing::Test {
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
    options_.prefix = "test:";
    options_.timeout = 1s;
  }

  std::unique_ptr<RedisStateStore> store() const { return std::make_unique<RedisStateStore>(options_); }

  // The lease, or a lease no one holds (token 0) after a failed assertion.
  static Lease acquire(RedisStateStore& store, const std::string& owner, Duration ttl = 30s) {
    auto lease = store.acquireLease(owner, ttl);
    EXPECT_TRUE(lease.ok()) << lease.error().message();
    if (!lease.ok()) return {};
    EXPECT_TRUE(lease->has_value()) << owner << " did not get the lease";
    return lease->value_or(Lease{});
  }

  // Polls Redis' own clock (bounded) until the lease key is gone.
  bool waitForExpiry(std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (raw_->text({"EXISTS", "test:leader"}) == "0") return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  std::map<std::string, std::string> hash(const std::string& key) {
    const Strings flat = raw_->strings({"HGETALL", key});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) out[flat[i]] = flat[i + 1];
    return out;
  }

  Strings keys() { return raw_->strings({"KEYS", "*"}, true); }

  RedisOptions options_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisConnection> raw_;
};

TEST_F(RedisStoreTest, LoadAppsOnAnEmptyRedisIsEmpty) {
  auto loaded = store()->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_TRUE(loaded->empty());
  auto decisions = store()->recentDecisions(10);
  ASSERT_TRUE(decisions.ok()) << decisions.error().message();
  EXPECT_TRUE(decisions->empty());
}

TEST_F(RedisStoreTest, RecordsRoundTripWithEveryOptionalFieldSetOrUnset) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  const std::vector<AppRecord> records = {fullRecord("/prod/web"), minimalRecord("/prod/db"),
                                          fullRecord("/team a/ünïcode")};
  ASSERT_TRUE(s->saveApps(records, lease).ok());

  auto loaded = store()->loadApps();  // a fresh connection: nothing cached
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 3u);
  for (const auto& r : records) EXPECT_EQ(loaded->at(r.app_id), r) << r.app_id;
}

TEST_F(RedisStoreTest, SavingAgainReplacesTheWholeRecord) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({fullRecord("/web")}, lease).ok());
  AppRecord cleared = minimalRecord("/web");
  cleared.resizes = 13;
  ASSERT_TRUE(s->saveApps({cleared}, lease).ok());
  auto loaded = s->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->at("/web"), cleared);  // no field of the old record left behind
}

TEST_F(RedisStoreTest, KeysAndFieldsAreExactlyAsDocumentedUnderThePrefix) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  EXPECT_EQ(lease.token, 1u);
  ASSERT_TRUE(s->saveApps({fullRecord("/web"), minimalRecord("/db")}, lease).ok());
  ASSERT_TRUE(s->appendDecision(resize("/web", 1'700'000'000, lease.token), lease).ok());

  EXPECT_EQ(keys(), (Strings{"test:app:/db", "test:app:/web", "test:apps", "test:decisions", "test:leader",
                             "test:leader:token"}));
  EXPECT_EQ(raw_->text({"TYPE", "test:app:/web"}), "hash");
  EXPECT_EQ(raw_->text({"TYPE", "test:apps"}), "set");
  EXPECT_EQ(raw_->text({"TYPE", "test:decisions"}), "stream");
  EXPECT_EQ(raw_->text({"GET", "test:leader"}), "sizer-a 1");
  EXPECT_EQ(raw_->text({"GET", "test:leader:token"}), "1");
  EXPECT_EQ(raw_->strings({"SMEMBERS", "test:apps"}, true), (Strings{"/db", "/web"}));

  const std::map<std::string, std::string> full = {
      {"app_id", "/web"},
      {"state", "deploying"},
      {"out_of_band_since", "1700000000.123456789"},
      {"out_of_band_direction", "down"},
      {"limit_out_of_band_since", "1700000100"},
      {"limit_out_of_band_direction", "up"},
      {"intent_cpus", "0.35"},
      {"intent_mem_mib", "1536.5"},
      {"intent_cpus_limit", "unlimited"},
      {"intent_mem_limit_mib", "3072"},
      {"intent_id", "intent-7f3a"},
      {"deployment_id", "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"},
      {"intent_at", "1700000600.000000001"},
      {"last_change_at", "1699990000.5"},
      {"cooldown_until", "1700001800"},
      {"resizes", "12"},
      {"refused_version", "2026-11-20T10:00:00.000Z"},
      {"refusal", R"(HTTP 422: Object is not valid [{"path":"/mem","errors":["error.min"]}])"},
      {"refused_until", "1700001500"},
      {"oom_task_id", "prod_web.instance-1._app.1"},
      {"mem_hold_mib", "1248"},
      {"mem_hold_until", "1700086400"},
      {"oom_streak", "3"},
      {"shrunk_from_mem_mib", "4096"},
      {"mem_shrunk_at", "1699990000.5"},
      {"shrunk_from_cpus", "4"},
      {"cpu_shrunk_at", "1699990100"},
      {"failed_version", "2026-11-21T08:00:00.000Z"},
      {"failed_until", "1700090000"},
      {"downsizes", "1699950000 1699990000.5"},
      {"intent_instances", "5"},
      {"scale_since", "1700000300"},
      {"scale_direction", "out"},
      {"last_scale_at", "1699999000"},
      {"scales", "4"},
      {"born_at", "1699900000"},
      {"shrink_proved_wrong_at", "1699995000.25"},
  };
  EXPECT_EQ(hash("test:app:/web"), full);
  // Unset optional fields are absent, not empty.
  EXPECT_EQ(hash("test:app:/db"), (std::map<std::string, std::string>{{"app_id", "/db"}, {"resizes", "0"}}));

  auto reply = raw_->run({"XREVRANGE", "test:decisions", "+", "-", "COUNT", "1"});
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->elements.size(), 1u);
  const RedisReply& fields = reply->elements[0].elements[1];
  Strings names;
  for (std::size_t i = 0; i < fields.elements.size(); i += 2) names.push_back(fields.elements[i].text);
  // The names of /v1/decisions.
  EXPECT_EQ(names, (Strings{"timestamp", "app_id", "action", "from_cpus", "to_cpus", "from_mem", "to_mem", "reason",
                            "deployment_id", "fencing_token"}));
  EXPECT_EQ(fields.elements[1].text, "1700000000.25");
}

TEST_F(RedisStoreTest, UsesTheConfiguredDatabase) {
  options_.database = 3;
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({minimalRecord("/web")}, lease).ok());
  EXPECT_TRUE(keys().empty());
  EXPECT_EQ(raw_->text({"SELECT", "3"}), "OK");
  EXPECT_EQ(keys(), (Strings{"test:app:/web", "test:apps", "test:leader", "test:leader:token"}));
}

TEST_F(RedisStoreTest, WithoutTheLeaseNothingIsWritten) {
  auto s = store();
  const Lease never_acquired{"sizer-a", 1};
  const Status saved = s->saveApps({fullRecord("/web"), fullRecord("/db")}, never_acquired);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().kind(), ErrorKind::kConflict);
  EXPECT_NE(saved.error().message().find("held by nobody"), std::string::npos) << saved.error().message();
  EXPECT_EQ(s->saveAppsOneByOne({fullRecord("/web")}, never_acquired).error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(s->appendDecision(resize("/web", 1'700'000'000, 1), never_acquired).error().kind(), ErrorKind::kConflict);
  EXPECT_TRUE(keys().empty());

  // Another sizer holds it: named in the error, and still nothing written.
  auto other = store();
  const Lease held = acquire(*other, "sizer-b");
  ASSERT_TRUE(other->saveApps({minimalRecord("/kept")}, held).ok());
  const Status refused = s->saveApps({fullRecord("/web")}, never_acquired);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kConflict);
  EXPECT_NE(refused.error().message().find("sizer-b with token 1"), std::string::npos) << refused.error().message();
  const Status deleted = s->deleteApp("/kept", never_acquired);
  EXPECT_EQ(deleted.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(keys(), (Strings{"test:app:/kept", "test:apps", "test:leader", "test:leader:token"}));
}

TEST_F(RedisStoreTest, ASecondSizerCannotAcquireWhileTheFirstHolds) {
  auto a = store();
  auto b = store();
  const Lease first = acquire(*a, "sizer-a");
  for (int i = 0; i < 3; ++i) {
    auto second = b->acquireLease("sizer-b", 30s);
    ASSERT_TRUE(second.ok()) << second.error().message();
    EXPECT_FALSE(second->has_value());
  }
  auto again = a->acquireLease("sizer-a", 30s);  // even the holder: it must renew instead
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(raw_->text({"GET", "test:leader"}), "sizer-a " + std::to_string(first.token));
  // Failed attempts consume no token.
  EXPECT_EQ(raw_->text({"GET", "test:leader:token"}), std::to_string(first.token));
}

TEST_F(RedisStoreTest, AfterReleaseAnotherSizerAcquiresWithALargerToken) {
  auto a = store();
  auto b = store();
  const Lease first = acquire(*a, "sizer-a");
  ASSERT_TRUE(b->releaseLease(Lease{"sizer-b", first.token}).ok());  // not b's: deletes nothing
  EXPECT_EQ(raw_->text({"EXISTS", "test:leader"}), "1");
  ASSERT_TRUE(a->releaseLease(first).ok());
  EXPECT_EQ(raw_->text({"EXISTS", "test:leader"}), "0");
  const Lease second = acquire(*b, "sizer-b");
  EXPECT_GT(second.token, first.token);
  ASSERT_TRUE(b->saveApps({minimalRecord("/web")}, second).ok());
  // The old holder is fenced off.
  const Status stale = a->saveApps({minimalRecord("/web")}, first);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind(), ErrorKind::kConflict);
  EXPECT_NE(stale.error().message().find("sizer-b with token " + std::to_string(second.token)), std::string::npos)
      << stale.error().message();
}

TEST_F(RedisStoreTest, AfterExpiryRenewFailsAndAnotherSizerAcquiresWithALargerToken) {
  auto a = store();
  auto b = store();
  const Lease first = acquire(*a, "sizer-a", 100ms);
  ASSERT_TRUE(waitForExpiry()) << "the 100ms lease did not expire within 5s";

  auto renewed = a->renewLease(first, 30s);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message();
  EXPECT_FALSE(*renewed);
  EXPECT_EQ(raw_->text({"EXISTS", "test:leader"}), "0");  // renew does not resurrect it
  EXPECT_EQ(a->saveApps({minimalRecord("/web")}, first).error().kind(), ErrorKind::kConflict);

  const Lease second = acquire(*b, "sizer-b");
  EXPECT_GT(second.token, first.token);
  renewed = a->renewLease(first, 30s);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
  EXPECT_TRUE(keys() == (Strings{"test:leader", "test:leader:token"}));
}

TEST_F(RedisStoreTest, TheSameOwnerWithAnOlderTokenIsFencedOff) {
  auto s = store();
  const Lease first = acquire(*s, "sizer-a", 100ms);
  ASSERT_TRUE(waitForExpiry());
  const Lease second = acquire(*s, "sizer-a");
  EXPECT_GT(second.token, first.token);
  EXPECT_EQ(s->saveApps({minimalRecord("/web")}, first).error().kind(), ErrorKind::kConflict);
  EXPECT_TRUE(s->saveApps({minimalRecord("/web")}, second).ok());
}

TEST_F(RedisStoreTest, RenewExtendsOnlyTheHeldLease) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a", 2s);
  auto renewed = s->renewLease(lease, 60s);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message();
  EXPECT_TRUE(*renewed);
  EXPECT_GT(std::stoll(raw_->text({"PTTL", "test:leader"})), 2000);
  renewed = s->renewLease(Lease{"sizer-a", lease.token + 1}, 60s);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
  EXPECT_EQ(s->renewLease(lease, 0ms).error().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(RedisStoreTest, DeleteAppRemovesTheRecordAndItsMembership) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({fullRecord("/web"), fullRecord("/db")}, lease).ok());
  ASSERT_TRUE(s->deleteApp("/web", lease).ok());
  auto loaded = s->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->count("/db"), 1u);
  EXPECT_EQ(raw_->text({"EXISTS", "test:app:/web"}), "0");
  EXPECT_EQ(raw_->strings({"SMEMBERS", "test:apps"}), (Strings{"/db"}));
}

TEST_F(RedisStoreTest, ManyRecordsAreSavedInOnePipelineAndLoadedBack) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  std::vector<AppRecord> records;
  for (int i = 0; i < 3000; ++i)
    records.push_back(i % 2 == 0 ? fullRecord("/app-" + std::to_string(i))
                                 : minimalRecord("/app-" + std::to_string(i)));
  ASSERT_TRUE(s->saveApps(records, lease).ok());
  auto loaded = store()->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), records.size());
  for (const auto& r : records) EXPECT_EQ(loaded->at(r.app_id), r);
}

TEST_F(RedisStoreTest, InvalidRecordsAreRefusedBeforeAnythingIsSent) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  AppRecord nan = fullRecord("/nan");
  nan.intent_cpus = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(s->saveApps({minimalRecord("/ok"), nan}, lease).error().kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(s->saveApps({minimalRecord("")}, lease).error().kind(), ErrorKind::kInvalidValue);
  AppRecord no_limit = fullRecord("/no-limit");
  no_limit.intent_mem_limit_mib = 0;
  EXPECT_EQ(s->saveApps({no_limit}, lease).error().kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(raw_->text({"EXISTS", "test:apps"}), "0");
}

TEST_F(RedisStoreTest, AnUnparseableRecordIsSkippedAndTheOthersLoad) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({fullRecord("/good"), fullRecord("/bad-number"), minimalRecord("/bad-type")}, lease).ok());
  raw_->text({"HSET", "test:app:/bad-number", "intent_cpus", "a lot"});
  ASSERT_TRUE(s->saveApps({fullRecord("/bad-downsizes")}, lease).ok());
  raw_->text({"HSET", "test:app:/bad-downsizes", "downsizes", "1700000000 1600000000"});  // out of order
  ASSERT_TRUE(s->saveApps({fullRecord("/bad-limit")}, lease).ok());
  raw_->text({"HSET", "test:app:/bad-limit", "intent_cpus_limit", "infinite"});
  raw_->text({"DEL", "test:app:/bad-type"});
  raw_->text({"SET", "test:app:/bad-type", "not a hash"});
  raw_->text({"SADD", "test:apps", "/no-hash"});
  raw_->text({"HSET", "test:app:/good", "field_from_a_newer_sizer", "ignored"});
  for (int i = 0; i < 2; ++i) {  // the second time without a new warning
    auto loaded = s->loadApps();
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ(loaded->at("/good"), fullRecord("/good"));
  }
}

// A downsize list longer than any budget is no list this sizer wrote, and
// the error says so rather than blaming the order.
TEST(RecordCodecTest, AScaleIntentAndDecisionRoundTripAndBadInstancesAreRefused) {
  AppRecord record = minimalRecord("/web");
  record.intent_cpus = 1;
  record.intent_mem_mib = 1024;
  record.intent_instances = 3;
  auto parsed = parseAppRecord("/web", "app:/web", appRecordFields(record));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, record);
  for (const char* bad : {"-1", "2.5", "10001", " 3"}) {
    auto refused = parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {"intent_instances", bad}});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message().find("app:/web field intent_instances"), std::string::npos)
        << refused.error().message();
  }
  Decision scale = resize("/web", 1'700'000'000, 2);
  scale.action = DecisionAction::kScale;
  scale.from_instances = 2;
  scale.to_instances = 3;
  auto decision = parseDecision("decisions 1-0", decisionFields(scale));
  ASSERT_TRUE(decision.ok()) << decision.error().message();
  EXPECT_EQ(*decision, scale);
}

// What a shrink took an app from is a size: a damaged one (0, negative, not
// a number) is refused naming the field, never searched back towards.
TEST(RecordCodecTest, WhatAShrinkTookAwayIsASizeAboveZero) {
  for (const char* field : {"shrunk_from_cpus", "shrunk_from_mem_mib"}) {
    for (const char* bad : {"0", "-4", "NaN", "four"}) {
      auto refused = parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {field, bad}});
      ASSERT_FALSE(refused.ok()) << field << " " << bad;
      EXPECT_NE(refused.error().message().find(std::string("app:/web field ") + field), std::string::npos)
          << refused.error().message();
      EXPECT_NE(refused.error().message().find("is not a number above 0"), std::string::npos)
          << refused.error().message();
    }
    auto loaded = parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {field, "4"}});
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  }
}

// A bad value of a field whose loss only makes the sizer wait longer or
// count less is forgotten, the rest kept (a failed deployment's hold stays);
// one whose loss could make it act sooner refuses the record as before.
TEST(RecordCodecTest, ABadFieldThatOnlyDelaysIsForgottenTheRestKept) {
  const RecordFields fields = {{"app_id", "/web"}, {"failed_version", "v1"}, {"failed_until", "1700086400"},
                               {"resizes", "1.0"}, {"scales", "-1"},         {"out_of_band_since", "soon"}};
  std::vector<Error> forgotten;
  auto parsed = parseAppRecord("/web", "app:/web", fields, &forgotten);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->failed_version, "v1");
  EXPECT_EQ(parsed->failed_until, fromUnixSeconds(1'700'086'400));
  EXPECT_EQ(parsed->resizes, 0u);
  EXPECT_EQ(parsed->scales, 0u);
  EXPECT_FALSE(parsed->out_of_band_since);
  ASSERT_EQ(forgotten.size(), 3u);
  EXPECT_NE(forgotten[0].message().find("app:/web field resizes"), std::string::npos) << forgotten[0].message();
  EXPECT_NE(forgotten[0].message().find("; forgotten, the rest of app:/web kept"), std::string::npos);
  // Without the list, an error as before; and a hold's bad value refuses it.
  EXPECT_FALSE(parseAppRecord("/web", "app:/web", fields));
  forgotten.clear();
  EXPECT_FALSE(parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {"cooldown_until", "soon"}}, &forgotten));
  EXPECT_TRUE(forgotten.empty());
}

TEST(RecordCodecTest, MoreDownsizesThanTheLargestBudgetAreRefusedAsSuch) {
  std::string times;
  for (int i = 0; i <= kMaxDownsizes; ++i) times += (times.empty() ? "" : " ") + std::to_string(1'700'000'000 + i);
  auto parsed = parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {"downsizes", times}});
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("is not a list of at most 1000 times (the largest budget)"),
            std::string::npos)
      << parsed.error().message();
  const std::string fewer = times.substr(0, times.rfind(' '));
  auto loaded = parseAppRecord("/web", "app:/web", {{"app_id", "/web"}, {"downsizes", fewer}});
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->downsizes.size(), static_cast<std::size_t>(kMaxDownsizes));
}

// What older sizers wrote: app hashes without "state" (nor the refusal
// fields), decisions named "at", "from_mem_mib", "to_mem_mib".
TEST_F(RedisStoreTest, RecordsAndDecisionsOfOlderSizersLoad) {
  raw_->text({"SADD", "test:apps", "/web"});
  raw_->text({"HSET", "test:app:/web", "app_id", "/web", "out_of_band_direction", "down", "intent_cpus", "0.35",
              "intent_mem_mib", "1536.5", "deployment_id", "dep-1", "cooldown_until", "1700001800", "resizes", "3"});
  auto loaded = store()->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  const AppRecord& web = loaded->at("/web");
  EXPECT_EQ(web.state, std::nullopt);
  EXPECT_EQ(web.deployment_id, "dep-1");
  ASSERT_TRUE(web.intent_cpus);
  EXPECT_DOUBLE_EQ(*web.intent_cpus, 0.35);
  EXPECT_EQ(web.resizes, 3u);
  EXPECT_FALSE(web.intent_instances);  // a resize, as every intent of older sizers
  EXPECT_EQ(web.scales, 0u);
  EXPECT_TRUE(web.refused_version.empty());
  EXPECT_FALSE(web.refused_until);

  Strings xadd = {"XADD", "test:decisions", "*"};
  const std::vector<std::pair<std::string, std::string>> old_fields = {
      {"at", "1700000000.25"},    {"app_id", "/web"},       {"action", "resize"},     {"from_cpus", "1"},
      {"to_cpus", "0.5"},         {"from_mem_mib", "1024"}, {"to_mem_mib", "768.25"}, {"reason", "old"},
      {"deployment_id", "dep-1"}, {"fencing_token", "4"}};
  for (const auto& [name, value] : old_fields) {
    xadd.push_back(name);
    xadd.push_back(value);
  }
  raw_->text(xadd);
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->appendDecision(resize("/web", 1'700'000'100, lease.token), lease).ok());
  auto recent = s->recentDecisions(10);
  ASSERT_TRUE(recent.ok()) << recent.error().message();
  ASSERT_EQ(recent->size(), 2u);
  Decision old = resize("/web", 1'700'000'000, 4);
  old.reason = "old";
  EXPECT_EQ(recent->at(1), old);
  EXPECT_EQ(recent->at(0), resize("/web", 1'700'000'100, lease.token));
}

// Names this sizer does not know (a newer sizer's): a record's state is only
// shown, so the record loads without it; a decision's action is what the
// entry means, so the entry is left out and the others returned.
TEST_F(RedisStoreTest, UnknownStateAndActionNames) {
  raw_->text({"SADD", "test:apps", "/web"});
  raw_->text({"HSET", "test:app:/web", "app_id", "/web", "state", "hibernating", "resizes", "2"});
  auto loaded = store()->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->at("/web").state, std::nullopt);
  EXPECT_EQ(loaded->at("/web").resizes, 2u);

  raw_->text({"XADD", "test:decisions", "*", "timestamp", "1700000000", "app_id", "/web", "action", "hibernate"});
  raw_->text({"XADD", "test:decisions", "*", "timestamp", "1700000001", "app_id", "/web"});
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->appendDecision(resize("/web", 1'700'000'100, lease.token), lease).ok());
  auto recent = s->recentDecisions(10);
  ASSERT_TRUE(recent.ok()) << recent.error().message();
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->at(0).action, DecisionAction::kResize);
}

TEST_F(RedisStoreTest, UsageHistoriesAreSavedUnderTheLeaseWithATtlAndLoadedBack) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  std::vector<std::pair<std::string, std::string>> histories;
  for (int i = 0; i < 300; ++i) {  // two script calls of at most 250
    histories.emplace_back("/app-" + std::to_string(i),
                           "v1\n" + std::to_string(i) + " " + std::to_string(i) + " 0.25 1 0.5 100 1 120\n");
  }
  ASSERT_TRUE(s->saveHistories(histories, 12h, lease).ok());
  EXPECT_EQ(raw_->text({"GET", "test:history:/app-7"}), "v1\n7 7 0.25 1 0.5 100 1 120\n");
  const auto ttl_ms = std::stoll(raw_->text({"PTTL", "test:history:/app-299"}));
  EXPECT_GT(ttl_ms, std::chrono::duration_cast<std::chrono::milliseconds>(11h).count());
  EXPECT_LE(ttl_ms, std::chrono::duration_cast<std::chrono::milliseconds>(12h).count());

  raw_->text({"HSET", "test:history:/hash", "a", "b"});  // not this sizer's: skipped
  auto loaded = s->loadHistories({"/app-0", "/app-299", "/none", "/hash"});
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at("/app-299"), histories[299].second);
  ASSERT_TRUE(s->loadHistories({})->empty());

  // Without the lease: refused, nothing written.
  const Status refused = s->saveHistories({{"/late", "v1\n"}}, 12h, Lease{"sizer-b", 7});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(raw_->text({"EXISTS", "test:history:/late"}), "0");
  EXPECT_EQ(s->saveHistories({{"", "v1\n"}}, 12h, lease).error().kind(), ErrorKind::kInvalidValue);
}

// The fleet's host losses (docs/capacity.md): one key, fenced by the lease,
// with a TTL; absent or of another type, none.
TEST_F(RedisStoreTest, HostLossesAreSavedUnderTheLeaseWithATtlAndLoadedBack) {
  auto s = store();
  auto none = s->loadHostLosses();
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_FALSE(*none);
  const Lease lease = acquire(*s, "sizer-a");
  const std::string encoded = R"({"version":1,"hosts":[],"losses":[]})";
  ASSERT_TRUE(s->saveHostLosses(encoded, 7 * 24h, lease).ok());
  EXPECT_EQ(raw_->text({"GET", "test:capacity:hosts"}), encoded);
  const auto ttl_ms = std::stoll(raw_->text({"PTTL", "test:capacity:hosts"}));
  EXPECT_GT(ttl_ms, std::chrono::duration_cast<std::chrono::milliseconds>(6 * 24h).count());
  auto loaded = s->loadHostLosses();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->value_or(""), encoded);

  const Status refused = s->saveHostLosses("{}", 1h, Lease{"sizer-b", 7});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(raw_->text({"GET", "test:capacity:hosts"}), encoded);

  raw_->text({"DEL", "test:capacity:hosts"});
  raw_->text({"HSET", "test:capacity:hosts", "a", "b"});  // not a sizer's: none
  auto wrong = s->loadHostLosses();
  ASSERT_TRUE(wrong.ok()) << wrong.error().message();
  EXPECT_FALSE(*wrong);
}

// `SET rightsize:apps garbage` by hand must not stop every sizer from
// leading: the records are found by their keys, counted, and the next fenced
// write puts the set back.
TEST_F(RedisStoreTest, AnOverwrittenSetOfAppsIsRebuiltFromTheRecords) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({fullRecord("/web"), minimalRecord("/db"), minimalRecord("/a*[x]")}, lease).ok());
  raw_->text({"SET", "test:apps", "garbage"});
  raw_->text({"SET", "test:app:/broken", "not a hash"});
  CountingErrorSink errors;
  RedisStateStore leader(options_, &errors);
  auto loaded = leader.loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_EQ(loaded->at("/web"), fullRecord("/web"));
  EXPECT_EQ(errors.count("redis", "malformed"), 2u);  // the set, and the record that is not a hash
  ASSERT_TRUE(leader.saveApps({minimalRecord("/new")}, lease).ok());
  EXPECT_EQ(raw_->text({"TYPE", "test:apps"}), "set");
  EXPECT_EQ(raw_->strings({"SMEMBERS", "test:apps"}, true), (Strings{"/a*[x]", "/db", "/new", "/web"}));
}

// A stored record with a bad counter keeps its holds: loaded with the
// counter forgotten, counted once.
TEST_F(RedisStoreTest, ARecordWithABadCounterIsLoadedWithoutIt) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  AppRecord held = minimalRecord("/q");
  held.failed_version = "v1";
  held.failed_until = at(1'700'086'400'000'000'000);
  ASSERT_TRUE(s->saveApps({held}, lease).ok());
  raw_->text({"HSET", "test:app:/q", "resizes", "1.0"});
  CountingErrorSink errors;
  RedisStateStore leader(options_, &errors);
  auto loaded = leader.loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_TRUE(loaded->contains("/q"));
  EXPECT_EQ(loaded->at("/q").failed_version, "v1");
  EXPECT_EQ(loaded->at("/q").failed_until, held.failed_until);
  EXPECT_EQ(errors.count("redis", "malformed"), 1u);
}

TEST_F(RedisStoreTest, AKeyOfTheWrongTypeIsMalformed) {
  raw_->text({"SET", "test:decisions", "a string"});
  auto decisions = store()->recentDecisions(5);
  ASSERT_FALSE(decisions.ok());
  EXPECT_EQ(decisions.error().kind(), ErrorKind::kMalformed) << decisions.error().message();
}

TEST_F(RedisStoreTest, DecisionsRoundTripNewestFirst) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  Decision bare;
  bare.at = at(1'700'000'100'000'000'000);
  bare.app_id = "/db";
  bare.action = DecisionAction::kDeploymentDone;
  const std::vector<Decision> appended = {resize("/web", 1'700'000'000, lease.token), bare,
                                          resize("/web", 1'700'000'200, lease.token)};
  for (const auto& d : appended) ASSERT_TRUE(s->appendDecision(d, lease).ok());
  auto recent = store()->recentDecisions(10);
  ASSERT_TRUE(recent.ok()) << recent.error().message();
  EXPECT_EQ(*recent, (std::vector<Decision>{appended[2], appended[1], appended[0]}));
  recent = s->recentDecisions(1);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(*recent, (std::vector<Decision>{appended[2]}));
  recent = s->recentDecisions(0);
  ASSERT_TRUE(recent.ok());
  EXPECT_TRUE(recent->empty());
}

TEST_F(RedisStoreTest, DecisionsAreCappedAndReturnedNewestFirst) {
  options_.max_decisions = 10;
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  constexpr int kAppended = 350;
  for (int i = 0; i < kAppended; ++i) {
    ASSERT_TRUE(s->appendDecision(resize("/app-" + std::to_string(i), 1'700'000'000 + i, lease.token), lease).ok());
  }
  // MAXLEN ~ drops whole stream nodes (stream-node-max-entries, 100 by
  // default), so the stream holds between the cap and the cap plus a node.
  const long long length = std::stoll(raw_->text({"XLEN", "test:decisions"}));
  EXPECT_GE(length, 10);
  EXPECT_LE(length, 10 + 100);
  auto recent = s->recentDecisions(5);
  ASSERT_TRUE(recent.ok()) << recent.error().message();
  ASSERT_EQ(recent->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*recent)[i].app_id, "/app-" + std::to_string(kAppended - 1 - i));
}

TEST_F(RedisStoreTest, AFlushedScriptCacheFallsBackToEval) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_EQ(raw_->text({"SCRIPT", "FLUSH"}), "OK");
  ASSERT_TRUE(s->saveApps({minimalRecord("/web"), minimalRecord("/db")}, lease).ok());
  ASSERT_EQ(raw_->text({"SCRIPT", "FLUSH"}), "OK");
  ASSERT_TRUE(s->appendDecision(resize("/web", 1'700'000'000, lease.token), lease).ok());
  ASSERT_EQ(raw_->text({"SCRIPT", "FLUSH"}), "OK");
  auto renewed = s->renewLease(lease, 30s);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message();
  EXPECT_TRUE(*renewed);
  auto loaded = s->loadApps();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 2u);
}

TEST_F(RedisStoreTest, AStoppedRedisIsUnavailableQuicklyAndTheStoreRecoversAfterRestart) {
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({minimalRecord("/web")}, lease).ok());
  ASSERT_TRUE(server_->stop().ok());

  const std::string where = "127.0.0.1:" + std::to_string(server_->port());
  const auto start = std::chrono::steady_clock::now();
  auto loaded = s->loadApps();  // on the connection that was open
  const Status saved = s->saveApps({minimalRecord("/web")}, lease);
  auto renewed = s->renewLease(lease, 30s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(loaded.ok());
  ASSERT_FALSE(saved.ok());
  ASSERT_FALSE(renewed.ok());
  for (const Error& error : {loaded.error(), saved.error(), renewed.error()}) {
    EXPECT_EQ(error.kind(), ErrorKind::kUnavailable) << error.message();
    EXPECT_NE(error.message().find(where), std::string::npos) << error.message();
  }
  EXPECT_NE(loaded.error().message().find("loading app records"), std::string::npos) << loaded.error().message();
  EXPECT_LT(elapsed, options_.timeout);

  ASSERT_TRUE(server_->restart().ok()) << server_->log();
  loaded = s->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_TRUE(loaded->empty());  // no persistence: the lease is gone too, and with it the right to write
  EXPECT_EQ(s->saveApps({minimalRecord("/web")}, lease).error().kind(), ErrorKind::kConflict);
}

TEST_F(RedisStoreTest, ARestartWithPersistenceKeepsRecordsLeaseAndTokens) {
  startServer({.persistence = true});
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  ASSERT_TRUE(s->saveApps({fullRecord("/web")}, lease).ok());
  ASSERT_TRUE(server_->restart().ok()) << server_->log();

  // The connection from before the restart is found broken by the first
  // call, which is reported rather than retried: the store cannot know
  // whether a command sent on it ran. The next call reconnects.
  auto loaded = s->loadApps();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kUnavailable) << loaded.error().message();
  loaded = s->loadApps();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->at("/web"), fullRecord("/web"));
  EXPECT_TRUE(s->saveApps({minimalRecord("/db")}, lease).ok());  // the lease survived
  ASSERT_TRUE(s->releaseLease(lease).ok());
  EXPECT_GT(acquire(*s, "sizer-b").token, lease.token);
}

TEST_F(RedisStoreTest, ASlowRedisTimesOutWithinTheConfiguredTimeout) {
  options_.timeout = 300ms;
  auto s = store();
  ASSERT_TRUE(s->loadApps().ok());  // connected before Redis turns slow
  ASSERT_TRUE(raw_->send({"DEBUG", "SLEEP", "2"}).ok());

  const auto start = std::chrono::steady_clock::now();
  auto loaded = s->loadApps();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(loaded.error().message().find("no answer within 300ms"), std::string::npos) << loaded.error().message();
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1s);

  // Reconnecting while Redis still sleeps times out as well, within bounds.
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(s->recentDecisions(1).error().kind(), ErrorKind::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - again, 1s);

  auto slept = raw_->receive();
  ASSERT_TRUE(slept.ok()) << slept.error().message();
  loaded = s->loadApps();
  EXPECT_TRUE(loaded.ok()) << loaded.error().message();
}

TEST_F(RedisStoreTest, ANonListeningPortIsUnavailableNamingHostAndPort) {
  const std::uint16_t port = server_->port();
  ASSERT_TRUE(server_->stop().ok());
  auto s = store();
  auto lease = s->acquireLease("sizer-a", 30s);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(lease.error().message().find("redis 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << lease.error().message();
  EXPECT_NE(lease.error().message().find("acquiring the lease test:leader"), std::string::npos)
      << lease.error().message();
}

TEST_F(RedisStoreTest, APasswordIsSentWithAuthAndNeverShownInErrors) {
  startServer({.password = "s3cret-pw"});
  auto missing = store()->loadApps();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kInvalidArgument) << missing.error().message();

  options_.password = "wrong-pw";
  auto wrong = store()->loadApps();
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind(), ErrorKind::kInvalidArgument) << wrong.error().message();
  EXPECT_EQ(wrong.error().message().find("wrong-pw"), std::string::npos) << wrong.error().message();

  options_.password = "s3cret-pw";
  auto s = store();
  const Lease lease = acquire(*s, "sizer-a");
  EXPECT_TRUE(s->saveApps({minimalRecord("/web")}, lease).ok());
}

TEST_F(RedisStoreTest, LeaseArgumentsAreChecked) {
  auto s = store();
  EXPECT_EQ(s->acquireLease("", 30s).error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(s->acquireLease("sizer-a", 500us).error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(keys().empty());
}

TEST(ParseRedisUrlTest, ReadsHostPortAndDatabaseWithDefaults) {
  auto full = parseRedisUrl("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->database, 2);
  EXPECT_EQ(full->prefix, "rightsize:");
  EXPECT_TRUE(full->password.empty());

  auto bare = parseRedisUrl("redis://redis.service.consul");
  ASSERT_TRUE(bare.ok()) << bare.error().message();
  EXPECT_EQ(bare->host, "redis.service.consul");
  EXPECT_EQ(bare->port, 6379);
  EXPECT_EQ(bare->database, 0);

  auto no_port = parseRedisUrl("redis://127.0.0.1/7");
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->port, 6379);
  EXPECT_EQ(no_port->database, 7);

  auto trailing_slash = parseRedisUrl("redis://127.0.0.1:7000/");
  ASSERT_TRUE(trailing_slash.ok());
  EXPECT_EQ(trailing_slash->port, 7000);
  EXPECT_EQ(trailing_slash->database, 0);

  auto ipv6 = parseRedisUrl("redis://[::1]:6390/1");
  ASSERT_TRUE(ipv6.ok()) << ipv6.error().message();
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 6390);
  EXPECT_EQ(ipv6->database, 1);
}

TEST(ParseRedisUrlTest, RefusesOtherSchemesBadPortsAndBadDatabases) {
  for (const char* url : {"http://127.0.0.1:6379/0", "rediss://127.0.0.1:6379", "127.0.0.1:6379", "", "redis://",
                          "redis://:6379/0", "redis://host:0", "redis://host:65536", "redis://host:63x9",
                          "redis://host:", "redis://host:-1", "redis://::1:6379", "redis://[::1", "redis://host/db",
                          "redis://host/-1", "redis://host/1/2", "redis://host:6379/0?timeout=1"}) {
    auto parsed = parseRedisUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidArgument) << url;
    if (*url != '\0') {
      EXPECT_NE(parsed.error().message().find(url), std::string::npos) << parsed.error().message();
    }
  }
}

TEST(ParseRedisUrlTest, RefusesAPasswordWithoutRepeatingIt) {
  for (const char* url : {"redis://:hunter2@127.0.0.1:6379/0", "redis://user:hunter2@127.0.0.1"}) {
    auto parsed = parseRedisUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("RIGHTSIZE_REDIS_PASSWORD"), std::string::npos);
    EXPECT_EQ(parsed.error().message().find("hunter2"), std::string::npos) << parsed.error().message();
  }
}

}  // namespace
}  // namespace rightsize::sizing
