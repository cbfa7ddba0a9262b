#include "rightsize/agent/checkpoint.h"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"

namespace rightsize::agent {
namespace {

constexpr std::uint64_t kVersion = 1;
// No container uses or is given more cores than this (the tracker's bound).
constexpr double kMaxCores = 8192;
// Bounds what one entry may make the agent hold: far above the tracker's
// 4,096 samples per window.
constexpr std::size_t kMaxSamples = 65536;
constexpr double kUnbounded = std::numeric_limits<double>::max();

using json::Value;
using json::Writer;

std::int64_t unixNanoseconds(TimePoint t) { return t.time_since_epoch().count(); }

void writeTime(Writer& writer, std::string_view name, TimePoint t) {
  json::writeKey(writer, name);
  writer.Int64(unixNanoseconds(t));
}

// Whole numbers as integers, others as the shortest decimal that reads back
// to the same double (std::to_chars guarantees it; the reader parses with
// full precision).
void writeFigure(Writer& writer, double value) {
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (std::trunc(value) == value && std::abs(value) < kExact) {
    writer.Int64(static_cast<std::int64_t>(value));
    return;
  }
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  writer.RawValue(buffer, static_cast<std::size_t>(end - buffer), rapidjson::kNumberType);
}

void writeOptionalFigure(Writer& writer, std::string_view name, const std::optional<double>& value) {
  if (!value) return;
  json::writeKey(writer, name);
  writeFigure(writer, *value);
}

void writeAverage(Writer& writer, std::string_view name, const std::optional<TimedValue>& average) {
  if (!average) return;
  json::writeKey(writer, name);
  writer.StartObject();
  writeTime(writer, "at_ns", average->at);
  json::writeKey(writer, "value");
  writeFigure(writer, average->value);
  writer.EndObject();
}

void writeWindow(Writer& writer, std::string_view name, const std::vector<TimedValue>& samples) {
  json::writeKey(writer, name);
  writer.StartArray();
  for (const auto& sample : samples) {
    writer.StartArray();
    writer.Int64(unixNanoseconds(sample.at));
    writeFigure(writer, sample.value);
    writer.EndArray();
  }
  writer.EndArray();
}

// Builds a document from rapidjson's SAX events with every number kept as
// its text (kParseNumbersAsStringsFlag), for std::from_chars to convert, and
// every JSON string, which a checkpoint never holds as a value, turned into
// an object {"": text}: so no string is ever read as a number, and none is
// accepted where a number, an array or an object with members is expected.
class NumbersAsText {
 public:
  explicit NumbersAsText(rapidjson::Document& document) : d_(document) {}
  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned i) { return d_.Uint(i); }
  bool Int64(std::int64_t i) { return d_.Int64(i); }
  bool Uint64(std::uint64_t i) { return d_.Uint64(i); }
  bool Double(double d) { return d_.Double(d); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool copy) { return d_.RawNumber(text, length, copy); }
  bool String(const char* text, rapidjson::SizeType length, bool copy) {
    return d_.StartObject() && d_.Key("", 0, false) && d_.String(text, length, copy) && d_.EndObject(1);
  }
  bool StartObject() { return d_.StartObject(); }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) { return d_.Key(text, length, copy); }
  bool EndObject(rapidjson::SizeType members) { return d_.EndObject(members); }
  bool StartArray() { return d_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return d_.EndArray(elements); }

 private:
  rapidjson::Document& d_;
};

// A whole number of type T, as the document holds numbers: their text
// (kParseNumbersAsStringsFlag). Anything else, a fraction or out of T's
// range is nullopt.
template <typename T>
std::optional<T> whole(const Value& value) {
  if (!value.IsString()) return std::nullopt;
  const char* begin = value.GetString();
  const char* end = begin + value.GetStringLength();
  T number{};
  const auto [stop, error] = std::from_chars(begin, end, number);
  if (error != std::errc() || stop != end) return std::nullopt;
  return number;
}

// Reads members of one object, naming `where` and the member's path in
// every error.
class Reader {
 public:
  explicit Reader(std::string_view where) : where_(where) {}

  Error invalid(std::string_view path, std::string_view what) const {
    return Error(ErrorKind::kInvalidValue, where_ + ": " + std::string(path) + ": " + std::string(what));
  }
  Error missing(std::string_view path) const {
    return Error(ErrorKind::kMissingField, where_ + ": " + std::string(path) + ": missing");
  }

  Expected<TimePoint> time(const Value& value, std::string_view path) const {
    const auto ns = whole<std::int64_t>(value);
    if (!ns || *ns < 0) return invalid(path, "expected Unix nanoseconds");
    return TimePoint(Duration(*ns));
  }

