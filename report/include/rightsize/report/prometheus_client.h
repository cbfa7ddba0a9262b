#pragma once

// Reading Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`), and
// what answers it (Thanos, Mimir, VictoriaMetrics). Range queries go by POST
// (no URL limit), cut in time so that no query asks for more than
// Prometheus' 11,000 points per series, nor for an answer larger than a
// bound (series x points), and their chunks' series are joined by label set.
// Credentials come from the environment only (prometheusAuthorization());
// TLS is verified by the HTTP client.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/secrets.h"
#include "rightsize/core/status.h"

namespace rightsize::report {

struct Point {
  TimePoint at{};
  double value = 0;
};

struct Series {
  std::map<std::string, std::string> labels;
  std::vector<Point> points;  // in time order
};

// A query's series. A point whose value is not a finite number (Prometheus
// writes "NaN", "+Inf") is left out and counted; Prometheus' warnings are
// kept.
struct QueryResult {
  std::vector<Series> series;
  std::size_t dropped_points = 0;
  std::vector<std::string> warnings;
};

// The body of a query or query_range answer ({"status": "success", "data":
// {"resultType": "matrix" | "vector", "result": [...]}}), or an error naming
// `source` and what is wrong (Prometheus' own error and errorType when it
// says "error").
Expected<QueryResult> parseQueryResponse(std::string_view body, std::string_view source);

// The Authorization header from RIGHTSIZE_PROMETHEUS_TOKEN ("Bearer ..."),
// or RIGHTSIZE_PROMETHEUS_USER and RIGHTSIZE_PROMETHEUS_PASSWORD (Basic);
// each may be given in a file named by the variable with _FILE appended.
// "" when none is set.
Expected<std::string> prometheusAuthorization(const GetEnv& getenv);

struct PrometheusOptions {
  std::string url;            // e.g. "http://prometheus:9090", or with a path prefix ("https://mimir/prometheus")
  std::string authorization;  // the Authorization header's value, or ""
  Duration timeout = std::chrono::seconds(120);
  // Prometheus refuses a range query of more points per series.
  std::size_t max_points_per_series = 11'000;
  // The most points (series x steps) one answer may carry: a chunk is cut
  // shorter when the query's series, as the caller expects them, would make
  // it larger (about 30 bytes of JSON each).
  std::size_t max_points_per_query = 1'000'000;
  // Answers compressed (gzip) or not: a quarter of the bytes, but Prometheus
  // spends about 1 s of CPU gzipping a million points, five times what it
  // spends on the query itself. Off, the answers cross uncompressed: faster
  // wherever the link carries more than about 100 Mbit/s.
  bool compressed = false;
  // Told of each query's end (done, total), for a progress line.
  std::function<void(std::size_t done, std::size_t total)> on_query;
};

// Thread-safety: one call at a time.
class PrometheusClient {
 public:
  PrometheusClient(HttpClient& http, PrometheusOptions options);

  // An instant query at `at`.
  Expected<QueryResult> query(const std::string& promql, TimePoint at);
  // A range query over [start, end] at `step` (points at start, start +
  // step, ...), in chunks (see above; `expected_series` sizes them); the
  // chunks' series joined by their labels, points in time order.
  Expected<QueryResult> queryRange(const std::string& promql, TimePoint start, TimePoint end, Duration step,
                                   std::size_t expected_series = 1);
  // How many HTTP queries were sent.
  std::size_t queriesSent() const { return sent_; }
  const std::string& url() const { return options_.url; }
  const PrometheusOptions& options() const { return options_; }
  HttpClient& http() const { return http_; }

 private:
  Expected<QueryResult> post(const std::string& path, const std::string& form, const std::string& what);

  HttpClient& http_;
  PrometheusOptions options_;
  std::size_t sent_ = 0;
};

}  // namespace rightsize::report
