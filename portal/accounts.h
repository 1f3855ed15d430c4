// The portal's accounts (the Rules DB's portal_users, rules/schema.cc): a
// customer's, which sees that customer's calls, or an operator's, which sees
// every customer's. Passwords are kept as Argon2id hashes (libsodium's
// crypto_pwhash_str: salt and parameters inside the string). tandemctl
// writes accounts; the portal only reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::portal {

struct Account {
  std::string login;
  std::string customer;              // empty for an operator
  bool op = false;
  bool disabled = false;
  std::string password_hash;
  int64_t password_changed_ms = 0;   // UTC
  std::string created;               // "YYYY-MM-DD HH:MM:SS" UTC, for the list
};

// 1 to 64 of A-Z a-z 0-9 . _ @ -: what a login may be.
bool valid_login(std::string_view login);
// 10 to 1024 bytes: shorter is guessed, longer is a denial of service on the hash.
bool acceptable_password(std::string_view password, std::string& why);

// Argon2id with libsodium's "interactive" limits; empty when memory is short.
std::string hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

// The Rules DB's side; false and why on a DB error (the caller drops `db`).
bool find_account(sql::Connection& db, const std::string& login, std::optional<Account>& out, std::string& error);
bool list_accounts(sql::Connection& db, std::vector<Account>& out, std::string& error);
// A new account; false (and why) when the login is taken.
bool add_account(sql::Connection& db, const Account& account, std::string& error);
// false when there is no such login.
bool set_password_hash(sql::Connection& db, const std::string& login, const std::string& hash, std::string& error);
bool set_disabled(sql::Connection& db, const std::string& login, bool disabled, std::string& error);

}  // namespace tandem::portal
