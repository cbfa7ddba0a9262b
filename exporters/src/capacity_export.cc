#include "rightsize/exporters/capacity_export.h"

#include "rightsize/core/json.h"

namespace rightsize::exporters {
namespace {

std::string labelsOf(const sizing::Market& market) {
  return TextExposition::labelBlock({{"instance_type", market.instance_type}, {"zone", market.zone}});
}

}  // namespace

std::string capacityJson(const sizing::FleetCapacityView& capacity) {
  const sizing::HeadroomOptions& options = capacity.options;
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "known");
  writer.Bool(capacity.known);
  json::writeKey(writer, "timestamp");
  json::writeNumber(writer, capacity.known ? std::optional<double>(toUnixSeconds(capacity.at)) : std::nullopt);
  json::writeKey(writer, "lead_time_seconds");
  json::writeNumber(writer, toSeconds(options.lead_time));
  json::writeKey(writer, "window_seconds");
  json::writeNumber(writer, toSeconds(options.window));
  json::writeKey(writer, "multiple");
  json::writeNumber(writer, options.multiple);
  json::writeKey(writer, "markets");
  writer.StartArray();
  for (const sizing::MarketCapacity& market : capacity.markets) {
    writer.StartObject();
    json::writeKey(writer, "instance_type");
    json::writeString(writer, market.market.instance_type);
    json::writeKey(writer, "zone");
    json::writeString(writer, market.market.zone);
    json::writeKey(writer, "hosts");
    writer.Int(market.hosts);
    json::writeKey(writer, "spot_hosts");
    writer.Int(market.spot_hosts);
    json::writeKey(writer, "peak_losses");
    writer.Int(market.peak_losses);
    json::writeKey(writer, "hosts_lost");
    const auto lost = capacity.hosts_lost.find(market.market);
    writer.Uint64(lost == capacity.hosts_lost.end() ? 0 : lost->second);
    for (const auto& [key, value] : {std::pair{"capacity_cores", market.capacity_cores},
                                     {"reserved_cores", market.reserved_cores},
                                     {"free_cores", market.free_cores},
                                     {"needed_cores", market.needed_cores},
                                     {"capacity_bytes", market.capacity_bytes},
                                     {"reserved_bytes", market.reserved_bytes},
                                     {"free_bytes", market.free_bytes},
                                     {"needed_bytes", market.needed_bytes}}) {
      json::writeKey(writer, key);
      json::writeNumber(writer, value);
    }
    json::writeKey(writer, "short");
    writer.Bool(market.short_of_headroom());
    writer.EndObject();
  }
  writer.EndArray();
  json::writeKey(writer, "instance_types");
  writer.StartArray();
  for (const sizing::SpeedFactor& factor : capacity.speed) {
    writer.StartObject();
    json::writeKey(writer, "instance_type");
    json::writeString(writer, factor.instance_type);
    json::writeKey(writer, "cpu_factor");
    json::writeNumber(writer, factor.factor);
    json::writeKey(writer, "reference");
    writer.Bool(factor.reference);
    json::writeKey(writer, "trusted");
    writer.Bool(factor.trusted);
    json::writeKey(writer, "apps");
    writer.Uint64(factor.apps);
    json::writeKey(writer, "trusted_apps");
    writer.Uint64(factor.trusted_apps);
    json::writeKey(writer, "spread");
    json::writeNumber(writer, factor.spread);
    writer.EndObject();
  }
  writer.EndArray();
  json::writeKey(writer, "losses");
  writer.StartArray();
  for (const sizing::HostLoss& loss : capacity.losses) {
    writer.StartObject();
    json::writeKey(writer, "host");
    json::writeString(writer, loss.host);
    json::writeKey(writer, "instance_type");
    json::writeString(writer, loss.market.instance_type);
    json::writeKey(writer, "zone");
    json::writeString(writer, loss.market.zone);
    json::writeKey(writer, "at");
    json::writeNumber(writer, toUnixSeconds(loss.at));
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void writeCapacityMetrics(TextExposition& out, const sizing::SizerSnapshot& snapshot) {
  using prometheus::MetricType;
  const sizing::FleetCapacityView& capacity = snapshot.capacity;
  if (capacity.known && !capacity.markets.empty()) {
    const auto perMarket = [&](const char* name, const char* help, auto value_of) {
      out.header(name, help, MetricType::Gauge);
      for (const sizing::MarketCapacity& market : capacity.markets) {
        out.sample(name, labelsOf(market.market), value_of(market));
      }
    };
    using M = sizing::MarketCapacity;
    perMarket("rightsize_cluster_hosts", "Hosts whose agents answered, per market (instance type and zone).",
              [](const M& m) { return static_cast<double>(m.hosts); });
    perMarket("rightsize_cluster_host_losses_peak",
              "The most hosts of the market lost within --headroom-lead-time over --headroom-window.",
              [](const M& m) { return static_cast<double>(m.peak_losses); });
    perMarket("rightsize_cluster_capacity_cores", "CPU cores of the market's hosts (those that report them).",
              [](const M& m) { return m.capacity_cores; });
    perMarket("rightsize_cluster_reserved_cores", "CPU cores reserved by the tasks on the market's hosts.",
              [](const M& m) { return m.reserved_cores; });
    perMarket("rightsize_cluster_free_cores", "CPU cores of the market not reserved: capacity minus reserved.",
              [](const M& m) { return m.free_cores; });
    perMarket("rightsize_cluster_headroom_needed_cores",
              "CPU cores the market must keep free for lost hosts' tasks: peak losses x --headroom-multiple x "
              "the mean reservation per host.",
              [](const M& m) { return m.needed_cores; });
    perMarket("rightsize_cluster_capacity_bytes", "Memory of the market's hosts for tasks (those that report it).",
              [](const M& m) { return m.capacity_bytes; });
    perMarket("rightsize_cluster_reserved_bytes", "Memory reserved by the tasks on the market's hosts.",
              [](const M& m) { return m.reserved_bytes; });
    perMarket("rightsize_cluster_free_bytes", "Memory of the market not reserved: capacity minus reserved.",
              [](const M& m) { return m.free_bytes; });
    perMarket("rightsize_cluster_headroom_needed_bytes",
              "Memory the market must keep free for lost hosts' tasks, as the cores.",
              [](const M& m) { return m.needed_bytes; });
  }
  if (!capacity.speed.empty()) {
    const auto perType = [&](const char* name, const char* help, auto value_of) {
      out.header(name, help, MetricType::Gauge);
      for (const sizing::SpeedFactor& factor : capacity.speed) {
        out.sample(name, TextExposition::labelBlock({{"instance_type", factor.instance_type}}), value_of(factor));
      }
    };
    using F = sizing::SpeedFactor;
    perType("rightsize_instance_type_cpu_factor",
            "CPU the same work takes on the instance type per core on the reference type (the reference: 1).",
            [](const F& f) { return f.factor; });
    perType("rightsize_instance_type_cpu_factor_apps",
            "Apps whose tasks ran on the type and the reference at once long enough to count (the factor's "
            "evidence).",
            [](const F& f) { return static_cast<double>(f.trusted_apps); });
    perType("rightsize_instance_type_cpu_factor_trusted",
            "1 when the factor is trusted (--speed-min-apps apps of --speed-min-samples cycles) and used.",
            [](const F& f) { return f.trusted ? 1.0 : 0.0; });
  }
  if (!capacity.hosts_lost.empty()) {
    out.header("rightsize_cluster_hosts_lost_total", "Hosts this sizer saw vanish, per market.", MetricType::Counter);
    for (const auto& [market, count] : capacity.hosts_lost) {
      out.sample("rightsize_cluster_hosts_lost_total", labelsOf(market), static_cast<double>(count));
    }
  }
  bool header = false;
  for (const sizing::AppView& app : snapshot.apps) {
    if (app.eats_headroom.empty()) continue;
    if (!header) {
      out.header("rightsize_app_grow_eats_headroom",
                 "1 when the app's recommended grow leaves a market it runs in below its headroom for lost hosts.",
                 MetricType::Gauge);
    }
    header = true;
    out.sample("rightsize_app_grow_eats_headroom", TextExposition::labelBlock({{"app_id", app.app_id}}), 1);
  }
}

}  // namespace rightsize::exporters
