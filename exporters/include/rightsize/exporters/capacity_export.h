#pragma once

// The sizer's fleet capacity as /v1/capacity and /metrics show it
// (docs/capacity.md, docs/api.md).

#include <string>

#include "rightsize/exporters/exposition.h"
#include "rightsize/sizing/sizer.h"

namespace rightsize::exporters {

// {"known", "timestamp", "lead_time_seconds", "window_seconds", "multiple",
//  "markets": [{"instance_type", "zone", "hosts", "spot_hosts",
//  "peak_losses", "hosts_lost", "capacity_cores", "reserved_cores",
//  "free_cores", "needed_cores", "capacity_bytes", "reserved_bytes",
//  "free_bytes", "needed_bytes", "short"}],
//  "instance_types": [{"instance_type", "cpu_factor", "reference", "trusted",
//  "apps", "trusted_apps", "spread"}],
//  "losses": [{"host", "instance_type", "zone", "at"}]}
std::string capacityJson(const sizing::FleetCapacityView& capacity);

// rightsize_cluster_{hosts,host_losses_peak,capacity_cores,reserved_cores,
// free_cores,headroom_needed_cores,..._bytes}{instance_type,zone},
// rightsize_cluster_hosts_lost_total{instance_type,zone},
// rightsize_instance_type_cpu_factor{,_apps,_trusted}{instance_type}, and
// rightsize_app_grow_eats_headroom{app_id}.
void writeCapacityMetrics(TextExposition& out, const sizing::SizerSnapshot& snapshot);

}  // namespace rightsize::exporters
