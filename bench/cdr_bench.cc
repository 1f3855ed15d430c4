// The CDR writer against a real MariaDB, in one run, against the same server
// (started here in a temporary dir with its default durable settings:
// innodb_flush_log_at_trx_commit=1, doublewrite on):
//
//   per-record  one autocommitted single-row INSERT per record (what a naive
//               call server does): the floor
//   bare        a loop of autocommitted 500-row INSERTs, no spool, no threads:
//               the ceiling of what the DB takes
//   bare-pk     the same into a table without its five secondary indexes:
//               what they cost the server (not a configuration we run)
//   bare-text   (only with --phases) the same as text statements, every
//               string escaped by the connection, instead of a prepared one
//   writer      cdr::Writer with MysqlSink, spool fsync on (group), defaults
//               (batch 500, 200 ms max delay, 64k queue): records/s from the
//               first submit() until flush() saw everything committed, and
//               the latency of each submit() call
//   paced       the writer at 1,000 records/s for a few seconds: submit() and
//               submit-to-commit latency (commit time stamped by a Sink that
//               wraps MysqlSink, per record)
//
// Every phase writes the same realistic records (tests/unit/cdr/sample_records.h)
// into its own freshly migrated database. Each phase also reports the CPU time
// mariadbd and this process spent per row (on a shared machine the rows/s
// move with the load; the CPU per row much less). Human-readable figures on
// stderr, one JSON line on stdout (tools/bench reads it). Exits 1 if MariaDB
// cannot be started or a phase fails. --server-arg adds mariadbd options
// (e.g. --server-arg=--innodb-log-file-size=1G) to try settings; the
// headline figures use none.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cdr/mysql_sink.h"
#include "cdr/schema.h"
#include "cdr/writer.h"
#include "db/connection.h"
#include "tests/support/mariadb_fixture.h"
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

// CPU seconds (user + system) of mariadbd and of this process (all threads).
struct Cpu {
  double server = 0, client = 0;
};

Cpu cpu_now(pid_t server) {
  Cpu c;
  std::ifstream f("/proc/" + std::to_string(server) + "/stat");
  std::string line;
  std::getline(f, line);
  // Fields after the command (which is in parentheses and may hold spaces):
  // state is field 3, utime 14, stime 15.
  const auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    c.server = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  c.client = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return c;
}

struct CpuUse {
  double server_s = 0, client_s = 0;
  void since(const Cpu& start, pid_t server) {
    const Cpu end = cpu_now(server);
    server_s = end.server - start.server;
    client_s = end.client - start.client;
  }
  nlohmann::json json(uint64_t rows) const {
    const double n = rows > 0 ? static_cast<double>(rows) : 1;
    return {{"server_cpu_s", server_s}, {"client_cpu_s", client_s},
            {"server_cpu_us_per_row", server_s * 1e6 / n}, {"client_cpu_us_per_row", client_s * 1e6 / n}};
  }
};

constexpr const char* kSecondaryIndexes[] = {"start_time", "customer_start", "caller_start", "called_start", "call_id"};

bool fresh_database(const tandem::testing::MariaDb& db, const std::string& name, std::string& error,
                    bool secondary_indexes = true) {
  auto c = tandem::db::connect(db.config(""), false, error);
  if (!c) return false;
  std::unique_ptr<sql::Statement> st(c->createStatement());
  st->execute("DROP DATABASE IF EXISTS " + name);
  tandem::db::MigrateResult m;
  if (!migrate(db.config(name), m, error)) return false;
  if (!secondary_indexes) {
    std::string sql = "ALTER TABLE " + name + ".cdr";
    for (const char* k : kSecondaryIndexes) sql += std::string(k == kSecondaryIndexes[0] ? " " : ", ") + "DROP KEY " + k;
    st->execute(sql);
  }
  return true;
}

