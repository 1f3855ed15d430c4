// Connections to one DB for the server's threads: a request takes one, gives
// it back when done, or drops it after an error (db/connection.h: nobody keeps
// a connection across an error). With the DB down every take fails at once
// (after the connect timeout) and the page says 503; the first take after it
// is back connects again: the portal recovers without a restart.
#pragma once

#include <cppconn/connection.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/connection.h"

namespace tandem::portal {

class DbPool {
 public:
  class Lease {
   public:
    Lease(DbPool& pool, std::unique_ptr<sql::Connection> c) : pool_(pool), c_(std::move(c)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    sql::Connection& operator*() { return *c_; }
    // After an error: the connection is closed instead of given back.
    void drop() { c_.reset(); }

   private:
    DbPool& pool_;
    std::unique_ptr<sql::Connection> c_;
  };

  explicit DbPool(db::Config config, size_t max_idle = 8) : config_(std::move(config)), max_idle_(max_idle) {}
  ~DbPool();

  // A connection, or nullptr and why (the DB cannot be reached).
  std::unique_ptr<Lease> take(std::string& error);
  const db::Config& config() const { return config_; }

 private:
  struct Idle {
    std::unique_ptr<sql::Connection> c;
    std::chrono::steady_clock::time_point since;
  };
  void give_back(std::unique_ptr<sql::Connection> c);

  const db::Config config_;
  const size_t max_idle_;
  std::mutex mutex_;
  std::vector<Idle> idle_;
};

}  // namespace tandem::portal
