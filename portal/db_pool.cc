#include "portal/db_pool.h"

#include <cppconn/exception.h>

namespace tandem::portal {

namespace {

// A connection idle longer than this is asked whether it is still there
// before use (one round trip): the DB may have restarted meanwhile, and its
// first query would fail the page for nothing.
constexpr auto kCheckAfter = std::chrono::seconds(5);

}  // namespace

DbPool::Lease::~Lease() {
  if (c_) pool_.give_back(std::move(c_));
}

DbPool::~DbPool() = default;

void DbPool::give_back(std::unique_ptr<sql::Connection> c) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back({std::move(c), std::chrono::steady_clock::now()});
}

std::unique_ptr<DbPool::Lease> DbPool::take(std::string& error) {
  for (;;) {
    Idle idle;
    {
      std::lock_guard lock(mutex_);
      if (idle_.empty()) break;
      idle = std::move(idle_.back());
      idle_.pop_back();
    }
    if (std::chrono::steady_clock::now() - idle.since < kCheckAfter) {
      return std::make_unique<Lease>(*this, std::move(idle.c));
    }
    try {
      if (db::still_connected(*idle.c)) return std::make_unique<Lease>(*this, std::move(idle.c));
    } catch (const sql::SQLException&) {
      // Anything else wrong with it: a new connection instead.
    }
  }
  auto c = db::connect(config_, true, error);
  if (!c) return nullptr;
  return std::make_unique<Lease>(*this, std::move(c));
}

}  // namespace tandem::portal