  // A finite number within [low, high].
  Expected<double> figure(const Value& value, std::string_view path, double low, double high) const {
    if (!value.IsString()) return invalid(path, "expected a number, got " + std::string(json::typeName(value)));
    const std::string_view text(value.GetString(), value.GetStringLength());
    double number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size()) return invalid(path, "expected a number");
    if (!std::isfinite(number) || number < low || number > high) {
      return invalid(path, "out of range or not finite: " + std::to_string(number));
    }
    return number;
  }

  Status optionalFigure(const Value& object, std::string_view name, double low, double high,
                        std::optional<double>& out) const {
    const Value* value = json::find(object, name);
    if (value == nullptr || value->IsNull()) return Status::success();
    auto number = figure(*value, name, low, high);
    if (!number) return number.error();
    out = *number;
    return Status::success();
  }

  Status optionalCounter(const Value& object, std::string_view path, std::string_view name,
                         std::optional<std::uint64_t>& out) const {
    const Value* value = json::find(object, name);
    if (value == nullptr || value->IsNull()) return Status::success();
    const auto counter = whole<std::uint64_t>(*value);
    if (!counter) return invalid(std::string(path) + "." + std::string(name), "expected a counter");
    out = *counter;
    return Status::success();
  }

  Status average(const Value& object, std::string_view name, TimePoint last_seen,
                 std::optional<TimedValue>& out) const {
    const Value* value = json::find(object, name);
    if (value == nullptr || value->IsNull()) return Status::success();
    if (!value->IsObject()) return invalid(name, "expected an object");
    const std::string path(name);
    const Value* at = json::find(*value, "at_ns");
    const Value* number = json::find(*value, "value");
    if (at == nullptr) return missing(path + ".at_ns");
    if (number == nullptr) return missing(path + ".value");
    auto t = time(*at, path + ".at_ns");
    if (!t) return t.error();
    if (*t > last_seen) return invalid(path + ".at_ns", "after the last reading");
    // Lying factors are negative on a hot spot; any finite value is an average.
    auto v = figure(*number, path + ".value", -kUnbounded, kUnbounded);
    if (!v) return v.error();
    out = TimedValue{*t, *v};
    return Status::success();
  }

  Expected<const Value*> array(const Value& object, std::string_view name) const {
    const Value* value = json::find(object, name);
    if (value == nullptr || value->IsNull()) return nullptr;
    if (!value->IsArray()) return invalid(name, "expected an array");
    if (value->Size() > kMaxSamples) return invalid(name, "more than " + std::to_string(kMaxSamples) + " samples");
    return value;
  }

  Status times(const Value& object, std::string_view name, TimePoint last_seen, std::vector<TimePoint>& out) const {
    auto values = array(object, name);
    if (!values) return values.error();
    if (*values == nullptr) return Status::success();
    for (rapidjson::SizeType i = 0; i < (*values)->Size(); ++i) {
      const std::string path = std::string(name) + "[" + std::to_string(i) + "]";
      auto t = time((**values)[i], path);
      if (!t) return t.error();
      if (*t > last_seen) return invalid(path, "after the last reading");
      if (!out.empty() && *t < out.back()) return invalid(path, "earlier than the sample before it");
      out.push_back(*t);
    }
    return Status::success();
  }

  Status window(const Value& object, std::string_view name, TimePoint last_seen, double high,
                std::vector<TimedValue>& out) const {
    auto values = array(object, name);
    if (!values) return values.error();
    if (*values == nullptr) return Status::success();
    for (rapidjson::SizeType i = 0; i < (*values)->Size(); ++i) {
      const std::string path = std::string(name) + "[" + std::to_string(i) + "]";
      const Value& pair = (**values)[i];
      if (!pair.IsArray() || pair.Size() != 2) return invalid(path, "expected [time, value]");
      auto t = time(pair[0], path + "[0]");
      if (!t) return t.error();
      if (*t > last_seen) return invalid(path, "after the last reading");
      if (!out.empty() && *t < out.back().at) return invalid(path, "earlier than the sample before it");
      auto v = figure(pair[1], path + "[1]", 0, high);
      if (!v) return v.error();
      out.push_back({*t, *v});
    }
    return Status::success();
  }

 private:
  std::string where_;
};

