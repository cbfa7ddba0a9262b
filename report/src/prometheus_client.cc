#include "rightsize/report/prometheus_client.h"

#include <algorithm>
#include <cmath>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"

namespace rightsize::report {
namespace {

// A point of an answer: [<unix seconds>, "<value>"]. `path` names it in an
// error (made only then: an answer has a million points).
template <typename Path>
Expected<std::optional<Point>> readPoint(const json::Value& pair, const Path& path) {
  if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsNumber() || !pair[1].IsString()) {
    return Error(ErrorKind::kMalformed, path() + ": expected [<unix seconds>, \"<value>\"]");
  }
  const double seconds = pair[0].GetDouble();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 7'258'118'400.0) {  // 2200-01-01
    return Error(ErrorKind::kInvalidValue,
                 path() + ": time " + formatExact(seconds) + " is not a time from 1970 to 2200");
  }
  const std::string_view text(pair[1].GetString(), pair[1].GetStringLength());
  const std::optional<double> value = parseDouble(text);
  if (!value) {
    // Prometheus writes non-finite values as "NaN", "+Inf", "-Inf".
    if (text == "NaN" || text == "+Inf" || text == "-Inf" || text == "Inf") return std::optional<Point>();
    return Error(ErrorKind::kInvalidValue, path() + ": \"" + sanitizeUtf8(text.substr(0, 40)) + "\" is not a number");
  }
  return std::optional<Point>(Point{fromUnixSeconds(seconds), *value});
}

std::string form(std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += (out.empty() ? "" : "&") + std::string(name) + "=" + percentEncodePathSegment(value);
  }
  return out;
}

std::string seconds(TimePoint t) { return formatRounded(toUnixSeconds(t), 3); }

}  // namespace

Expected<QueryResult> parseQueryResponse(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  const std::string where(source);
  const json::Value* status = json::find(*document, "status");
  if (status == nullptr || !status->IsString()) return Error(ErrorKind::kMalformed, where + ": no status");
  if (std::string_view(status->GetString()) != "success") {
    const json::Value* type = json::find(*document, "errorType");
    const json::Value* error = json::find(*document, "error");
    return Error(ErrorKind::kInvalidValue,
                 where + ": Prometheus says " + (type && type->IsString() ? type->GetString() : std::string("error")) +
                     ": " + sanitizeUtf8(error && error->IsString() ? error->GetString() : "(no message)"));
  }
  QueryResult out;
  if (const json::Value* warnings = json::find(*document, "warnings"); warnings && warnings->IsArray()) {
    for (const auto& warning : warnings->GetArray()) {
      if (warning.IsString()) out.warnings.push_back(sanitizeUtf8(warning.GetString()));
    }
  }
  const json::Value* data = json::find(*document, "data");
  const json::Value* type = data ? json::find(*data, "resultType") : nullptr;
  const json::Value* result = data ? json::find(*data, "result") : nullptr;
  if (type == nullptr || !type->IsString() || result == nullptr || !result->IsArray()) {
    return Error(ErrorKind::kMalformed, where + ": no data.resultType and data.result array");
  }
  const std::string_view kind = type->GetString();
  if (kind != "matrix" && kind != "vector") {
    return Error(ErrorKind::kInvalidValue, where + ": a " + std::string(kind) + " answer, not a matrix or vector");
  }
  std::size_t index = 0;
  for (const auto& entry : result->GetArray()) {
    const std::string path = where + ": data.result[" + std::to_string(index++) + "]";
    Series series;
    const json::Value* metric = json::find(entry, "metric");
    if (metric == nullptr || !metric->IsObject()) return Error(ErrorKind::kMalformed, path + ": no metric object");
    for (const auto& label : metric->GetObject()) {
      if (!label.value.IsString()) return Error(ErrorKind::kMalformed, path + ".metric: a label that is not a string");
      series.labels.emplace(label.name.GetString(), label.value.GetString());
    }
    const auto add = [&](const json::Value& pair, const auto& at) -> Status {
      auto point = readPoint(pair, at);
      if (!point) return point.error();
      if (*point) {
        series.points.push_back(**point);
      } else {
        ++out.dropped_points;
      }
      return Status::success();
    };
    if (kind == "matrix") {
      const json::Value* values = json::find(entry, "values");
      if (values == nullptr || !values->IsArray()) return Error(ErrorKind::kMalformed, path + ": no values array");
      series.points.reserve(values->Size());
      std::size_t i = 0;
      for (const auto& pair : values->GetArray()) {
        const auto at = [&] { return path + ".values[" + std::to_string(i) + "]"; };
        if (Status added = add(pair, at); !added) return added.error();
        ++i;
      }
    } else {
      const json::Value* value = json::find(entry, "value");
      if (value == nullptr) return Error(ErrorKind::kMalformed, path + ": no value");
      if (Status added = add(*value, [&] { return path + ".value"; }); !added) return added.error();
    }
    out.series.push_back(std::move(series));
  }
  return out;
}

