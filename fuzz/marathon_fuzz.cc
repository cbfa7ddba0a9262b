// Marathon's answers: GET /v2/apps, GET /v2/apps/{id}, GET /v2/deployments,
// the body of a successful PUT and of a 409. Every input goes to every parser
// (the seed corpus holds each kind of body).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/core/json.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::sizing {
namespace {

void checkApp(const MarathonApp& app) {
  // The id goes into request paths.
  FUZZ_CHECK(validAppId(app.id));
  FUZZ_CHECK(std::isfinite(app.cpus) && app.cpus >= 0);
  FUZZ_CHECK(std::isfinite(app.mem_mib) && app.mem_mib >= 0);
  FUZZ_CHECK(app.instances >= 0);
  // resourceLimits: numbers >= 0, or unlimited (+infinity).
  for (const auto& limit : {app.limits.cpus, app.limits.mem_mib}) {
    FUZZ_CHECK(!limit || (*limit >= 0 && (std::isfinite(*limit) || unlimited(*limit))));
  }
  for (const auto& task : app.tasks) {
    FUZZ_CHECK(!task.app_id.empty());
    for (const int port : task.ports) FUZZ_CHECK(port >= 0 && port <= 65535);
  }
}

void fuzzOne(std::string_view body) {
  if (auto list = parseAppList(body, "fuzz")) {
    for (const auto& app : list->apps) checkApp(app);
    // Every entry is either kept or reported.
    auto document = json::parse(body, "fuzz");
    FUZZ_CHECK(document);
    FUZZ_CHECK(list->apps.size() + list->unusable.size() == json::find(*document, "apps")->Size());
  }
  if (auto app = parseApp(body, "fuzz")) checkApp(*app);
  if (auto ids = parseDeploymentIds(body, "fuzz")) {
    auto document = json::parse(body, "fuzz");
    FUZZ_CHECK(document && document->IsArray() && ids->size() == document->Size());
  }
  (void)parseDeploymentResult(body, "fuzz");
  const auto locking = parseLockingDeployments(body);
  if (!locking.empty()) FUZZ_CHECK(json::parse(body, "fuzz").ok());
}

}  // namespace
}  // namespace rightsize::sizing

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sizing::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
