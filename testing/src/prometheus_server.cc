#include "rightsize/testing/prometheus_server.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "local_process.h"

#include "rightsize/core/text.h"
#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::testing {
namespace {

using namespace std::chrono_literals;

using local::kPortAttempts;
using local::kStopTimeout;

Status writeFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) return Error(ErrorKind::kUnreadable, "writing " + path);
  return Status::success();
}

}  // namespace

Expected<std::unique_ptr<PrometheusServer>> PrometheusServer::start(std::string_view openmetrics,
                                                                    Duration ready_timeout) {
  auto directory = local::makeDirectory("rightsize-prometheus");
  if (!directory) return directory.error();
  const std::string data = *directory + "/data";
  const std::string input = *directory + "/history.om";
  // The data lives in the scratch directory: gone with the server.
  const auto removed = [&](Error error) {
    std::error_code ignored;
    std::filesystem::remove_all(*directory, ignored);
    return error;
  };
  if (Status written = writeFile(input, openmetrics); !written) return removed(written.error());
  if (Status filled = backfill(input, data, ready_timeout); !filled) return removed(filled.error());
  return launch(*directory, data, {"--query.max-samples=500000000"}, ready_timeout);
}

Status PrometheusServer::backfill(const std::string& input, const std::string& data, Duration timeout) {
  const std::string promtool = local::findExecutable("promtool");
  if (promtool.empty()) {
    return Error(ErrorKind::kUnavailable,
                 "promtool not found in PATH nor in /usr/bin: install the Debian package prometheus");
  }
  // Blocks as long as the history allows (one per 2 h by default: many).
  auto process = ChildProcess::start(
      {promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", input, data});
  if (!process) return process.error().withContext("starting promtool");
  const int status = (*process)->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  (*process)->drain(0ms);
  if (status != 0) {
    return Error(ErrorKind::kInvalidValue, "promtool tsdb create-blocks-from openmetrics " + input +
                                               " failed (status " + std::to_string(status) +
                                               "): " + (*process)->output());
  }
  return Status::success();
}

Expected<std::unique_ptr<PrometheusServer>> PrometheusServer::serve(const std::string& data,
                                                                    const std::vector<std::string>& flags,
                                                                    Duration ready_timeout) {
  auto directory = local::makeDirectory("rightsize-prometheus");
  if (!directory) return directory.error();
  return launch(*directory, data, flags, ready_timeout);
}

Expected<std::unique_ptr<PrometheusServer>> PrometheusServer::launch(const std::string& directory,
                                                                     const std::string& data,
                                                                     const std::vector<std::string>& flags,
                                                                     Duration ready_timeout) {
  // Owns the scratch directory from here: removed on every return.
  std::unique_ptr<PrometheusServer> server(new PrometheusServer(directory));
  const std::string prometheus = local::findExecutable("prometheus");
  if (prometheus.empty()) {
    return Error(ErrorKind::kUnavailable,
                 "prometheus not found in PATH nor in /usr/bin: install the Debian package prometheus");
  }
  if (Status written = writeFile(server->directory_ + "/prometheus.yml", "global:\n  scrape_interval: 1m\n");
      !written) {
    return written.error();
  }
  for (int attempt = 1;; ++attempt) {
    auto port = local::freePort();
    if (!port) return port.error();
    server->port_ = *port;
    std::vector<std::string> argv = {prometheus,
                                     "--config.file=" + server->directory_ + "/prometheus.yml",
                                     "--storage.tsdb.path=" + data,
                                     "--storage.tsdb.retention.time=100y",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(*port),
                                     "--log.level=info"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto process = ChildProcess::start(argv);
    if (!process) return process.error().withContext("starting " + prometheus);
    server->process_ = std::move(*process);
    if (!server->process_
             ->waitForLine("Server is ready to receive web requests",
                           std::chrono::duration_cast<std::chrono::milliseconds>(ready_timeout))
             .empty()) {
      return server;
    }
    server->process_->stop(SIGTERM, kStopTimeout);
    const std::string output = server->process_->output();
    server->process_.reset();
    if (output.find("address already in use") == std::string::npos || attempt == kPortAttempts) {
      return Error(ErrorKind::kUnavailable, prometheus + " was not ready; its output:\n" + output);
    }
  }
}

PrometheusServer::~PrometheusServer() {
  if (process_ != nullptr) process_->stop(SIGTERM, kStopTimeout);
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string traceOpenMetrics(const simulate::Trace& trace, TraceSeries series) {
  struct Family {
    const char* agent;  // the agents' gauge
    const char* rule;   // the recorded series
    // The value at a point, nullopt when it has none.
    std::optional<double> (*value)(const simulate::TracePoint&);
  };
  const Family families[] = {
      {"rightsize_container_cpu_used_cores", "app:rightsize_container_cpu_used_cores:max_avg5m",
       [](const simulate::TracePoint& p) { return std::optional(p.cpu_used_cores); }},
      {"rightsize_container_cpu_reserved_cores", "app:rightsize_container_cpu_reserved_cores:max",
       [](const simulate::TracePoint& p) { return std::optional(p.cpu_reserved_cores + sizing::kExecutorCpus); }},
      {"rightsize_container_memory_used_bytes", "app:rightsize_container_memory_used_bytes:max_avg5m",
       [](const simulate::TracePoint& p) {
         return p.memory_used_mib ? std::optional(*p.memory_used_mib * kMiB) : std::nullopt;
       }},
      {"rightsize_container_memory_reserved_bytes", "app:rightsize_container_memory_reserved_bytes:max",
       [](const simulate::TracePoint& p) {
         return p.memory_reserved_mib ? std::optional((*p.memory_reserved_mib + sizing::kExecutorMemMib) * kMiB)
                                      : std::nullopt;
       }},
  };
  std::string out;
  const auto escaped = [](std::string_view text) {
    std::string s;
    for (const char c : text) {
      if (c == '"' || c == '\\') s += '\\';
      s += c == '\n' ? ' ' : c;
    }
    return s;
  };
  const auto family = [&](const std::string& name, auto&& value_of, bool task_labels) {
    out += "# TYPE " + name + " gauge\n";
    for (const auto& app : trace.apps) {
      std::string labels = "{env=\"prod\",app_id=\"" + escaped(app.app_id) + "\"";
      if (task_labels) {
        labels += ",task_id=\"" + escaped(app.app_id) + ".1\",container_id=\"" + escaped(app.app_id) + "-c1\"";
      }
      labels += "}";
      for (const auto& point : app.points) {
        if (const std::optional<double> value = value_of(point)) {
          out += name + labels + " " + formatExact(*value) + " " + formatRounded(toUnixSeconds(point.at), 3) + "\n";
        }
      }
    }
  };
  for (const Family& f : families) {
    family(series == TraceSeries::kAgent ? f.agent : f.rule, f.value, series == TraceSeries::kAgent);
  }
  if (series == TraceSeries::kRecordingRules) {
    family(
        "app:rightsize_container_cpu_reserved_cores:count",
        [](const simulate::TracePoint&) { return std::optional(1.0); }, false);
  }
  out += "# EOF\n";
  return out;
}

}  // namespace rightsize::testing
