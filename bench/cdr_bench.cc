// The CDR writer against a real MariaDB, in one run, against the same server
// (started here in a temporary dir with its default durable settings:
// innodb_flush_log_at_trx_commit=1, doublewrite on):
//
//   per-record  one autocommitted single-row INSERT per record (what a naive
//               call server does): the floor
//   bare        a loop of autocommitted 500-row INSERTs, no spool, no threads:
//               the ceiling of what the DB takes
//   writer      cdr::Writer with MysqlSink, spool fsync on (group), defaults
//               (batch 500, 200 ms max delay, 64k queue): records/s from the
//               first submit() until flush() saw everything committed, and
//               the latency of each submit() call
//   paced       the writer at 1,000 records/s for a few seconds: submit() and
//               submit-to-commit latency (commit time stamped by a Sink that
//               wraps MysqlSink, per record)
//
// Every phase writes the same realistic records (tests/unit/cdr/sample_records.h)
// into its own freshly migrated database. Human-readable figures on stderr,
// one JSON line on stdout (tools/bench reads it). Exits 1 if MariaDB cannot be
// started or a phase fails.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cdr/mysql_sink.h"
#include "cdr/writer.h"
#include "tests/integration/cdr/mariadb_fixture.h"
#include "tests/unit/cdr/sample_records.h"

namespace {

using namespace tandem::cdr;
using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// p in [0, 1]; nearest rank.
double percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::max(1.0, std::ceil(p * static_cast<double>(v.size()))));
  return static_cast<double>(v[std::min(rank, v.size()) - 1]);
}

// A pool of varied records; record(i) is pool[i % size] with a fresh id.
class Records {
 public:
  explicit Records(size_t size) {
    for (size_t i = 0; i < size; ++i) pool_.push_back(testing::sample_record(i + 1, 0));
  }
  static uint64_t id(uint64_t seq) { return RecordId::make(7, 1, seq); }
  Record record(uint64_t seq) const {
    Record r = pool_[seq % pool_.size()];
    r.id = id(seq);
    return r;
  }

 private:
  std::vector<Record> pool_;
};

bool fresh_database(const testing::MariaDb& db, const std::string& name, std::string& error) {
  auto c = connect_db(db.config(""), false, error);
  if (!c) return false;
  std::unique_ptr<sql::Statement> st(c->createStatement());
  st->execute("DROP DATABASE IF EXISTS " + name);
  MigrateResult m;
  return migrate(db.config(name), m, error);
}

