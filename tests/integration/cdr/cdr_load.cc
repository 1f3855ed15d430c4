// cdr_load: a writer process under load, for the kill test. Submits sample
// records FIRST..FIRST+COUNT-1 at RATE per second through a Writer with the
// MySQL sink, and keeps PROGRESS up to date with "accepted K": the first K
// records are durable in the spool (no queue overflow: the queue holds them
// all, so they are spooled in order). Then flushes into the DB and exits 0.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "cdr/mysql_sink.h"
#include "cdr/writer.h"
#include "tests/unit/cdr/sample_records.h"

namespace {

void write_progress(const std::string& path, uint64_t accepted) {
  const std::string tmp = path + ".tmp";
  const std::string text = "accepted " + std::to_string(accepted) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (::write(fd, text.data(), text.size()) < 0) std::perror("progress");
  ::close(fd);
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem::cdr;
  CLI::App app{"cdr_load: CDR writer under load (integration tests)"};
  std::string db_address, database, spool_dir, progress;
  uint64_t first = 1, count = 0, rate = 50000;
  uint32_t batch = 500;
  app.add_option("--db", db_address, "DB address HOST:PORT")->required();
  app.add_option("--database", database, "database name")->required();
  app.add_option("--spool", spool_dir, "spool dir")->required();
  app.add_option("--progress", progress, "progress file")->required();
  app.add_option("--first", first, "first sample record number");
  app.add_option("--count", count, "records to submit");
  app.add_option("--rate", rate, "records per second")->check(CLI::Range(1, 10'000'000));
  app.add_option("--batch", batch, "records per DB transaction");
  CLI11_PARSE(app, argc, argv);

  WriterConfig config;
  config.spool.dir = spool_dir;
  config.batch_size = batch;
  config.queue_size = static_cast<uint32_t>(count + 1);
  config.dc_id = 2;
  config.node_id = 9;
  DbConfig db;
  db.addresses = {db_address};
  db.user = "root";
  db.database = database;
  Writer writer(config, std::make_unique<MysqlSink>(db));
  std::string error;
  std::vector<std::string> warnings;
  if (!writer.start(error, &warnings)) {
    std::fprintf(stderr, "cdr_load: %s\n", error.c_str());
    return 1;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "cdr_load: warning: %s\n", w.c_str());

  const auto t0 = std::chrono::steady_clock::now();
  auto last_progress = t0;
  for (uint64_t n = 0; n < count; ++n) {
    const uint64_t id = writer.new_id(error);
    if (id == 0) {
      std::fprintf(stderr, "cdr_load: %s\n", error.c_str());
      return 1;
    }
    if (writer.submit(testing::sample_record(first + n, id), &error) != SubmitResult::queued) {
      std::fprintf(stderr, "cdr_load: record %llu not queued: %s\n",
                   static_cast<unsigned long long>(first + n), error.c_str());
      return 1;
    }
    // Pace: record n is due at n / rate seconds.
    const auto due = t0 + std::chrono::microseconds(n * 1'000'000 / rate);
    const auto now = std::chrono::steady_clock::now();
    if (due > now + std::chrono::milliseconds(1)) std::this_thread::sleep_until(due);
    if (now - last_progress >= std::chrono::milliseconds(5)) {
      write_progress(progress, writer.stats().spooled);
      last_progress = now;
    }
  }
  const bool flushed = writer.flush(std::chrono::seconds(120));
  const auto s = writer.stats();
  write_progress(progress, s.spooled);
  std::printf("cdr_load: submitted %llu, spooled %llu, written %llu, retried %llu, alarm '%s'\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(s.spooled),
              static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.retried),
              s.alarm.c_str());
  writer.stop();
  return flushed ? 0 : 1;
}
