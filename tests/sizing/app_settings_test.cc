#include "rightsize/sizing/app_settings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

namespace rightsize::sizing {
namespace {

TEST(AppSettingsTest, DefaultsWithoutLabels) {
  const auto parsed = parseAppLabels({}, AppSettings{});
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_FALSE(parsed.settings.enabled);
  EXPECT_EQ(parsed.settings.cpu_band, (Band{-0.1, 0.6}));
}

TEST(AppSettingsTest, EveryLabel) {
  const auto parsed = parseAppLabels({{"rightsize.enabled", "true"},
                                      {"rightsize.cpu.band", "-0.2:0.4"},
                                      {"rightsize.cpu.min", "0.5"},
                                      {"rightsize.cpu.max", "8"},
                                      {"rightsize.mem.band", "0:1024"},
                                      {"rightsize.mem.min", "256"},
                                      {"rightsize.mem.max", "16384"},
                                      {"rightsize.cooldown", "1h"},
                                      {"rightsize.kafka.groups", "a, b"},
                                      {"rightsize.max-downsizes-per-day", "3"},
                                      {"rightsize.min-change", "0.05"},
                                      {"rightsize.cpu.min-change", "0.5"},
                                      {"rightsize.mem.min-change", "0"},
                                      {"rightsize.allow-single-instance", "true"},
                                      {"rightsize.cpu.percentile", "99"},
                                      {"rightsize.cpu.headroom", "0.25"},
                                      {"rightsize.mem.percentile", "90"},
                                      {"rightsize.mem.headroom", "0"},
                                      {"team", "x"}},
                                     AppSettings{});
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front();
  const auto& s = parsed.settings;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.cpu_band, (Band{-0.2, 0.4}));
  EXPECT_EQ(s.mem_band, (Band{0, 1024}));
  EXPECT_EQ(*s.cpu_min, 0.5);
  EXPECT_EQ(*s.cpu_max, 8);
  EXPECT_EQ(*s.mem_min, 256);
  EXPECT_EQ(*s.mem_max, 16384);
  EXPECT_EQ(s.cooldown, std::chrono::hours(1));
  EXPECT_EQ(s.kafka_groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.max_downsizes, 3);
  EXPECT_EQ(s.min_change, 0.05);
  EXPECT_EQ(s.min_change_cpus, 0.5);
  EXPECT_EQ(s.min_change_mem_mib, 0);
  EXPECT_TRUE(s.allow_single_instance);
  EXPECT_EQ(*s.cpu_percentile, 0.99);
  EXPECT_EQ(*s.cpu_headroom, 0.25);
  EXPECT_EQ(*s.mem_percentile, 0.9);
  EXPECT_EQ(*s.mem_headroom, 0);
  // Without labels, the policy's own (none set here).
  const auto plain = parseAppLabels({}, AppSettings{}).settings;
  EXPECT_FALSE(plain.allow_single_instance);
  EXPECT_FALSE(plain.cpu_percentile || plain.cpu_headroom || plain.mem_percentile || plain.mem_headroom);
}

TEST(AppSettingsTest, BadLabelsAreReportedAndIgnored) {
  AppSettings defaults;
  defaults.cooldown = std::chrono::minutes(15);
  const auto parsed = parseAppLabels({{"rightsize.enabled", "yes"},
                                      {"rightsize.cpu.band", "0.6:-0.1"},
                                      {"rightsize.mem.band", "lots"},
                                      {"rightsize.cpu.min", "-1"},
                                      {"rightsize.mem.min", "2048"},
                                      {"rightsize.mem.max", "1024"},
                                      {"rightsize.cooldown", "soon"},
                                      {"rightsize.max-downsizes-per-day", "-1"}},
                                     defaults);
  ASSERT_EQ(parsed.errors.size(), 7u);
  EXPECT_EQ(parsed.errors[0], "rightsize.enabled: 'yes' is neither true nor false");
  const auto& s = parsed.settings;
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.cpu_band, (Band{-0.1, 0.6}));
  EXPECT_FALSE(s.cpu_min);
  EXPECT_FALSE(s.mem_min);
  EXPECT_FALSE(s.mem_max);
  EXPECT_EQ(s.cooldown, std::chrono::minutes(15));
  EXPECT_EQ(s.max_downsizes, 1);  // the default
  EXPECT_EQ(parsed.errors[6], "rightsize.max-downsizes-per-day: '-1' is not a whole number from 0 to 1000");
  for (const char* bad : {"1.5", "1001", " 2", "two", ""}) {
    const auto other = parseAppLabels({{"rightsize.max-downsizes-per-day", bad}}, defaults);
    EXPECT_EQ(other.errors.size(), 1u) << bad;
    EXPECT_EQ(other.settings.max_downsizes, 1) << bad;
  }
  EXPECT_EQ(parseAppLabels({{"rightsize.max-downsizes-per-day", "0"}}, defaults).settings.max_downsizes, 0);
  for (const char* bad : {"-0.1", "1", "10%", "nan"}) {
    const auto other = parseAppLabels({{"rightsize.min-change", bad}}, defaults);
    ASSERT_EQ(other.errors.size(), 1u) << bad;
    EXPECT_EQ(other.errors[0],
              "rightsize.min-change: '" + std::string(bad) + "' is not a share from 0 to below 1, e.g. 0.1");
    EXPECT_EQ(other.settings.min_change, 0.1) << bad;
  }
  for (const char* bad : {"-1", "lots", "nan", "inf", "2000000"}) {
    const auto other = parseAppLabels({{"rightsize.cpu.min-change", bad}, {"rightsize.mem.min-change", bad}}, defaults);
    ASSERT_EQ(other.errors.size(), 2u) << bad;
    EXPECT_EQ(other.errors[0], "rightsize.cpu.min-change: '" + std::string(bad) +
                                   "' is not a number of cores from 0 to 1024, e.g. 0.25");
    EXPECT_EQ(other.errors[1], "rightsize.mem.min-change: '" + std::string(bad) +
                                   "' is not a number of MiB from 0 to 1048576, e.g. 512");
    EXPECT_EQ(other.settings.min_change_cpus, 0.25) << bad;
    EXPECT_EQ(other.settings.min_change_mem_mib, 512) << bad;
  }
  // A cooldown (or scale interval) beyond ten years would overflow the time
  // it is added to and end in the past: refused, the default kept.
  const auto endless =
      parseAppLabels({{"rightsize.cooldown", "100000d"}, {"rightsize.scale.interval", "4000d"}}, defaults);
  ASSERT_EQ(endless.errors.size(), 2u);
  EXPECT_NE(endless.errors[0].find("rightsize.cooldown: invalid duration '100000d': too long: at most 3650d"),
            std::string::npos)
      << endless.errors[0];
  EXPECT_NE(endless.errors[1].find("rightsize.scale.interval"), std::string::npos) << endless.errors[1];
  EXPECT_EQ(endless.settings.cooldown, std::chrono::minutes(15));
  EXPECT_FALSE(endless.settings.scale.interval.has_value());
  EXPECT_EQ(parseAppLabels({{"rightsize.cooldown", "3650d"}}, defaults).settings.cooldown, std::chrono::days(3650));
}

