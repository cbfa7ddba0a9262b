#include "rightsize/core/text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rightsize {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDurationTest, AcceptsTheWrittenForms) {
  EXPECT_EQ(*parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*parseDuration("10s"), seconds(10));
  EXPECT_EQ(*parseDuration("5m"), minutes(5));
  EXPECT_EQ(*parseDuration("1h"), hours(1));
  EXPECT_EQ(*parseDuration("1h30m"), minutes(90));
  EXPECT_EQ(*parseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parseDuration("250us"), std::chrono::microseconds(250));
  EXPECT_EQ(*parseDuration(" 2d "), hours(48));
  EXPECT_EQ(*parseDuration("0"), Duration::zero());
}

TEST(ParseDurationTest, RejectsMissingUnitsAndGarbageWithTheValueInTheMessage) {
  for (const char* bad : {"10", "", "10x", "-5s", "s", "1h-", "nan", "inf", "5 m"}) {
    auto parsed = parseDuration(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("'" + std::string(bad) + "'"), std::string::npos)
        << parsed.error().message();
  }
}

// Found while fuzzing (fuzz/text_fuzz, docs/fuzzing.md): a total just below 2^63 ns was
// rounded through a double up to 2^63 and came out negative.
TEST(ParseDurationTest, TotalsNearTheLimitAreExactOrRefused) {
  auto near = parseDuration("9223372036854774784ns1000ns");
  ASSERT_TRUE(near.ok()) << near.error().message();
  EXPECT_EQ(near->count(), 9223372036854775784);
  auto written = parseDuration("2562047h47m16.854775s");
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_EQ(*written, hours(2562047) + minutes(47) + std::chrono::nanoseconds(16854775000));
  auto beyond = parseDuration("2562047h47m16.854775808s");
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.error().message().find("too long"), std::string::npos) << beyond.error().message();
}

// A wait (a flag's, a label's) is added to a time: beyond ten years the sum
// would overflow. parseWait refuses it, naming the bound.
TEST(ParseDurationTest, AWaitIsAtMostTenYears) {
  EXPECT_EQ(*parseWait("3650d"), hours(24 * 3650));
  EXPECT_EQ(*parseWait("5m"), minutes(5));
  auto beyond = parseWait("3650d1s");
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(beyond.error().message().find("'3650d1s': too long: at most 3650d"), std::string::npos)
      << beyond.error().message();
  EXPECT_FALSE(parseWait("soon").ok());
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  for (const char* text : {"500ms", "10s", "5m", "1h", "1h30m", "2h5m3s", "250us", "1.5s"}) {
    EXPECT_EQ(formatDuration(*parseDuration(text)), text);
  }
  EXPECT_EQ(formatDuration(Duration::zero()), "0s");
}

TEST(ParseHostPortTest, AcceptsHostsPortsAndBracketedIpv6) {
  auto any = parseHostPort("0.0.0.0:9540");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_EQ(any->port, 9540);
  auto loopback = parseHostPort("127.0.0.1:0");
  ASSERT_TRUE(loopback.ok());
  EXPECT_EQ(loopback->port, 0);
  auto v6 = parseHostPort("[::1]:9541");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9541);
  auto all = parseHostPort(":80");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->host, "");
}

TEST(ParseHostPortTest, RejectsBadPortsAndUnbracketedIpv6) {
  for (const char* bad : {"localhost", "host:", "host:65536", "host:-1", "host:http", "::1:80", "[::1]80"}) {
    auto parsed = parseHostPort(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message().find(bad), std::string::npos);
  }
}

TEST(NumberParsingTest, WholeStringsOnly) {
  EXPECT_EQ(parseUint64(" 42\n"), 42u);
  EXPECT_FALSE(parseUint64("42abc"));
  EXPECT_FALSE(parseUint64("-1"));
  EXPECT_FALSE(parseUint64(""));
  EXPECT_EQ(parseInt64("-1"), -1);
  EXPECT_EQ(parseDouble("0.25"), 0.25);
  EXPECT_FALSE(parseDouble("nan"));
  EXPECT_FALSE(parseDouble("1e999"));
}

