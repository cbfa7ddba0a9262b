#include "rightsize/core/secrets.h"

#include <fstream>
#include <sstream>

#include "rightsize/core/text.h"

namespace rightsize {

Expected<std::optional<std::string>> secretFromEnvironment(const std::string& name, const GetEnv& getenv) {
  if (const char* value = getenv(name.c_str()); value != nullptr && *value != '\0') {
    return std::optional<std::string>(value);
  }
  const std::string file_variable = name + "_FILE";
  const char* file = getenv(file_variable.c_str());
  if (file == nullptr || *file == '\0') return std::optional<std::string>();
  std::ifstream in(file);
  if (!in) return Error(ErrorKind::kUnreadable, file_variable + ": cannot read " + std::string(file));
  std::stringstream content;
  content << in.rdbuf();
  return std::optional<std::string>(std::string(trim(content.str())));
}

}  // namespace rightsize
