#include "rightsize/simulate/trace.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "test_support.h"

#include "rightsize/core/filesystem.h"

namespace rightsize::simulate {
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
      // An app id reaches terminals and tables: a terminal's escape, a NUL, a DEL refused.
      {"/a\x1b[2J,1000,2,0.5,,\n", "t.csv:2: app '/a?[2J' holds a control character (0x1b at byte 3)"},
      {std::string("/a\0b,1000,2,0.5,,\n", 18), "t.csv:2: app '/a?b' holds a control character (0x00 at byte 3)"},
      {"\x7f,1000,2,0.5,,\n", "t.csv:2: app '?' holds a control character (0x7f at byte 1)"},
      // C1 as UTF-8 (CSI, U+009B), a C1 byte alone (not UTF-8).
      {std::string("/a\xc2\x9b") + "2J,1000,2,0.5,,\n",
       "t.csv:2: app '/a??2J' holds a control character (U+009B at byte 3)"},
      {std::string("/a\x9b") + "2J,1000,2,0.5,,\n", "t.csv:2: app '/a?2J' is not valid UTF-8"},
      {"/a,1000,2,0.5,100,\n", "t.csv:2: mem_reserved_mb and mem_used_mb must both be given or both be empty"},
      {"/a,1000,2,0.5,,\n/a,1000,2,0.5,,\n", "t.csv:3: timestamp_s does not increase within app '/a'"},
      {"/a,1000,2,0.5,,\n/b,1000,2,0.5,,\n/a,2000,2,0.5,,\n", "t.csv:4: rows of app '/a' are not contiguous"},
      // Memory in some of an app's rows only: replayed, the others' use and
      // kills would count as nothing (its first row decided).
      {"/b,1000,1,0.5,,\n/a,1000,2,0.5,,\n/a,1300,2,0.5,1024,4096\n",
       "t.csv:4: memory figures in a row of app '/a', whose first row (line 3) has none: an app's mem_reserved_mb "
       "and mem_used_mb are given in all its rows or in none"},
      {"/a,1000,2,0.5,1024,512\n/a,1300,2,0.5,1024,512\n/a,1600,2,0.5,,\n",
       "t.csv:4: no memory figures in a row of app '/a', whose first row (line 2) has them: an app's mem_reserved_mb "
       "and mem_used_mb are given in all its rows or in none"},
  };
  // Text beyond ASCII is an app id like any other.
  EXPECT_TRUE(parseTrace(kHeader + "/caf\xc3\xa9/\xe6\x97\xa5,1000,2,0.5,,\n", "t.csv").ok());
  for (const auto& [rows, message] : cases) {
    auto trace = parseTrace(kHeader + rows, "t.csv");
    ASSERT_FALSE(trace.ok()) << rows;
    EXPECT_EQ(trace.error().kind(), ErrorKind::kMalformed);
    EXPECT_EQ(trace.error().message(), message);
  }
  EXPECT_EQ(parseTrace("app,time\n/a,1\n", "t.csv").error().message(),
            "t.csv:1: expected the header '" + kHeader.substr(0, kHeader.size() - 1) + "', found 'app,time'");
  // A header wrong in its last column is quoted whole.
  EXPECT_EQ(parseTrace("app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mib\n/a,1,1,1,,\n",
                       "t.csv")
                .error()
                .message(),
            "t.csv:1: expected the header '" + kHeader.substr(0, kHeader.size() - 1) +
                "', found 'app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mib'");
  // '\r' line endings are line endings: the header is the first line.
  EXPECT_EQ(parseTrace("app,time\r/a,1\r", "t.csv").error().message(),
            "t.csv:1: expected the header '" + kHeader.substr(0, kHeader.size() - 1) + "', found 'app,time'");
  EXPECT_FALSE(parseTrace("", "t.csv").ok());
  EXPECT_FALSE(parseTrace(kHeader, "t.csv").ok());
}

