#pragma once

// Secrets (Marathon credentials, the Redis password, the webhook token) come
// only from the environment: NAME itself, or the file named by NAME_FILE
// (what Marathon secrets, Docker secrets and systemd credentials provide).
// Never from flags, never logged.

#include <functional>
#include <optional>
#include <string>

#include "rightsize/core/status.h"

namespace rightsize {

using GetEnv = std::function<const char*(const char*)>;

// The value of NAME when set and not empty, else the contents of the file
// named by NAME_FILE (surrounding whitespace trimmed), else nullopt. An
// unreadable file is kUnreadable naming NAME_FILE and the path.
Expected<std::optional<std::string>> secretFromEnvironment(const std::string& name, const GetEnv& getenv);

}  // namespace rightsize