Expected<TrackerCheckpoint> decodeObject(const Value& root, const Reader& reader) {
  if (!root.IsObject()) return reader.invalid("(entry)", "expected an object");
  const Value* version = json::find(root, "version");
  if (version == nullptr) return reader.missing("version");
  if (whole<std::uint64_t>(*version) != kVersion) {
    return reader.invalid("version", "only version " + std::to_string(kVersion) + " is read");
  }
  TrackerCheckpoint out;
  TrackerState& state = out.state;
  const Value* seen_at = json::find(root, "seen_at_ns");
  const Value* last_seen = json::find(root, "last_seen_ns");
  if (seen_at == nullptr) return reader.missing("seen_at_ns");
  if (last_seen == nullptr) return reader.missing("last_seen_ns");
  auto seen = reader.time(*seen_at, "seen_at_ns");
  if (!seen) return seen.error();
  out.seen_at = *seen;
  auto last = reader.time(*last_seen, "last_seen_ns");
  if (!last) return last.error();
  state.last_seen = *last;

  if (const Value* baseline = json::find(root, "baseline"); baseline != nullptr && !baseline->IsNull()) {
    if (!baseline->IsObject()) return reader.invalid("baseline", "expected an object");
    const Value* at = json::find(*baseline, "at_ns");
    const Value* cpu = json::find(*baseline, "cpu_seconds");
    if (at == nullptr) return reader.missing("baseline.at_ns");
    if (cpu == nullptr) return reader.missing("baseline.cpu_seconds");
    TrackerState::Baseline b;
    auto t = reader.time(*at, "baseline.at_ns");
    if (!t) return t.error();
    if (*t > state.last_seen) return reader.invalid("baseline.at_ns", "after the last reading");
    b.at = *t;
    auto seconds = reader.figure(*cpu, "baseline.cpu_seconds", 0, kUnbounded);
    if (!seconds) return seconds.error();
    b.cpu_seconds = *seconds;
    if (auto s = reader.optionalCounter(*baseline, "baseline", "cfs_periods", b.cfs_periods); !s) return s.error();
    if (auto s = reader.optionalCounter(*baseline, "baseline", "cfs_throttled_periods", b.cfs_throttled_periods); !s) {
      return s.error();
    }
    if (const Value* throttled = json::find(*baseline, "cfs_throttled_seconds");
        throttled != nullptr && !throttled->IsNull()) {
      auto throttled_seconds = reader.figure(*throttled, "baseline.cfs_throttled_seconds", 0, kUnbounded);
      if (!throttled_seconds) return throttled_seconds.error();
      b.cfs_throttled_seconds = *throttled_seconds;
    }
    state.baseline = b;
  }

  for (const Status& status : {
           reader.optionalFigure(root, "reserved_cores", 0, kMaxCores, state.reserved_cores),
           reader.optionalFigure(root, "limit_cores", 0, kMaxCores, state.limit_cores),
           reader.optionalFigure(root, "used_cores", 0, kMaxCores, state.used_cores),
           reader.optionalFigure(root, "throttled_ratio", 0, 1, state.throttled_ratio),
           reader.optionalFigure(root, "throttled_cores", 0, kMaxCores, state.throttled_cores),
           reader.optionalFigure(root, "memory_limit_bytes", 0, kUnbounded, state.memory_limit_bytes),
           reader.optionalFigure(root, "memory_request_bytes", 0, kUnbounded, state.memory_request_bytes),
           reader.optionalFigure(root, "memory_used_bytes", 0, kUnbounded, state.memory_used_bytes),
           reader.average(root, "used_cores_avg", state.last_seen, state.used_cores_avg),
           reader.average(root, "lying_factor_cores_avg", state.last_seen, state.lying_factor_cores_avg),
           reader.average(root, "lying_factor_bytes_avg", state.last_seen, state.lying_factor_bytes_avg),
           reader.times(root, "sample_times_ns", state.last_seen, state.sample_times),
           reader.window(root, "used_cores_window", state.last_seen, kMaxCores, state.used_cores_window),
           reader.window(root, "memory_used_bytes_window", state.last_seen, kUnbounded, state.memory_used_bytes_window),
       }) {
    if (!status) return status.error();
  }
  return out;
}

}  // namespace

