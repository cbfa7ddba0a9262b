#include "rightsize/exporters/exposition.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "rightsize/core/text.h"

namespace rightsize::exporters {
namespace {

using prometheus::MetricType;

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

// Values as prometheus-cpp writes them: 16 significant digits, shortest of
// fixed or scientific ("%.16g"), and "Nan", "+Inf", "-Inf".
std::string_view formatValue(double value, char (&buffer)[40]) {
  if (std::isnan(value)) return "Nan";
  if (std::isinf(value)) return value < 0 ? "-Inf" : "+Inf";
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 16);
  return std::string_view(buffer, static_cast<std::size_t>(end - buffer));
}

void escapeInto(std::string& out, std::string_view raw, bool quote_too) {
  // Prometheus rejects a whole scrape over one invalid UTF-8 label value.
  std::string clean;
  std::string_view value = raw;
  if (!isValidUtf8(raw)) {
    clean = sanitizeUtf8(raw);
    value = clean;
  }
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote_too && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

void TextExposition::appendValue(double value) {
  char buffer[40];
  out_ += formatValue(value, buffer);
}

void TextExposition::appendCount(std::uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_.append(buffer, end);
}

void TextExposition::appendEscapedLabelValue(std::string_view value) { escapeInto(out_, value, true); }

std::string TextExposition::labelBlock(const std::vector<std::pair<std::string_view, std::string_view>>& labels) {
  if (labels.empty()) return {};
  std::string block = "{";
  for (const auto& [name, value] : labels) {
    if (block.size() > 1) block += ',';
    block += name;
    block += "=\"";
    escapeInto(block, value, true);
    block += '"';
  }
  block += '}';
  return block;
}

void TextExposition::header(std::string_view name, std::string_view help, MetricType type) {
  if (!help.empty()) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    escapeInto(out_, help, false);
    out_ += '\n';
  }
  out_ += "# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += typeName(type);
  out_ += '\n';
}

void TextExposition::sample(std::string_view name, std::string_view labels, double value) {
  out_ += name;
  out_ += labels;
  out_ += ' ';
  appendValue(value);
  out_ += '\n';
}

void TextExposition::appendHead(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric,
                                std::string_view suffix, std::string_view extra_name, std::string_view extra_value) {
  out_ += family.name;
  out_ += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out_ += ',';
      first = false;
      out_ += label.name;
      out_ += "=\"";
      appendEscapedLabelValue(label.value);
      out_ += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out_ += ',';
      out_ += extra_name;
      out_ += "=\"";
      appendEscapedLabelValue(extra_value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void TextExposition::appendTail(const prometheus::ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out_ += ' ';
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, metric.timestamp_ms);
    out_.append(buffer, end);
  }
  out_ += '\n';
}

void TextExposition::appendCountAndSum(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric,
                                       std::uint64_t count, double sum) {
  appendHead(family, metric, "_count");
  appendCount(count);
  appendTail(metric);
  appendHead(family, metric, "_sum");
  appendValue(sum);
  appendTail(metric);
}

void TextExposition::serialize(const std::vector<prometheus::MetricFamily>& families) {
  char buffer[40];
  for (const auto& family : families) {
    header(family.name, family.help, family.type);
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case MetricType::Counter:
        case MetricType::Gauge:
        case MetricType::Untyped:
          appendHead(family, metric, "");
          appendValue(family.type == MetricType::Counter ? metric.counter.value
                      : family.type == MetricType::Gauge ? metric.gauge.value
                                                         : metric.untyped.value);
          appendTail(metric);
          break;
        case MetricType::Summary:
          appendCountAndSum(family, metric, metric.summary.sample_count, metric.summary.sample_sum);
          for (const auto& quantile : metric.summary.quantile) {
            appendHead(family, metric, "", "quantile", formatValue(quantile.quantile, buffer));
            appendValue(quantile.value);
            appendTail(metric);
          }
          break;
        case MetricType::Histogram: {
          const auto& histogram = metric.histogram;
          appendCountAndSum(family, metric, histogram.sample_count, histogram.sample_sum);
          double last = -std::numeric_limits<double>::infinity();
          for (const auto& bucket : histogram.bucket) {
            appendHead(family, metric, "_bucket", "le", formatValue(bucket.upper_bound, buffer));
            last = bucket.upper_bound;
            appendCount(bucket.cumulative_count);
            appendTail(metric);
          }
          if (last != std::numeric_limits<double>::infinity()) {
            appendHead(family, metric, "_bucket", "le", "+Inf");
            appendCount(histogram.sample_count);
            appendTail(metric);
          }
          break;
        }
      }
    }
  }
}

}  // namespace rightsize::exporters
