#pragma once

// Thin helpers over rapidjson that turn "field missing" or "wrong type" into
// Errors naming the field's path, so that every parser of outside JSON reports
// e.g. "statistics[3].cpus_user_time_secs: expected a number, got string".

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rightsize/core/status.h"

namespace rightsize::json {

using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses a whole document; trailing garbage, NaN and Infinity are errors.
// `source` names where the text came from, for the message.
Expected<rapidjson::Document> parse(std::string_view text, std::string_view source);
// As parse(), but the bare tokens NaN, Infinity and -Infinity are numbers:
// Mesos (stout's jsonify) writes non-finite values so, e.g. a task's
// "unlimited" resource limit in an agent's /state. The getters below still
// refuse them where they read a number.
Expected<rapidjson::Document> parseAllowingNonFinite(std::string_view text, std::string_view source);

// Name of a JSON type for messages: "object", "array", "string", "number", ...
std::string_view typeName(const Value& value);

// Looks a member up; nullptr when `object` is not an object or lacks `name`.
const Value* find(const Value& object, std::string_view name);

// Required members. `path` is the object's own path, e.g. "statistics[2]".
Expected<double> getNumber(const Value& object, std::string_view name, std::string_view path);
Expected<std::string> getString(const Value& object, std::string_view name, std::string_view path);
Expected<std::uint64_t> getUint64(const Value& object, std::string_view name, std::string_view path);

// Optional members: absent or null gives nullopt, a present value of the wrong
// type (or a non-finite number) is an error.
Expected<std::optional<double>> getOptionalNumber(const Value& object, std::string_view name, std::string_view path);
Expected<std::optional<std::string>> getOptionalString(const Value& object, std::string_view name,
                                                       std::string_view path);

// Writes a finite number (a whole one as an integer: 300, not 300.0), or
// null for nullopt and non-finite values.
void writeNumber(Writer& writer, std::optional<double> value);
// Strings from outside may hold invalid UTF-8: it is replaced by U+FFFD.
void writeString(Writer& writer, std::string_view value);
void writeKey(Writer& writer, std::string_view key);

}  // namespace rightsize::json
