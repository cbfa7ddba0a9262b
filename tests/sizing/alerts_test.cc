#include "rightsize/sizing/alerts.h"

#include <gtest/gtest.h>

namespace rightsize::sizing {
namespace {

// As Alertmanager 0.25 sends it (webhook_config, version 4).
const std::string kNotification = R"({
  "receiver": "rightsize-sizer", "status": "firing", "version": "4",
  "groupKey": "{}:{alertname=\"RightsizeContainerCpuHotSpot\"}", "truncatedAlerts": 0,
  "groupLabels": {"alertname": "RightsizeContainerCpuHotSpot"},
  "commonLabels": {"alertname": "RightsizeContainerCpuHotSpot", "severity": "warning"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "RightsizeContainerCpuHotSpot", "app_id": "/shop/web"},
     "annotations": {"summary": "hot"}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus:9090/graph", "fingerprint": "c6b5a1e1a2f0d3e4"},
    {"status": "firing", "labels": {"alertname": "RightsizeContainerThrottled", "app_id": "/shop/web"},
     "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "", "fingerprint": "1"},
    {"status": "resolved", "labels": {"alertname": "RightsizeContainerCpuHotSpot", "app_id": "/shop/cart"},
     "annotations": {}, "startsAt": "2026-11-23T09:00:00Z", "endsAt": "2026-11-23T09:30:00Z",
     "generatorURL": "", "fingerprint": "2"},
    {"status": "firing", "labels": {"alertname": "RightsizeHostHotSpot", "host": "agent-1"},
     "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "", "fingerprint": "3"}]})";

TEST(AlertsTest, ParsesAlertmanagersNotificationAndNamesTheFiringApps) {
  auto parsed = parseAlertNotification(kNotification);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->receiver, "rightsize-sizer");
  EXPECT_EQ(parsed->status, "firing");
  ASSERT_EQ(parsed->alerts.size(), 4u);
  EXPECT_EQ(parsed->alerts[2].status, "resolved");
  EXPECT_EQ(firingApps(*parsed), std::vector<std::string>{"/shop/web"});
}

TEST(AlertsTest, BadBodiesAreRefusedNamingWhat) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "alertmanager notification"},
      {"[]", "not a JSON object"},
      {R"({"receiver": "r", "status": "firing", "alerts": []})", "version: missing"},
      {R"({"version": "3", "receiver": "r", "status": "firing", "alerts": []})", "not the supported version"},
      {R"({"version": "4", "status": "firing", "alerts": []})", "receiver: missing"},
      {R"({"version": "4", "receiver": "r", "status": "burning", "alerts": []})", "status: must be"},
      {R"({"version": "4", "receiver": "r", "status": "firing"})", "alerts: missing"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": {}})", "alerts: not an array"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [1]})", "alerts[0]: not an object"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [{"labels": {}}]})",
       "alerts[0].status: missing"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [{"status": "firing"}]})",
       "alerts[0].labels: missing"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [{"status": "firing",
          "labels": {"app_id": 7}}]})",
       "alerts[0].labels.app_id: not a string"},
      {R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [{"status": "firing",
          "labels": {}, "annotations": []}]})",
       "alerts[0].annotations: not an object"},
  };
  for (const auto& [body, expected] : cases) {
    auto parsed = parseAlertNotification(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_NE(parsed.error().message().find(expected), std::string::npos) << body << " -> " << parsed.error().message();
  }
}

TEST(AlertsTest, AppIdsThatAreNotMarathonIdsAreLeftOut) {
  auto parsed = parseAlertNotification(
      R"({"version": "4", "receiver": "r", "status": "firing", "alerts": [
          {"status": "firing", "labels": {"app_id": "/b"}}, {"status": "firing", "labels": {"app_id": "/a"}},
          {"status": "firing", "labels": {"app_id": "../../etc"}}, {"status": "firing", "labels": {"app_id": "/b"}}]})");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(firingApps(*parsed), (std::vector<std::string>{"/a", "/b"}));
}

}  // namespace
}  // namespace rightsize::sizing
