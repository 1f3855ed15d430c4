#include "portal/counters.h"

#include "metrics/exposition.h"

namespace tandem::portal {

std::string Counters::exposition(size_t sessions) const {
  metrics::Exposition e;
  auto c = [&e](const char* name, const char* help, const std::atomic<uint64_t>& v) {
    e.counter(name, help, static_cast<double>(v.load(std::memory_order_relaxed)));
  };
  c("tandem_portal_requests_total", "HTTP requests", requests);
  c("tandem_portal_logins_total", "successful logins", logins);
  c("tandem_portal_login_failures_total", "logins refused: unknown account, wrong password or disabled",
    login_failures);
  c("tandem_portal_login_locked_total", "logins refused because the account or the address is locked",
    login_locked);
  c("tandem_portal_lockouts_total", "accounts or addresses locked after too many failed logins", lockouts);
  c("tandem_portal_csrf_refused_total", "forms refused for a missing or wrong CSRF token", csrf_refused);
  c("tandem_portal_not_found_total", "404 answers, another customer's data included", not_found);
  c("tandem_portal_bad_parameters_total", "requests refused for a bad parameter (400)", bad_parameters);
  c("tandem_portal_db_unavailable_total", "pages answered 503 because a DB could not be read", db_unavailable);
  c("tandem_portal_sessions_expired_total", "sessions ended by idle or absolute expiry", sessions_expired);
  e.gauge("tandem_portal_sessions", "login sessions alive", static_cast<double>(sessions));
  return e.text();
}

}  // namespace tandem::portal
