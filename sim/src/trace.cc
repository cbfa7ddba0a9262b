#include "rightsize/sim/trace.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "rightsize/core/text.h"

namespace rightsize::sim {
namespace {

constexpr std::string_view kHeader = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb";
constexpr std::size_t kColumns = 6;

Error rowError(std::string_view file, std::size_t line, const std::string& what) {
  return Error(ErrorKind::kMalformed, std::string(file) + ":" + std::to_string(line) + ": " + what);
}

// Splits a line into exactly kColumns fields (no quoting in this format).
bool splitRow(std::string_view line, std::string_view (&fields)[kColumns]) {
  std::size_t count = 0;
  while (true) {
    const auto comma = line.find(',');
    if (count == kColumns) return false;
    fields[count++] = line.substr(0, comma);
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return count == kColumns;
}

}  // namespace

const TracePoint* AppTrace::at(TimePoint t) const {
  auto it = std::upper_bound(points.begin(), points.end(), t,
                             [](TimePoint value, const TracePoint& point) { return value < point.at; });
  if (it == points.begin()) return nullptr;
  return &*std::prev(it);
}

Duration AppTrace::stepOf(std::size_t i) const {
  if (i > 0) return points[i].at - points[i - 1].at;
  if (points.size() > 1) return points[1].at - points[0].at;
  return std::chrono::minutes(5);
}

Expected<Trace> parseTrace(std::string_view text, std::string_view file) {
  Trace trace;
  std::size_t line_number = 0;
  bool header_seen = false;
  std::vector<std::string> finished_apps;  // to catch an app whose rows are split
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!header_seen) {
      if (trim(line) != kHeader) {
        return rowError(file, line_number, "expected the header '" + std::string(kHeader) + "'");
      }
      header_seen = true;
      continue;
    }
    std::string_view fields[kColumns];
    if (!splitRow(line, fields)) {
      return rowError(file, line_number, "expected " + std::to_string(kColumns) + " comma-separated fields");
    }
    const std::string_view app = trim(fields[0]);
    if (app.empty()) return rowError(file, line_number, "empty app");
    const auto timestamp = parseDouble(fields[1]);
    if (!timestamp || *timestamp < 0) {
      return rowError(file, line_number, "timestamp_s '" + std::string(fields[1]) + "' is not a Unix time");
    }
    TracePoint point;
    point.at = fromUnixSeconds(*timestamp);
    const std::pair<std::string_view, double*> cpu[] = {{"cpu_reserved_cores", &point.cpu_reserved_cores},
                                                        {"cpu_used_cores", &point.cpu_used_cores}};
    for (std::size_t i = 0; i < 2; ++i) {
      const auto value = parseDouble(fields[2 + i]);
      if (!value || *value < 0) {
        return rowError(file, line_number,
                        std::string(cpu[i].first) + " '" + std::string(fields[2 + i]) + "' is not a number >= 0");
      }
      *cpu[i].second = *value;
    }
    const bool mem_reserved_empty = trim(fields[4]).empty();
    const bool mem_used_empty = trim(fields[5]).empty();
    if (mem_reserved_empty != mem_used_empty) {
      return rowError(file, line_number, "mem_reserved_mb and mem_used_mb must both be given or both be empty");
    }
    if (!mem_reserved_empty) {
      const auto reserved = parseDouble(fields[4]);
      const auto used = parseDouble(fields[5]);
      if (!reserved || *reserved < 0 || !used || *used < 0) {
        return rowError(file, line_number, "mem_reserved_mb and mem_used_mb must be numbers >= 0");
      }
      point.memory_reserved_mib = *reserved;
      point.memory_used_mib = *used;
    }
    if (trace.apps.empty() || trace.apps.back().app_id != app) {
      if (!trace.apps.empty()) finished_apps.push_back(trace.apps.back().app_id);
      if (std::find(finished_apps.begin(), finished_apps.end(), app) != finished_apps.end()) {
        return rowError(file, line_number, "rows of app " + std::string(app) + " are not contiguous");
      }
      trace.apps.push_back(AppTrace{std::string(app), {}});
    }
    auto& points = trace.apps.back().points;
    if (!points.empty() && point.at <= points.back().at) {
      return rowError(file, line_number, "timestamp_s does not increase within app " + std::string(app));
    }
    points.push_back(point);
    ++trace.samples;
  }
  if (!header_seen) return Error(ErrorKind::kMalformed, std::string(file) + ": empty trace");
  if (trace.apps.empty()) return Error(ErrorKind::kMalformed, std::string(file) + ": no rows");
  trace.start = trace.apps.front().points.front().at;
  trace.end = trace.start;
  for (const auto& app : trace.apps) {
    trace.start = std::min(trace.start, app.points.front().at);
    trace.end = std::max(trace.end, app.points.back().at);
  }
  return trace;
}

Expected<Trace> readTrace(const std::string& path) {
  // gzopen reads plain files too, so one path serves both.
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) {
    return Error(errno == ENOENT ? ErrorKind::kMissingField : ErrorKind::kUnreadable,
                 path + ": " + systemErrorText(errno));
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const int n = gzread(in, buffer, sizeof buffer);
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(in, &code);
      gzclose(in);
      return Error(ErrorKind::kUnreadable, path + ": " + message);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  gzclose(in);
  return parseTrace(text, path);
}

}  // namespace rightsize::sim