TEST(AppSettingsTest, BadSizingOverridesAreReportedAndIgnored) {
  AppSettings defaults;
  defaults.allow_single_instance = true;  // the sizer's --allow-single-instance
  const auto parsed = parseAppLabels({{"rightsize.allow-single-instance", "yes"},
                                      {"rightsize.cpu.percentile", "0.95"},
                                      {"rightsize.mem.percentile", "101"},
                                      {"rightsize.cpu.headroom", "-0.1"},
                                      {"rightsize.mem.headroom", "15%"}},
                                     defaults);
  ASSERT_EQ(parsed.errors.size(), 5u);
  EXPECT_EQ(parsed.errors[0], "rightsize.allow-single-instance: 'yes' is neither true nor false");
  EXPECT_EQ(parsed.errors[1], "rightsize.cpu.percentile: '0.95' is not a percentile from 50 to 100, e.g. 95");
  EXPECT_EQ(parsed.errors[2], "rightsize.mem.percentile: '101' is not a percentile from 50 to 100, e.g. 95");
  EXPECT_EQ(parsed.errors[3], "rightsize.cpu.headroom: '-0.1' is not a share from 0 to 10, e.g. 0.15 for 15 % above");
  EXPECT_EQ(parsed.errors[4], "rightsize.mem.headroom: '15%' is not a share from 0 to 10, e.g. 0.15 for 15 % above");
  const auto& s = parsed.settings;
  EXPECT_TRUE(s.allow_single_instance);
  EXPECT_FALSE(s.cpu_percentile || s.cpu_headroom || s.mem_percentile || s.mem_headroom);
  // The label overrides the sizer's default either way.
  EXPECT_FALSE(parseAppLabels({{"rightsize.allow-single-instance", "false"}}, defaults).settings.allow_single_instance);
}

