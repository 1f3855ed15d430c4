#include "portal/sessions.h"

#include "portal/tokens.h"

namespace tandem::portal {

std::string SessionStore::create(const std::string& login, int64_t password_changed_ms, int64_t now_ms) {
  std::string token = random_token();
  sessions_[token] = Session{login, random_token(), password_changed_ms, now_ms, now_ms};
  return token;
}

bool SessionStore::expired(const Session& s, int64_t now_ms) const {
  return now_ms - s.seen_ms >= idle_ms_ || now_ms - s.created_ms >= max_ms_;
}

std::optional<Session> SessionStore::use(const std::string& token, int64_t now_ms, bool* was_expired) {
  const auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (expired(it->second, now_ms)) {
    sessions_.erase(it);
    if (was_expired) *was_expired = true;
    return std::nullopt;
  }
  it->second.seen_ms = now_ms;
  return it->second;
}

void SessionStore::remove(const std::string& token) { sessions_.erase(token); }

size_t SessionStore::purge(int64_t now_ms) {
  return std::erase_if(sessions_, [&](const auto& kv) { return expired(kv.second, now_ms); });
}

}  // namespace tandem::portal