TEST(TraceParseTest, ValuesOutOfRangeNameFileLineAndColumn) {
  const std::string timestamps = "must be from 0 to 7258118400 (1970 to 2200)";
  const std::string cores = "must be from 0 to 1000000 cores";
  const std::string memory = "must be from 0 to 1073741824 MiB (1 PiB)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/a,yesterday,2,0.5,,", "timestamp_s: 'yesterday' is not a number"},
      {"/a,1e300,2,0.5,,", "timestamp_s: '1e300' is out of range: " + timestamps},
      {"/a,7258118401,2,0.5,,", "timestamp_s: '7258118401' is out of range: " + timestamps},
      {"/a,-1,2,0.5,,", "timestamp_s: '-1' is out of range: " + timestamps},
      {"/a,1e400,2,0.5,,", "timestamp_s: '1e400' is out of range: " + timestamps},
      {"/a,inf,2,0.5,,", "timestamp_s: 'inf' is not a finite number"},
      {"/a,nan,2,0.5,,", "timestamp_s: 'nan' is not a finite number"},
      {"/a,1000,-2,0.5,,", "cpu_reserved_cores: '-2' is out of range: " + cores},
      {"/a,1000,1e308,0.5,,", "cpu_reserved_cores: '1e308' is out of range: " + cores},
      {"/a,1000,1000000.5,0.5,,", "cpu_reserved_cores: '1000000.5' is out of range: " + cores},
      {"/a,1000,2,1e309,,", "cpu_used_cores: '1e309' is out of range: " + cores},
      {"/a,1000,2,-1e309,,", "cpu_used_cores: '-1e309' is out of range: " + cores},
      {"/a,1000,2,nan,,", "cpu_used_cores: 'nan' is not a finite number"},
      {"/a,1000,2,-inf,,", "cpu_used_cores: '-inf' is not a finite number"},
      {"/a,1000,2,0x10,,", "cpu_used_cores: '0x10' is not a number"},
      {"/a,1000,2,0.5,1e308,1", "mem_reserved_mb: '1e308' is out of range: " + memory},
      {"/a,1000,2,0.5,1073741825,1", "mem_reserved_mb: '1073741825' is out of range: " + memory},
      {"/a,1000,2,0.5,nan,1", "mem_reserved_mb: 'nan' is not a finite number"},
      {"/a,1000,2,0.5,1,-1", "mem_used_mb: '-1' is out of range: " + memory},
      {"/a,1000,2,0.5,1,lots", "mem_used_mb: 'lots' is not a number"},
      {"/a,1000,2,0.5,1,2" + std::string(100, '0'),
       "mem_used_mb: '2" + std::string(39, '0') + "...' is out of range: " + memory},
      {"/a,1000,2,0.5,1,\x01\xff", "mem_used_mb: '\?\?' is not a number"},
  };
  for (const auto& [row, message] : cases) {
    // The bad row follows a good one: the error names the line it is on.
    auto trace = parseTrace(kHeader + "/a,900,2,0.5,1,1\n" + row + "\n", "t.csv");
    ASSERT_FALSE(trace.ok()) << row;
    EXPECT_EQ(trace.error().kind(), ErrorKind::kInvalidValue) << row;
    EXPECT_EQ(trace.error().message(), "t.csv:3: " + message);
  }
}

TEST(TraceParseTest, AcceptsValuesUpToTheLimits) {
  const auto whole = [](double seconds) { return std::to_string(std::llround(seconds)); };
  const auto fifty_years = whole(toSeconds(kMaxTraceSpan));
  const auto before_2200 = whole(kMaxTraceTimestampSeconds - toSeconds(kMaxTraceSpan));
  auto trace = parseTrace(kHeader + "/a,0,0,-0,0,-1e-400\n/a," + fifty_years + ",1000000,1e6,1073741824,1073741824\n" +
                              "/b," + fifty_years + ",1,1,1,1\n",
                          "t.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message();
  const auto& points = trace->apps[0].points;
  EXPECT_FALSE(std::signbit(points[0].cpu_used_cores));
  EXPECT_EQ(*points[0].memory_used_mib, 0);  // below a double's range
  EXPECT_EQ(points[1].cpu_reserved_cores, kMaxTraceCores);
  EXPECT_EQ(*points[1].memory_used_mib, kMaxTraceMemoryMib);
  EXPECT_EQ(trace->start, fromUnixSeconds(0));
  EXPECT_EQ(trace->end - trace->start, kMaxTraceSpan);
  // The latest times, the same span.
  auto late = parseTrace(kHeader + "/a," + before_2200 + ",1,1,,\n/a,7258118400,1,1,,\n", "t.csv");
  ASSERT_TRUE(late.ok()) << late.error().message();
  EXPECT_EQ(late->end, fromUnixSeconds(kMaxTraceTimestampSeconds));
}

// Times from 1970 to 2200, but a trace spans at most 50 years: the replay
// and the sizing flow take differences of a few such spans.
TEST(TraceParseTest, ATraceSpanningMoreThanFiftyYearsIsRefused) {
  const auto over = std::to_string(std::llround(toSeconds(kMaxTraceSpan)) + 1);
  auto trace = parseTrace(kHeader + "/a,0,1,1,,\n/b," + over + ",1,1,,\n", "t.csv");
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.error().kind(), ErrorKind::kMalformed);
  EXPECT_EQ(trace.error().message(), "t.csv: the trace's times span " + over + " s (about 50 years; timestamp_s 0 to " +
                                         over + "): at most 1576800000 (18250 days, 50 years of 365 days)");
  EXPECT_EQ(parseTrace(kHeader + "/a,0,1,1,,\n/a,7258118400,1,1,,\n", "t.csv").error().message(),
            "t.csv: the trace's times span 7258118400 s (about 230 years; timestamp_s 0 to 7258118400): at most "
            "1576800000 (18250 days, 50 years of 365 days)");
}

