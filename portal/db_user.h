// The portal's own DB user, created by `tandemctl db init|migrate`: it may
// SELECT what the portal shows (the CDR table, the accounts, the customers'
// names) and nothing else, so that a flaw in the portal cannot change a call
// record or an account.
#pragma once

#include <string>
#include <vector>

namespace sql {
class Connection;
}  // namespace sql

namespace tandem::portal {

inline constexpr const char* kDefaultDbUser = "tandem_portal";

// What the portal reads: "database.table" of the Rules DB and of the CDR DB.
std::vector<std::string> rules_db_tables(const std::string& database);
std::vector<std::string> cdr_db_tables(const std::string& database);

// On `c`'s server: `user` at 'localhost' (the Unix socket) and at '%' (TCP,
// the DB's virtual IP), created or given `password`, with SELECT on each of
// `tables`. false and why; names other than [A-Za-z0-9_] are refused.
bool grant_portal_reader(sql::Connection& c, const std::string& user, const std::string& password,
                         const std::vector<std::string>& tables, std::string& error);

}  // namespace tandem::portal
