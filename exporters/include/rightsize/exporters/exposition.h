#pragma once

// Prometheus text exposition (format 0.0.4), written straight into one
// string. prometheus-cpp's TextSerializer goes through std::ostream and is
// about ten times slower than writing the text directly (bench/agent_bench:
// BM_RenderMetrics vs BM_RenderNaive), which matters at 10,000 containers.
//
// serialize() renders prometheus-cpp's data model exactly as TextSerializer
// does (tests compare the two byte for byte), except that HELP text is
// escaped as the format requires. The streaming calls let a caller write
// series without building ClientMetric objects, reusing one escaped label
// block for all the series of a container.

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rightsize::exporters {

class TextExposition {
 public:
  // Appends families from prometheus-cpp (e.g. Registry::Collect()).
  void serialize(const std::vector<prometheus::MetricFamily>& families);

  // "# HELP" and "# TYPE" lines.
  void header(std::string_view name, std::string_view help, prometheus::MetricType type);
  // `labels` is a block made by labelBlock() ("" for none).
  void sample(std::string_view name, std::string_view labels, double value);

  // {name="value",...} with values escaped; "" when `labels` is empty.
  static std::string labelBlock(const std::vector<std::pair<std::string_view, std::string_view>>& labels);

  std::string& text() { return out_; }

 private:
  void appendValue(double value);
  void appendCount(std::uint64_t value);
  void appendEscapedLabelValue(std::string_view value);
  void appendHead(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric,
                  std::string_view suffix, std::string_view extra_name = {}, std::string_view extra_value = {});
  void appendTail(const prometheus::ClientMetric& metric);
  void appendCountAndSum(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric,
                         std::uint64_t count, double sum);

  std::string out_;
};

}  // namespace rightsize::exporters
