#include "rightsize/simulate/host_loss.h"

#include <gtest/gtest.h>

namespace rightsize::simulate {
namespace {

using namespace std::chrono_literals;

// `apps` apps of 4 cores and 8 GiB each, for `days` days at 5 minutes: on
// 16-core hosts, four to a host, the packed fleet has no room left.
Trace fleet(int apps, int days) {
  Trace trace;
  const TimePoint start = fromUnixSeconds(1'700'006'400);
  for (int a = 0; a < apps; ++a) {
    AppTrace app;
    app.app_id = "/app-" + std::to_string(a);
    for (TimePoint at = start; at < start + std::chrono::days(days); at += 5min) {
      app.points.push_back({.at = at,
                            .cpu_reserved_cores = 4,
                            .cpu_used_cores = 1,
                            .memory_reserved_mib = 8192,
                            .memory_used_mib = 4000});
    }
    trace.samples += app.points.size();
    trace.apps.push_back(std::move(app));
  }
  trace.start = start;
  trace.end = trace.apps.front().points.back().at;
  return trace;
}

HostLossOptions losses(double multiple) {
  return HostLossOptions{.host_cores = 16,
                         .host_mem_mib = 64 * 1024,
                         .rate_per_day = 6,
                         .burst = 2,
                         .lead_time = 10min,
                         .window = std::chrono::days(7),
                         .multiple = multiple,
                         .seed = 7};
}

// Without headroom the tasks of lost hosts wait for their replacements;
// with the sizer's headroom (the peak losses within the lead time, x3) the
// fleet keeps room, and after the first losses teach it, they land at once.
// The headroom costs spare host-hours.
TEST(HostLossTest, TheSizersHeadroomPlacesTheTasksOfLostHosts) {
  const Trace trace = fleet(40, 7);  // 10 hosts, full
  const HostLossResult none = replayHostLoss(trace, losses(0));
  const HostLossResult kept = replayHostLoss(trace, losses(3));
  EXPECT_GT(none.events, 20U);
  EXPECT_EQ(none.events, kept.events);  // the same seed: the same losses
  EXPECT_EQ(none.hosts_lost, kept.hosts_lost);
  EXPECT_GT(none.tasks_unplaced, 0U);
  EXPECT_FALSE(none.held());
  EXPECT_LT(kept.tasks_unplaced, none.tasks_unplaced / 4);
  EXPECT_LT(kept.unplaced_task_hours, none.unplaced_task_hours / 4);
  EXPECT_GT(kept.spare_host_hours, none.spare_host_hours);
  EXPECT_GT(none.tasks_displaced, 0U);
  std::printf(
      "none: %zu events, %zu hosts lost, %zu of %zu tasks unplaced (%.1f task-hours), %.0f spare host-hours; "
      "x3: %zu unplaced (%.1f task-hours), %.0f spare host-hours\n",
      none.events, none.hosts_lost, none.tasks_unplaced, none.tasks_displaced, none.unplaced_task_hours,
      none.spare_host_hours, kept.tasks_unplaced, kept.unplaced_task_hours, kept.spare_host_hours);
}

TEST(HostLossTest, NoLossesNoSpareAndNothingUnplaced) {
  HostLossOptions quiet = losses(3);
  quiet.rate_per_day = 0;
  const HostLossResult result = replayHostLoss(fleet(8, 1), quiet);
  EXPECT_EQ(result.events, 0U);
  EXPECT_TRUE(result.held());
  EXPECT_EQ(result.spare_host_hours, 0);
  EXPECT_NEAR(result.host_hours, 2 * 24, 0.1);
}

}  // namespace
}  // namespace rightsize::simulate
