// rightsize: one binary, one subcommand per program (agent, sizer, simulate;
// see docs/api.md); the demo is rightsize-demo (cli/demo_main.cc), which links
// the test doubles.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>

#include "agent_command.h"
#include "flags.h"
#include "report_command.h"
#include "simulate_command.h"
#include "sizer_command.h"

#include "rightsize/core/http.h"

int main(int argc, char** argv) {
  // Peers that hang up are errors to report, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  rightsize::initHttpLibraries();
  CLI::App app("rightsize: keeps container reservations on Mesos/Marathon close to what they use.", "rightsize");
  app.require_subcommand(1);
  app.set_version_flag("--version", "rightsize 0.1.0");
  rightsize::cli::AgentFlags agent_flags;
  auto* agent = rightsize::cli::addAgentCommand(app, agent_flags);
  rightsize::cli::SizerFlags sizer_flags;
  auto* sizer = rightsize::cli::addSizerCommand(app, sizer_flags);
  rightsize::cli::SimulateFlags simulate_flags;
  auto* simulate = rightsize::cli::addSimulateCommand(app, simulate_flags);
  rightsize::cli::ReportFlags report_flags;
  auto* report = rightsize::cli::addReportCommand(app, report_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (agent->parsed()) {
    rightsize::cli::setupLogging(agent_flags.log_level);
    auto settings = rightsize::cli::resolveAgentSettings(agent_flags);
    if (!settings) {
      spdlog::error("rightsize agent: {}", settings.error().message());
      return 2;
    }
    return rightsize::cli::runAgent(*settings);
  }
  if (sizer->parsed()) {
    rightsize::cli::setupLogging(sizer_flags.log_level);
    auto settings = rightsize::cli::resolveSizerSettings(sizer_flags);
    if (!settings) {
      spdlog::error("rightsize sizer: {}", settings.error().message());
      return 2;
    }
    return rightsize::cli::runSizer(*settings);
  }
  if (simulate->parsed()) {
    rightsize::cli::setupLogging("warn");
    return rightsize::cli::runSimulate(simulate_flags);
  }
  if (report->parsed()) {
    rightsize::cli::setupLogging("warn");
    return rightsize::cli::runReport(report_flags);
  }
  return 0;
}
