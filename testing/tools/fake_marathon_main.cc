// rightsize-fake-marathon: the Marathon test double as a process, for demos,
// for trying the sizer by hand and for tests of Marathon clients.
//
//   rightsize-fake-marathon [--listen HOST:PORT] [--apps FILE]...
//       [--deployment-duration DURATION] [--host HOST]... [--seed N]
//
// Prints the URL it serves on as the first line of stdout once ready, then
// serves on the real clock until SIGINT or SIGTERM. Logs go to stderr.

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "rightsize/core/clock.h"
#include "rightsize/core/filesystem.h"
#include "rightsize/core/http.h"
#include "rightsize/core/text.h"
#include "rightsize/testing/fake_marathon.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Blocked before the server's threads start, so that they inherit the mask
  // and sigwait() below is the only place the signals land.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app("A stateful double of Marathon's REST API v2: apps, tasks, deployments that take time.",
               "rightsize-fake-marathon");
  std::string listen_text = "127.0.0.1:0";
  std::vector<std::string> app_files;
  std::string duration_text = "5s";
  std::vector<std::string> hosts;
  std::uint64_t seed = 1;
  app.add_option("--listen", listen_text, "HOST:PORT to serve on (port 0: any free port)")->capture_default_str();
  app.add_option("--apps", app_files,
                 "Marathon JSON to start with: an app, an array of apps, {\"apps\": [...]} or a group (repeatable)");
  app.add_option("--deployment-duration", duration_text, "How long deployments take, e.g. 500ms, 10s, 5m")
      ->capture_default_str();
  app.add_option("--host", hosts, "Host that tasks are placed on, round-robin (repeatable; default 127.0.0.1)");
  app.add_option("--seed", seed, "Seed of the task and deployment ids")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("rightsize-fake-marathon"));
  auto listen = rightsize::parseHostPort(listen_text);
  if (!listen) {
    spdlog::error("--listen {}: {}", listen_text, listen.error().message());
    return 2;
  }
  auto duration = rightsize::parseDuration(duration_text);
  if (!duration) {
    spdlog::error("--deployment-duration {}: {}", duration_text, duration.error().message());
    return 2;
  }

  rightsize::initHttpLibraries();
  rightsize::testing::FakeMarathonOptions options;
  options.deployment_duration = *duration;
  if (!hosts.empty()) options.default_hosts = hosts;
  options.seed = seed;
  rightsize::SystemClock clock;
  rightsize::testing::FakeMarathon marathon(clock, options);
  rightsize::RealFileSystem files;
  for (const auto& path : app_files) {
    std::string content;
    if (auto read = files.readFile(path, content); !read) {
      spdlog::error("--apps {}: {}", path, read.error().message());
      return 2;
    }
    auto added = marathon.addAppsFromJson(content, path);
    if (!added) {
      spdlog::error("--apps {}: {}", path, added.error().message());
      return 2;
    }
    spdlog::info("{}: {} apps", path, *added);
  }
  if (auto started = marathon.start(*listen); !started) {
    spdlog::error("{}", started.error().message());
    return 1;
  }
  std::printf("%s\n", marathon.url().c_str());
  std::fflush(stdout);
  spdlog::info("serving {} apps on {}, deployments take {}", marathon.apps().size(), marathon.url(),
               rightsize::formatDuration(*duration));

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received signal {}, stopping", signal);
  return 0;
}
