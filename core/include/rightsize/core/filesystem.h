#pragma once

// All file-system access of the agent goes through FileSystem, so that tests
// and fault injection can swap the real one for another (cf. LevelDB's Env).

#include <string>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize {

// Thread-safety: implementations must allow concurrent calls.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Replaces `out` with the whole file. A file that does not exist is an
  // error of kind kMissingField; any other failure is kUnreadable. Both name
  // the path and the reason. `out` is reused to avoid an allocation per read.
  virtual Status readFile(const std::string& path, std::string& out) const = 0;

  // Names of the subdirectories of `path` (not "." or ".."), unsorted.
  // Same error kinds as readFile.
  virtual Expected<std::vector<std::string>> listDirectories(const std::string& path) const = 0;

  virtual bool isDirectory(const std::string& path) const = 0;
  virtual bool exists(const std::string& path) const = 0;
};

// POSIX implementation: open/read/close, opendir/readdir.
class RealFileSystem final : public FileSystem {
 public:
  Status readFile(const std::string& path, std::string& out) const override;
  Expected<std::vector<std::string>> listDirectories(const std::string& path) const override;
  bool isDirectory(const std::string& path) const override;
  bool exists(const std::string& path) const override;
};

}  // namespace rightsize