Expected<std::string> prometheusAuthorization(const GetEnv& getenv) {
  auto token = secretFromEnvironment("RIGHTSIZE_PROMETHEUS_TOKEN", getenv);
  if (!token) return token.error();
  if (token->has_value()) return "Bearer " + **token;
  auto user = secretFromEnvironment("RIGHTSIZE_PROMETHEUS_USER", getenv);
  if (!user) return user.error();
  auto password = secretFromEnvironment("RIGHTSIZE_PROMETHEUS_PASSWORD", getenv);
  if (!password) return password.error();
  if (user->has_value() != password->has_value()) {
    return Error(ErrorKind::kInvalidArgument,
                 "RIGHTSIZE_PROMETHEUS_USER and RIGHTSIZE_PROMETHEUS_PASSWORD go together: set both or neither");
  }
  if (user->has_value()) return "Basic " + base64Encode(**user + ":" + **password);
  return std::string();
}

PrometheusClient::PrometheusClient(HttpClient& http, PrometheusOptions options)
    : http_(http), options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Expected<QueryResult> PrometheusClient::post(const std::string& path, const std::string& body,
                                             const std::string& what) {
  HttpClientRequest request;
  request.method = "POST";
  request.url = options_.url + path;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  // Our own, in place of the HTTP client's (every encoding it can decode).
  request.headers.emplace_back("Accept-Encoding", options_.compressed ? "gzip" : "identity");
  if (!options_.authorization.empty()) request.headers.emplace_back("Authorization", options_.authorization);
  request.body = body;
  request.timeout = options_.timeout;
  ++sent_;
  auto response = http_.send(request);
  if (!response) return response.error().withContext(what);
  // Prometheus answers a bad query with 400 or 422 and its error in JSON.
  if (response->status != 200 && response->status != 400 && response->status != 422) {
    return Error(ErrorKind::kHttpStatus,
                 what + ": HTTP " + std::to_string(response->status) + " from " + redactUrl(request.url));
  }
  return parseQueryResponse(response->body, what + " (" + redactUrl(request.url) + ")");
}

Expected<QueryResult> PrometheusClient::query(const std::string& promql, TimePoint at) {
  return post("/api/v1/query", form({{"query", promql}, {"time", seconds(at)}}),
              "Prometheus query " + promql.substr(0, 120));
}

Expected<QueryResult> PrometheusClient::queryRange(const std::string& promql, TimePoint start, TimePoint end,
                                                   Duration step, std::size_t expected_series) {
  if (!(step > Duration::zero()) || end < start) {
    return Error(ErrorKind::kInvalidArgument, "a range query needs a step above 0 and an end after its start");
  }
  const auto total_steps = static_cast<std::size_t>((end - start) / step) + 1;
  const std::size_t by_answer =
      std::max<std::size_t>(1, options_.max_points_per_query / std::max<std::size_t>(expected_series, 1));
  const std::size_t chunk = std::max<std::size_t>(1, std::min(options_.max_points_per_series, by_answer));
  const std::size_t chunks = (total_steps + chunk - 1) / chunk;
  std::map<std::map<std::string, std::string>, std::vector<Point>> joined;
  QueryResult out;
  for (std::size_t i = 0; i < chunks; ++i) {
    const TimePoint from = start + static_cast<Duration::rep>(i * chunk) * step;
    const TimePoint to = std::min(end, from + static_cast<Duration::rep>(chunk - 1) * step);
    const std::string what =
        "Prometheus range query " + promql.substr(0, 120) + " from " + seconds(from) + " to " + seconds(to);
    auto part = post("/api/v1/query_range",
                     form({{"query", promql},
                           {"start", seconds(from)},
                           {"end", seconds(to)},
                           {"step", formatRounded(toSeconds(step), 3)}}),
                     what);
    if (options_.on_query) options_.on_query(i + 1, chunks);
    if (!part) return part.error();
    out.dropped_points += part->dropped_points;
    for (auto& warning : part->warnings) out.warnings.push_back(std::move(warning));
    for (auto& series : part->series) {
      auto& points = joined[std::move(series.labels)];
      if (points.empty()) {
        points = std::move(series.points);
      } else {
        points.insert(points.end(), series.points.begin(), series.points.end());
      }
    }
  }
  for (auto& [labels, points] : joined) {
    const auto before = [](const Point& a, const Point& b) { return a.at < b.at; };
    if (!std::is_sorted(points.begin(), points.end(), before)) std::stable_sort(points.begin(), points.end(), before);
    out.series.push_back({labels, std::move(points)});
  }
  return out;
}

}  // namespace rightsize::report
