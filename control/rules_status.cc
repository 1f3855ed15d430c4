#include "control/rules_status.h"

namespace tandem::control {

nlohmann::json rules_status(const rules::ReloaderStats& s) {
  nlohmann::json j = {{"version", s.version},         {"from", std::string(rules::name(s.origin))},
                      {"loads", s.loads},             {"failed_loads", s.failed_loads},
                      {"failed_polls", s.failed_polls}, {"last_error", s.last_error},
                      {"saved_file", s.saved_path},   {"saves", s.saves},
                      {"failed_saves", s.failed_saves}, {"last_save_error", s.last_save_error}};
  if (s.origin == rules::RulesOrigin::saved) j["saved_at_unix"] = s.saved_unix_s;
  return j;
}

}  // namespace tandem::control