// A row padded with spaces after its last field to exactly `bytes` bytes.
std::string rowOfLength(const std::string& row, std::size_t bytes) {
  return row + std::string(bytes - row.size(), ' ');
}

TEST(TraceParseTest, LinesBeyondTheLimitFailNamingTheLine) {
  const std::string good = "/a,1000,2,0.5,,";
  auto longest = parseTrace(kHeader + rowOfLength(good, kMaxTraceLineBytes) + "\n", "t.csv");
  ASSERT_TRUE(longest.ok()) << longest.error().message();
  EXPECT_EQ(longest->samples, 1u);

  for (const std::string& tail : {std::string("\n"), std::string("\r\n"), std::string()}) {
    auto trace =
        parseTrace(kHeader + good + "\n" + rowOfLength("/b,1000,2,0.5,,", kMaxTraceLineBytes + 1) + tail, "t.csv");
    ASSERT_FALSE(trace.ok());
    EXPECT_EQ(trace.error().kind(), ErrorKind::kMalformed);
    EXPECT_EQ(trace.error().message(), "t.csv:3: line longer than 65536 bytes");
  }
  // Also the header's line.
  EXPECT_EQ(parseTrace(std::string(1 << 20, 'x'), "t.csv").error().message(), "t.csv:1: line longer than 65536 bytes");
}

// A spreadsheet's byte order mark before the header, and lines of spaces
// (blank lines) are read past.
TEST(TraceParseTest, AByteOrderMarkAndLinesOfSpacesAreReadPast) {
  auto trace = parseTrace("\xEF\xBB\xBF" + kHeader + "/a,1000,2,0.5,,\n  \n\t\r\n/a,1300,2,1.5,,\n", "t.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message();
  EXPECT_EQ(trace->samples, 2u);
  // Only before the header: elsewhere it is part of a field.
  EXPECT_FALSE(parseTrace(kHeader + "/a,1000,2,\xEF\xBB\xBF"
                                    "0.5,,\n",
                          "t.csv")
                   .ok());
}

// A gzip file cut short (a copy interrupted, a disk full) or corrupt fails
// saying so: read as far as it goes, it replayed some of the apps and exit 0.
TEST(TraceReadTest, ATruncatedOrCorruptGzipFileFailsSayingSo) {
  testing::TempDir dir;
  std::string text = kHeader;
  for (int app = 0; app < 50; ++app) {
    for (int t = 0; t < 100; ++t) {
      text += "/app" + std::to_string(app) + "," + std::to_string(1000 + 300 * t) + ",2,0.5,1024,512\n";
    }
  }
  const std::string whole = dir.path() + "/whole.csv.gz";
  gzFile out = gzopen(whole.c_str(), "wb");
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
  ASSERT_TRUE(readTrace(whole).ok());
  std::string packed;
  ASSERT_TRUE(RealFileSystem().readFile(whole, packed).ok());
  // Cut in its middle, and without its 8-byte trailer (CRC and length).
  for (const std::size_t size : {packed.size() / 2, packed.size() - 8}) {
    const std::string cut = dir.path() + "/cut.csv.gz";
    dir.write("cut.csv.gz", packed.substr(0, size));
    auto trace = readTrace(cut);
    ASSERT_FALSE(trace.ok()) << size;
    EXPECT_EQ(trace.error().kind(), ErrorKind::kUnreadable);
    EXPECT_TRUE(trace.error().message().starts_with(cut + ": the gzip stream ends before its end (a truncated file?)"))
        << trace.error().message();
  }
  // A flipped byte in the compressed data: zlib's words, the file once.
  std::string corrupt = packed;
  for (std::size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x55);
  dir.write("corrupt.csv.gz", corrupt);
  auto trace = readTrace(dir.path() + "/corrupt.csv.gz");
  ASSERT_FALSE(trace.ok());
  EXPECT_TRUE(trace.error().message().starts_with(dir.path() + "/corrupt.csv.gz: not a readable gzip stream: "))
      << trace.error().message();
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

// A line without end, as a hostile or broken trace may hold: the read fails
// at that line, and holds no more than a buffer and the limit of it at once
// (an endless line of gigabytes failed with bad_alloc).
TEST(TraceReadTest, AnEndlessLineFailsNamingItsLine) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/endless.csv.gz";
  gzFile out = gzopen(path.c_str(), "wb");
  const std::string head = kHeader + "/a,1000,2,0.5,,\n/a,";
  gzwrite(out, head.data(), static_cast<unsigned>(head.size()));
  const std::string block(1 << 20, '1');
  for (int i = 0; i < 32; ++i) gzwrite(out, block.data(), static_cast<unsigned>(block.size()));
  gzclose(out);
  auto trace = readTrace(path);
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.error().kind(), ErrorKind::kMalformed);
  EXPECT_EQ(trace.error().message(), path + ":3: line longer than 65536 bytes");
}

