#include "rightsize/core/json.h"

#include <rapidjson/error/en.h>

#include <cmath>
#include <cstdint>

#include "rightsize/core/text.h"

namespace rightsize::json {
namespace {

std::string memberPath(std::string_view path, std::string_view name) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}

Error typeError(std::string_view path, std::string_view name, std::string_view expected, const Value& got) {
  return Error(ErrorKind::kInvalidValue,
               memberPath(path, name) + ": expected " + std::string(expected) + ", got " + std::string(typeName(got)));
}

template <unsigned kFlags>
Expected<rapidjson::Document> parseWith(std::string_view text, std::string_view source) {
  rapidjson::Document document;
  // Iterative parsing: a deeply nested body must not exhaust the stack.
  document.Parse<kFlags | rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (document.HasParseError()) {
    return Error(ErrorKind::kMalformed, "malformed JSON from " + std::string(source) + " at offset " +
                                            std::to_string(document.GetErrorOffset()) + ": " +
                                            rapidjson::GetParseError_En(document.GetParseError()));
  }
  return document;
}

}  // namespace

Expected<rapidjson::Document> parse(std::string_view text, std::string_view source) {
  return parseWith<rapidjson::kParseNoFlags>(text, source);
}

Expected<rapidjson::Document> parseAllowingNonFinite(std::string_view text, std::string_view source) {
  return parseWith<rapidjson::kParseNanAndInfFlag>(text, source);
}

std::string_view typeName(const Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "unknown";
}

const Value* find(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
  if (it == object.MemberEnd()) return nullptr;
  return &it->value;
}

Expected<std::optional<double>> getOptionalNumber(const Value& object, std::string_view name, std::string_view path) {
  const Value* value = find(object, name);
  if (value == nullptr || value->IsNull()) return std::optional<double>();
  if (!value->IsNumber()) return typeError(path, name, "a number", *value);
  const double number = value->GetDouble();
  if (!std::isfinite(number)) {
    return Error(ErrorKind::kInvalidValue, memberPath(path, name) + ": not a finite number");
  }
  return std::optional<double>(number);
}

Expected<double> getNumber(const Value& object, std::string_view name, std::string_view path) {
  auto number = getOptionalNumber(object, name, path);
  if (!number) return number.error();
  if (!number->has_value()) return Error(ErrorKind::kMissingField, memberPath(path, name) + ": missing");
  return **number;
}

Expected<std::uint64_t> getUint64(const Value& object, std::string_view name, std::string_view path) {
  const Value* value = find(object, name);
  if (value == nullptr || value->IsNull()) return Error(ErrorKind::kMissingField, memberPath(path, name) + ": missing");
  if (value->IsUint64()) return value->GetUint64();
  if (value->IsNumber()) {
    const double number = value->GetDouble();
    // Counters are sometimes written as doubles ("cpus_nr_periods": 16314.0).
    if (std::isfinite(number) && number >= 0 && number < 1.8e19 && number == std::floor(number)) {
      return static_cast<std::uint64_t>(number);
    }
    return Error(ErrorKind::kInvalidValue, memberPath(path, name) + ": expected a non-negative integer");
  }
  return typeError(path, name, "a non-negative integer", *value);
}

Expected<std::optional<std::string>> getOptionalString(const Value& object, std::string_view name,
                                                       std::string_view path) {
  const Value* value = find(object, name);
  if (value == nullptr || value->IsNull()) return std::optional<std::string>();
  if (!value->IsString()) return typeError(path, name, "a string", *value);
  return std::optional<std::string>(std::string(value->GetString(), value->GetStringLength()));
}

Expected<std::string> getString(const Value& object, std::string_view name, std::string_view path) {
  auto text = getOptionalString(object, name, path);
  if (!text) return text.error();
  if (!text->has_value()) return Error(ErrorKind::kMissingField, memberPath(path, name) + ": missing");
  return std::move(**text);
}

void writeNumber(Writer& writer, std::optional<double> value) {
  // Whole numbers as integers ("300", not "300.0"): clients decoding into
  // integer types (bytes, offsets, seconds) reject a fraction part.
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (value && std::isfinite(*value) && std::trunc(*value) == *value && std::abs(*value) < kExact) {
    writer.Int64(static_cast<std::int64_t>(*value));
  } else if (value && std::isfinite(*value)) {
    writer.Double(*value);
  } else {
    writer.Null();
  }
}

void writeString(Writer& writer, std::string_view value) {
  if (isValidUtf8(value)) {
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  } else {
    const std::string clean = sanitizeUtf8(value);
    writer.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
  }
}

void writeKey(Writer& writer, std::string_view key) {
  const std::string clean = sanitizeUtf8(key);
  writer.Key(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

}  // namespace rightsize::json