TEST(SplitListTest, TrimsAndDropsEmptyPieces) {
  EXPECT_EQ(splitList(" a, b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(splitList("").empty());
}

TEST(Utf8Test, ValidTextIsKeptAndInvalidBytesReplaced) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_EQ(sanitizeUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(sanitizeUtf8("pr\xFFod"), "pr\xEF\xBF\xBDod");
  EXPECT_EQ(sanitizeUtf8("\xC3"), "\xEF\xBF\xBD");                                  // truncated sequence
  EXPECT_EQ(sanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(sanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));                                    // above U+10FFFF
}

TEST(ClockTest, OutOfRangeUnixSecondsAreClampedNotOverflowed) {
  EXPECT_GT(fromUnixSeconds(1e20), fromUnixSeconds(9e9 - 1));
  EXPECT_EQ(fromUnixSeconds(1e20), fromUnixSeconds(9e9));
  EXPECT_EQ(fromUnixSeconds(std::nan("")), fromUnixSeconds(0));
  EXPECT_DOUBLE_EQ(toUnixSeconds(fromUnixSeconds(1700000000.5)), 1700000000.5);
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode("user:pa\xffss"), "dXNlcjpwYf9zcw==");
}

TEST(RedactUrlTest, HidesCredentialsOnly) {
  EXPECT_EQ(redactUrl("https://user:secret@marathon:8080/v2/apps"), "https://***@marathon:8080/v2/apps");
  EXPECT_EQ(redactUrl("http://127.0.0.1:5051/state"), "http://127.0.0.1:5051/state");
  EXPECT_EQ(redactUrl("http://host/path@with-at"), "http://host/path@with-at");
}

TEST(TextTest, CsvFieldQuotesOnlyWhatMustBe) {
  EXPECT_EQ(csvField("/plain/app-1"), "/plain/app-1");
  EXPECT_EQ(csvField(""), "");
  EXPECT_EQ(csvField("\"/a\""), "\"\"\"/a\"\"\"");
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(csvField("cr\r"), "\"cr\r\"");
}

TEST(TextTest, FormatFixed) {
  EXPECT_EQ(formatFixed(0.55, 2), "0.55");
  EXPECT_EQ(formatFixed(1024, 0), "1024");
  EXPECT_EQ(formatFixed(-0.1, 2), "-0.10");
}

TEST(TextTest, FormatRoundedIsTheShortestTextOfTheRoundedValue) {
  EXPECT_EQ(formatRounded(0.35000000000000006, 3), "0.35");
  EXPECT_EQ(formatRounded(544.0000000001, 3), "544");
  EXPECT_EQ(formatRounded(2.675, 2), "2.67");  // the double nearest 2.675 is 2.67499999...
  EXPECT_EQ(formatRounded(0.0016, 3), "0.002");
  EXPECT_EQ(formatRounded(1024, 3), "1024");
  EXPECT_EQ(formatRounded(120, 0), "120");
  EXPECT_EQ(formatRounded(-0.0001, 3), "0");
  EXPECT_EQ(formatRounded(-2.5, 3), "-2.5");
  EXPECT_EQ(formatRounded(1e20, 3), "100000000000000000000");
  const std::string biggest = formatRounded(1.7976931348623157e308, 3);
  EXPECT_EQ(biggest.size(), 309u);
  EXPECT_EQ(parseDouble(biggest), 1.7976931348623157e308);
  for (const double value : {0.1, 0.35, 0.999, 2.675, 1234.5678, 3e-4}) {
    const auto read_back = parseDouble(formatRounded(value, 3));
    ASSERT_TRUE(read_back) << value;
    EXPECT_EQ(*read_back, std::round(value * 1000) / 1000) << value;
  }
}

TEST(TextTest, PercentEncodePathSegmentKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percentEncodePathSegment("web-1.v2_x~"), "web-1.v2_x~");
  EXPECT_EQ(percentEncodePathSegment("a/b"), "a%2Fb");
  EXPECT_EQ(percentEncodePathSegment("x?force=true#y"), "x%3Fforce%3Dtrue%23y");
  EXPECT_EQ(percentEncodePathSegment("100% a+b"), "100%25%20a%2Bb");
  EXPECT_EQ(percentEncodePathSegment("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(percentEncodePathSegment(std::string_view("\0\x7f", 2)), "%00%7F");
  EXPECT_EQ(percentEncodePathSegment(".."), "..");  // callers refuse dot segments
  EXPECT_EQ(percentEncodePathSegment(""), "");
}

}  // namespace
}  // namespace rightsize
