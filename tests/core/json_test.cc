#include "rightsize/core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace rightsize::json {
namespace {

TEST(JsonParseTest, NamesTheSourceAndOffsetOfMalformedText) {
  auto parsed = parse(R"({"a": 1,)", "http://agent/state");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind(), ErrorKind::kMalformed);
  EXPECT_NE(parsed.error().message().find("http://agent/state"), std::string::npos);
  EXPECT_NE(parsed.error().message().find("offset"), std::string::npos);
}

TEST(JsonParseTest, RejectsNanTrailingGarbageAndEmptyInput) {
  EXPECT_FALSE(parse(R"({"a": NaN})", "x").ok());
  EXPECT_FALSE(parse(R"({"a": 1} {"b": 2})", "x").ok());
  EXPECT_FALSE(parse("", "x").ok());
}

// Mesos writes non-finite numbers as bare tokens (stout's jsonify): a
// lenient parse reads them, and the getters still refuse them as figures.
TEST(JsonParseTest, AllowingNonFiniteReadsMesosTokens) {
  auto doc = parseAllowingNonFinite(R"({"a": Infinity, "b": -Infinity, "c": NaN, "d": 2})", "x");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_TRUE(std::isinf((*doc)["a"].GetDouble()));
  EXPECT_LT((*doc)["b"].GetDouble(), 0);
  EXPECT_TRUE(std::isnan((*doc)["c"].GetDouble()));
  EXPECT_EQ(*getNumber(*doc, "d", ""), 2);
  auto infinite = getOptionalNumber(*doc, "a", "resources");
  ASSERT_FALSE(infinite.ok());
  EXPECT_EQ(infinite.error().message(), "resources.a: not a finite number");
  EXPECT_FALSE(parseAllowingNonFinite(R"({"a": 1} x)", "x").ok());
  EXPECT_FALSE(parseAllowingNonFinite(R"({"a": Infinit})", "x").ok());
}

TEST(JsonFieldTest, ReportsMissingAndMistypedFieldsByPath) {
  auto doc = parse(R"({"n": 1.5, "s": "text", "bad": "1.5", "neg": -3, "big": 1e300})", "x");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*getNumber(*doc, "n", "root"), 1.5);
  auto missing = getNumber(*doc, "absent", "statistics[2]");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kMissingField);
  EXPECT_EQ(missing.error().message(), "statistics[2].absent: missing");
  auto mistyped = getNumber(*doc, "bad", "statistics[2]");
  ASSERT_FALSE(mistyped.ok());
  EXPECT_EQ(mistyped.error().kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(mistyped.error().message(), "statistics[2].bad: expected a number, got string");
  EXPECT_FALSE(getUint64(*doc, "neg", "").ok());
  EXPECT_EQ(*getString(*doc, "s", ""), "text");
  EXPECT_FALSE(getString(*doc, "n", "").ok());
  auto optional = getOptionalNumber(*doc, "absent", "");
  ASSERT_TRUE(optional.ok());
  EXPECT_FALSE(optional->has_value());
}

TEST(JsonWriteTest, WritesNullForUnknownAndNonFiniteNumbers) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartArray();
  writeNumber(writer, 0.5);
  writeNumber(writer, std::nullopt);
  writeNumber(writer, std::numeric_limits<double>::quiet_NaN());
  writeString(writer, "a\"b");
  writeString(writer, "pr\xFFod");
  writer.EndArray();
  EXPECT_EQ(std::string(buffer.GetString()), "[0.5,null,null,\"a\\\"b\",\"pr\xEF\xBF\xBDod\"]");
}

TEST(JsonWriteTest, WritesWholeNumbersAsIntegers) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartArray();
  writeNumber(writer, 300.0);
  writeNumber(writer, 167772160.0);
  writeNumber(writer, -64.0);
  writeNumber(writer, 0.0);
  writeNumber(writer, 1e300);  // beyond exact integers: stays a double
  writeNumber(writer, 2.5);
  writer.EndArray();
  EXPECT_EQ(std::string(buffer.GetString()), "[300,167772160,-64,0,1e300,2.5]");
}

}  // namespace
}  // namespace rightsize::json
