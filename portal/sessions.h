// Login sessions: a random token (the cookie) -> who logged in, with an idle
// expiry (no request for `idle_ms`) and an absolute one (`max_ms` after the
// login, however busy). Kept in memory only: a restarted portal asks everyone
// to log in again, which is cheaper than a sessions table the portal's
// read-only DB user could not write anyway. Not thread-safe (the server holds
// a lock); the caller gives the time, so that tests can move it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace tandem::portal {

struct Session {
  std::string login;
  std::string csrf;                  // the forms' hidden field must carry it
  int64_t password_changed_ms = 0;   // the account's at login: a later passwd ends the session
  int64_t created_ms = 0;
  int64_t seen_ms = 0;
};

class SessionStore {
 public:
  SessionStore(int64_t idle_ms, int64_t max_ms) : idle_ms_(idle_ms), max_ms_(max_ms) {}

  // A new session for `login`; returns its token.
  std::string create(const std::string& login, int64_t password_changed_ms, int64_t now_ms);
  // The live session of `token`, its idle time restarted; nothing when there
  // is none or it expired (then it is forgotten, and `expired` says so).
  std::optional<Session> use(const std::string& token, int64_t now_ms, bool* expired = nullptr);
  void remove(const std::string& token);
  // Forgets every expired session; returns how many.
  size_t purge(int64_t now_ms);
  size_t size() const { return sessions_.size(); }

 private:
  bool expired(const Session& s, int64_t now_ms) const;

  int64_t idle_ms_;
  int64_t max_ms_;
  std::unordered_map<std::string, Session> sessions_;
};

}  // namespace tandem::portal
