#include "rightsize/simulate/trace.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_set>
#include <utility>

#include "rightsize/core/text.h"

namespace rightsize::simulate {
namespace {

constexpr std::string_view kHeader = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb";
constexpr std::size_t kColumns = 6;
constexpr std::string_view kColumnNames[kColumns] = {
    "app", "timestamp_s", "cpu_reserved_cores", "cpu_used_cores", "mem_reserved_mb", "mem_used_mb"};
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// What an error message quotes of a field.
constexpr std::size_t kQuotedBytes = 40;

// The range a numeric column must lie in, for its error message.
struct Range {
  double max = 0;
  std::string_view text;  // "0 to 1000000 cores"
};
constexpr Range kTimestampRange{kMaxTraceTimestampSeconds, "0 to 7258118400 (1970 to 2200)"};
constexpr Range kCoresRange{kMaxTraceCores, "0 to 1000000 cores"};
constexpr Range kMemoryRange{kMaxTraceMemoryMib, "0 to 1073741824 MiB (1 PiB)"};
static_assert(kMaxTraceTimestampSeconds == 7'258'118'400 && kMaxTraceCores == 1e6 &&
              kMaxTraceMemoryMib == 1'073'741'824);

// `text` in quotes for an error message: at most `limit` bytes of it, bytes
// that are not printable ASCII as '?'.
std::string quoted(std::string_view text, std::size_t limit = kQuotedBytes) {
  std::string out = "'";
  for (const char c : text.substr(0, limit)) out += c >= 0x20 && c < 0x7f ? c : '?';
  out += text.size() > limit ? "...'" : "'";
  return out;
}

// The first control character in `text` (UTF-8): C0 (a NUL, a terminal's
// escape), DEL, or C1 (U+0080 to U+009F: CSI is U+009B), as the byte offset
// of its first byte.
std::optional<std::size_t> controlCharacterIn(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return i;
    if (byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return i;
    }
  }
  return std::nullopt;
}

// `byte` as two hex digits, of `digits`.
std::string hexDigits(unsigned char byte, std::string_view digits) { return {digits[byte >> 4], digits[byte & 0xf]}; }

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

// Builds a Trace from its lines, one at a time, so that a reader need not
// hold the whole text. Each line costs time linear in its length
// (finished apps are kept in a hash set).
class TraceBuilder {
 public:
  explicit TraceBuilder(std::string_view file) : file_(file) {}

  // `line` is the next line without its ending (\n, \r\n or \r). An error
  // fails the trace.
  Status addLine(std::string_view line);

  Expected<Trace> finish() &&;

  std::size_t lines() const { return line_number_; }

 private:
  Error rowError(ErrorKind kind, const std::string& what) const {
    return Error(kind, file_ + ":" + std::to_string(line_number_) + ": " + what);
  }
  Error columnError(std::size_t column, const std::string& what) const {
    return Error(ErrorKind::kInvalidValue,
                 file_ + ":" + std::to_string(line_number_) + ": " + std::string(kColumnNames[column]) + ": " + what);
  }
  // The number in fields[column], within [0, range.max].
  Expected<double> number(const std::string_view (&fields)[kColumns], std::size_t column, const Range& range) const;

