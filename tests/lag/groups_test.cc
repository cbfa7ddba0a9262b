#include "rightsize/lag/groups.h"

#include <gtest/gtest.h>

namespace rightsize::lag {
namespace {

TEST(GroupListTest, SplitsTrimsAndDeduplicates) {
  EXPECT_EQ(*parseGroupList(" billing, audit ,,billing"), (std::vector<std::string>{"billing", "audit"}));
  EXPECT_TRUE(parseGroupList("")->empty());
}

TEST(GroupListTest, RejectsControlCharactersAndOverlongNames) {
  auto control = parseGroupList("ok,bad\x01name");
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.error().kind(), ErrorKind::kInvalidValue);
  EXPECT_NE(control.error().message().find("control characters"), std::string::npos);
  EXPECT_FALSE(parseGroupList(std::string(300, 'g')).ok());
}

TEST(GroupRequestsTest, FromLabelsAndFlagsWithAppsAndClashesReported) {
  CountingErrorSink errors;
  const auto requests = groupRequests(
      {{"/web", "prod", "clicks,views"}, {"/api", "prod", "clicks"}, {"/bad", "prod", "x\ty"}, {"/none", "prod", ""}},
      {"extra", "views"}, errors);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].group, "clicks");
  EXPECT_EQ(requests[0].app_id, "/api");  // the first app by id keeps it
  EXPECT_EQ(requests[1].group, "extra");
  EXPECT_EQ(requests[1].app_id, "");
  EXPECT_EQ(requests[2].group, "views");
  EXPECT_EQ(requests[2].app_id, "/web");  // labels win over flags
  // The label with a control character and the clash over "clicks".
  EXPECT_EQ(errors.count("labels", "invalid_value"), 2u);
}

}  // namespace
}  // namespace rightsize::lag
