// rightsize-demo: the whole system (the `rightsize` binary next to it as
// agents and sizer, a real redis-server) against a simulated Mesos/Marathon
// cluster driven by a usage trace. Its own binary because it links the test
// doubles, which the shipped `rightsize` must not contain.

#include <CLI/CLI.hpp>

#include <csignal>

#include "demo_command.h"
#include "flags.h"

#include "rightsize/core/http.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  rightsize::initHttpLibraries();
  CLI::App app(
      "rightsize-demo: run agents and the sizer (apply mode) against a simulated Mesos/Marathon cluster driven by "
      "a real usage trace, time accelerated, and report what was resized and saved.",
      "rightsize-demo");
  app.set_version_flag("--version", "rightsize-demo 0.1.0");
  rightsize::cli::DemoFlags flags;
  rightsize::cli::addDemoOptions(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  rightsize::cli::setupLogging("warn");
  return rightsize::cli::runDemo(flags);
}
