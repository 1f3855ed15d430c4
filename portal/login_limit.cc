#include "portal/login_limit.h"

namespace tandem::portal {

bool LoginLimit::locked(const std::string& key, int64_t now_ms) const {
  const auto it = keys_.find(key);
  return it != keys_.end() && now_ms < it->second.locked_until_ms;
}

bool LoginLimit::failure(const std::string& key, int64_t now_ms) {
  Key& k = keys_[key];
  if (k.failures == 0 || now_ms - k.first_ms >= window_ms_) {
    k.failures = 0;
    k.first_ms = now_ms;
  }
  if (++k.failures < max_failures_) return false;
  // The lock starts the count over: after it, max_failures more guesses.
  k.failures = 0;
  k.locked_until_ms = now_ms + lockout_ms_;
  return true;
}

void LoginLimit::purge(int64_t now_ms) {
  std::erase_if(keys_, [&](const auto& kv) {
    return now_ms >= kv.second.locked_until_ms && now_ms - kv.second.first_ms >= window_ms_;
  });
}

}  // namespace tandem::portal
