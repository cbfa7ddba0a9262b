#include "rightsize/testing/fake_agent.h"

#include <cstdio>

namespace rightsize::testing {
namespace {

constexpr double kExecutorCpus = 0.1;
constexpr double kExecutorMemMib = 32;
constexpr double kMiB = 1048576.0;

HttpResponse json(std::string body) {
  HttpResponse response;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace

FakeAgent::FakeAgent(FakeMarathon& marathon, Options options)
    : marathon_(marathon), options_(options), server_(HttpServerOptions{{"127.0.0.1", 0}}) {
  server_.route("/v1/containers", [this](const HttpRequest&) { return containers(); });
  server_.route("/v1/lag", [](const HttpRequest&) { return json(R"({"timestamp": 1700000000, "groups": []})"); });
}

Status FakeAgent::start() { return server_.start(); }
void FakeAgent::stop() { server_.stop(); }
std::string FakeAgent::address() const { return "127.0.0.1:" + std::to_string(server_.port()); }

void FakeAgent::set(const std::string& app_id, Figures figures) {
  std::lock_guard lock(mutex_);
  figures_[app_id] = figures;
}

void FakeAgent::setGarbage(bool garbage) {
  std::lock_guard lock(mutex_);
  garbage_ = garbage;
}

HttpResponse FakeAgent::containers() {
  std::map<std::string, Figures> figures;
  {
    std::lock_guard lock(mutex_);
    if (garbage_) return json(R"({"host": "127.0.0.1", "containers": [{"app_id": "/shop/w)");
    figures = figures_;
  }
  std::string body = R"({"host": "127.0.0.1", "timestamp": 1700000000.5, "window_seconds": 300, "containers": [)";
  bool first = true;
  for (const auto& app : marathon_.apps()) {
    auto found = figures.find(app.id);
    if (found == figures.end()) continue;
    const Figures& f = found->second;
    const double cpus = app.cpus + (options_.executor_share ? kExecutorCpus : 0);
    const double mem_mib = app.mem_mib + (options_.executor_share ? kExecutorMemMib : 0);
    for (const auto& task : app.tasks) {
      char entry[1024];
      std::snprintf(entry, sizeof entry,
                    R"(%s{"container_id": "c-%s", "app_id": "%s", "task_id": "%s", "samples": 31,)"
                    R"( "cpu": {"reserved_cores": %.3f, "used_cores": %.3f, "used_cores_avg": %.3f,)"
                    R"( "used_cores_p95": %.3f, "lying_factor_cores": %.3f, "throttled_ratio": 0.0},)"
                    R"( "mem": {"reserved_bytes": %.0f, "used_bytes": %.0f, "used_bytes_peak": %.0f,)"
                    R"( "lying_factor_bytes": %.0f}})",
                    first ? "" : ",", task.id.c_str(), app.id.c_str(), task.id.c_str(), cpus, f.cpu_avg, f.cpu_avg,
                    f.cpu_p95, cpus - f.cpu_avg, mem_mib * kMiB, f.mem_used_mib * kMiB, f.mem_used_mib * kMiB,
                    (mem_mib - f.mem_used_mib) * kMiB);
      body += entry;
      first = false;
    }
  }
  return json(body + "]}");
}

}  // namespace rightsize::testing
