#include "test_support.h"

#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rightsize::testing {

std::string readFixture(const std::string& relative) {
  const std::string path = std::string(RIGHTSIZE_FIXTURES_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "missing fixture %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string rightsizeBinary() { return RIGHTSIZE_BINARY; }
std::string rightsizeDemoBinary() { return RIGHTSIZE_DEMO_BINARY; }

CommandResult promtoolCheckMetrics(const std::string& exposition) {
  TempDir dir;
  dir.write("metrics.txt", exposition);
  auto promtool =
      spawn({"/bin/sh", "-c", std::string(RIGHTSIZE_PROMTOOL) + " check metrics < " + dir.path() + "/metrics.txt"});
  const int status = promtool->wait(std::chrono::seconds(30));
  promtool->drain(std::chrono::milliseconds(100));
  CommandResult result;
  result.output = promtool->output();
  result.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/rightsize-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void TempDir::makeDirectories(const std::string& relative) const {
  std::filesystem::create_directories(path_ + "/" + relative);
}

void TempDir::write(const std::string& relative, const std::string& content) const {
  const std::filesystem::path file = path_ + "/" + relative;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
}

void TempDir::remove(const std::string& relative) const { std::filesystem::remove_all(path_ + "/" + relative); }

std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  auto child = ChildProcess::start(argv, extra_env);
  if (!child) {
    std::fprintf(stderr, "cannot start %s: %s\n", argv.front().c_str(), child.error().message().c_str());
    std::abort();
  }
  return std::move(*child);
}

}  // namespace rightsize::testing
