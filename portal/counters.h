// What the portal counts, for its log and /metrics: logins (good, failed,
// refused while locked), refusals (CSRF, another customer's data, bad
// parameters) and the DBs' failures. Written by every server thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tandem::portal {

struct Counters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> logins{0};
  std::atomic<uint64_t> login_failures{0};
  std::atomic<uint64_t> login_locked{0};        // attempts refused while locked
  std::atomic<uint64_t> lockouts{0};            // accounts or addresses that got locked
  std::atomic<uint64_t> csrf_refused{0};
  std::atomic<uint64_t> not_found{0};           // including another customer's ids, pages, CSVs
  std::atomic<uint64_t> bad_parameters{0};
  std::atomic<uint64_t> db_unavailable{0};      // pages answered 503
  std::atomic<uint64_t> sessions_expired{0};

  // The Prometheus exposition of these and `sessions` (live now).
  std::string exposition(size_t sessions) const;
};

inline void count(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

}  // namespace tandem::portal
