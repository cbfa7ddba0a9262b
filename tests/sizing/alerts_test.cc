#include "rightsize/sizing/alerts.h"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <optional>

#include "rightsize/core/json.h"

namespace rightsize::sizing {
namespace {

// As Alertmanager 0.25 sends it (webhook_config, version 4) for a route that
// groups by env, with the alerts of deploy/prometheus/rules: three hot spots
// of two apps and a host hot spot, which names no app.
const std::string kNotification = R"({
  "receiver": "rightsize-sizer", "status": "firing", "version": "4",
  "groupKey": "{}:{env=\"prod\"}", "truncatedAlerts": 0,
  "groupLabels": {"env": "prod"},
  "commonLabels": {"env": "prod", "severity": "warning"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093",
  "alerts": [
    {"status": "firing",
     "labels": {"alertname": "RightsizeContainerCpuHotSpot", "app_id": "/shop/web", "task_id": "shop_web.1",
                "container_id": "c1", "host": "agent-1", "env": "prod", "severity": "warning"},
     "annotations": {"summary": "/shop/web uses more CPU than it reserves",
                     "runbook": "deploy/runbook.md#rightsizecontainercpuhotspot"},
     "startsAt": "2026-11-23T10:00:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=...", "fingerprint": "c6b5a1e1a2f0d3e4"},
    {"status": "firing",
     "labels": {"alertname": "RightsizeContainerCpuThrottled", "app_id": "/shop/web", "task_id": "shop_web.2",
                "container_id": "c2", "host": "agent-2", "env": "prod", "severity": "warning"},
     "annotations": {}, "startsAt": "2026-11-23T11:00:00+01:00", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "", "fingerprint": "0a1b2c3d4e5f6a7b"},
    {"status": "resolved",
     "labels": {"alertname": "RightsizeContainerMemoryNearLimit", "app_id": "/shop/cart", "task_id": "shop_cart.1",
                "container_id": "c3", "host": "agent-1", "env": "prod", "severity": "warning"},
     "annotations": {}, "startsAt": "2026-11-23T09:00:00Z", "endsAt": "2026-11-23T09:30:00Z",
     "generatorURL": "", "fingerprint": "9f8e7d6c5b4a3928"},
    {"status": "firing",
     "labels": {"alertname": "RightsizeHostCpuHotSpot", "host": "agent-1", "env": "prod", "severity": "warning"},
     "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "", "fingerprint": "1234567890abcdef"}]})";

// kNotification with the member at `pointer` (RFC 6901) replaced by the JSON
// text `value`, or removed without one.
std::string edited(const char* pointer, std::optional<std::string> value) {
  rapidjson::Document document;
  document.Parse(kNotification.c_str());
  EXPECT_FALSE(document.HasParseError());
  if (value) {
    rapidjson::Document replacement;
    replacement.Parse(value->c_str());
    EXPECT_FALSE(replacement.HasParseError()) << *value;
    rapidjson::Value copy(replacement, document.GetAllocator());
    rapidjson::Pointer(pointer).Set(document, copy);
  } else {
    EXPECT_TRUE(rapidjson::Pointer(pointer).Erase(document)) << pointer;
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

TEST(AlertsTest, ParsesAlertmanagersNotificationAndNamesTheFiringApps) {
  auto parsed = parseAlertNotification(kNotification);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->receiver, "rightsize-sizer");
  EXPECT_EQ(parsed->status, "firing");
  EXPECT_EQ(parsed->group_key, R"({}:{env="prod"})");
  EXPECT_EQ(parsed->group_labels, (std::map<std::string, std::string>{{"env", "prod"}}));
  EXPECT_EQ(parsed->common_labels.at("severity"), "warning");
  EXPECT_TRUE(parsed->common_annotations.empty());
  EXPECT_EQ(parsed->external_url, "http://alertmanager.example.com:9093");
  EXPECT_EQ(parsed->truncated_alerts, 0u);
  ASSERT_EQ(parsed->alerts.size(), 4u);
  const Alert& hot = parsed->alerts[0];
  EXPECT_EQ(hot.labels.at("alertname"), "RightsizeContainerCpuHotSpot");
  EXPECT_EQ(hot.annotations.at("runbook"), "deploy/runbook.md#rightsizecontainercpuhotspot");
  EXPECT_EQ(hot.starts_at, "2026-11-23T10:00:00.123456789Z");
  EXPECT_EQ(hot.ends_at, "0001-01-01T00:00:00Z");
  EXPECT_EQ(hot.generator_url, "http://prometheus.example.com:9090/graph?g0.expr=...");
  EXPECT_EQ(hot.fingerprint, "c6b5a1e1a2f0d3e4");
  EXPECT_EQ(parsed->alerts[2].status, "resolved");
  // /shop/cart's alert is resolved, the host's names no app.
  EXPECT_EQ(firingApps(*parsed), std::vector<std::string>{"/shop/web"});
}

TEST(AlertsTest, TruncatedAlertsIsOptionalAndCounted) {
  auto without = parseAlertNotification(edited("/truncatedAlerts", std::nullopt));
  ASSERT_TRUE(without) << without.error().message();
  EXPECT_EQ(without->truncated_alerts, 0u);
  auto truncated = parseAlertNotification(edited("/truncatedAlerts", "12"));
  ASSERT_TRUE(truncated) << truncated.error().message();
  EXPECT_EQ(truncated->truncated_alerts, 12u);
}

TEST(AlertsTest, TakesRfc3339DateTimes) {
  for (const char* time :
       {"2026-11-23T10:00:00Z", "2026-11-23T10:00:00.5Z", "2026-11-23T10:00:00.123456789-07:30", "2026-11-23t10:00:00z",
        "2024-02-29T23:59:59+14:00", "2016-12-31T23:59:60Z", "0001-01-01T00:00:00Z"}) {
    auto parsed = parseAlertNotification(edited("/alerts/1/startsAt", std::string("\"") + time + "\""));
    EXPECT_TRUE(parsed) << time << ": " << parsed.error().message();
  }
}

TEST(AlertsTest, BadBodiesAreRefusedNamingWhat) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "alertmanager notification"},
      {"[]", "not a JSON object"},
      {R"({"version": "3", "receiver": "r", "status": "firing", "alerts": []})", "not the supported version"},
  };
  for (const auto& [body, expected] : cases) {
    auto parsed = parseAlertNotification(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_NE(parsed.error().message().find(expected), std::string::npos) << body << " -> " << parsed.error().message();
  }
}

TEST(AlertsTest, EveryMemberIsRequired) {
  for (const char* member : {"version", "receiver", "status", "groupKey", "groupLabels", "commonLabels",
                             "commonAnnotations", "externalURL", "alerts"}) {
    auto parsed = parseAlertNotification(edited((std::string("/") + member).c_str(), std::nullopt));
    ASSERT_FALSE(parsed) << member;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kMissingField) << parsed.error().message();
    EXPECT_EQ(parsed.error().message(), "alertmanager notification: " + std::string(member) + ": missing");
  }
  for (const char* member : {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}) {
    auto parsed = parseAlertNotification(edited((std::string("/alerts/1/") + member).c_str(), std::nullopt));
    ASSERT_FALSE(parsed) << member;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kMissingField) << parsed.error().message();
    EXPECT_EQ(parsed.error().message(), "alertmanager notification: alerts[1]." + std::string(member) + ": missing");
  }
}

TEST(AlertsTest, MembersOfTheWrongTypeAreRefusedNamingThem) {
  struct Case {
    const char* pointer;
    std::string value;
    std::string expected;  // the message after "alertmanager notification: "
  };
  const std::vector<Case> cases = {
      {"/version", "4", "version: expected a string, got number"},
      {"/receiver", "[]", "receiver: expected a string, got array"},
      {"/status", R"("burning")", R"(status: must be "firing" or "resolved")"},
      {"/groupKey", "1", "groupKey: expected a string, got number"},
      {"/groupLabels", "[]", "groupLabels: not an object"},
      {"/groupLabels", "null", "groupLabels: not an object"},
      {"/commonLabels", R"({"env": 1})", "commonLabels.env: not a string"},
      {"/commonAnnotations", R"("none")", "commonAnnotations: not an object"},
      {"/externalURL", "{}", "externalURL: expected a string, got object"},
      {"/truncatedAlerts", "-1", "truncatedAlerts: not a non-negative integer"},
      {"/truncatedAlerts", "1.5", "truncatedAlerts: not a non-negative integer"},
      {"/truncatedAlerts", R"("0")", "truncatedAlerts: not a non-negative integer"},
      {"/truncatedAlerts", "null", "truncatedAlerts: not a non-negative integer"},
      {"/alerts", "{}", "alerts: not an array"},
      {"/alerts/1", "1", "alerts[1]: not an object"},
      {"/alerts/1/status", R"("pending")", R"(alerts[1].status: must be "firing" or "resolved")"},
      {"/alerts/1/labels", "[]", "alerts[1].labels: not an object"},
      {"/alerts/1/labels/app_id", "7", "alerts[1].labels.app_id: not a string"},
      {"/alerts/1/annotations", "[]", "alerts[1].annotations: not an object"},
      {"/alerts/1/annotations/summary", "true", "alerts[1].annotations.summary: not a string"},
      {"/alerts/1/startsAt", "1700000000", "alerts[1].startsAt: expected a string, got number"},
      {"/alerts/1/startsAt", R"("yesterday")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23 10:00:00Z")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T10:00:00")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T10:00:00+0100")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T10:00:00.Z")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T10:00:00Z ")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2025-02-29T10:00:00Z")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-13-01T10:00:00Z")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T24:00:00Z")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/startsAt", R"("2026-11-23T10:00:00+24:00")", "alerts[1].startsAt: not an RFC 3339 date-time"},
      {"/alerts/1/endsAt", R"("")", "alerts[1].endsAt: not an RFC 3339 date-time"},
      {"/alerts/1/endsAt", "false", "alerts[1].endsAt: expected a string, got boolean"},
      {"/alerts/1/generatorURL", "{}", "alerts[1].generatorURL: expected a string, got object"},
      {"/alerts/1/fingerprint", "7", "alerts[1].fingerprint: expected a string, got number"},
  };
  for (const auto& c : cases) {
    auto parsed = parseAlertNotification(edited(c.pointer, c.value));
    ASSERT_FALSE(parsed) << c.pointer << " = " << c.value;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidValue) << parsed.error().message();
    EXPECT_EQ(parsed.error().message(), "alertmanager notification: " + c.expected) << c.pointer << " = " << c.value;
  }
}

