// Store::load: every table of the Rules DB, in one consistent snapshot.
#include <cppconn/connection.h>
#include <cppconn/exception.h>

#include <cstddef>
#include <iterator>
#include <thread>
#include <utility>
#include <vector>

#include "rules/row_reader.h"
#include "rules/store.h"
#include "rules/table_readers.h"

namespace tandem::rules {

namespace {

using internal::Part;
using internal::Rows;
using Readers = std::vector<std::unique_ptr<sql::Connection>>;

constexpr const char* kSnapshot = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

// Room for the rows InnoDB estimates each table has (+25 %): one allocation
// per table instead of a vector doubling, and moving millions of rows, as it
// grows. Space reserved and not used is never touched.
void reserve(sql::Connection& c, RulesData& d) {
  Rows rows(c, "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
  while (rows.next()) {
    const std::string table = rows.rs().getString(1);
    const size_t n = rows.rs().isNull(2) ? 0 : static_cast<size_t>(rows.rs().getUInt64(2) * 5 / 4);
    if (table == "numbers") d.numbers.reserve(n);
    if (table == "rules") d.rules.reserve(n);
    if (table == "rates") d.rates.reserve(n);
  }
}

// A snapshot transaction on every connection; true if all see the same
// config_version rows (`version`: their sum), else they are ended again.
bool begin_same_snapshot(sql::Connection& main, const Readers& readers, uint64_t& version) {
  db::execute(main, kSnapshot);
  for (auto& c : readers) db::execute(*c, kSnapshot);
  uint64_t other = 0;
  const std::string rows = internal::version_rows(main, version);
  bool paired = true;
  for (auto& c : readers) paired = paired && internal::version_rows(*c, other) == rows;
  if (!paired) {
    for (auto& c : readers) db::execute(*c, "COMMIT");
    db::execute(main, "COMMIT");
  }
  return paired;
}

// The rules' ids in `n` ranges of about equal size (ids come from
// AUTO_INCREMENT), as WHERE clauses.
std::vector<std::string> id_ranges(sql::Connection& c, size_t n) {
  uint64_t lo = 0, hi = 0;
  Rows r(c, "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM rules");
  if (r.next()) {
    lo = r.rs().getUInt64(1);
    hi = r.rs().getUInt64(2);
  }
  const uint64_t step = (hi - lo) / n + 1;
  std::vector<std::string> where(n);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) where[i] = "WHERE id >= " + std::to_string(lo + i * step);
    if (i + 1 < n) where[i] += (i > 0 ? " AND " : "WHERE ") + std::string("id < ") + std::to_string(lo + (i + 1) * step);
  }
  return where;
}

// The rules on `readers`, one id range each in a thread of its own, while
// `main` reads the other tables. False with `failure` if a reader failed.
bool read_rules_beside(sql::Connection& main, const Readers& readers, const NumberPlan& plan, RulesData& d,
                       Part& part, std::string& failure) {
  const size_t n = readers.size();
  const std::vector<std::string> where = id_ranges(main, n);
  std::vector<std::vector<Rule>> parts(n);
  std::vector<Part> sides(n);
  parts[0] = std::move(d.rules);  // reserved for all
  for (size_t i = 1; i < n; ++i) parts[i].reserve(parts[0].capacity() / n);
  {
    std::vector<std::jthread> threads;  // joined on leaving, also when the main read throws
    for (size_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        try {
          internal::read_rules(*readers[i], plan, parts[i], sides[i].rules, where[i]);
          db::execute(*readers[i], "COMMIT");
        } catch (const sql::SQLException& ex) {
          sides[i].failure = db::error_text(ex);
        } catch (const std::exception& ex) {
          sides[i].failure = ex.what();
        }
      });
    }
    internal::read_tables(main, plan, false, d, part);
  }
  d.rules = std::move(parts[0]);
  for (size_t i = 0; i < n; ++i) {
    if (!sides[i].failure.empty()) {
      failure = sides[i].failure;
      return false;
    }
    if (part.rules.empty()) part.rules = std::move(sides[i].rules);
    if (i > 0) std::move(parts[i].begin(), parts[i].end(), std::back_inserter(d.rules));
  }
  return true;
}

