#pragma once

// One sizer process for the tests that drive the sizer through its real
// boundaries: its own HTTP client, Marathon client, agent reader, Redis
// connection (to a real redis-server) and lease owner, and its metrics.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/http.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/redis_store.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/redis_harness.h"
#include "rightsize/testing/redis_server.h"

namespace rightsize::sizing {

struct SizerProcess {
  SizerProcess(const std::string& marathon_url, const testing::RedisServer& redis, const Clock& clock,
               SizerOptions options, Duration marathon_timeout = std::chrono::seconds(2)) {
    HttpMarathonOptions marathon_options;
    marathon_options.urls = {marathon_url};
    marathon_options.timeout = marathon_timeout;
    marathon_options.on_response = [this](std::string_view code) { metrics.countMarathonResponse(code); };
    marathon = std::make_unique<HttpMarathonClient>(http, marathon_options);
    agents = std::make_unique<HttpAgentSource>(http, std::chrono::seconds(2));
    RedisOptions redis_options;
    redis_options.host = redis.host();
    redis_options.port = redis.port();
    redis_options.timeout = std::chrono::milliseconds(500);
    store = std::make_unique<RedisStateStore>(redis_options);
    sizer = std::make_unique<Sizer>(*marathon, *agents, store.get(), clock, metrics, std::move(options));
  }

  CurlHttpClient http;
  exporters::SizerMetrics metrics;
  std::unique_ptr<HttpMarathonClient> marathon;
  std::unique_ptr<HttpAgentSource> agents;
  std::unique_ptr<RedisStateStore> store;
  std::unique_ptr<Sizer> sizer;
};

// The actions of the decisions stream the sizers wrote to `redis`
// (rightsize:decisions), oldest first.
inline std::vector<std::string> storedDecisionActions(const testing::RedisServer& redis) {
  auto connection = testing::RedisConnection::open(redis.host(), redis.port());
  EXPECT_TRUE(connection);
  if (!connection) return {};
  std::vector<std::string> actions;
  auto reply = (*connection)->run({"XRANGE", "rightsize:decisions", "-", "+"});
  if (!reply) return actions;
  for (const RedisReply& entry : reply->elements) {
    const RedisReply& fields = entry.elements[1];
    for (std::size_t f = 0; f + 1 < fields.elements.size(); f += 2) {
      if (fields.elements[f].text == "action") actions.push_back(fields.elements[f + 1].text);
    }
  }
  return actions;
}

}  // namespace rightsize::sizing