// Burstable: the label, each limit unlimited or sized, bad values reported
// and the default kept; the sizer's --limits is the default a label
// overrides.
// A label under "rightsize." the sizer does not read is reported (a
// misspelt one would be ignored without a word); other labels are the
// app's own business.
TEST(AppSettingsTest, AnUnknownRightsizeLabelIsReported) {
  const auto parsed = parseAppLabels({{"rightsize.enabled", "true"},
                                      {"rightsize.max-downsize-per-day", "3"},
                                      {"rightsize.cpu.precentile", "60"},
                                      {"team", "payments"},
                                      {"rightsizer.enabled", "true"}},
                                     AppSettings{});
  EXPECT_TRUE(parsed.settings.enabled);
  ASSERT_EQ(parsed.errors.size(), 2u);
  EXPECT_EQ(parsed.errors[0],
            "rightsize.cpu.precentile: not a label rightsize reads, ignored (misspelt? docs/sizer.md lists them)");
  EXPECT_EQ(parsed.errors[1].substr(0, 35), "rightsize.max-downsize-per-day: not");
}

// The labels read are the labels documented, both ways.
TEST(AppSettingsTest, EveryLabelReadIsDocumentedAndEveryDocumentedLabelIsRead) {
  std::ifstream file(std::string(RIGHTSIZE_SOURCE_DIR) + "/docs/sizer.md");
  ASSERT_TRUE(file) << "docs/sizer.md";
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::set<std::string> documented;
  const std::regex label("`(rightsize\\.[a-z0-9.-]*[a-z0-9])");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), label); it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str());
  }
  for (const std::string_view read : kAppLabels) {
    EXPECT_TRUE(documented.contains(std::string(read))) << read << " is read but not in docs/sizer.md";
  }
  for (const std::string& name : documented) {
    EXPECT_NE(std::find(kAppLabels.begin(), kAppLabels.end(), name), kAppLabels.end())
        << name << " is in docs/sizer.md but not read";
  }
}