// The text form of what bind_record() binds, every string escaped by the
// connection (mysql_real_escape_string: the session's character set and
// NO_BACKSLASH_ESCAPES are taken into account).
void text_row(sql::mysql::MySQL_Connection& c, const Record& r, std::string& out) {
  auto str = [&](const std::string& s) {
    out += '\'';
    out += static_cast<std::string>(c.escapeString(s));
    out += "',";
  };
  auto num = [&](auto v) {
    out += std::to_string(v);
    out += ',';
  };
  auto word = [&](std::string_view w) {
    out += '\'';
    out += w;
    out += "',";
  };
  out += '(';
  num(r.id);
  str(r.call_id);
  word(name(r.direction));
  str(r.caller);
  str(r.called);
  str(r.customer);
  str(r.target);
  str(r.provider);
  char cost[32];
  std::snprintf(cost, sizeof cost, "%lld.%06lld,", static_cast<long long>(r.cost_micros / 1000000),
                static_cast<long long>(r.cost_micros % 1000000));
  out += cost;
  str(r.dc);
  str(r.server);
  word(format_utc_ms(r.start_ms));
  if (r.answer_ms != 0) {
    word(format_utc_ms(r.answer_ms));
  } else {
    out += "NULL,";
  }
  word(format_utc_ms(r.end_ms));
  num(r.duration_ms);
  num(r.billable_s);
  word(name(r.disposition));
  num(r.sip_code);
  word(name(r.hangup_side));
  str(r.hangup_reason);
  for (const auto& leg : r.legs) {
    num(leg.packets);
    num(leg.bytes);
    num(leg.lost);
    num(leg.jitter_max_us);
    num(leg.jitter_mean_us);
  }
  out.back() = ')';
}

