#include "rightsize/lag/groups.h"

#include <algorithm>
#include <map>

#include "rightsize/core/text.h"

namespace rightsize::lag {

Expected<std::vector<std::string>> parseGroupList(std::string_view text) {
  std::vector<std::string> groups;
  for (auto& group : splitList(text, ',')) {
    if (group.size() > 255) {
      return Error(ErrorKind::kInvalidValue,
                   "consumer group '" + group.substr(0, 40) + "...' is longer than 255 bytes");
    }
    if (std::any_of(group.begin(), group.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return Error(ErrorKind::kInvalidValue, "consumer group '" + sanitizeUtf8(group) + "' holds control characters");
    }
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<GroupRequest> groupRequests(const std::vector<LabelledGroups>& labelled,
                                        const std::vector<std::string>& flag_groups, ErrorSink& errors) {
  std::vector<const LabelledGroups*> sorted;
  for (const auto& entry : labelled) {
    if (!entry.label.empty()) sorted.push_back(&entry);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->app_id < b->app_id; });
  std::map<std::string, GroupRequest> requests;
  for (const auto* entry : sorted) {
    auto groups = parseGroupList(entry->label);
    if (!groups) {
      errors.record("labels", groups.error().withContext("app " + entry->app_id + " label rightsize.kafka.groups"));
      continue;
    }
    for (const auto& group : *groups) {
      auto [it, inserted] = requests.try_emplace(group, GroupRequest{group, entry->app_id, entry->env});
      if (!inserted && it->second.app_id != entry->app_id) {
        errors.record("labels", Error(ErrorKind::kInvalidValue, "consumer group " + group + " is claimed by apps " +
                                                                    it->second.app_id + " and " + entry->app_id +
                                                                    "; reported under " + it->second.app_id));
      }
    }
  }
  for (const auto& group : flag_groups) requests.try_emplace(group, GroupRequest{group, "", ""});
  std::vector<GroupRequest> out;
  out.reserve(requests.size());
  for (auto& [group, request] : requests) out.push_back(std::move(request));
  return out;
}

}  // namespace rightsize::lag