// What is sent to Marathon is on the sizer's steps (0.05 cores, 32 MiB): a
// bound between two steps is taken to the one inside it and reported; one
// below the smallest size is no bound.
TEST(AppSettingsTest, SizeBoundsAreTakenOntoTheSteps) {
  const auto parsed = parseAppLabels({{"rightsize.cpu.min", "0.33"},
                                      {"rightsize.cpu.max", "1.2333"},
                                      {"rightsize.mem.min", "1000"},
                                      {"rightsize.mem.max", "1100"}},
                                     AppSettings{});
  EXPECT_EQ(parsed.settings.cpu_min, 0.35);
  EXPECT_EQ(parsed.settings.cpu_max, 1.2);
  EXPECT_EQ(parsed.settings.mem_min, 1024);
  EXPECT_EQ(parsed.settings.mem_max, 1088);
  ASSERT_EQ(parsed.errors.size(), 4u);
  EXPECT_EQ(parsed.errors[1], "rightsize.cpu.max: '1.2333' is not on the 0.05 cores step; 1.20 used");
  EXPECT_EQ(parsed.errors[3], "rightsize.mem.max: '1100' is not on the 32 MiB step; 1088 used");
  const auto tiny = parseAppLabels({{"rightsize.cpu.max", "0.0001"}, {"rightsize.mem.max", "8"}}, AppSettings{});
  EXPECT_FALSE(tiny.settings.cpu_max);
  EXPECT_FALSE(tiny.settings.mem_max);
  ASSERT_EQ(tiny.errors.size(), 2u);
  EXPECT_EQ(tiny.errors[0], "rightsize.cpu.max: '0.0001' is below the smallest size, 0.05 cores; ignored");
  // A pin off the step (no step between min and max) is kept as written.
  const auto pinned = parseAppLabels({{"rightsize.mem.min", "1000"}, {"rightsize.mem.max", "1000"}}, AppSettings{});
  EXPECT_EQ(pinned.settings.mem_min, 1000);
  EXPECT_EQ(pinned.settings.mem_max, 1000);
  ASSERT_EQ(pinned.errors.size(), 1u);
  EXPECT_EQ(pinned.errors[0],
            "rightsize.mem.min: no 32 MiB step lies between it and rightsize.mem.max (1000 to "
            "1000): both kept as written");
  // Too large for its steps to be counted: kept as written (labels_fuzz).
  const auto huge = parseAppLabels({{"rightsize.cpu.max", "1e308"}}, AppSettings{});
  EXPECT_EQ(huge.settings.cpu_max, 1e308);
  // On the step already: taken as written, nothing said.
  const auto exact = parseAppLabels({{"rightsize.cpu.max", "2.35"}, {"rightsize.mem.min", "512"}}, AppSettings{});
  EXPECT_TRUE(exact.errors.empty());
  EXPECT_EQ(exact.settings.cpu_max, 2.35);
}

TEST(AppSettingsTest, LimitsLabels) {
  const auto parsed = parseAppLabels(
      {{"rightsize.limits", "burstable"}, {"rightsize.cpu.limit", "unlimited"}, {"rightsize.mem.limit", "sized"}}, {});
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_TRUE(parsed.settings.burstable);
  EXPECT_TRUE(parsed.settings.cpu_limit_unlimited);
  EXPECT_FALSE(parsed.settings.mem_limit_unlimited);
  AppSettings defaults;
  defaults.burstable = true;  // --limits burstable
  const auto bad = parseAppLabels({{"rightsize.limits", "burst"}, {"rightsize.mem.limit", "8192"}}, defaults);
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0], "rightsize.limits: 'burst' is neither burstable nor none");
  EXPECT_EQ(bad.errors[1], "rightsize.mem.limit: '8192' is neither unlimited nor sized");
  EXPECT_TRUE(bad.settings.burstable);
  EXPECT_FALSE(bad.settings.mem_limit_unlimited);
  EXPECT_FALSE(parseAppLabels({{"rightsize.limits", "none"}}, defaults).settings.burstable);
}

TEST(AppSettingsTest, ScalingIsOffWithoutBothBounds) {
  const auto none = parseAppLabels({{"rightsize.scale.up", "0.7"}}, AppSettings{});
  EXPECT_TRUE(none.errors.empty());
  EXPECT_FALSE(none.settings.scale.enabled());
  const auto only_min = parseAppLabels({{"rightsize.instances.min", "2"}}, AppSettings{});
  ASSERT_EQ(only_min.errors.size(), 1u);
  EXPECT_EQ(only_min.errors[0].rfind("rightsize.instances.max: missing", 0), 0u) << only_min.errors[0];
  EXPECT_FALSE(only_min.settings.scale.enabled());
}