enum class SplitRead {
  read,       // `d` and `bad` are the load's
  not_read,   // the snapshots saw different config_versions: nothing read
  failed,     // a reader failed (`failure`); `main`'s transaction still open
};

// One try of Store::load's read on several connections.
SplitRead read_split(sql::Connection& main, const Readers& readers, const NumberPlan& plan, RulesData& d,
                     std::string& bad, std::string& failure) {
  if (!begin_same_snapshot(main, readers, d.version)) return SplitRead::not_read;
  Part part;
  if (!read_rules_beside(main, readers, plan, d, part, failure)) return SplitRead::failed;
  db::execute(main, "COMMIT");
  internal::attach_dates(d.rules, part.dates, part.rule_dates);
  bad = part.first_bad();
  return SplitRead::read;
}

}  // namespace

void Store::read_all(RulesData& d, std::string& bad) {
  Part p;
  reserve(*conn_, d);
  internal::version_rows(*conn_, d.version);
  internal::read_tables(*conn_, plan_, true, d, p);
  internal::attach_dates(d.rules, p.dates, p.rule_dates);
  bad = p.first_bad();
}

bool Store::connect_readers(size_t n, std::string& error) {
  // Kept from the last load, maybe long ago: one the server lost since (its
  // wait_timeout, a restart that conn_ did not see) is replaced.
  // (Not erase_if: another error thrown in the middle of its moves would leave
  // null connections behind for disconnect_readers().)
  for (size_t i = 0; i < readers_.size();) {
    if (db::still_connected(*readers_[i])) {
      ++i;
      continue;
    }
    try {
      readers_[i]->close();
    } catch (const sql::SQLException&) {
    }
    readers_.erase(readers_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  while (readers_.size() < n) {
    auto c = open_connection(true, error);
    if (!c) return false;
    readers_.push_back(std::move(c));
  }
  return true;
}

void Store::disconnect_readers() {
  for (auto& c : readers_) {
    try {
      c->close();
    } catch (const sql::SQLException&) {
    }
  }
  readers_.clear();
}

// The rules table (by far the largest) is read on config_.load_connections
// - 1 more connections, split by id range, while conn_ reads the others.
// Each connection is its own REPEATABLE READ transaction WITH CONSISTENT
// SNAPSHOT; they are used only if all see the same config_version rows,
// which every committed change to any rules table bumps (triggers): then no
// change committed between their snapshots and they all see the same rules.
// Else they are tried again, and after 3 tries (or without the connections)
// everything is read in one transaction on conn_.
bool Store::load(RulesData& out, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!connect(true, error)) return false;
  const size_t readers = config_.load_connections > 1 ? config_.load_connections - 1 : 0;
  RulesData d;
  std::string bad;
  try {
    reserve(*conn_, d);
    SplitRead split = SplitRead::not_read;
    std::string unreachable, failure;  // readers unreachable: everything is read on conn_
    if (readers && connect_readers(readers, unreachable)) {
      for (int attempt = 0; attempt < 3 && split == SplitRead::not_read; ++attempt) {
        split = read_split(*conn_, readers_, plan_, d, bad, failure);
      }
    }
    if (split == SplitRead::failed) {
      disconnect_readers();
      db::execute(*conn_, "ROLLBACK");
      error = "Rules DB: load: " + failure;
      return false;
    }
    if (split == SplitRead::not_read) {
      d = RulesData{};
      db::execute(*conn_, kSnapshot);
      read_all(d, bad);
      db::execute(*conn_, "COMMIT");
    }
  } catch (const sql::SQLException& ex) {
    error = "Rules DB: load: " + db::error_text(ex);
    disconnect();
    disconnect_readers();
    return false;
  } catch (...) {
    disconnect_readers();  // one may be left inside its transaction
    throw;
  }
  if (!bad.empty()) {
    error = "Rules DB: " + bad;
    return false;
  }
  out = std::move(d);
  return true;
}

}  // namespace tandem::rules