uint64_t count_rows(const tandem::testing::MariaDb& db, const std::string& name) {
  std::string e;
  auto c = tandem::db::connect(db.config(name), true, e);
  if (!c) return 0;
  std::unique_ptr<sql::Statement> st(c->createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT COUNT(*) FROM cdr"));
  return rs->next() ? rs->getUInt64(1) : 0;
}

// Autocommitted INSERTs of `rows` rows each, for `seconds` or `max_records`.
struct PlainResult {
  uint64_t records = 0;
  double seconds = 0;
  double bind_seconds = 0;   // of which binding the parameters, or building the text (client)
  CpuUse cpu;
  double per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
  nlohmann::json json() const {
    nlohmann::json j{{"records", records}, {"seconds", seconds}, {"bind_seconds", bind_seconds},
                     {"records_per_s", per_s()}};
    j.update(cpu.json(records));
    return j;
  }
};

enum class Form { prepared, text };

bool plain_inserts(const tandem::testing::MariaDb& db, const std::string& name, const Records& recs, size_t rows,
                   double seconds, uint64_t max_records, PlainResult& out, std::string& error,
                   Form form = Form::prepared, bool secondary_indexes = true) {
  if (!fresh_database(db, name, error, secondary_indexes)) return false;
  auto c = tandem::db::connect(db.config(name), true, error);
  if (!c) return false;
  try {
    std::unique_ptr<sql::PreparedStatement> st;
    std::unique_ptr<sql::Statement> text_st;
    auto* native = dynamic_cast<sql::mysql::MySQL_Connection*>(c.get());
    std::string head = insert_sql(0, false), text;
    if (form == Form::prepared) {
      st.reset(c->prepareStatement(insert_sql(rows, false)));
    } else {
      if (!native) {
        error = "not a MySQL_Connection: no escapeString()";
        return false;
      }
      text_st.reset(c->createStatement());
    }
    uint64_t seq = 1;
    const Cpu cpu0 = cpu_now(db.pid());
    const auto start = Clock::now();
    while (out.records < max_records && seconds_since(start) < seconds) {
      const int64_t t0 = now_ns();
      if (form == Form::prepared) {
        for (size_t r = 0; r < rows; ++r) bind_record(*st, static_cast<unsigned>(r * kRecordColumns), recs.record(seq++));
      } else {
        text = head;
        for (size_t r = 0; r < rows; ++r) {
          if (r) text += ',';
          text_row(*native, recs.record(seq++), text);
        }
      }
      out.bind_seconds += static_cast<double>(now_ns() - t0) / 1e9;
      if (form == Form::prepared) {
        st->executeUpdate();
      } else {
        text_st->execute(text);
      }
      out.records += rows;
    }
    out.seconds = seconds_since(start);
    out.cpu.since(cpu0, db.pid());
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
  bool reachable(std::string& error) override { return inner_.reachable(error); }
  int64_t committed_ns(uint64_t seq) const { return committed_ns_[seq].load(std::memory_order_relaxed); }

 private:
  MysqlSink inner_;
  std::vector<std::atomic<int64_t>> committed_ns_;
};

struct WriterResult {
  uint64_t records = 0;
  double seconds = 0;                 // first submit -> flush() done
  double submit_p50_ns = 0, submit_p99_ns = 0, submit_p999_ns = 0, submit_max_ns = 0;
  double queued_max_ns = 0;           // submits that went into the memory queue
  double spooled_p99_ns = 0, spooled_max_ns = 0;   // those that found it full and appended directly
  uint64_t submits_over_1ms = 0;
  // The same loop's own work between two submit() calls (copying a record):
  // its worst case is what the scheduler alone does to a thread here.
  double between_max_ns = 0;
  double commit_p50_ms = 0, commit_p99_ms = 0, commit_max_ms = 0;
  WriterStats stats;
  CpuUse cpu;
  double per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

// rate 0: as fast as submit() returns; else that many records per second.
bool writer_run(const tandem::testing::MariaDb& db, const std::string& name, const Records& recs, uint64_t records,
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
  std::vector<int64_t> submit_ns(records), submitted_at(records + 1), queued_ns, spooled_ns;
  queued_ns.reserve(records);
  const Cpu cpu0 = cpu_now(db.pid());
  const auto start = Clock::now();
  for (uint64_t seq = 1; seq <= records; ++seq) {
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(
                                                static_cast<int64_t>(static_cast<double>(seq - 1) * 1e9 / rate)));
    }
    const int64_t before = rate > 0 ? 0 : now_ns();
    Record r = recs.record(seq);
    const int64_t t0 = now_ns();
    if (rate == 0) out.between_max_ns = std::max(out.between_max_ns, static_cast<double>(t0 - before));
    const SubmitResult s = w.submit(std::move(r), &error);
    const int64_t t1 = now_ns();
    if (s == SubmitResult::rejected || s == SubmitResult::dropped) return false;
    submit_ns[seq - 1] = t1 - t0;
    (s == SubmitResult::queued ? queued_ns : spooled_ns).push_back(t1 - t0);
    submitted_at[seq] = t0;
  }
  if (!w.flush(std::chrono::seconds(600))) {
    error = "flush() timed out";
    return false;
  }
  out.seconds = seconds_since(start);
  out.cpu.since(cpu0, db.pid());
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
  out.submit_p999_ns = percentile(submit_ns, 0.999);
  out.submit_max_ns = percentile(submit_ns, 1.0);
  out.queued_max_ns = percentile(queued_ns, 1.0);
  out.spooled_p99_ns = percentile(spooled_ns, 0.99);
  out.spooled_max_ns = percentile(spooled_ns, 1.0);
  out.submits_over_1ms = static_cast<uint64_t>(
      std::count_if(submit_ns.begin(), submit_ns.end(), [](int64_t ns) { return ns > 1'000'000; }));
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
  nlohmann::json j{{"records", r.records},         {"seconds", r.seconds},
                   {"records_per_s", r.per_s()},   {"submit_p50_ns", r.submit_p50_ns},
                   {"submit_p99_ns", r.submit_p99_ns}, {"submit_p999_ns", r.submit_p999_ns},
                   {"submit_max_ns", r.submit_max_ns}, {"queued_max_ns", r.queued_max_ns},
                   {"spooled_p99_ns", r.spooled_p99_ns}, {"spooled_max_ns", r.spooled_max_ns},
                   {"submits_over_1ms", r.submits_over_1ms}, {"between_submits_max_ns", r.between_max_ns},
                   {"commit_p50_ms", r.commit_p50_ms}, {"commit_p99_ms", r.commit_p99_ms},
                   {"commit_max_ms", r.commit_max_ms}, {"overflowed", r.stats.overflowed},
                   {"batches", r.stats.batches},   {"retried", r.stats.retried}};
  j.update(r.cpu.json(r.records));
  return j;
}

std::string server_version(const tandem::testing::MariaDb& db) {
  std::string e;
  auto c = tandem::db::connect(db.config(""), false, e);
  if (!c) return "?";
  std::unique_ptr<sql::Statement> st(c->createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT VERSION()"));
  return rs->next() ? static_cast<std::string>(rs->getString(1)) : "?";
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CDR writer vs one INSERT per record vs bare 500-row INSERTs, against one MariaDB", "cdr_bench"};
  bool quick = false;
  std::vector<std::string> phases{"per-record", "bare", "bare-pk", "writer", "paced"};
  std::vector<std::string> server_args;
  uint64_t writer_records = 0, bare_records = 0;
  app.add_flag("--quick", quick, "short phases (about 30 s in all)");
  app.add_option("--phases", phases, "which phases, in this order")
      ->delimiter(',')
      ->check(CLI::IsMember({"per-record", "bare", "bare-pk", "bare-text", "writer", "paced"}));
  app.add_option("--server-arg", server_args, "a mariadbd option, to try a setting (repeat for more)")
      ->allow_extra_args(false);
  app.add_option("--writer-records", writer_records, "records for the writer phase (default 1,000,000; quick 200,000)");
  app.add_option("--bare-records", bare_records, "records for each bare phase (default 500,000; quick 100,000)");
  CLI11_PARSE(app, argc, argv);

  const double per_record_s = quick ? 3 : 10;
  if (bare_records == 0) bare_records = quick ? 100'000 : 500'000;
  if (writer_records == 0) writer_records = quick ? 200'000 : 1'000'000;
  const double paced_rate = 1000;
  const uint64_t paced_records = quick ? 5'000 : 15'000;
  const std::set<std::string> run(phases.begin(), phases.end());

  tandem::testing::MariaDb db;
  db.add_server_args(server_args);
  std::string error = db.install();
  if (!error.empty() || !db.start(error)) {
    std::fprintf(stderr, "cdr_bench: cannot run MariaDB: %s\n", error.c_str());
    return 1;
  }
  const Records recs(1000);
  const std::string spool = db.dir() + "/spool";   // the same disk as the DB's data dir
  const std::string load_before = load_average();

  auto fail = [](const char* phase, const std::string& e) {
    std::fprintf(stderr, "cdr_bench: %s: %s\n", phase, e.c_str());
    return 1;
  };
  PlainResult per_record, bare, bare_pk, bare_text;
  WriterResult full, paced;
  for (const auto& phase : phases) {
    if (phase == "per-record") {
      std::fprintf(stderr, "per-record: one autocommitted INSERT per record for %.0f s...\n", per_record_s);
      if (!plain_inserts(db, "bench_per_record", recs, 1, per_record_s, UINT64_MAX, per_record, error)) {
        return fail("per-record", error);
      }
    } else if (phase == "bare" || phase == "bare-pk" || phase == "bare-text") {
      std::fprintf(stderr, "%s: %llu records in autocommitted 500-row INSERTs%s...\n", phase.c_str(),
                   static_cast<unsigned long long>(bare_records),
                   phase == "bare-pk" ? " (no secondary indexes)" : phase == "bare-text" ? " (text, escaped)" : "");
      PlainResult& r = phase == "bare" ? bare : phase == "bare-pk" ? bare_pk : bare_text;
      const std::string name = phase == "bare" ? "bench_bare" : phase == "bare-pk" ? "bench_bare_pk" : "bench_bare_text";
      if (!plain_inserts(db, name, recs, 500, 1e9, bare_records, r, error,
                         phase == "bare-text" ? Form::text : Form::prepared, phase != "bare-pk")) {
        return fail(phase.c_str(), error);
      }
    } else if (phase == "writer") {
      std::fprintf(stderr, "writer: %llu records as fast as submit() takes them...\n",
                   static_cast<unsigned long long>(writer_records));
      if (!writer_run(db, "bench_writer", recs, writer_records, 0, spool, full, error)) return fail("writer", error);
    } else if (phase == "paced") {
      std::fprintf(stderr, "paced: %llu records at %.0f/s...\n", static_cast<unsigned long long>(paced_records),
                   paced_rate);
      if (!writer_run(db, "bench_paced", recs, paced_records, paced_rate, spool, paced, error)) {
        return fail("paced", error);
      }
    }
  }

  const double vs_bare = bare.per_s() > 0 ? full.per_s() / bare.per_s() : 0;
  const double vs_per_record = per_record.per_s() > 0 ? full.per_s() / per_record.per_s() : 0;
  auto verdict = [](bool ok) { return ok ? "meets target" : "MISSES TARGET"; };
  auto cpu_line = [](const char* what, double rows_per_s, uint64_t rows, const CpuUse& cpu) {
    if (rows == 0) return;
    std::fprintf(stderr, "  %-29s: %10.0f records/s; CPU per row: mariadbd %5.1f us, this process %5.1f us\n", what,
                 rows_per_s, cpu.server_s * 1e6 / static_cast<double>(rows),
                 cpu.client_s * 1e6 / static_cast<double>(rows));
  };
  const std::string version = server_version(db);
  std::fprintf(stderr, "\nCDR writer vs MariaDB %s (%s), one server, %s; load average %s -> %s\n", version.c_str(),
               quick ? "quick" : "full",
               server_args.empty() ? "default durable settings" : "with --server-arg (not the headline settings)",
               load_before.c_str(), load_average().c_str());
  cpu_line("per-record autocommit INSERT", per_record.per_s(), per_record.records, per_record.cpu);
  cpu_line("bare 500-row INSERTs", bare.per_s(), bare.records, bare.cpu);
  cpu_line("bare, no secondary indexes", bare_pk.per_s(), bare_pk.records, bare_pk.cpu);
  cpu_line("bare, text statements", bare_text.per_s(), bare_text.records, bare_text.cpu);
  cpu_line("writer, spool fsync on", full.per_s(), full.records, full.cpu);
  if (full.records > 0) {
    std::fprintf(stderr,
                 "    -> %s (>= 100,000/s); %llu of %llu overflowed to the spool\n"
                 "  writer / bare                : %10.2f  -> %s (>= 0.5)\n"
                 "  writer / per-record          : %10.1f  -> %s (>= 20)\n"
                 "  submit() at full load        : p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns, max %.0f ns; %llu over 1 ms\n"
                 "    into the queue: max %.0f ns; appended directly (queue full): p99 %.0f ns, max %.0f ns\n"
                 "    (the loop's own work between two submits, copying a record: max %.0f ns)\n",
                 verdict(full.per_s() >= 100000), static_cast<unsigned long long>(full.stats.overflowed),
                 static_cast<unsigned long long>(full.records), vs_bare, verdict(vs_bare >= 0.5), vs_per_record,
                 verdict(vs_per_record >= 20), full.submit_p50_ns, full.submit_p99_ns, full.submit_p999_ns,
                 full.submit_max_ns, static_cast<unsigned long long>(full.submits_over_1ms), full.queued_max_ns,
                 full.spooled_p99_ns, full.spooled_max_ns, full.between_max_ns);
  }
  if (paced.records > 0) {
    std::fprintf(stderr,
                 "  submit() at 1,000/s          : p50 %.0f ns, p99 %.0f ns, max %.0f ns -> %s (p99 <= 5 us)\n"
                 "  submit-to-commit at 1,000/s  : p50 %.1f ms, p99 %.1f ms, max %.1f ms -> %s (p99 <= 1 s)\n",
                 paced.submit_p50_ns, paced.submit_p99_ns, paced.submit_max_ns, verdict(paced.submit_p99_ns <= 5000),
                 paced.commit_p50_ms, paced.commit_p99_ms, paced.commit_max_ms, verdict(paced.commit_p99_ms <= 1000));
  }
  nlohmann::json j{{"mode", quick ? "quick" : "full"},
                   {"server", {{"version", version}, {"args", server_args}}},
                   {"load_average", {load_before, load_average()}}};
  if (run.count("per-record")) j["per_record"] = per_record.json();
  if (run.count("bare")) j["bare"] = bare.json();
  if (run.count("bare-pk")) j["bare_pk"] = bare_pk.json();
  if (run.count("bare-text")) j["bare_text"] = bare_text.json();
  if (run.count("writer")) j["writer"] = to_json(full);
  if (run.count("paced")) j["paced"] = to_json(paced);
  j["writer_vs_bare"] = vs_bare;
  j["writer_vs_per_record"] = vs_per_record;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
