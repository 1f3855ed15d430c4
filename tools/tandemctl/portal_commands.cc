#include "tools/tandemctl/portal_commands.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "db/connection.h"
#include "portal/accounts.h"
#include "rules/store.h"
#include "tools/tandemctl/db_options.h"

namespace tandem::ctl {

namespace {

// One line of stdin; on a terminal prompted, without echo.
bool read_line(const char* prompt, std::string& out) {
  const bool tty = ::isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  const bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return ok;
}

// The new password from stdin (twice on a terminal), checked and hashed.
bool new_password_hash(std::string& hash, std::string& error) {
  std::string password, again;
  if (!read_line("New password: ", password)) {
    error = "no password on stdin";
    return false;
  }
  if (::isatty(STDIN_FILENO) && (!read_line("Again: ", again) || again != password)) {
    error = "the two passwords differ";
    return false;
  }
  if (!portal::acceptable_password(password, error)) return false;
  if (sodium_init() < 0 || (hash = portal::hash_password(password)).empty()) {
    error = "cannot hash the password (libsodium: out of memory?)";
    return false;
  }
  sodium_memzero(password.data(), password.size());
  return true;
}

std::unique_ptr<sql::Connection> connect(const GlobalOptions& g, const DbOptions& o, int& exit_code) {
  std::string e;
  auto c = db::connect(o.config<rules::DbConfig>(), true, e);
  if (!c) fail(g, exit_code, "Rules DB: " + e);
  return c;
}

bool customer_known(sql::Connection& c, const std::string& name) {
  try {
    std::unique_ptr<sql::PreparedStatement> st(c.prepareStatement("SELECT 1 FROM customers WHERE name = ?"));
    st->setString(1, name);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    return rs->next();
  } catch (const sql::SQLException&) {
    return false;
  }
}

void done(const GlobalOptions& g, const std::string& what) {
  if (g.json) {
    std::cout << nlohmann::json{{"done", what}}.dump(2) << "\n";
  } else {
    std::cout << what << "\n";
  }
}

void add_user_add(CLI::App* users, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static std::string login, customer;
  static bool op = false;
  auto* add = users->add_subcommand("add", "a new account; its password from stdin (prompted on a terminal)");
  add->add_option("LOGIN", login, "1 to 64 of A-Z a-z 0-9 . _ @ -")->required();
  auto* c = add->add_option("--customer", customer, "the customer whose calls it sees (as in the CDRs)");
  auto* o = add->add_flag("--operator", op, "an operator account: every customer's calls");
  c->excludes(o);
  add->callback([&db, &g, &exit_code] {
    if (!portal::valid_login(login)) return fail(g, exit_code, "login " + login + ": 1 to 64 of A-Z a-z 0-9 . _ @ -",
                                                 kUsage);
    if (customer.empty() != op) return fail(g, exit_code, "give --customer NAME or --operator", kUsage);
    portal::Account a;
    a.login = login;
    a.customer = customer;
    a.op = op;
    std::string e;
    if (!new_password_hash(a.password_hash, e)) return fail(g, exit_code, e, kUsage);
    auto conn = connect(g, db, exit_code);
    if (!conn) return;
    if (!op && !customer_known(*conn, customer)) {
      std::cerr << "tandemctl: warning: the Rules DB has no customer " << customer
                << " (the account sees the CDRs of that name)\n";
    }
    if (!portal::add_account(*conn, a, e)) return fail(g, exit_code, e);
    done(g, "portal account " + login + " added (" + (op ? "operator" : "customer " + customer) + ")");
  });
}

void add_user_list(CLI::App* users, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  users->add_subcommand("list", "every account: login, customer or operator, disabled, created")
      ->callback([&db, &g, &exit_code] {
        auto conn = connect(g, db, exit_code);
        if (!conn) return;
        std::vector<portal::Account> accounts;
        std::string e;
        if (!portal::list_accounts(*conn, accounts, e)) return fail(g, exit_code, e);
        if (g.json) {
          nlohmann::json all = nlohmann::json::array();
          for (const auto& a : accounts) {
            all.push_back({{"login", a.login},
                           {"customer", a.op ? nlohmann::json(nullptr) : nlohmann::json(a.customer)},
                           {"operator", a.op}, {"disabled", a.disabled}, {"created", a.created}});
          }
          std::cout << all.dump(2) << "\n";
          return;
        }
        for (const auto& a : accounts) {
          std::cout << a.login << "  " << (a.op ? "operator" : "customer " + a.customer)
                    << (a.disabled ? "  disabled" : "") << "  created " << a.created << "\n";
        }
        std::cout << accounts.size() << (accounts.size() == 1 ? " account\n" : " accounts\n");
      });
}

void add_user_change(CLI::App* users, const DbOptions& db, GlobalOptions& g, int& exit_code) {
  static std::string passwd_login, disable_login, enable_login;
  auto* passwd = users->add_subcommand("passwd", "a new password from stdin; the account's sessions end");
  passwd->add_option("LOGIN", passwd_login)->required();
  passwd->callback([&db, &g, &exit_code] {
    std::string hash, e;
    if (!new_password_hash(hash, e)) return fail(g, exit_code, e, kUsage);
    auto conn = connect(g, db, exit_code);
    if (!conn) return;
    if (!portal::set_password_hash(*conn, passwd_login, hash, e)) return fail(g, exit_code, e);
    done(g, "portal account " + passwd_login + ": password changed");
  });
  auto toggle = [&db, &g, &exit_code](const std::string& login, bool disabled) {
    auto conn = connect(g, db, exit_code);
    if (!conn) return;
    std::string e;
    if (!portal::set_disabled(*conn, login, disabled, e)) return fail(g, exit_code, e);
    done(g, "portal account " + login + (disabled ? " disabled" : " enabled"));
  };
  auto* disable = users->add_subcommand("disable", "no more logins; its sessions end at their next request");
  disable->add_option("LOGIN", disable_login)->required();
  disable->callback([toggle] { toggle(disable_login, true); });
  auto* enable = users->add_subcommand("enable", "a disabled account may log in again");
  enable->add_option("LOGIN", enable_login)->required();
  enable->callback([toggle] { toggle(enable_login, false); });
}

}  // namespace

void add_portal_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  static DbOptions db = rules_db_options();
  auto* portal = app.add_subcommand("portal", "the customer portal (tandem-portal): its accounts");
  portal->require_subcommand(1);
  portal->fallthrough();
  auto* users = portal->add_subcommand("users", "accounts in the Rules DB: add, list, passwd, disable, enable");
  users->require_subcommand(1);
  users->fallthrough();
  add_db_options(portal, db, "", "Rules DB");
  add_user_add(users, db, g, exit_code);
  add_user_list(users, db, g, exit_code);
  add_user_change(users, db, g, exit_code);
}

}  // namespace tandem::ctl
