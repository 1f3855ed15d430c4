// Login and logout. The login form carries a CSRF token that must equal its
// cookie (double submit: there is no session yet); a login is refused while
// its account or its address is locked (login_limit.h), and the failure says
// nothing of which part was wrong. Passwords go to the hash, never to a log.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "cdr/record.h"
#include "portal/http_parts.h"
#include "portal/server.h"
#include "portal/tokens.h"

namespace tandem::portal {

namespace {

// A login as the log shows it: whatever the client sent, made printable and short.
std::string loggable(const std::string& login) { return cdr::printable(login, 64); }

}  // namespace

void Portal::login_form(const httplib::Request& req, httplib::Response& res, int status, const std::string& message) {
  // Reused while the browser has one: two tabs on the login page both work.
  std::string csrf = cookie_value(req.get_header_value("Cookie"), kLoginCsrfCookie);
  if (csrf.size() != 64) {
    csrf = random_token();
    res.set_header("Set-Cookie", set_cookie(kLoginCsrfCookie, csrf, config_.secure_cookies()));
  }
  std::string body;
  if (!message.empty()) body += "<p class=\"error\">" + escape(message) + "</p>";
  body +=
      "<form method=\"post\" action=\"/login\">"
      "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(csrf) + "\">"
      "<p><label>Login<br><input name=\"login\" autocomplete=\"username\" required autofocus></label></p>"
      "<p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" "
      "required></label></p>"
      "<p><button type=\"submit\">Log in</button></p></form>";
  html(res, status, page("Log in", Viewer{}, body));
}

void Portal::login(const httplib::Request& req, httplib::Response& res) {
  const std::string address = req.remote_addr;
  if (!same_token(cookie_value(req.get_header_value("Cookie"), kLoginCsrfCookie), req.get_param_value("csrf"))) {
    count(counters_.csrf_refused);
    spdlog::warn("login from {}: no or wrong CSRF token, refused", address);
    return error(res, 403, "This form has expired: open the login page again.", Viewer{});
  }
  const std::string login = req.get_param_value("login");
  const std::string password = req.get_param_value("password");
  const std::string account_key = "account " + login;
  const std::string address_key = "address " + address;
  const int64_t now = now_ms();
  bool locked = false;
  {
    std::lock_guard lock(mutex_);
    locked = limit_.locked(account_key, now) || limit_.locked(address_key, now);
  }
  if (locked) {
    count(counters_.login_locked);
    spdlog::warn("login of {} from {}: locked after too many failures, refused", loggable(login), address);
    return login_form(req, res, 429, "Too many failed logins: try again later.");
  }
  std::optional<Account> account;
  if (valid_login(login)) {
    std::string why;
    auto db = rules_db_.take(why);
    if (!db || !find_account(**db, login, account, why)) {
      if (db) db->drop();
      return unavailable(res, why, Viewer{});
    }
  }
  // An unknown login costs the same hash as a known one: the time tells nothing.
  const bool good = verify_password(account ? account->password_hash : dummy_hash_, password) && account &&
                    !account->disabled;
  if (!good) {
    count(counters_.login_failures);
    bool now_locked = false;
    {
      std::lock_guard lock(mutex_);
      // Only a login that could exist counts against an account: junk must not fill the map.
      if (valid_login(login)) now_locked |= limit_.failure(account_key, now);
      now_locked |= limit_.failure(address_key, now);
      limit_.purge(now);
    }
    spdlog::warn("login of {} from {} failed{}", loggable(login), address,
                 now_locked ? ": now locked for " + std::to_string(config_.login_lockout_s) + " s" : "");
    if (now_locked) count(counters_.lockouts);
    return login_form(req, res, 401, "Wrong login or password.");
  }
  std::string token;
  {
    std::lock_guard lock(mutex_);
    limit_.success(account_key);
    sessions_.purge(now);
    token = sessions_.create(account->login, account->password_changed_ms, now);
  }
  count(counters_.logins);
  spdlog::info("login of {} from {}", account->login, address);
  res.set_header("Set-Cookie", set_cookie(kSessionCookie, token, config_.secure_cookies()));
  res.set_header("Set-Cookie", set_cookie(kLoginCsrfCookie, "", config_.secure_cookies(), 0));
  redirect(res, "/month");
}

void Portal::logout(const httplib::Request& req, httplib::Response& res) {
  auto ctx = authenticate(req, res);
  if (!ctx) return;
  if (!same_token(ctx->session.csrf, req.get_param_value("csrf"))) {
    count(counters_.csrf_refused);
    spdlog::warn("logout of {} from {}: no or wrong CSRF token, refused", ctx->account.login, req.remote_addr);
    return error(res, 403, "This form has expired: reload the page.", ctx->viewer);
  }
  {
    std::lock_guard lock(mutex_);
    sessions_.remove(ctx->token);
  }
  spdlog::info("logout of {}", ctx->account.login);
  res.set_header("Set-Cookie", set_cookie(kSessionCookie, "", config_.secure_cookies(), 0));
  redirect(res, "/login");
}

}  // namespace tandem::portal
