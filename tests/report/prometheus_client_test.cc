// The Prometheus client on its own: answers as Prometheus writes them, the
// credentials from the environment, and range queries cut into chunks.

#include "rightsize/report/prometheus_client.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

namespace rightsize::report {
namespace {

using namespace std::chrono_literals;

TEST(PrometheusResponseTest, MatrixVectorAndErrors) {
  auto matrix = parseQueryResponse(
      R"({"status":"success","warnings":["partial data"],"data":{"resultType":"matrix","result":[
        {"metric":{"app_id":"/web","env":"prod"},"values":[[1700000000,"0.5"],[1700000300,"NaN"],[1700000600.5,"1e-3"]]}]}})",
      "q");
  ASSERT_TRUE(matrix) << matrix.error().message();
  ASSERT_EQ(matrix->series.size(), 1u);
  EXPECT_EQ(matrix->series[0].labels.at("app_id"), "/web");
  ASSERT_EQ(matrix->series[0].points.size(), 2u);  // NaN left out, counted
  EXPECT_EQ(matrix->dropped_points, 1u);
  EXPECT_DOUBLE_EQ(matrix->series[0].points[1].value, 0.001);
  EXPECT_DOUBLE_EQ(toUnixSeconds(matrix->series[0].points[1].at), 1700000600.5);
  EXPECT_EQ(matrix->warnings, std::vector<std::string>{"partial data"});

  auto vector = parseQueryResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"416"]}]}})",
      "q");
  ASSERT_TRUE(vector) << vector.error().message();
  EXPECT_DOUBLE_EQ(vector->series.at(0).points.at(0).value, 416);

  auto error = parseQueryResponse(R"({"status":"error","errorType":"bad_data","error":"parse error at char 3"})",
                                  "POST /api/v1/query");
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().message(), "POST /api/v1/query: Prometheus says bad_data: parse error at char 3");
  for (const char* bad :
       {"not json", R"({"status":"success"})",
        R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})",
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})",
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[-5,"2"]]}]}})",
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}})"}) {
    EXPECT_FALSE(parseQueryResponse(bad, "q")) << bad;
  }
}

TEST(PrometheusAuthorizationTest, BearerBasicAndHalfSetCredentials) {
  std::map<std::string, std::string> env;
  const GetEnv getenv = [&env](const char* name) -> const char* {
    const auto found = env.find(name);
    return found == env.end() ? nullptr : found->second.c_str();
  };
  EXPECT_EQ(*prometheusAuthorization(getenv), "");
  env["RIGHTSIZE_PROMETHEUS_USER"] = "ops";
  EXPECT_FALSE(prometheusAuthorization(getenv));
  env["RIGHTSIZE_PROMETHEUS_PASSWORD"] = "s3cret";
  EXPECT_EQ(*prometheusAuthorization(getenv), "Basic b3BzOnMzY3JldA==");
  env["RIGHTSIZE_PROMETHEUS_TOKEN"] = "abc";
  EXPECT_EQ(*prometheusAuthorization(getenv), "Bearer abc");
}

// Answers every query with one series whose points are the query's steps.
class StepsPrometheus final : public HttpClient {
 public:
  Expected<HttpResponse> send(const HttpClientRequest& request) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    std::map<std::string, std::string> form;
    std::string_view rest = request.body;
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view field = rest.substr(0, amp);
      const auto eq = field.find('=');
      form[std::string(field.substr(0, eq))] = std::string(field.substr(eq + 1));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    const double start = std::stod(form["start"]);
    const double end = std::stod(form["end"]);
    const double step = std::stod(form["step"]);
    std::string values;
    for (double t = start; t <= end + 1e-6; t += step) {
      values += (values.empty() ? "" : ",") + std::string("[") + std::to_string(t) + ",\"1\"]";
    }
    HttpResponse response;
    response.body =
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app_id":"/a"},"values":[)" + values +
        "]}]}}";
    return response;
  }
  std::vector<HttpClientRequest> requests;

 private:
  std::mutex mutex_;
};

TEST(PrometheusClientTest, RangeQueriesArePostedInChunksAndJoined) {
  StepsPrometheus http;
  PrometheusOptions options;
  options.url = "http://prometheus:9090/";
  options.authorization = "Bearer abc";
  options.max_points_per_query = 1000;
  std::vector<std::pair<std::size_t, std::size_t>> progress;
  options.on_query = [&](std::size_t done, std::size_t total) { progress.emplace_back(done, total); };
  PrometheusClient client(http, options);
  const TimePoint start = fromUnixSeconds(1'700'000'000);
  // 14 days at 5 minutes: 4,033 steps; 10 series expected: 100 steps a query.
  auto result = client.queryRange("up{job=\"a b\"}", start, start + std::chrono::days(14), 5min, 10);
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(http.requests.size(), 41u);
  EXPECT_EQ(progress.back(), std::make_pair(std::size_t{41}, std::size_t{41}));
  const HttpClientRequest& first = http.requests.front();
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.url, "http://prometheus:9090/api/v1/query_range");
  EXPECT_EQ(first.body, "query=up%7Bjob%3D%22a%20b%22%7D&start=1700000000&end=1700029700&step=300");
  bool authorized = false;
  for (const auto& [name, value] : first.headers) authorized |= name == "Authorization" && value == "Bearer abc";
  EXPECT_TRUE(authorized);
  // Uncompressed unless asked: gzip costs Prometheus more than the query.
  std::string encoding;
  for (const auto& [name, value] : first.headers) {
    if (name == "Accept-Encoding") encoding = value;
  }
  EXPECT_EQ(encoding, "identity");
  ASSERT_EQ(result->series.size(), 1u);
  ASSERT_EQ(result->series[0].points.size(), 4033u);  // joined, no step twice
  for (std::size_t i = 1; i < result->series[0].points.size(); ++i) {
    ASSERT_EQ(result->series[0].points[i].at - result->series[0].points[i - 1].at, 5min) << i;
  }
  // No more than Prometheus' 11,000 points a series, whatever the bound.
  StepsPrometheus many;
  PrometheusClient unbounded(many, {.url = "http://p", .max_points_per_query = 1'000'000'000});
  ASSERT_TRUE(unbounded.queryRange("up", start, start + std::chrono::days(60), 5min, 1));
  EXPECT_EQ(many.requests.size(), 2u);  // 17,281 steps
  StepsPrometheus gzipped;
  PrometheusClient compressed(gzipped, {.url = "http://p", .compressed = true});
  ASSERT_TRUE(compressed.queryRange("up", start, start + 5min, 5min));
  bool gzip = false;
  for (const auto& [name, value] : gzipped.requests.at(0).headers) gzip |= name == "Accept-Encoding" && value == "gzip";
  EXPECT_TRUE(gzip);
  EXPECT_FALSE(unbounded.queryRange("up", start, start - 1s, 5min));
}

}  // namespace
}  // namespace rightsize::report
