// tandem-portal's HTTP server (cpp-httplib): routes, login sessions, and the
// pages, one class across files of one concern each: server.cc (routes,
// answers, who is asking), login.cc, month_page.cc, calls_page.cc. Handlers
// run on cpp-httplib's thread pool; what they share (sessions, login limit)
// is behind one mutex, held for map look-ups only, never across a DB query.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "portal/accounts.h"
#include "portal/config.h"
#include "portal/counters.h"
#include "portal/db_pool.h"
#include "portal/html.h"
#include "portal/login_limit.h"
#include "portal/sessions.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tandem::portal {

class Portal {
 public:
  explicit Portal(const PortalConfig& config);
  ~Portal();
  Portal(const Portal&) = delete;
  Portal& operator=(const Portal&) = delete;

  // Loads the TLS files and binds --listen; false and why.
  bool start(std::string& error);
  // Serves until stop() (from another thread or a signal handler's thread).
  void run();
  void stop();
  std::string metrics_text();

 private:
  // A request from a logged-in account, and whose figures it may see.
  struct Context {
    Account account;
    Session session;
    std::string token;
    std::string customer;   // own; an operator's pick ("" = every customer)
    Viewer viewer;
  };

  void add_routes();
  // The session and account behind the request, or nothing when the answer
  // is already given (a redirect to the login page, 404, 503).
  std::optional<Context> authenticate(const httplib::Request& req, httplib::Response& res);

  // login.cc
  void login_form(const httplib::Request& req, httplib::Response& res, int status = 200,
                  const std::string& message = "");
  void login(const httplib::Request& req, httplib::Response& res);
  void logout(const httplib::Request& req, httplib::Response& res);
  // month_page.cc
  void month(const httplib::Request& req, httplib::Response& res, bool csv);
  void customers(const httplib::Request& req, httplib::Response& res);
  // calls_page.cc
  void calls(const httplib::Request& req, httplib::Response& res, bool csv);
  void call(const httplib::Request& req, httplib::Response& res);

  // Answers; every one with the security headers (no caching, no framing,
  // nothing loaded from elsewhere).
  void html(httplib::Response& res, int status, const std::string& body);
  void error(httplib::Response& res, int status, const std::string& message, const Viewer& viewer);
  void unavailable(httplib::Response& res, const std::string& why, const Viewer& viewer);
  void csv(httplib::Response& res, const std::string& filename, const std::string& body);
  static void redirect(httplib::Response& res, const std::string& to);

  const PortalConfig config_;
  std::unique_ptr<httplib::Server> http_;
  DbPool rules_db_;
  DbPool cdr_db_;
  Counters counters_;
  std::mutex mutex_;   // sessions_, limit_
  SessionStore sessions_;
  LoginLimit limit_;
  std::string dummy_hash_;   // verified for unknown logins: they take as long as known ones
};

// Milliseconds since the epoch (system clock): sessions and the login limit.
int64_t now_ms();

}  // namespace tandem::portal
