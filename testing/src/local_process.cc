#include "local_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace rightsize::testing::local {

// PATH first, then where Debian puts it.
std::string findExecutable(const std::string& name) {
  std::vector<std::string> candidates;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) candidates.push_back(std::string(dir) + "/" + name);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  candidates.emplace_back("/usr/bin/" + name);
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// The kernel picks a port that is free now; another process may take it
// before the server binds it, hence the callers' retries.
Expected<std::uint16_t> freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error(ErrorKind::kInternal, "socket: " + systemErrorText(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (::bind(fd, generic, sizeof address) != 0 || ::getsockname(fd, generic, &length) != 0) {
    const int saved = errno;
    ::close(fd);
    return Error(ErrorKind::kInternal, "binding 127.0.0.1:0: " + systemErrorText(saved));
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(address.sin_port));
}

Expected<std::string> makeDirectory(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error(ErrorKind::kInternal, "mkdtemp " + pattern + ": " + systemErrorText(errno));
  }
  return pattern;
}

}  // namespace rightsize::testing::local
