#pragma once

// Helpers shared by the subcommands' flag definitions: every flag also reads
// an environment variable (--mesos-url <=> RIGHTSIZE_MESOS_URL), durations
// and listen addresses are validated with messages naming the flag.

#include <CLI/CLI.hpp>

#include <string>

#include "rightsize/core/clock.h"
#include "rightsize/core/text.h"

namespace rightsize::cli {

// "--mesos-url" -> "RIGHTSIZE_MESOS_URL".
std::string envNameFor(const std::string& flag);

// Adds `--name` bound to `target`, with its environment variable and default
// shown in --help.
CLI::Option* addFlag(CLI::App& app, const std::string& name, std::string& target, const std::string& help);

// Validators for CLI11 options.
CLI::Validator durationValidator(bool zero_allowed = false);
CLI::Validator listenValidator();

// Parses a validated flag value (validation has already run).
Duration durationFlag(const std::string& text);
HostPort listenFlag(const std::string& text);

// Sets up the process-wide logger: text to stderr at `level`
// (trace, debug, info, warn, error).
void setupLogging(const std::string& level);

}  // namespace rightsize::cli