std::string encodeTrackerCheckpoint(const TrackerCheckpoint& checkpoint) {
  const TrackerState& state = checkpoint.state;
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "version");
  writer.Uint64(kVersion);
  writeTime(writer, "seen_at_ns", checkpoint.seen_at);
  writeTime(writer, "last_seen_ns", state.last_seen);
  if (state.baseline) {
    json::writeKey(writer, "baseline");
    writer.StartObject();
    writeTime(writer, "at_ns", state.baseline->at);
    json::writeKey(writer, "cpu_seconds");
    writeFigure(writer, state.baseline->cpu_seconds);
    if (state.baseline->cfs_periods) {
      json::writeKey(writer, "cfs_periods");
      writer.Uint64(*state.baseline->cfs_periods);
    }
    if (state.baseline->cfs_throttled_periods) {
      json::writeKey(writer, "cfs_throttled_periods");
      writer.Uint64(*state.baseline->cfs_throttled_periods);
    }
    if (state.baseline->cfs_throttled_seconds) {
      json::writeKey(writer, "cfs_throttled_seconds");
      writeFigure(writer, *state.baseline->cfs_throttled_seconds);
    }
    writer.EndObject();
  }
  writeOptionalFigure(writer, "reserved_cores", state.reserved_cores);
  writeOptionalFigure(writer, "limit_cores", state.limit_cores);
  writeOptionalFigure(writer, "used_cores", state.used_cores);
  writeOptionalFigure(writer, "throttled_ratio", state.throttled_ratio);
  writeOptionalFigure(writer, "throttled_cores", state.throttled_cores);
  writeOptionalFigure(writer, "memory_limit_bytes", state.memory_limit_bytes);
  writeOptionalFigure(writer, "memory_request_bytes", state.memory_request_bytes);
  writeOptionalFigure(writer, "memory_used_bytes", state.memory_used_bytes);
  writeAverage(writer, "used_cores_avg", state.used_cores_avg);
  writeAverage(writer, "lying_factor_cores_avg", state.lying_factor_cores_avg);
  writeAverage(writer, "lying_factor_bytes_avg", state.lying_factor_bytes_avg);
  json::writeKey(writer, "sample_times_ns");
  writer.StartArray();
  for (const TimePoint t : state.sample_times) writer.Int64(unixNanoseconds(t));
  writer.EndArray();
  writeWindow(writer, "used_cores_window", state.used_cores_window);
  writeWindow(writer, "memory_used_bytes_window", state.memory_used_bytes_window);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Expected<TrackerCheckpoint> decodeTrackerCheckpoint(std::string_view text, std::string_view where) {
  // Numbers as their text, converted by std::from_chars: exact (figures read
  // back as written) and defined for every input, where rapidjson 1.1.0's
  // full-precision reader has undefined behaviour on some ("0e38": a zero
  // significand given to clz; found by fuzzing). Iterative: a deeply nested
  // value must not exhaust the stack.
  rapidjson::Document document;
  rapidjson::ParseResult parsed;
  auto generate = [&](rapidjson::Document& into) {
    NumbersAsText handler(into);
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(memory);
    rapidjson::Reader reader;
    parsed = reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(input, handler);
    return !parsed.IsError();
  };
  document.Populate(generate);
  if (parsed.IsError()) {
    return Error(ErrorKind::kMalformed, std::string(where) + ": not JSON (at offset " +
                                            std::to_string(parsed.Offset()) +
                                            "): " + rapidjson::GetParseError_En(parsed.Code()));
  }
  return decodeObject(document, Reader(where));
}

Checkpointer::Checkpointer(CheckpointStore& store, const Clock& clock, ErrorSink& errors, CheckpointOptions options)
    : store_(store), clock_(clock), errors_(errors), options_(options) {}

std::map<std::string, TrackerCheckpoint> Checkpointer::load() {
  std::map<std::string, TrackerCheckpoint> out;
  auto entries = store_.load();
  if (!entries) {
    errors_.record(kErrorSource, entries.error());
    return out;
  }
  const TimePoint now = clock_.now();
  const std::string where = store_.describe();
  for (const auto& [container_id, text] : *entries) {
    auto entry = decodeTrackerCheckpoint(text, where + " field " + sanitizeUtf8(container_id));
    if (!entry) {
      errors_.record(kErrorSource, entry.error());
      continue;
    }
    if (now - entry->seen_at > options_.window) continue;  // a container gone for longer than the window
    out.emplace(container_id, std::move(*entry));
  }
  return out;
}

bool Checkpointer::due() const { return !last_offer_ || clock_.now() - *last_offer_ >= options_.every; }

void Checkpointer::offer(std::map<std::string, TrackerCheckpoint> entries) {
  last_offer_ = clock_.now();
  std::lock_guard lock(pending_mutex_);
  pending_ = std::move(entries);
}

Status Checkpointer::writePending() {
  std::optional<std::map<std::string, TrackerCheckpoint>> entries;
  {
    std::lock_guard lock(pending_mutex_);
    entries.swap(pending_);
  }
  if (!entries) return Status::success();
  std::map<std::string, std::string> encoded;
  for (const auto& [container_id, entry] : *entries) encoded.emplace(container_id, encodeTrackerCheckpoint(entry));
  Status written = store_.replace(encoded, options_.ttl);
  if (!written) errors_.record(kErrorSource, written.error());
  return written;
}

}  // namespace rightsize::agent
