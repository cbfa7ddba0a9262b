#include "rightsize/core/filesystem.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace rightsize {
namespace {

TEST(RealFileSystemTest, ReadsWholeFilesAndListsDirectories) {
  testing::TempDir dir;
  dir.write("a/file", std::string(10000, 'z'));
  dir.makeDirectories("a/sub1");
  dir.makeDirectories("a/sub2");
  RealFileSystem fs;
  std::string out;
  ASSERT_TRUE(fs.readFile(dir.path() + "/a/file", out).ok());
  EXPECT_EQ(out.size(), 10000u);
  auto names = fs.listDirectories(dir.path() + "/a");
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"sub1", "sub2"}));
  EXPECT_TRUE(fs.isDirectory(dir.path() + "/a/sub1"));
  EXPECT_FALSE(fs.isDirectory(dir.path() + "/a/file"));
  EXPECT_TRUE(fs.exists(dir.path() + "/a/file"));
}

TEST(RealFileSystemTest, MissingIsDistinguishedFromUnreadable) {
  testing::TempDir dir;
  dir.makeDirectories("d");
  RealFileSystem fs;
  std::string out;
  auto missing = fs.readFile(dir.path() + "/nope", out);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kMissingField);
  EXPECT_NE(missing.error().message().find(dir.path() + "/nope"), std::string::npos);
  auto directory = fs.readFile(dir.path() + "/d", out);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().kind(), ErrorKind::kUnreadable);
  EXPECT_EQ(fs.listDirectories(dir.path() + "/nope").error().kind(), ErrorKind::kMissingField);
}

TEST(RealFileSystemTest, ReadsKernelFilesThatReportSizeZero) {
  RealFileSystem fs;
  std::string out;
  ASSERT_TRUE(fs.readFile("/proc/self/status", out).ok());
  EXPECT_NE(out.find("Pid:"), std::string::npos);
}

}  // namespace
}  // namespace rightsize
