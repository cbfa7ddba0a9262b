#include "rightsize/core/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rightsize {
namespace {

Error fileError(const std::string& path, int error_number) {
  return Error(error_number == ENOENT ? ErrorKind::kMissingField : ErrorKind::kUnreadable,
               path + ": " + systemErrorText(error_number));
}

}  // namespace

Status RealFileSystem::readFile(const std::string& path, std::string& out) const {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fileError(path, errno);
  // Kernel files report size 0, so read in chunks until EOF.
  constexpr std::size_t kChunk = 4096;
  while (true) {
    const std::size_t used = out.size();
    out.resize(used + kChunk);
    const ssize_t n = ::read(fd, out.data() + used, kChunk);
    if (n < 0) {
      if (errno == EINTR) {
        out.resize(used);
        continue;
      }
      const int saved = errno;
      out.clear();
      ::close(fd);
      return fileError(path, saved);
    }
    out.resize(used + static_cast<std::size_t>(n));
    if (n == 0) break;
  }
  ::close(fd);
  return Status::success();
}

Expected<std::vector<std::string>> RealFileSystem::listDirectories(const std::string& path) const {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return fileError(path, errno);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    bool is_directory = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat info {};
      is_directory = ::fstatat(::dirfd(dir), name, &info, 0) == 0 && S_ISDIR(info.st_mode);
    }
    if (is_directory) names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

bool RealFileSystem::isDirectory(const std::string& path) const {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool RealFileSystem::exists(const std::string& path) const {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

}  // namespace rightsize
