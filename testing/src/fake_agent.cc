#include "rightsize/testing/fake_agent.h"

#include <cmath>

#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/wire/containers_report.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::testing {
namespace {

using sizing::kExecutorCpus;
using sizing::kExecutorMemMib;

// This double has always reported cores to the thousandth and whole bytes.
double milliCores(double cores) { return std::nearbyint(cores * 1000) / 1000; }
double wholeBytes(double bytes) { return std::nearbyint(bytes); }

HttpResponse json(std::string body) {
  HttpResponse response;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace

FakeAgent::FakeAgent(FakeMarathon& marathon, Options options)
    : marathon_(marathon), options_(std::move(options)), server_(HttpServerOptions{{"127.0.0.1", options_.port}}) {
  server_.route("/v1/containers", [this](const HttpRequest&) { return containers(); });
  server_.route("/v1/lag", [this](const HttpRequest&) {
    std::lock_guard lock(mutex_);
    return json(wire::encodeLagReport({.timestamp = fromUnixSeconds(1700000000), .groups = lag_}));
  });
}

FakeAgent::~FakeAgent() { server_.stop(); }

Status FakeAgent::start() { return server_.start(); }
void FakeAgent::stop() { server_.stop(); }
std::string FakeAgent::address() const { return "127.0.0.1:" + std::to_string(server_.port()); }

void FakeAgent::set(const std::string& app_id, Figures figures) {
  std::lock_guard lock(mutex_);
  figures_[app_id] = figures;
}

void FakeAgent::setLag(std::vector<wire::LagGroup> groups) {
  std::lock_guard lock(mutex_);
  lag_ = std::move(groups);
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
  wire::ContainersReport report{.host = options_.host,
                                .timestamp = fromUnixSeconds(1700000000.5),
                                .window = std::chrono::seconds(300),
                                .host_capacity_cores = options_.capacity_cores,
                                .host_capacity_bytes = options_.capacity_bytes,
                                .place = options_.place};
  for (const auto& app : marathon_.apps()) {
    auto found = figures.find(app.id);
    if (found == figures.end()) continue;
    const Figures& f = found->second;
    const double cpus = app.cpus + (options_.executor_share ? kExecutorCpus : 0);
    const double mem_mib = app.mem_mib + (options_.executor_share ? kExecutorMemMib : 0);
    for (const auto& task : app.tasks) {
      if (options_.only_its_tasks && task.host != options_.host) continue;
      report.containers.push_back({.container_id = "c-" + task.id,
                                   .app_id = app.id,
                                   .task_id = task.id,
                                   .samples = 31,
                                   .cpu = {.reserved_cores = milliCores(cpus),
                                           .used_cores = milliCores(f.cpu_avg),
                                           .used_cores_avg = milliCores(f.cpu_avg),
                                           .used_cores_p95 = milliCores(f.cpu_p95),
                                           .lying_factor_cores = milliCores(cpus - f.cpu_avg),
                                           .throttled_ratio = f.throttled_ratio,
                                           .throttled_cores = f.throttled_cores},
                                   .mem = {.reserved_bytes = wholeBytes(mem_mib * kMiB),
                                           .used_bytes = wholeBytes(f.mem_used_mib * kMiB),
                                           .used_bytes_peak = wholeBytes(f.mem_used_mib * kMiB),
                                           .lying_factor_bytes = wholeBytes((mem_mib - f.mem_used_mib) * kMiB)}});
    }
  }
  return json(wire::encodeContainersReport(report));
}

}  // namespace rightsize::testing
