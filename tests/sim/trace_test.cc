#include "rightsize/sim/trace.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "test_support.h"

namespace rightsize::sim {
namespace {

const std::string kHeader = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";

TEST(TraceParseTest, ReadsAppsPointsAndOptionalMemory) {
  const std::string text = kHeader +
                           "/a,1000,2,0.5,4096,1000.5\n"
                           "/a,1300,2,1.5,4096,2000\n"
                           "/b,1000,1,0.25,,\n"
                           "/b,1300,1,0.75,,\r\n";
  auto trace = parseTrace(text, "t.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message();
  ASSERT_EQ(trace->apps.size(), 2u);
  EXPECT_EQ(trace->samples, 4u);
  EXPECT_EQ(trace->apps[0].app_id, "/a");
  EXPECT_DOUBLE_EQ(trace->apps[0].points[1].cpu_used_cores, 1.5);
  EXPECT_DOUBLE_EQ(*trace->apps[0].points[0].memory_used_mib, 1000.5);
  EXPECT_FALSE(trace->apps[1].points[0].memory_reserved_mib);
  EXPECT_EQ(trace->start, fromUnixSeconds(1000));
  EXPECT_EQ(trace->end, fromUnixSeconds(1300));
}

TEST(TraceParseTest, PointInForceIsTheLastAtOrBefore) {
  auto trace = parseTrace(kHeader + "/a,1000,2,0.5,,\n/a,1300,2,1.5,,\n", "t.csv");
  ASSERT_TRUE(trace.ok());
  const auto& app = trace->apps[0];
  EXPECT_EQ(app.at(fromUnixSeconds(999)), nullptr);
  EXPECT_DOUBLE_EQ(app.at(fromUnixSeconds(1000))->cpu_used_cores, 0.5);
  EXPECT_DOUBLE_EQ(app.at(fromUnixSeconds(1299))->cpu_used_cores, 0.5);
  EXPECT_DOUBLE_EQ(app.at(fromUnixSeconds(5000))->cpu_used_cores, 1.5);
}

TEST(TraceParseTest, BadRowsNameFileLineAndProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/a,1000,2,0.5\n", "t.csv:2: expected 6 comma-separated fields"},
      {"/a,1000,2,0.5,1,2,3\n", "t.csv:2: expected 6 comma-separated fields"},
      {",1000,2,0.5,,\n", "t.csv:2: empty app"},
      {"/a,yesterday,2,0.5,,\n", "t.csv:2: timestamp_s 'yesterday' is not a Unix time"},
      {"/a,1000,-2,0.5,,\n", "t.csv:2: cpu_reserved_cores '-2' is not a number >= 0"},
      {"/a,1000,2,nan,,\n", "t.csv:2: cpu_used_cores 'nan' is not a number >= 0"},
      {"/a,1000,2,0.5,100,\n", "t.csv:2: mem_reserved_mb and mem_used_mb must both be given or both be empty"},
      {"/a,1000,2,0.5,,\n/a,1000,2,0.5,,\n", "t.csv:3: timestamp_s does not increase within app /a"},
      {"/a,1000,2,0.5,,\n/b,1000,2,0.5,,\n/a,2000,2,0.5,,\n", "t.csv:4: rows of app /a are not contiguous"},
  };
  for (const auto& [rows, message] : cases) {
    auto trace = parseTrace(kHeader + rows, "t.csv");
    ASSERT_FALSE(trace.ok()) << rows;
    EXPECT_EQ(trace.error().kind(), ErrorKind::kMalformed);
    EXPECT_EQ(trace.error().message(), message);
  }
  EXPECT_EQ(parseTrace("app,time\n/a,1\n", "t.csv").error().message(),
            "t.csv:1: expected the header '" + kHeader.substr(0, kHeader.size() - 1) + "'");
  EXPECT_FALSE(parseTrace("", "t.csv").ok());
  EXPECT_FALSE(parseTrace(kHeader, "t.csv").ok());
}

TEST(TraceReadTest, ReadsGzipAndPlainFiles) {
  testing::TempDir dir;
  const std::string text = kHeader + "/a,1000,2,0.5,,\n";
  dir.write("plain.csv", text);
  gzFile out = gzopen((dir.path() + "/packed.csv.gz").c_str(), "wb");
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
  EXPECT_TRUE(readTrace(dir.path() + "/plain.csv").ok());
  auto packed = readTrace(dir.path() + "/packed.csv.gz");
  ASSERT_TRUE(packed.ok()) << packed.error().message();
  EXPECT_EQ(packed->samples, 1u);
  auto missing = readTrace(dir.path() + "/nope.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope.csv"), std::string::npos);
}

TEST(TraceReadTest, TheBundledDemoTraceParses) {
  auto trace = readTrace(std::string(RIGHTSIZE_SOURCE_DIR) + "/data/traces/bitbrains-demo.csv.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message();
  EXPECT_EQ(trace->apps.size(), 24u);
  EXPECT_GT(trace->samples, 13000u);
}

}  // namespace
}  // namespace rightsize::sim
