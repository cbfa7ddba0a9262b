#include "flags.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace rightsize::cli {

std::string envNameFor(const std::string& flag) {
  std::string name = "RIGHTSIZE_";
  for (char c : flag.substr(flag.find_first_not_of('-'))) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

CLI::Option* addFlag(CLI::App& app, const std::string& name, std::string& target, const std::string& help) {
  return app.add_option(name, target, help)->envname(envNameFor(name))->capture_default_str();
}

CLI::Validator durationValidator(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& value) -> std::string {
        auto parsed = parseDuration(value);
        if (!parsed) return parsed.error().message();
        if (zero_allowed ? *parsed < Duration::zero() : *parsed <= Duration::zero()) {
          return zero_allowed ? "must not be negative" : "must be longer than 0";
        }
        return {};
      },
      "DURATION");
}

CLI::Validator listenValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto parsed = parseHostPort(value);
        return parsed ? std::string() : parsed.error().message();
      },
      "HOST:PORT");
}

Duration durationFlag(const std::string& text) { return parseDuration(text).value(); }

HostPort listenFlag(const std::string& text) { return parseHostPort(text).value(); }

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("rightsize");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace rightsize::cli
