// Connections to the Rules DB and the CDR DB (MariaDB through MySQL
// Connector/C++ 1.1): the first address of a list that answers, in UTC,
// utf8mb4 and strict SQL mode. Shared by rules/, cdr/, the call server and the
// tools, which differ only in what they do with the connection. Reconnecting
// is the users' policy: none of them keeps a connection across an error (a DB
// failover moves the virtual IP; the next connect finds whoever answers), and
// one kept between uses may have been lost meanwhile (connection_lost below).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sql {
class Connection;
class ResultSet;
class SQLException;
}  // namespace sql

namespace tandem::db {

struct Config {
  std::vector<std::string> addresses;  // "HOST:PORT", "HOST" (3306) or "unix:/PATH"; first that answers
  std::string user = "tandem";
  std::string password;
  std::string database;
  uint32_t connect_timeout_s = 2;
  uint32_t io_timeout_s = 10;          // read and write: a silent server is given up on
};

struct Address {
  std::string host;     // empty for a Unix socket
  uint16_t port = 3306;
  std::string socket;
};

// "HOST:PORT", "HOST" (port 3306), "unix:/PATH"; false and why otherwise.
bool parse_address(const std::string& text, Address& out, std::string& error);

// The first address that answers, with `database` selected (use_database) or
// not; nullptr and every address's failure in `error` otherwise.
std::unique_ptr<sql::Connection> connect(const Config& config, bool use_database, std::string& error);

std::string error_text(const sql::SQLException& e);

// Every connect() of this process so far, per database (a few: the Rules DB, the CDR DB), for
// its metrics: a count that climbs while the DB is up means reconnects, failures an outage.
struct ConnectCounts {
  std::string database;
  uint64_t connects = 0;   // connections opened
  uint64_t failures = 0;   // connect() calls that found no address answering
};
std::vector<ConnectCounts> connect_counts();

// Whether `e` says that the connection itself is gone (the server restarted or
// shut down, closed it after wait_timeout or a KILL, the network broke:
// "server has gone away", "lost connection"...), so that a new connection may
// well work where any other error would happen again.
bool connection_lost(const sql::SQLException& e);
// One round trip on a connection kept from an earlier use: false if it was
// lost meanwhile (connection_lost), for the caller to open a new one; any
// other error is thrown.
bool still_connected(sql::Connection& c);

void execute(sql::Connection& c, const std::string& statement);
std::unique_ptr<sql::ResultSet> query(sql::Connection& c, const std::string& statement);

}  // namespace tandem::db
