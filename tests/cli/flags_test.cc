#include "flags.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "agent_command.h"

namespace rightsize::cli {
namespace {

struct Parsed {
  AgentFlags flags;
  std::string error;  // CLI11's message when parsing failed
};

Parsed parse(std::vector<std::string> args) {
  CLI::App app("test");
  Parsed parsed;
  addAgentCommand(app, parsed.flags);
  args.insert(args.begin(), "agent");
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    parsed.error = e.what();
  }
  return parsed;
}

TEST(FlagsTest, EnvironmentVariableNames) {
  EXPECT_EQ(envNameFor("--mesos-url"), "RIGHTSIZE_MESOS_URL");
  EXPECT_EQ(envNameFor("--interval"), "RIGHTSIZE_INTERVAL");
}

TEST(AgentFlagsTest, DefaultsFollowDesignMd) {
  const Parsed parsed = parse({});
  ASSERT_EQ(parsed.error, "");
  auto settings = resolveAgentSettings(parsed.flags);
  ASSERT_TRUE(settings.ok()) << settings.error().message();
  EXPECT_EQ(settings->flags.source, "mesos");
  EXPECT_EQ(settings->flags.mesos_url, "http://127.0.0.1:5051");
  EXPECT_EQ(settings->interval, std::chrono::seconds(10));
  EXPECT_EQ(settings->window, std::chrono::minutes(5));
  EXPECT_EQ(settings->listen.host, "0.0.0.0");
  EXPECT_EQ(settings->listen.port, 9540);
  EXPECT_FALSE(settings->host.empty());
}

TEST(AgentFlagsTest, FlagsOverrideEnvironmentWhichOverridesDefaults) {
  ::setenv("RIGHTSIZE_INTERVAL", "30s", 1);
  ::setenv("RIGHTSIZE_SOURCE", "cgroups", 1);
  const Parsed from_env = parse({});
  const Parsed from_flag = parse({"--interval", "1m"});
  ::unsetenv("RIGHTSIZE_INTERVAL");
  ::unsetenv("RIGHTSIZE_SOURCE");
  ASSERT_EQ(from_env.error, "");
  EXPECT_EQ(from_env.flags.interval, "30s");
  EXPECT_EQ(from_env.flags.source, "cgroups");
  EXPECT_EQ(from_flag.flags.interval, "1m");
}

TEST(AgentFlagsTest, BadValuesAreRejectedNamingTheFlagAndValue) {
  const Parsed duration = parse({"--interval", "10"});
  EXPECT_NE(duration.error.find("--interval"), std::string::npos) << duration.error;
  EXPECT_NE(duration.error.find("'10'"), std::string::npos) << duration.error;
  const Parsed listen = parse({"--listen", "localhost"});
  EXPECT_NE(listen.error.find("--listen"), std::string::npos) << listen.error;
  const Parsed source = parse({"--source", "docker"});
  EXPECT_NE(source.error.find("--source"), std::string::npos) << source.error;
  const Parsed unknown = parse({"--intervall", "10s"});
  EXPECT_NE(unknown.error.find("--intervall"), std::string::npos) << unknown.error;
  const Parsed zero = parse({"--interval", "0s"});
  EXPECT_NE(zero.error.find("longer than 0"), std::string::npos) << zero.error;
}

TEST(AgentFlagsTest, CrossFlagChecks) {
  AgentFlags flags;
  flags.interval = "10m";
  flags.window = "5m";
  auto short_window = resolveAgentSettings(flags);
  ASSERT_FALSE(short_window.ok());
  EXPECT_NE(short_window.error().message().find("--window"), std::string::npos);
  flags = AgentFlags{};
  flags.mesos_url = "127.0.0.1:5051";
  auto bad_url = resolveAgentSettings(flags);
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error().message().find("--mesos-url"), std::string::npos);
}

}  // namespace
}  // namespace rightsize::cli
