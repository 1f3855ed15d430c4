#include "portal/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "metrics/exposition.h"
#include "portal/http_parts.h"
#include "portal/tokens.h"

namespace tandem::portal {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Portal::Portal(const PortalConfig& config)
    : config_(config),
      rules_db_(config.rules_db),
      cdr_db_(config.cdr_db),
      sessions_(int64_t{config.session_idle_s} * 1000, int64_t{config.session_max_s} * 1000),
      limit_(config.login_max_failures, int64_t{config.login_window_s} * 1000, int64_t{config.login_lockout_s} * 1000),
      dummy_hash_(hash_password(random_token())) {}

Portal::~Portal() = default;

bool Portal::start(std::string& error) {
  if (config_.tls()) {
    auto tls = std::make_unique<httplib::SSLServer>(config_.tls_cert.c_str(), config_.tls_key.c_str());
    if (!tls->is_valid()) {
      error = "--tls-cert " + config_.tls_cert + " / --tls-key " + config_.tls_key +
              ": cannot load them (PEM certificate and its private key)";
      return false;
    }
    http_ = std::move(tls);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  // A page is written in more than one send(): with Nagle on, the last one
  // waits for the browser's delayed ACK, 40 ms per page on a kept-alive
  // connection (measured: p50 43 ms -> 2 ms, bench/RESULTS.md).
  http_->set_tcp_nodelay(true);
  add_routes();
  std::string address;
  uint16_t port = 0;
  metrics::parse_listen(config_.listen, address, port);
  if (!http_->bind_to_port(address.c_str(), port)) {
    error = "--listen " + config_.listen + ": cannot listen there: " + std::strerror(errno);
    return false;
  }
  return true;
}

void Portal::run() { http_->listen_after_bind(); }

void Portal::stop() {
  if (http_) http_->stop();
}

std::string Portal::metrics_text() {
  size_t live = 0;
  {
    std::lock_guard lock(mutex_);
    sessions_.purge(now_ms());
    live = sessions_.size();
  }
  return counters_.exposition(live);
}

void Portal::add_routes() {
  http_->set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    count(counters_.requests);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) { redirect(res, "/month"); });
  http_->Get("/login", [this](const httplib::Request& req, httplib::Response& res) { login_form(req, res); });
  http_->Post("/login", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
  http_->Post("/logout", [this](const httplib::Request& req, httplib::Response& res) { logout(req, res); });
  http_->Get("/month", [this](const httplib::Request& req, httplib::Response& res) { month(req, res, false); });
  http_->Get("/month.csv", [this](const httplib::Request& req, httplib::Response& res) { month(req, res, true); });
  http_->Get("/customers", [this](const httplib::Request& req, httplib::Response& res) { customers(req, res); });
  http_->Get("/calls", [this](const httplib::Request& req, httplib::Response& res) { calls(req, res, false); });
  http_->Get("/calls.csv", [this](const httplib::Request& req, httplib::Response& res) { calls(req, res, true); });
  http_->Get(R"(/calls/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) { call(req, res); });
  // Called for every answer >= 400; ours have their page already. The rest
  // (no such route, a request cpp-httplib refused) get one, the same for everyone.
  http_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) count(counters_.not_found);
    html(res, res.status,
         error_page(res.status, res.status == 404 ? "No such page." : "The request was refused.", Viewer{}));
  });
  // A handler that throws (a bug) answers 500 instead of taking the process down.
  http_->set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: {}", req.method, req.path, what);
    html(res, 500, error_page(500, "Something went wrong on our side.", Viewer{}));
  });
}

std::optional<Portal::Context> Portal::authenticate(const httplib::Request& req, httplib::Response& res) {
  Context ctx;
  ctx.token = cookie_value(req.get_header_value("Cookie"), kSessionCookie);
  std::optional<Session> session;
  bool expired = false;
  if (!ctx.token.empty()) {
    std::lock_guard lock(mutex_);
    session = sessions_.use(ctx.token, now_ms(), &expired);
  }
  if (expired) count(counters_.sessions_expired);
  if (!session) {
    redirect(res, "/login");
    return std::nullopt;
  }
  ctx.session = *session;
  std::string why;
  auto db = rules_db_.take(why);
  std::optional<Account> account;
  if (!db || !find_account(**db, ctx.session.login, account, why)) {
    if (db) db->drop();
    unavailable(res, why, Viewer{});
    return std::nullopt;
  }
  // Disabled, removed or given a new password since the login: the session ends.
  if (!account || account->disabled || account->password_changed_ms != ctx.session.password_changed_ms) {
    {
      std::lock_guard lock(mutex_);
      sessions_.remove(ctx.token);
    }
    redirect(res, "/login");
    return std::nullopt;
  }
  ctx.account = std::move(*account);
  ctx.viewer = Viewer{ctx.account.login, ctx.account.customer, ctx.account.op, ctx.session.csrf};
  const std::string asked = req.get_param_value("customer");
  if (ctx.account.op) {
    ctx.customer = asked;
    ctx.viewer.customer = asked;
  } else {
    // Another customer's name in the URL is answered as if nothing were there.
    if (!asked.empty() && asked != ctx.account.customer) {
      error(res, 404, "No such page.", ctx.viewer);
      return std::nullopt;
    }
    ctx.customer = ctx.account.customer;
  }
  return ctx;
}

void Portal::html(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  // Inline style only; no script, no other origin, forms post here only.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'");
  // Once seen over HTTPS, never plain HTTP again for a year.
  if (config_.secure_cookies()) res.set_header("Strict-Transport-Security", "max-age=31536000");
  res.set_content(body, "text/html; charset=utf-8");
}

void Portal::error(httplib::Response& res, int status, const std::string& message, const Viewer& viewer) {
  if (status == 404) count(counters_.not_found);
  if (status == 400) count(counters_.bad_parameters);
  html(res, status, error_page(status, message, viewer));
}

void Portal::unavailable(httplib::Response& res, const std::string& why, const Viewer& viewer) {
  count(counters_.db_unavailable);
  spdlog::warn("503: {}", why);
  res.set_header("Retry-After", "5");
  html(res, 503,
       error_page(503, "The call records cannot be read just now. Please try again in a few seconds.", viewer));
}

void Portal::csv(httplib::Response& res, const std::string& filename, const std::string& body) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  res.set_content(body, "text/csv; charset=utf-8");
}

void Portal::redirect(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
  res.set_header("Cache-Control", "no-store");
}

}  // namespace tandem::portal
