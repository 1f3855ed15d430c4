// The snapshot build from a real MariaDB at issue 3's scale (target: <= 10 s
// for 1,000,000 DIDs, 3,000,000 rules and 500,000 rates, memory per DID
// reported). Starts its own MariaDB in a temporary dir (the cdr tests'
// fixture), fills the Rules DB with tests/integration/rules/scale_data.h's
// data set, either through `tandemctl rules import`'s code (Store::import_csv,
// one CSV per table: the bulk-load path, timed) or with plain multi-row
// INSERTs, then times Store::load and Snapshot::build and checks that the
// snapshot routes as one built from the generated data does.
//
//   build/tests/integration/rules/tandem-bench-rules-db                # full scale, CSV import
//   build/tests/integration/rules/tandem-bench-rules-db --fill sql --loads 3
//
// Exits 77 without mariadb-server, 1 if anything fails or differs.
#include <CLI/CLI.hpp>

#include <cppconn/connection.h>
#include <cppconn/statement.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "db/connection.h"
#include "rules/snapshot.h"
#include "rules/store.h"
#include "tests/support/mariadb_fixture.h"
#include "tests/integration/rules/scale_data.h"

namespace {

using namespace tandem::rules;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kb() {
  ::malloc_trim(0);
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// CPU seconds (user + system) of this process, all threads.
double own_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of another process (the MariaDB server), from /proc.
double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Waits (up to `max`) until the machine's CPUs have been at least `idle`
// idle for two seconds: on a shared machine, a load measured beside other
// people's compiles says little.
void wait_idle(double idle, std::chrono::seconds max) {
  auto sample = [] {
    std::ifstream f("/proc/stat");
    std::string cpu;
    unsigned long long v[8] = {}, total = 0;
    f >> cpu;
    for (auto& x : v) {
      f >> x;
      total += x;
    }
    return std::pair{v[3] + v[4], total};  // idle + iowait, all
  };
  const auto until = Clock::now() + max;
  for (;;) {
    const auto a = sample();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto b = sample();
    const double share = static_cast<double>(b.first - a.first) / static_cast<double>(std::max(1ULL, b.second - a.second));
    if (share >= idle || Clock::now() >= until) {
      std::printf("(CPUs %.0f %% idle before this round)\n", share * 100);
      return;
    }
  }
}

std::string money(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(micros / 1000000),
                static_cast<long long>(micros % 1000000));
  return buf;
}

std::string hms(uint32_t s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

std::string ymd(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string dates_text(const Rule& r) {
  std::string s;
  for (const auto& dr : r.dates) s += (s.empty() ? "" : ";") + ymd(dr.from) + ".." + ymd(dr.to);
  return s;
}

// A CSV field, quoted when it must be.
std::string field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char ch : v) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// The tables as `tandemctl rules import` takes them: names instead of ids.
struct Csv {
  std::string customers, numbers, rules, providers, rates;
};

Csv to_csv(const RulesData& d) {
  Csv c;
  c.customers = "name,time_zone,vm_sip,default_action,default_target\n";
  for (const auto& x : d.customers) {
    c.customers += x.name + "," + x.time_zone + "," + x.vm_sip + "," + std::string(name(x.default_action.kind)) +
                   "," + format_target(x.default_action) + "\n";
  }
  std::vector<const Customer*> customer(d.customers.size() + 1);
  for (const auto& x : d.customers) customer[x.id] = &x;
  c.numbers = "e164,customer\n";
  c.numbers.reserve(d.numbers.size() * 32);
  for (const auto& n : d.numbers) c.numbers += n.e164 + "," + customer[n.customer_id]->name + "\n";
  c.rules = "number,priority,caller_match,caller_pattern,days,time_from,time_to,action,target,description,dates\n";
  c.rules.reserve(d.rules.size() * 96);
  for (const auto& r : d.rules) {
    c.rules += d.numbers[r.number_id - 1].e164 + "," + std::to_string(r.priority) + "," +
               std::string(name(r.caller_match)) + "," + r.caller_pattern + "," + field(format_days(r.days)) + "," +
               (r.window ? hms(r.window->from_s) : "") + "," + (r.window ? hms(r.window->to_s) : "") + "," +
               std::string(name(r.action.kind)) + "," + field(format_target(r.action)) + "," + field(r.description) + "," +
               dates_text(r) + "\n";
  }
  c.providers = "name,sip_address,max_calls,enabled,preference\n";
  for (const auto& p : d.providers) {
    c.providers += p.name + "," + p.sip_address + "," + std::to_string(p.max_calls) + "," +
                   (p.enabled ? "1" : "0") + "," + std::to_string(p.preference) + "\n";
  }
  c.rates = "provider,prefix,cost_per_min,billing_increment_s,valid_from,valid_to\n";
  c.rates.reserve(d.rates.size() * 48);
  for (const auto& r : d.rates) {
    c.rates += d.providers[r.provider_id - 1].name + "," + r.prefix + "," + money(r.cost_micros) + "," +
               std::to_string(r.increment_s) + ",,\n";
  }
  return c;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("''") : std::string(1, ch);
  return q + "'";
}

// The same rows with their ids, in multi-row INSERTs of 1,000 rows.
void fill_sql(sql::Connection& c, const RulesData& d) {
  auto batched = [&](const std::string& head, size_t n, auto&& row) {
    std::string q;
    for (size_t i = 0; i < n; ++i) {
      q += (q.empty() ? head : std::string(",")) + "(" + row(i) + ")";
      if ((i + 1) % 1000 == 0 || i + 1 == n) {
        tandem::db::execute(c, q);
        q.clear();
      }
    }
  };
  tandem::db::execute(c, "START TRANSACTION");
  batched("INSERT INTO customers (id, name, time_zone, vm_sip, default_action, default_target) VALUES ",
          d.customers.size(), [&](size_t i) {
            const Customer& x = d.customers[i];
            return std::to_string(x.id) + "," + quoted(x.name) + "," + quoted(x.time_zone) + "," + quoted(x.vm_sip) +
                   "," + quoted(std::string(name(x.default_action.kind))) + "," + quoted(format_target(x.default_action));
          });
  batched("INSERT INTO numbers (id, e164, customer_id) VALUES ", d.numbers.size(), [&](size_t i) {
    const Number& n = d.numbers[i];
    return std::to_string(n.id) + "," + quoted(n.e164) + "," + std::to_string(n.customer_id);
  });
  batched("INSERT INTO rules (id, number_id, priority, caller_match, caller_pattern, days, time_from, time_to, "
          "action, target, description) VALUES ",
          d.rules.size(), [&](size_t i) {
            const Rule& r = d.rules[i];
            return std::to_string(r.id) + "," + std::to_string(r.number_id) + "," + std::to_string(r.priority) + "," +
                   quoted(std::string(name(r.caller_match))) + "," + quoted(r.caller_pattern) + "," +
                   quoted(format_days(r.days)) + "," + (r.window ? quoted(hms(r.window->from_s)) : "NULL") + "," +
                   (r.window ? quoted(hms(r.window->to_s)) : "NULL") + "," + quoted(std::string(name(r.action.kind))) +
                   "," + quoted(format_target(r.action)) + "," + quoted(r.description);
          });
  std::vector<std::pair<Id, DateRange>> dates;
  for (const auto& r : d.rules) {
    for (const auto& dr : r.dates) dates.emplace_back(r.id, dr);
  }
  batched("INSERT INTO rule_dates (rule_id, date_from, date_to) VALUES ", dates.size(), [&](size_t i) {
    return std::to_string(dates[i].first) + "," + quoted(ymd(dates[i].second.from)) + "," +
           quoted(ymd(dates[i].second.to));
  });
  batched("INSERT INTO providers (id, name, sip_address, max_calls, enabled, preference) VALUES ",
          d.providers.size(), [&](size_t i) {
            const Provider& p = d.providers[i];
            return std::to_string(p.id) + "," + quoted(p.name) + "," + quoted(p.sip_address) + "," +
                   std::to_string(p.max_calls) + "," + (p.enabled ? "1" : "0") + "," + std::to_string(p.preference);
          });
  batched("INSERT INTO rates (id, provider_id, prefix, cost_per_min, billing_increment_s) VALUES ", d.rates.size(),
          [&](size_t i) {
            const Rate& r = d.rates[i];
            return std::to_string(r.id) + "," + std::to_string(r.provider_id) + "," + quoted(r.prefix) + "," +
                   money(r.cost_micros) + "," + std::to_string(r.increment_s);
          });
  tandem::db::execute(c, "COMMIT");
}

// Routes the same calls through both snapshots; the number of differences.
size_t compare(const Snapshot& want, const Snapshot& got, size_t dids, size_t calls) {
  std::mt19937_64 rng(5);
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 12 / 24} + std::chrono::hours{9};
  size_t bad = 0;
  for (size_t i = 0; i < calls; ++i) {
    const std::string called = tandem::rules::testing::scale_did(rng() % dids);
    const std::string caller = i % 3 == 0 ? "anonymous" : "+4940" + std::to_string(1000000 + rng() % 9000000);
    const auto t = at + std::chrono::hours{rng() % (24 * 7)};
    const InboundDecision a = want.route_inbound(called, caller, t);
    const InboundDecision b = got.route_inbound(called, caller, t);
    const bool same_in = a.status == b.status && (a.rule == nullptr) == (b.rule == nullptr) &&
                         (!a.rule || a.rule->priority == b.rule->priority) && a.action && b.action &&
                         *a.action == *b.action && a.customer->name == b.customer->name;
    const std::string dialled = "+" + std::to_string(1 + rng() % 9) + std::to_string(100000000 + rng() % 900000000);
    const OutboundDecision x = want.route_outbound(dialled, t);
    const OutboundDecision y = got.route_outbound(dialled, t);
    bool same_out = x.providers.size() == y.providers.size();
    for (size_t k = 0; same_out && k < x.providers.size(); ++k) {
      same_out = x.providers[k].provider->name == y.providers[k].provider->name &&
                 x.providers[k].rate->prefix == y.providers[k].rate->prefix &&
                 x.providers[k].rate->cost_micros == y.providers[k].rate->cost_micros;
    }
    if (!same_in || !same_out) {
      if (bad < 5) std::fprintf(stderr, "differs: %s from %s / %s\n", called.c_str(), caller.c_str(), dialled.c_str());
      ++bad;
    }
  }
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rules snapshot build from a real MariaDB at scale", "tandem-bench-rules-db"};
  tandem::rules::testing::ScaleSpec spec;
  std::string fill = "csv";
  int loads = 1;
  std::vector<uint32_t> connections{3};
  size_t buffer_pool_mb = 2048;
  bool timestamps = false;
  double idle = 0;
  app.add_option("--dids", spec.dids, "DIDs (3 rules each)")->capture_default_str();
  app.add_option("--rates", spec.rates, "rate prefixes")->capture_default_str();
  app.add_option("--providers", spec.providers, "providers")->capture_default_str();
  app.add_option("--fill", fill, "csv: Store::import_csv per table (timed); sql: multi-row INSERTs")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "sql"}));
  app.add_option("--loads", loads, "Store::load + Snapshot::build rounds")->capture_default_str();
  app.add_option("--connections", connections,
                 "DbConfig::load_connections, one per round in turn (e.g. 1 2 3)")
      ->capture_default_str();
  app.add_option("--buffer-pool-mb", buffer_pool_mb, "InnoDB buffer pool (the fixture starts with 128)")
      ->capture_default_str();
  app.add_option("--wait-idle", idle, "before each round, wait (up to 10 min) until the CPUs are this idle (0.9)");
  app.add_flag("--timestamps", timestamps, "print CLOCK_MONOTONIC around each load (for perf record -k mono)");
  CLI11_PARSE(app, argc, argv);
  spec.customers = std::min<size_t>(spec.customers, std::max<size_t>(1, spec.dids / 10));

  tandem::testing::MariaDb db;
  int code = 0;
  if (!tandem::testing::start_or_skip(db, code)) return code;
  pid_t server_pid = 0;
  std::ifstream(db.dir() + "/mariadbd.pid") >> server_pid;
  DbConfig config;
  config.addresses = {db.address()};
  config.user = "root";
  config.database = "tandem_rules_bench";
  config.connect_timeout_s = 2;
  config.io_timeout_s = 600;
  std::string e;
  auto admin = tandem::db::connect(config, false, e);
  if (!admin) {
    std::fprintf(stderr, "connect: %s\n", e.c_str());
    return 1;
  }
  // Large enough for the data set (InnoDB resizes it online).
  tandem::db::execute(*admin, "SET GLOBAL innodb_buffer_pool_size = " + std::to_string(buffer_pool_mb << 20));
  Store store(config);
  tandem::db::MigrateResult m;
  if (!store.migrate(m, e)) {
    std::fprintf(stderr, "migrate: %s\n", e.c_str());
    return 1;
  }

  RulesData generated = tandem::rules::testing::scale_data(spec);
  std::printf("%zu DIDs, %zu rules, %zu rates over %zu providers, %zu customers; MariaDB %s\n", generated.numbers.size(),
              generated.rules.size(), generated.rates.size(), generated.providers.size(), generated.customers.size(),
              db.address().c_str());
  const auto fill_start = Clock::now();
  if (fill == "sql") {
    admin->setSchema(config.database);
    fill_sql(*admin, generated);
    std::printf("fill (multi-row INSERTs)   %.1f s\n", seconds_since(fill_start));
  } else {
    const Csv csv = to_csv(generated);
    for (const auto& [table, text] : {std::pair<const char*, const std::string*>{"customers", &csv.customers},
                                      {"numbers", &csv.numbers},
                                      {"rules", &csv.rules},
                                      {"providers", &csv.providers},
                                      {"rates", &csv.rates}}) {
      const auto t0 = Clock::now();
      const double own0 = own_cpu_s(), server0 = process_cpu_s(server_pid);
      size_t rows = 0;
      if (!store.import_csv(table, *text, rows, e)) {
        std::fprintf(stderr, "import %s: %s\n", table, e.c_str());
        return 1;
      }
      const double s = seconds_since(t0);
      std::printf("import %-10s %9zu rows in %6.1f s  (%.0f rows/s, %.1f MB of CSV; CPU: this process %.1f s, "
                  "MariaDB %.1f s)\n",
                  table, rows, s, static_cast<double>(rows) / s, static_cast<double>(text->size()) / 1e6,
                  own_cpu_s() - own0, process_cpu_s(server_pid) - server0);
    }
    std::printf("fill (Store::import_csv)   %.1f s\n", seconds_since(fill_start));
  }

  std::vector<std::string> errors;
  auto want = Snapshot::build(generated, {}, errors);
  if (!want) {
    std::fprintf(stderr, "build of the generated data: %s\n", errors.empty() ? "?" : errors[0].c_str());
    return 1;
  }
  const size_t dids = generated.numbers.size();
  generated = RulesData{};

  int status = 0;
  for (int round = 1; round <= loads; ++round) {
    if (idle > 0) wait_idle(idle, std::chrono::minutes(10));
    const long rss0 = rss_kb();
    const double own0 = own_cpu_s(), server0 = process_cpu_s(server_pid);
    const auto t0 = Clock::now();
    if (timestamps) std::printf("load %d from %.6f\n", round, std::chrono::duration<double>(t0.time_since_epoch()).count());
    DbConfig round_config = config;
    round_config.load_connections = connections[static_cast<size_t>(round - 1) % connections.size()];
    Store loader(round_config);
    RulesData d;
    if (!loader.load(d, e)) {
      std::fprintf(stderr, "load: %s\n", e.c_str());
      return 1;
    }
    const double load_s = seconds_since(t0);
    const long rss1 = rss_kb();
    const auto t1 = Clock::now();
    auto snap = Snapshot::build(std::move(d), {}, errors);
    const double build_s = seconds_since(t1);
    if (!snap) {
      std::fprintf(stderr, "build: %s\n", errors.empty() ? "?" : errors[0].c_str());
      return 1;
    }
    if (timestamps) std::printf("load %d to %.6f\n", round, std::chrono::duration<double>(Clock::now().time_since_epoch()).count());
    const double own_s = own_cpu_s() - own0, server_s = process_cpu_s(server_pid) - server0;
    const long rss2 = rss_kb();
    const double total = load_s + build_s;
    std::printf("round %d, %u connection(s): Store::load %.2f s + Snapshot::build %.2f s = %.2f s (target <= 10 s: %s); "
                "memory %.0f B/DID (rows %.0f + index %.0f)\n",
                round, round_config.load_connections, load_s, build_s, total, total <= 10 ? "met" : "NOT met",
                static_cast<double>(rss2 - rss0) * 1024 / static_cast<double>(dids),
                static_cast<double>(rss1 - rss0) * 1024 / static_cast<double>(dids),
                static_cast<double>(rss2 - rss1) * 1024 / static_cast<double>(dids));
    std::printf("         CPU: this process %.2f s, MariaDB %.2f s\n", own_s, server_s);
    std::fflush(stdout);
    {
      const size_t bad = compare(*want, *snap, dids, 20000);
      std::printf("20000 calls routed through the loaded and the generated snapshot: %zu differ\n", bad);
      if (bad) status = 1;
      if (snap->data().numbers.size() != dids || snap->data().rules.size() != want->data().rules.size() ||
          snap->data().rates.size() != want->data().rates.size()) {
        std::printf("row counts differ\n");
        status = 1;
      }
    }
  }
  return status;
}
