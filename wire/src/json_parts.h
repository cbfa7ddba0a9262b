#pragma once

// What the encoders and decoders of wire/ share; not part of its interface.

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rightsize/core/clock.h"
#include "rightsize/core/json.h"

namespace rightsize::wire::parts {

inline std::string finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// "" travels as null.
inline void writeStringOrNull(json::Writer& writer, std::string_view key, std::string_view value) {
  json::writeKey(writer, key);
  if (value.empty()) {
    writer.Null();
  } else {
    json::writeString(writer, value);
  }
}

// The decoders' informational members: each take*() sets `out` when the
// member is present and of its type, and leaves it as it is otherwise.

inline void takeString(const json::Value& object, std::string_view name, std::string& out) {
  const json::Value* value = json::find(object, name);
  if (value != nullptr && value->IsString()) out.assign(value->GetString(), value->GetStringLength());
}

inline void takeNumber(const json::Value& object, std::string_view name, std::optional<double>& out) {
  const json::Value* value = json::find(object, name);
  if (value != nullptr && value->IsNumber() && std::isfinite(value->GetDouble())) out = value->GetDouble();
}

inline void takeInt64(const json::Value& object, std::string_view name, std::optional<std::int64_t>& out) {
  const json::Value* value = json::find(object, name);
  if (value != nullptr && value->IsInt64()) out = value->GetInt64();
}

inline void takeBool(const json::Value& object, std::string_view name, bool& out) {
  const json::Value* value = json::find(object, name);
  if (value != nullptr && value->IsBool()) out = value->GetBool();
}

// Unix seconds; beyond ±9e9 s clamped as fromUnixSeconds() does.
inline void takeTime(const json::Value& object, std::string_view name, TimePoint& out) {
  std::optional<double> seconds;
  takeNumber(object, name, seconds);
  if (seconds) out = fromUnixSeconds(*seconds);
}

}  // namespace rightsize::wire::parts
