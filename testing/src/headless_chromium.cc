#include "rightsize/testing/headless_chromium.h"

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "local_process.h"

#include "rightsize/core/process.h"
#include "rightsize/core/text.h"

namespace rightsize::testing {
namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Run {
  std::string out;
  std::string err;
};

// One chromium run with `extra` flags on `url`: stdout and stderr to files
// of `directory` (a shell execs chromium with them, so the child's pid is
// chromium's).
Expected<Run> run(const std::string& chromium, const std::string& directory, const std::string& name,
                  const std::vector<std::string>& extra, const std::string& url, Duration timeout) {
  const std::string profile = directory + "/" + name + "-profile";
  std::error_code error;
  std::filesystem::create_directory(profile, error);
  if (error) return Error(ErrorKind::kInternal, "cannot create " + profile + ": " + error.message());
  const std::string out = directory + "/" + name + ".out";
  const std::string err = directory + "/" + name + ".err";
  std::vector<std::string> argv = {
      "/bin/sh", "-c", "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"", "sh", out, err, chromium,
      // No sandbox (tests run as root), no GPU, and none of the background
      // connections a closed network refuses.
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
      "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto child = ChildProcess::start(argv);
  if (!child) return child.error().withContext("starting " + chromium);
  const int status = (*child)->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  Run result{readAll(out), readAll(err)};
  if (status == -1) {
    return Error(ErrorKind::kUnavailable, chromium + " (" + name + ") did not finish within " +
                                              formatDuration(timeout) + "; its stderr:\n" + result.err);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(ErrorKind::kUnavailable, chromium + " (" + name + ") failed (status " + std::to_string(status) +
                                              "); its stderr:\n" + result.err);
  }
  return result;
}

}  // namespace

Expected<ChromiumPage> openInChromium(const std::string& url, int width, int height, Duration timeout) {
  const std::string chromium = local::findExecutable("chromium");
  if (chromium.empty()) {
    return Error(ErrorKind::kUnavailable,
                 "chromium is not installed (Debian package chromium; scripts/setup installs it)");
  }
  auto directory = local::makeDirectory("rightsize-chromium");
  if (!directory) return directory.error();
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } cleanup{*directory};
  ChromiumPage page;
  auto dom = run(chromium, *directory, "dom", {"--dump-dom"}, url, timeout);
  if (!dom) return dom.error();
  page.dom = std::move(dom->out);
  page.log = dom->err;
  const std::string png = *directory + "/screenshot.png";
  auto shot = run(chromium, *directory, "screenshot",
                  {"--screenshot=" + png, "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                   "--hide-scrollbars"},
                  url, timeout);
  if (!shot) return shot.error();
  page.log += shot->err;
  page.screenshot = readAll(png);
  if (page.screenshot.empty()) {
    return Error(ErrorKind::kUnavailable, chromium + " wrote no screenshot to " + png + "; its stderr:\n" + shot->err);
  }
  for (const std::string* log : {&dom->err, &shot->err}) {
    std::istringstream lines(*log);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(":CONSOLE") != std::string::npos) page.console.push_back(line);
    }
  }
  return page;
}

bool pngSize(const std::string& bytes, int& width, int& height) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 24 || bytes.compare(0, kSignature.size(), kSignature) != 0 || bytes.compare(12, 4, "IHDR") != 0) {
    return false;
  }
  const auto be32 = [&](std::size_t at) {
    return (static_cast<int>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<int>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<int>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<int>(static_cast<unsigned char>(bytes[at + 3]));
  };
  width = be32(16);
  height = be32(20);
  return true;
}

}  // namespace rightsize::testing
