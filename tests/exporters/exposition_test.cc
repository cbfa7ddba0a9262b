#include "rightsize/exporters/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>

namespace rightsize::exporters {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = "Help text.";
  f.type = type;
  return f;
}

std::vector<MetricFamily> everyKindOfFamily() {
  std::vector<MetricFamily> families;
  auto gauge = family("g", MetricType::Gauge);
  const double values[] = {1.0 / 3,
                           167772160.0,
                           2.0,
                           1e-9,
                           1e21,
                           0.1,
                           -0.0,
                           -2.5,
                           12345678901234567.0,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           0.30000000000000004};
  for (double value : values) {
    ClientMetric metric;
    metric.label = {{"a", "plain"}, {"b", "q\"uote\\back\nline"}};
    metric.gauge.value = value;
    gauge.metric.push_back(metric);
  }
  ClientMetric unlabelled;
  unlabelled.gauge.value = 7;
  unlabelled.timestamp_ms = 1700000000123;
  gauge.metric.push_back(unlabelled);
  families.push_back(gauge);

  auto counter = family("c_total", MetricType::Counter);
  ClientMetric count;
  count.label = {{"kind", "malformed"}, {"source", "mesos"}};
  count.counter.value = 42;
  counter.metric.push_back(count);
  families.push_back(counter);

  auto histogram = family("h_seconds", MetricType::Histogram);
  ClientMetric h;
  h.histogram.sample_count = 5;
  h.histogram.sample_sum = 0.0123;
  h.histogram.bucket = {{1, 0.001}, {3, 0.01}, {5, 1}};
  histogram.metric.push_back(h);
  ClientMetric with_inf;
  with_inf.label = {{"x", "y"}};
  with_inf.histogram.sample_count = 2;
  with_inf.histogram.bucket = {{1, 0.5}, {2, std::numeric_limits<double>::infinity()}};
  histogram.metric.push_back(with_inf);
  families.push_back(histogram);

  auto summary = family("s", MetricType::Summary);
  ClientMetric s;
  s.summary.sample_count = 10;
  s.summary.sample_sum = 4.5;
  s.summary.quantile = {{0.5, 0.4}, {0.99, 0.9}};
  summary.metric.push_back(s);
  families.push_back(summary);

  auto untyped = family("u", MetricType::Untyped);
  untyped.help.clear();
  ClientMetric u;
  u.untyped.value = 3;
  untyped.metric.push_back(u);
  families.push_back(untyped);
  return families;
}

TEST(TextExpositionTest, SerializesExactlyAsPrometheusCppDoes) {
  const auto families = everyKindOfFamily();
  TextExposition ours;
  ours.serialize(families);
  EXPECT_EQ(ours.text(), prometheus::TextSerializer().Serialize(families));
}

TEST(TextExpositionTest, EscapesHelpTextWhichPrometheusCppDoesNot) {
  TextExposition out;
  out.header("m", "line one\nback\\slash \"quotes\" stay", MetricType::Gauge);
  EXPECT_EQ(out.text(), "# HELP m line one\\nback\\\\slash \"quotes\" stay\n# TYPE m gauge\n");
}

TEST(TextExpositionTest, InvalidUtf8InLabelValuesIsReplaced) {
  EXPECT_EQ(TextExposition::labelBlock({{"env", "pr\xFFod"}}), "{env=\"pr\xEF\xBF\xBDod\"}");
}

TEST(TextExpositionTest, StreamingSamplesWithALabelBlock) {
  TextExposition out;
  const std::string labels = TextExposition::labelBlock({{"app_id", "/web"}, {"task_id", "a\"b"}});
  EXPECT_EQ(labels, R"({app_id="/web",task_id="a\"b"})");
  EXPECT_EQ(TextExposition::labelBlock({}), "");
  out.sample("m", labels, 0.5);
  out.sample("m", "", 167772160);
  EXPECT_EQ(out.text(), "m{app_id=\"/web\",task_id=\"a\\\"b\"} 0.5\nm 167772160\n");
}

}  // namespace
}  // namespace rightsize::exporters