// A \r\n whose \r ends one of readTrace's 64 KiB blocks is one line ending,
// not a lone \r and a blank line: the next line's error names line 3.
TEST(TraceReadTest, ALineEndingAcrossABlockBoundaryIsOneEnding) {
  constexpr std::size_t kBlock = 1 << 16;
  for (const std::string ending : {"\r\n", "\r"}) {
    const std::string first = rowOfLength("/a,1000,2,0.5,,", kBlock - 1 - kHeader.size());
    const std::string text = kHeader + first + ending + "/a,900,2,0.5,,\n";
    ASSERT_EQ(text[kBlock - 1], '\r');
    testing::TempDir dir;
    dir.write("trace.csv", text);
    auto read = readTrace(dir.path() + "/trace.csv");
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().message(), dir.path() + "/trace.csv:3: timestamp_s does not increase within app '/a'");
    EXPECT_EQ(parseTrace(text, "t.csv").error().message(), "t.csv:3: timestamp_s does not increase within app '/a'");
  }
  // A line as long as the limit allows whose \r ends the second block (the
  // check of a line in progress leaves that \r out): read, and the next line
  // is line 4.
  const std::string filler = rowOfLength("/a,1000,2,0.5,,", 2 * kBlock - 2 - kMaxTraceLineBytes - kHeader.size());
  const std::string text =
      kHeader + filler + "\n" + rowOfLength("/a,1100,2,0.5,,", kMaxTraceLineBytes) + "\r\n/a,900,2,0.5,,\n";
  ASSERT_EQ(text.find('\r'), 2 * kBlock - 1);
  testing::TempDir dir;
  dir.write("trace.csv", text);
  EXPECT_EQ(readTrace(dir.path() + "/trace.csv").error().message(),
            dir.path() + "/trace.csv:4: timestamp_s does not increase within app '/a'");
  EXPECT_EQ(parseTrace(text, "t.csv").error().message(), "t.csv:4: timestamp_s does not increase within app '/a'");
}

