#include "portal/accounts.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <sodium.h>

#include <memory>

#include "db/connection.h"

namespace tandem::portal {

namespace {

// INTERACTIVE (64 MiB, a tenth of a second) is what libsodium recommends for
// online logins: MODERATE's 256 MiB would let the server's eight threads take
// 2 GiB at once. The login rate limit, not the hash's cost, bounds guessing.
constexpr auto kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr auto kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

constexpr const char* kColumns =
    "SELECT login, customer, password_hash, disabled, "
    "FLOOR(UNIX_TIMESTAMP(password_changed_at) * 1000), CAST(created_at AS CHAR) FROM portal_users";

Account row_to_account(sql::ResultSet& rs) {
  Account a;
  a.login = rs.getString(1);
  a.op = rs.isNull(2);
  if (!a.op) a.customer = rs.getString(2);
  a.password_hash = rs.getString(3);
  a.disabled = rs.getBoolean(4);
  a.password_changed_ms = rs.getInt64(5);
  a.created = rs.getString(6);
  return a;
}

bool update(sql::Connection& db, const std::string& sql, const std::string& value, const std::string& login,
            std::string& error) {
  try {
    std::unique_ptr<sql::PreparedStatement> st(db.prepareStatement(sql));
    st->setString(1, value);
    st->setString(2, login);
    if (st->executeUpdate() == 0) {
      error = "no portal account " + login;
      return false;
    }
    return true;
  } catch (const sql::SQLException& e) {
    error = "Rules DB: " + db::error_text(e);
    return false;
  }
}

}  // namespace

bool valid_login(std::string_view login) {
  if (login.empty() || login.size() > 64) return false;
  for (char c : login) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool acceptable_password(std::string_view password, std::string& why) {
  if (password.size() < 10) {
    why = "a password needs at least 10 characters";
    return false;
  }
  if (password.size() > 1024) {
    why = "a password may have at most 1024 bytes";
    return false;
  }
  return true;
}

std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) return {};
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool find_account(sql::Connection& db, const std::string& login, std::optional<Account>& out, std::string& error) {
  out.reset();
  try {
    std::unique_ptr<sql::PreparedStatement> st(db.prepareStatement(std::string(kColumns) + " WHERE login = ?"));
    st->setString(1, login);
    std::unique_ptr<sql::ResultSet> rs(st->executeQuery());
    if (rs->next()) out = row_to_account(*rs);
    return true;
  } catch (const sql::SQLException& e) {
    error = "Rules DB: " + db::error_text(e);
    return false;
  }
}

bool list_accounts(sql::Connection& db, std::vector<Account>& out, std::string& error) {
  out.clear();
  try {
    auto rs = db::query(db, std::string(kColumns) + " ORDER BY login");
    while (rs->next()) out.push_back(row_to_account(*rs));
    return true;
  } catch (const sql::SQLException& e) {
    error = "Rules DB: " + db::error_text(e);
    return false;
  }
}

bool add_account(sql::Connection& db, const Account& a, std::string& error) {
  try {
    std::unique_ptr<sql::PreparedStatement> st(
        db.prepareStatement("INSERT INTO portal_users (login, customer, password_hash) VALUES (?, ?, ?)"));
    st->setString(1, a.login);
    if (a.op) {
      st->setNull(2, 0);
    } else {
      st->setString(2, a.customer);
    }
    st->setString(3, a.password_hash);
    st->executeUpdate();
    return true;
  } catch (const sql::SQLException& e) {
    constexpr int kDuplicateKey = 1062;   // ER_DUP_ENTRY
    error = e.getErrorCode() == kDuplicateKey ? "portal account " + a.login + " exists already"
                                              : "Rules DB: " + db::error_text(e);
    return false;
  }
}

bool set_password_hash(sql::Connection& db, const std::string& login, const std::string& hash, std::string& error) {
  return update(db, "UPDATE portal_users SET password_hash = ?, password_changed_at = CURRENT_TIMESTAMP(3) "
                    "WHERE login = ?",
                hash, login, error);
}

bool set_disabled(sql::Connection& db, const std::string& login, bool disabled, std::string& error) {
  return update(db, "UPDATE portal_users SET disabled = ? WHERE login = ?", disabled ? "1" : "0", login, error);
}

}  // namespace tandem::portal