TEST(AppSettingsTest, ScalingLabels) {
  const auto parsed = parseAppLabels({{"rightsize.instances.min", "2"},
                                      {"rightsize.instances.max", "6"},
                                      {"rightsize.scale.metric", "kafka_lag_seconds"},
                                      {"rightsize.scale.up", "120"},
                                      {"rightsize.scale.down", "10"},
                                      {"rightsize.scale.step", "2"},
                                      {"rightsize.scale.interval", "10m"}},
                                     AppSettings{});
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0];
  const ScaleSettings& s = parsed.settings.scale;
  ASSERT_TRUE(s.enabled());
  EXPECT_EQ(*s.min_instances, 2);
  EXPECT_EQ(*s.max_instances, 6);
  EXPECT_EQ(s.metric, ScaleMetric::kKafkaLagSeconds);
  EXPECT_DOUBLE_EQ(s.upThreshold(), 120);
  EXPECT_DOUBLE_EQ(s.downThreshold(), 10);
  EXPECT_EQ(s.step, 2);
  EXPECT_EQ(s.interval, std::chrono::minutes(10));
  // The metric's defaults.
  const auto cpu = parseAppLabels({{"rightsize.instances.min", "1"}, {"rightsize.instances.max", "3"}}, AppSettings{});
  EXPECT_EQ(cpu.settings.scale.metric, ScaleMetric::kCpu);
  EXPECT_DOUBLE_EQ(cpu.settings.scale.upThreshold(), 0.8);
  EXPECT_DOUBLE_EQ(cpu.settings.scale.downThreshold(), 0.3);
  EXPECT_EQ(cpu.settings.scale.step, 1);
  EXPECT_FALSE(cpu.settings.scale.interval.has_value());
}

TEST(AppSettingsTest, BadScalingLabelsAreReportedAndIgnored) {
  const auto parsed = parseAppLabels({{"rightsize.instances.min", "-1"},
                                      {"rightsize.instances.max", "6"},
                                      {"rightsize.scale.metric", "rps"},
                                      {"rightsize.scale.up", "NaN"},
                                      {"rightsize.scale.down", "0"},
                                      {"rightsize.scale.step", "0"},
                                      {"rightsize.scale.interval", "soon"}},
                                     AppSettings{});
  std::vector<std::string> labels;
  for (const auto& error : parsed.errors) labels.push_back(error.substr(0, error.find(':')));
  EXPECT_EQ(labels,
            (std::vector<std::string>{"rightsize.instances.min", "rightsize.scale.metric", "rightsize.scale.up",
                                      "rightsize.scale.down", "rightsize.scale.step", "rightsize.scale.interval"}));
  const ScaleSettings& s = parsed.settings.scale;
  EXPECT_FALSE(s.enabled());  // a bad bound: scaling off, not half on
  EXPECT_EQ(s.metric, ScaleMetric::kCpu);
  EXPECT_EQ(s.step, 1);
  EXPECT_FALSE(s.up.has_value());
  EXPECT_FALSE(s.down.has_value());
  EXPECT_FALSE(s.interval.has_value());

  const auto crossed =
      parseAppLabels({{"rightsize.instances.min", "5"}, {"rightsize.instances.max", "3"}}, AppSettings{});
  ASSERT_EQ(crossed.errors.size(), 1u);
  EXPECT_EQ(crossed.errors[0], "rightsize.instances.min: above rightsize.instances.max; scaling is off");
  EXPECT_FALSE(crossed.settings.scale.enabled());

  const auto inverted = parseAppLabels({{"rightsize.instances.min", "1"},
                                        {"rightsize.instances.max", "3"},
                                        {"rightsize.scale.up", "0.2"},
                                        {"rightsize.scale.down", "0.5"}},
                                       AppSettings{});
  ASSERT_EQ(inverted.errors.size(), 1u);
  EXPECT_NE(inverted.errors[0].find("must be below rightsize.scale.up"), std::string::npos) << inverted.errors[0];
  EXPECT_DOUBLE_EQ(inverted.settings.scale.upThreshold(), 0.8);
  EXPECT_DOUBLE_EQ(inverted.settings.scale.downThreshold(), 0.3);

  const auto huge =
      parseAppLabels({{"rightsize.instances.min", "1"}, {"rightsize.instances.max", "10001"}}, AppSettings{});
  ASSERT_EQ(huge.errors.size(), 1u);
  EXPECT_EQ(huge.errors[0], "rightsize.instances.max: '10001' is not a whole number from 1 to 10000");
}

TEST(BandTest, Parsing) {
  EXPECT_EQ(*parseBand("-0.1:0.6"), (Band{-0.1, 0.6}));
  EXPECT_FALSE(parseBand("0.6").ok());
  EXPECT_FALSE(parseBand("a:b").ok());
  EXPECT_FALSE(parseBand("1:1").ok());
  EXPECT_FALSE(parseBand("nan:1").ok());
}

}  // namespace
}  // namespace rightsize::sizing