TEST(AlertsTest, AppIdsThatAreNotMarathonIdsAreLeftOut) {
  std::string body = kNotification;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("app_id": "/shop/web", "task_id": "shop_web.2")", R"("app_id": "../../etc", "task_id": "shop_web.2")"},
           {R"("app_id": "/shop/cart")", R"("app_id": "/shop/a")"},
           {R"("status": "resolved")", R"("status": "firing")"}}) {
    const auto at = body.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    body.replace(at, from.size(), to);
  }
  auto parsed = parseAlertNotification(body);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(firingApps(*parsed), (std::vector<std::string>{"/shop/a", "/shop/web"}));
}

// Alerts asking for a scale (labels app_id and rightsize_scale): not hot
// spots; a bad direction, a bad app id or an app asked both ways is a
// problem named, and nothing is asked.
TEST(AlertsTest, ScaleRequestsAreReadAndTheirProblemsNamed) {
  auto alert = [](const std::string& app_id, const std::string& scale, const std::string& status = "firing") {
    return R"({"status": ")" + status + R"(", "labels": {"alertname": "Scale", "app_id": ")" + app_id +
           R"(", "rightsize_scale": ")" + scale +
           R"("}, "annotations": {}, "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "", "fingerprint": "f"})";
  };
  const std::string alerts = "[" + alert("/shop/api", "out") + "," + alert("/shop/api", "out") + "," +
                             alert("/stream/orders", "in") + "," + alert("/shop/web", "sideways") + "," +
                             alert("../etc", "out") + "," + alert("/both", "out") + "," + alert("/both", "in") + "," +
                             alert("/gone", "in", "resolved") + "]";
  auto parsed = parseAlertNotification(edited("/alerts", alerts));
  ASSERT_TRUE(parsed) << parsed.error().message();
  std::vector<Error> problems;
  EXPECT_EQ(scaleRequests(*parsed, problems),
            (std::map<std::string, std::string>{{"/shop/api", "out"}, {"/stream/orders", "in"}}));
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].message(),
            "alerts[3].labels.rightsize_scale: 'sideways' is neither out nor in; the alert is ignored");
  EXPECT_EQ(problems[1].message(), "alerts[4].labels.app_id: not a Marathon app id; the scale alert is ignored");
  EXPECT_EQ(problems[2].message(), "alerts: app /both is asked to scale both out and in; neither is done");
  for (const auto& problem : problems) EXPECT_EQ(problem.kind(), ErrorKind::kInvalidValue);
  // None of them is a hot spot.
  EXPECT_TRUE(firingApps(*parsed).empty());
}

}  // namespace
}  // namespace rightsize::sizing
