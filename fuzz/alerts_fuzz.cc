// Alertmanager's webhook notification, as POSTed to the sizer's /v1/alerts,
// and the app ids the sizer takes from it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/sizing/alerts.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::sizing {
namespace {

bool validStatus(const std::string& status) { return status == "firing" || status == "resolved"; }

void fuzzOne(std::string_view body) {
  const auto notification = parseAlertNotification(body);
  if (!notification) return;
  FUZZ_CHECK(validStatus(notification->status));
  for (const auto& alert : notification->alerts) FUZZ_CHECK(validStatus(alert.status));
  const auto apps = firingApps(*notification);
  FUZZ_CHECK(std::adjacent_find(apps.begin(), apps.end(), std::greater_equal<>()) == apps.end());
  for (const auto& app : apps) FUZZ_CHECK(validAppId(app));
  FUZZ_CHECK(apps.size() <= notification->alerts.size());
}

}  // namespace
}  // namespace rightsize::sizing

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sizing::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