// readTrace reads in 64 KiB blocks: lines across their boundaries, one of
// them as long as the limit allows, read as parseTrace reads the same text.
TEST(TraceReadTest, ReadsLinesAcrossBufferBoundariesAsParseDoes) {
  std::string text = kHeader;
  for (int i = 0; i < 6000; ++i) {
    const std::string row = "/app-" + std::to_string(i / 7) + "," + std::to_string(1000 + 300 * (i % 7)) + "," +
                            std::to_string(1 + i % 5) + ",0." + std::to_string(i) + ",4096," + std::to_string(i);
    // Lines ending in \n, \r\n and a lone \r (an old spreadsheet's), mixed.
    const char* const endings[] = {"\n", "\r\n", "\r"};
    text += (i == 3000 || i == 3001 ? rowOfLength(row, kMaxTraceLineBytes) : row) + endings[i % 3];
  }
  text += "/last,1000,1,0.5,,";  // no newline at its end
  testing::TempDir dir;
  dir.write("trace.csv", text);
  auto read = readTrace(dir.path() + "/trace.csv");
  ASSERT_TRUE(read.ok()) << read.error().message();
  auto parsed = parseTrace(text, "t.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_GT(text.size(), 4u * kMaxTraceLineBytes);
  EXPECT_EQ(read->samples, 6001u);
  ASSERT_EQ(read->apps.size(), parsed->apps.size());
  for (std::size_t a = 0; a < read->apps.size(); ++a) {
    const AppTrace& x = read->apps[a];
    const AppTrace& y = parsed->apps[a];
    EXPECT_EQ(x.app_id, y.app_id);
    ASSERT_EQ(x.points.size(), y.points.size()) << x.app_id;
    for (std::size_t i = 0; i < x.points.size(); ++i) {
      EXPECT_EQ(x.points[i].at, y.points[i].at);
      EXPECT_EQ(x.points[i].cpu_reserved_cores, y.points[i].cpu_reserved_cores);
      EXPECT_EQ(x.points[i].cpu_used_cores, y.points[i].cpu_used_cores);
      EXPECT_EQ(x.points[i].memory_used_mib, y.points[i].memory_used_mib);
    }
  }
  // The last line, now endless.
  dir.write("long.csv", text.substr(0, text.rfind("/last")) + std::string(2 * kMaxTraceLineBytes, '0'));
  auto long_line = readTrace(dir.path() + "/long.csv");
  ASSERT_FALSE(long_line.ok());
  EXPECT_EQ(long_line.error().message(), dir.path() + "/long.csv:6002: line longer than 65536 bytes");
}

// CPU time of this thread, which other processes on the machine do not add to.
double threadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// A trace of many apps of one sample each parses in time linear in their
// number: as fast, within a wide factor, as the same number of samples of
// one app (CPU time in the same build, so sanitizers slow both alike and
// other processes neither). Each new app was once looked up among all the
// finished ones: 400k apps took over two minutes, and the ratio here was
// about 500 (about 6 now; 2 to 4 under ASan and TSan).
TEST(TraceParseTest, ManyAppsParseInTimeLinearInTheirNumber) {
  constexpr int kRows = 100'000;
  std::string many_apps = kHeader;
  std::string one_app = kHeader;
  char row[96];
  for (int i = 0; i < kRows; ++i) {
    std::snprintf(row, sizeof row, "app-%06d,1700000000,1,0.5,1024,512\n", i);
    many_apps += row;
    std::snprintf(row, sizeof row, "app-000000,%d,1,0.5,1024,512\n", 1'700'000'000 + 300 * i);
    one_app += row;
  }
  ASSERT_EQ(many_apps.size(), one_app.size());
  const auto time = [](const std::string& text, std::size_t apps) {
    const double start = threadCpuSeconds();
    auto trace = parseTrace(text, "t.csv");
    const double seconds = threadCpuSeconds() - start;
    EXPECT_TRUE(trace.ok() && trace->apps.size() == apps);
    return seconds;
  };
  // The best of three of each, against a slow moment.
  double one = 1e9;
  double many = 1e9;
  for (int i = 0; i < 3; ++i) {
    one = std::min(one, time(one_app, 1));
    many = std::min(many, time(many_apps, kRows));
  }
  EXPECT_LT(many, 25 * one + 0.05) << "many apps: " << many << " s, one app: " << one << " s";
  // Lines ending in a lone \r as fast as in \n: no search of all the rest
  // of the text for a \n it never holds.
  std::string cr_endings = one_app;
  std::replace(cr_endings.begin(), cr_endings.end(), '\n', '\r');
  double cr = 1e9;
  for (int i = 0; i < 3; ++i) cr = std::min(cr, time(cr_endings, 1));
  EXPECT_LT(cr, 5 * one + 0.05) << "\\r endings: " << cr << " s, \\n endings: " << one << " s";
}

TEST(TraceReadTest, TheBundledDemoTraceParses) {
  auto trace = readTrace(std::string(RIGHTSIZE_SOURCE_DIR) + "/data/traces/bitbrains-demo.csv.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message();
  EXPECT_EQ(trace->apps.size(), 24u);
  EXPECT_GT(trace->samples, 13000u);
}

}  // namespace
}  // namespace rightsize::simulate