  std::string file_;
  std::size_t line_number_ = 0;
  bool header_seen_ = false;
  std::size_t app_first_line_ = 0;  // the line of the current app's first row
  Trace trace_;
  std::unordered_set<std::string> finished_apps_;  // to catch an app whose rows are split
};

Expected<double> TraceBuilder::number(const std::string_view (&fields)[kColumns], std::size_t column,
                                      const Range& range) const {
  const std::string_view text = trim(fields[column]);
  const char* const end = text.data() + text.size();
  double value = 0;
  std::from_chars_result parsed = std::from_chars(text.data(), end, value);
  bool too_large = false;
  if (parsed.ec == std::errc::result_out_of_range) {
    // Beyond a double: a value too small for one (1e-400) is 0, as strtod
    // has it; one too large (1e400) is beyond our range as well.
    long double wide = 0;
    parsed = std::from_chars(text.data(), end, wide);
    too_large = parsed.ec != std::errc() || std::fabs(wide) >= 1;
    value = 0;
    parsed.ec = std::errc();
  }
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != end) {
    return columnError(column, quoted(fields[column]) + " is not a number");
  }
  if (!std::isfinite(value)) return columnError(column, quoted(fields[column]) + " is not a finite number");
  if (too_large || value < 0 || value > range.max) {
    return columnError(column, quoted(fields[column]) + " is out of range: must be from " + std::string(range.text));
  }
  return value + 0.0;  // -0 as 0
}

Status TraceBuilder::addLine(std::string_view line) {
  ++line_number_;
  if (line.size() > kMaxTraceLineBytes) {
    return rowError(ErrorKind::kMalformed, "line longer than " + std::to_string(kMaxTraceLineBytes) + " bytes");
  }
  // A spreadsheet's UTF-8 byte order mark before the header.
  if (line_number_ == 1 && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
  if (trim(line).empty()) return Status::success();
  if (!header_seen_) {
    if (trim(line) != kHeader) {
      return rowError(ErrorKind::kMalformed, "expected the header '" + std::string(kHeader) + "', found " +
                                                 quoted(line, kHeader.size() + kQuotedBytes));
    }
    header_seen_ = true;
    return Status::success();
  }
  std::string_view fields[kColumns];
  if (!splitRow(line, fields)) {
    return rowError(ErrorKind::kMalformed, "expected " + std::to_string(kColumns) + " comma-separated fields");
  }
  const std::string_view app = trim(fields[0]);
  if (app.empty()) return rowError(ErrorKind::kMalformed, "empty app");
  // An app id reaches terminals, tables and file names: text, and no
  // escapes in it.
  if (!isValidUtf8(app)) return rowError(ErrorKind::kMalformed, "app " + quoted(app) + " is not valid UTF-8");
  if (const auto at = controlCharacterIn(app)) {
    const auto byte = static_cast<unsigned char>(app[*at]);
    // A byte as C writes it, a C1 character as Unicode does (U+009B).
    const std::string code = byte == 0xc2
                                 ? "U+00" + hexDigits(static_cast<unsigned char>(app[*at + 1]), "0123456789ABCDEF")
                                 : "0x" + hexDigits(byte, "0123456789abcdef");
    return rowError(ErrorKind::kMalformed, "app " + quoted(app) + " holds a control character (" + code + " at byte " +
                                               std::to_string(*at + 1) + ")");
  }
  const auto timestamp = number(fields, 1, kTimestampRange);
  if (!timestamp) return timestamp.error();
  TracePoint point;
  point.at = fromUnixSeconds(*timestamp);
  const auto cpu_reserved = number(fields, 2, kCoresRange);
  if (!cpu_reserved) return cpu_reserved.error();
  point.cpu_reserved_cores = *cpu_reserved;
  const auto cpu_used = number(fields, 3, kCoresRange);
  if (!cpu_used) return cpu_used.error();
  point.cpu_used_cores = *cpu_used;
  const bool mem_reserved_empty = trim(fields[4]).empty();
  const bool mem_used_empty = trim(fields[5]).empty();
  if (mem_reserved_empty != mem_used_empty) {
    return rowError(ErrorKind::kMalformed, "mem_reserved_mb and mem_used_mb must both be given or both be empty");
  }
  if (!mem_reserved_empty) {
    const auto reserved = number(fields, 4, kMemoryRange);
    if (!reserved) return reserved.error();
    const auto used = number(fields, 5, kMemoryRange);
    if (!used) return used.error();
    point.memory_reserved_mib = *reserved;
    point.memory_used_mib = *used;
  }
  if (trace_.apps.empty() || trace_.apps.back().app_id != app) {
    if (!trace_.apps.empty()) finished_apps_.insert(trace_.apps.back().app_id);
    std::string app_id(app);
    if (finished_apps_.contains(app_id)) {
      return rowError(ErrorKind::kMalformed, "rows of app " + quoted(app) + " are not contiguous");
    }
    trace_.apps.push_back(AppTrace{std::move(app_id), {}});
  }
  auto& points = trace_.apps.back().points;
  if (!points.empty() && point.at <= points.back().at) {
    return rowError(ErrorKind::kMalformed, "timestamp_s does not increase within app " + quoted(app));
  }
  // An app has memory figures in every row or in none: a replay of some of
  // its steps would count the others' use, kills and hours as nothing.
  if (!points.empty() && points.front().memory_reserved_mib.has_value() != point.memory_reserved_mib.has_value()) {
    return rowError(ErrorKind::kMalformed,
                    std::string(point.memory_reserved_mib ? "memory figures in a row of app "
                                                          : "no memory figures in a row of app ") +
                        quoted(app) + ", whose first row (line " + std::to_string(app_first_line_) + ") has " +
                        (point.memory_reserved_mib ? "none" : "them") +
                        ": an app's mem_reserved_mb and mem_used_mb are given in all its rows or in none");
  }
  if (points.empty()) app_first_line_ = line_number_;
  points.push_back(point);
  ++trace_.samples;
  return Status::success();
}

Expected<Trace> TraceBuilder::finish() && {
  if (!header_seen_) return Error(ErrorKind::kMalformed, file_ + ": empty trace");
  if (trace_.apps.empty()) return Error(ErrorKind::kMalformed, file_ + ": no rows");
  trace_.start = trace_.apps.front().points.front().at;
  trace_.end = trace_.start;
  for (const auto& app : trace_.apps) {
    trace_.start = std::min(trace_.start, app.points.front().at);
    trace_.end = std::max(trace_.end, app.points.back().at);
  }
  if (trace_.end - trace_.start > kMaxTraceSpan) {
    const double seconds = toSeconds(trace_.end - trace_.start);
    return Error(ErrorKind::kMalformed, file_ + ": the trace's times span " + formatExact(seconds) + " s (about " +
                                            formatFixed(seconds / (86400 * 365.25), 0) + " years; timestamp_s " +
                                            formatExact(toSeconds(trace_.start.time_since_epoch())) + " to " +
                                            formatExact(toSeconds(trace_.end.time_since_epoch())) +
                                            "): at most 1576800000 (18250 days, 50 years of 365 days)");
  }
  return std::move(trace_);
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

Duration AppTrace::usualStep() const {
  if (points.size() < 2) return stepOf(0);
  std::vector<Duration> steps;
  steps.reserve(points.size() - 1);
  for (std::size_t i = 1; i < points.size(); ++i) steps.push_back(points[i].at - points[i - 1].at);
  const auto middle = steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2);
  std::nth_element(steps.begin(), middle, steps.end());
  return *middle;
}

Duration AppTrace::longestObserved() const {
  // At most two years: twice a step of centuries (a trace built by hand
  // may span the 230 years of its allowed times) is beyond the clock, and
  // the sums with it were negative.
  constexpr Duration kYear = std::chrono::hours(24 * 365);
  return 2 * std::min(usualStep(), kYear);
}

bool AppTrace::beganWithTrace(TimePoint trace_start) const {
  return points.front().at < trace_start + longestObserved();
}

namespace {

// The line at the start of `text`: its length and the bytes it takes with
// its ending (\n, \r\n, or a lone \r as an old spreadsheet writes), or
// nullopt when `text` holds no whole line yet: none ends in it, or it ends
// in a \r that may be a \r\n's when `more` bytes may follow.
struct LineEnd {
  std::size_t length = 0;
  std::size_t taken = 0;
};
std::optional<LineEnd> lineEnd(std::string_view text, bool more) {
  // One pass over the line's bytes: find_first_of tests each against the
  // set (20 % more for the whole read), and a search for each byte alone
  // would scan all the rest for the one a file never holds.
  std::size_t at = 0;
  while (at < text.size() && text[at] != '\n' && text[at] != '\r') ++at;
  if (at == text.size()) return std::nullopt;
  if (text[at] == '\n') return LineEnd{at, at + 1};
  if (at + 1 < text.size()) return LineEnd{at, at + (text[at + 1] == '\n' ? 2 : 1)};
  if (more) return std::nullopt;
  return LineEnd{at, at + 1};
}

}  // namespace

Expected<Trace> parseTrace(std::string_view text, std::string_view file) {
  TraceBuilder builder(file);
  while (!text.empty()) {
    const std::optional<LineEnd> end = lineEnd(text, false);
    const std::string_view line = text.substr(0, end ? end->length : text.size());
    text.remove_prefix(end ? end->taken : text.size());
    if (Status added = builder.addLine(line); !added) return added.error();
  }
  return std::move(builder).finish();
}

namespace {

// What zlib says of `in` (opened on `path`), without the path it puts first.
Error gzipError(gzFile in, const std::string& path) {
  int code = 0;
  std::string_view message = gzerror(in, &code);
  if (message.starts_with(path + ": ")) message.remove_prefix(path.size() + 2);
  if (code == Z_ERRNO) return Error(ErrorKind::kUnreadable, path + ": " + systemErrorText(errno));
  return Error(ErrorKind::kUnreadable, path + ": not a readable gzip stream: " + std::string(message));
}

}  // namespace

Expected<Trace> readTrace(const std::string& path) {
  // gzopen reads plain files too, so one path serves both.
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) {
    return Error(errno == ENOENT ? ErrorKind::kMissingField : ErrorKind::kUnreadable,
                 path + ": " + systemErrorText(errno));
  }
  TraceBuilder builder(path);
  // The bytes read and not yet parsed: at most one line in progress (up to
  // kMaxTraceLineBytes) and one buffer more.
  std::string pending;
  char buffer[1 << 16];
  while (true) {
    const int n = gzread(in, buffer, sizeof buffer);
    if (n < 0) {
      Error error = gzipError(in, path);
      gzclose(in);
      return error;
    }
    if (n == 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::string_view rest = pending;
    for (auto end = lineEnd(rest, true); end; end = lineEnd(rest, true)) {
      if (Status added = builder.addLine(rest.substr(0, end->length)); !added) {
        gzclose(in);
        return added.error();
      }
      rest.remove_prefix(end->taken);
    }
    // A line in progress already too long fails now, before more is read
    // (a \r it ends in may be its ending's first byte).
    if (const std::string_view line = rest.ends_with('\r') ? rest.substr(0, rest.size() - 1) : rest;
        line.size() > kMaxTraceLineBytes) {
      gzclose(in);
      return builder.addLine(line).error();
    }
    pending.erase(0, pending.size() - rest.size());
  }
  // A gzip stream cut short reads as far as it goes without an error from
  // gzread: zlib says so as the file is closed.
  if (const int closed = gzclose(in); closed != Z_OK) {
    return Error(ErrorKind::kUnreadable,
                 path + (closed == Z_BUF_ERROR ? ": the gzip stream ends before its end (a truncated file?) after " +
                                                     std::to_string(builder.lines()) + " whole lines"
                                               : ": cannot be read to its end: zlib error " + std::to_string(closed)));
  }
  // The last line, and a \r it ended in.
  std::string_view rest = pending;
  while (!rest.empty()) {
    const std::optional<LineEnd> end = lineEnd(rest, false);
    if (Status added = builder.addLine(rest.substr(0, end ? end->length : rest.size())); !added) return added.error();
    rest.remove_prefix(end ? end->taken : rest.size());
  }
  return std::move(builder).finish();
}

}  // namespace rightsize::simulate
