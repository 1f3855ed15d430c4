// Login attempts, limited per account and per client address: after
// `max_failures` failed attempts within `window_ms`, the key is locked for
// `lockout_ms` (even the right password is refused meanwhile), so that
// guessing costs days, not minutes. Per account stops a distributed guess at
// one login; per address stops one host trying many logins. A success clears
// the key's failures. Not thread-safe; the caller gives the time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace tandem::portal {

class LoginLimit {
 public:
  LoginLimit(uint32_t max_failures, int64_t window_ms, int64_t lockout_ms)
      : max_failures_(max_failures), window_ms_(window_ms), lockout_ms_(lockout_ms) {}

  bool locked(const std::string& key, int64_t now_ms) const;
  // Counts a failure; true when this one locks the key.
  bool failure(const std::string& key, int64_t now_ms);
  void success(const std::string& key) { keys_.erase(key); }
  // Forgets keys with no recent failure and no lock, so that the map cannot grow without bound.
  void purge(int64_t now_ms);
  size_t size() const { return keys_.size(); }

 private:
  struct Key {
    uint32_t failures = 0;
    int64_t first_ms = 0;        // the window's start
    int64_t locked_until_ms = 0;
  };
  uint32_t max_failures_;
  int64_t window_ms_;
  int64_t lockout_ms_;
  std::unordered_map<std::string, Key> keys_;
};

}  // namespace tandem::portal