uint64_t count_rows(const testing::MariaDb& db, const std::string& name) {
  std::string e;
  auto c = connect_db(db.config(name), true, e);
  if (!c) return 0;
  std::unique_ptr<sql::Statement> st(c->createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT COUNT(*) FROM cdr"));
  return rs->next() ? rs->getUInt64(1) : 0;
}

// Autocommitted INSERTs of `rows` rows each, for `seconds` or `max_records`.
struct PlainResult {
  uint64_t records = 0;
  double seconds = 0;
  double bind_seconds = 0;   // of which binding the parameters (client CPU)
  double per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

bool plain_inserts(const testing::MariaDb& db, const std::string& name, const Records& recs, size_t rows,
                   double seconds, uint64_t max_records, PlainResult& out, std::string& error) {
  if (!fresh_database(db, name, error)) return false;
  auto c = connect_db(db.config(name), true, error);
  if (!c) return false;
  try {
    std::unique_ptr<sql::PreparedStatement> st(c->prepareStatement(insert_sql(rows, false)));
    uint64_t seq = 1;
    const auto start = Clock::now();
    while (out.records < max_records && seconds_since(start) < seconds) {
      const int64_t t0 = now_ns();
      for (size_t r = 0; r < rows; ++r) bind_record(*st, static_cast<unsigned>(r * kRecordColumns), recs.record(seq++));
      out.bind_seconds += static_cast<double>(now_ns() - t0) / 1e9;
      st->executeUpdate();
      out.records += rows;
    }
    out.seconds = seconds_since(start);
  } catch (const sql::SQLException& e) {
    error = std::string("INSERT: ") + e.what();
    return false;
  }
  const uint64_t in_db = count_rows(db, name);
  if (in_db != out.records) {
    error = "the DB has " + std::to_string(in_db) + " rows, " + std::to_string(out.records) + " inserted";
    return false;
  }
  return true;
}

// MysqlSink that stamps the commit time of every record it writes.
class TimingSink : public Sink {
 public:
  TimingSink(DbConfig config, size_t records) : inner_(std::move(config)), committed_ns_(records + 1) {}
  WriteStatus write(const std::vector<Record>& batch, std::string& error) override {
    const WriteStatus s = inner_.write(batch, error);
    if (s == WriteStatus::ok) {
      const int64_t t = now_ns();
      for (const auto& r : batch) {
        const uint64_t seq = RecordId::seq(r.id);
        if (seq < committed_ns_.size()) committed_ns_[seq].store(t, std::memory_order_relaxed);
      }
    }
    return s;
  }
  int64_t committed_ns(uint64_t seq) const { return committed_ns_[seq].load(std::memory_order_relaxed); }

 private:
  MysqlSink inner_;
  std::vector<std::atomic<int64_t>> committed_ns_;
};

struct WriterResult {
  uint64_t records = 0;
  double seconds = 0;                 // first submit -> flush() done
  double submit_p50_ns = 0, submit_p99_ns = 0, submit_max_ns = 0;
  double commit_p50_ms = 0, commit_p99_ms = 0, commit_max_ms = 0;
  WriterStats stats;
  double per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

// rate 0: as fast as submit() returns; else that many records per second.
bool writer_run(const testing::MariaDb& db, const std::string& name, const Records& recs, uint64_t records,
                double rate, const std::string& spool_dir, WriterResult& out, std::string& error) {
  if (!fresh_database(db, name, error)) return false;
  std::filesystem::remove_all(spool_dir);
  WriterConfig config;            // the defaults: batch 500, 200 ms, 64k queue, group fsync
  config.spool.dir = spool_dir;
  config.spool.sync = SyncPolicy::group;
  config.dc_id = 7;
  config.node_id = 1;
  auto sink = std::make_unique<TimingSink>(db.config(name), records);
  TimingSink* timing = sink.get();
  Writer w(config, std::move(sink));
  if (!w.start(error)) return false;
  std::vector<int64_t> submit_ns(records), submitted_at(records + 1);
  const auto start = Clock::now();
  for (uint64_t seq = 1; seq <= records; ++seq) {
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(
                                                static_cast<int64_t>(static_cast<double>(seq - 1) * 1e9 / rate)));
    }
    Record r = recs.record(seq);
    const int64_t t0 = now_ns();
    const SubmitResult s = w.submit(std::move(r), &error);
    const int64_t t1 = now_ns();
    if (s == SubmitResult::rejected || s == SubmitResult::dropped) return false;
    submit_ns[seq - 1] = t1 - t0;
    submitted_at[seq] = t0;
  }
  if (!w.flush(std::chrono::seconds(600))) {
    error = "flush() timed out";
    return false;
  }
  out.seconds = seconds_since(start);
  out.records = records;
  out.stats = w.stats();
  w.stop();
  std::vector<int64_t> commit_ns;
  commit_ns.reserve(records);
  for (uint64_t seq = 1; seq <= records; ++seq) {
    const int64_t c = timing->committed_ns(seq);
    if (c == 0) {
      error = "record " + std::to_string(seq) + " was never committed";
      return false;
    }
    commit_ns.push_back(c - submitted_at[seq]);
  }
  out.submit_p50_ns = percentile(submit_ns, 0.50);
  out.submit_p99_ns = percentile(submit_ns, 0.99);
  out.submit_max_ns = percentile(submit_ns, 1.0);
  out.commit_p50_ms = percentile(commit_ns, 0.50) / 1e6;
  out.commit_p99_ms = percentile(commit_ns, 0.99) / 1e6;
  out.commit_max_ms = percentile(commit_ns, 1.0) / 1e6;
  const uint64_t in_db = count_rows(db, name);
  if (in_db != records) {
    error = "the DB has " + std::to_string(in_db) + " rows, " + std::to_string(records) + " submitted";
    return false;
  }
  std::filesystem::remove_all(spool_dir);
  return true;
}

nlohmann::json to_json(const WriterResult& r) {
  return {{"records", r.records},         {"seconds", r.seconds},
          {"records_per_s", r.per_s()},   {"submit_p50_ns", r.submit_p50_ns},
          {"submit_p99_ns", r.submit_p99_ns}, {"submit_max_ns", r.submit_max_ns},
          {"commit_p50_ms", r.commit_p50_ms}, {"commit_p99_ms", r.commit_p99_ms},
          {"commit_max_ms", r.commit_max_ms}, {"overflowed", r.stats.overflowed},
          {"batches", r.stats.batches},   {"retried", r.stats.retried}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CDR writer vs one INSERT per record vs bare 500-row INSERTs, against one MariaDB", "cdr_bench"};
  bool quick = false;
  app.add_flag("--quick", quick, "short phases (about 30 s in all)");
  CLI11_PARSE(app, argc, argv);

  const double per_record_s = quick ? 3 : 10;
  const uint64_t bare_records = quick ? 100'000 : 500'000;
  const uint64_t writer_records = quick ? 200'000 : 1'000'000;
  const double paced_rate = 1000;
  const uint64_t paced_records = quick ? 5'000 : 15'000;

  testing::MariaDb db;
  std::string error = db.install();
  if (!error.empty() || !db.start(error)) {
    std::fprintf(stderr, "cdr_bench: cannot run MariaDB: %s\n", error.c_str());
    return 1;
  }
  const Records recs(1000);
  const std::string spool = db.dir() + "/spool";   // the same disk as the DB's data dir

  auto fail = [](const char* phase, const std::string& e) {
    std::fprintf(stderr, "cdr_bench: %s: %s\n", phase, e.c_str());
    return 1;
  };
  PlainResult per_record, bare;
  std::fprintf(stderr, "per-record: one autocommitted INSERT per record for %.0f s...\n", per_record_s);
  if (!plain_inserts(db, "bench_per_record", recs, 1, per_record_s, UINT64_MAX, per_record, error)) {
    return fail("per-record", error);
  }
  std::fprintf(stderr, "bare: %llu records in autocommitted 500-row INSERTs...\n",
               static_cast<unsigned long long>(bare_records));
  if (!plain_inserts(db, "bench_bare", recs, 500, 1e9, bare_records, bare, error)) return fail("bare", error);
  WriterResult full, paced;
  std::fprintf(stderr, "writer: %llu records as fast as submit() takes them...\n",
               static_cast<unsigned long long>(writer_records));
  if (!writer_run(db, "bench_writer", recs, writer_records, 0, spool, full, error)) return fail("writer", error);
  std::fprintf(stderr, "paced: %llu records at %.0f/s...\n", static_cast<unsigned long long>(paced_records),
               paced_rate);
  if (!writer_run(db, "bench_paced", recs, paced_records, paced_rate, spool, paced, error)) {
    return fail("paced", error);
  }

  const double vs_bare = bare.per_s() > 0 ? full.per_s() / bare.per_s() : 0;
  const double vs_per_record = per_record.per_s() > 0 ? full.per_s() / per_record.per_s() : 0;
  auto verdict = [](bool ok) { return ok ? "meets target" : "MISSES TARGET"; };
  std::fprintf(stderr,
               "\nCDR writer vs MariaDB (%s), one server, default durable settings\n"
               "  per-record autocommit INSERT : %10.0f records/s (%llu in %.1f s)\n"
               "  bare 500-row INSERTs         : %10.0f records/s (%llu in %.1f s, %.1f s of it binding)\n"
               "  writer, spool fsync on       : %10.0f records/s (%llu in %.1f s, %llu overflowed to the spool)\n"
               "    -> %s (>= 100,000/s)\n"
               "  writer / bare                : %10.2f  -> %s (>= 0.5)\n"
               "  writer / per-record          : %10.1f  -> %s (>= 20)\n"
               "  submit() at full load        : p50 %.0f ns, p99 %.0f ns, max %.0f ns\n"
               "  submit() at 1,000/s          : p50 %.0f ns, p99 %.0f ns, max %.0f ns -> %s (p99 <= 5 us)\n"
               "  submit-to-commit at 1,000/s  : p50 %.1f ms, p99 %.1f ms, max %.1f ms -> %s (p99 <= 1 s)\n",
               quick ? "quick" : "full", per_record.per_s(), static_cast<unsigned long long>(per_record.records),
               per_record.seconds, bare.per_s(), static_cast<unsigned long long>(bare.records), bare.seconds, bare.bind_seconds,
               full.per_s(), static_cast<unsigned long long>(full.records), full.seconds,
               static_cast<unsigned long long>(full.stats.overflowed), verdict(full.per_s() >= 100000), vs_bare,
               verdict(vs_bare >= 0.5), vs_per_record, verdict(vs_per_record >= 20), full.submit_p50_ns,
               full.submit_p99_ns, full.submit_max_ns, paced.submit_p50_ns, paced.submit_p99_ns,
               paced.submit_max_ns, verdict(paced.submit_p99_ns <= 5000), paced.commit_p50_ms,
               paced.commit_p99_ms, paced.commit_max_ms, verdict(paced.commit_p99_ms <= 1000));
  const nlohmann::json j{
      {"mode", quick ? "quick" : "full"},
      {"per_record", {{"records", per_record.records}, {"seconds", per_record.seconds},
                      {"records_per_s", per_record.per_s()}}},
      {"bare", {{"records", bare.records}, {"seconds", bare.seconds}, {"bind_seconds", bare.bind_seconds},
                {"records_per_s", bare.per_s()}}},
      {"writer", to_json(full)},
      {"paced", to_json(paced)},
      {"writer_vs_bare", vs_bare},
      {"writer_vs_per_record", vs_per_record}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
