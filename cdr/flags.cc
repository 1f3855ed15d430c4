#include "cdr/flags.h"

#include <CLI/CLI.hpp>

namespace tandem::cdr {

void add_cdr_flags(CLI::App& app, CdrFlags& f) {
  auto& w = f.writer;
  db::add_db_flags(app, f.db, f.db_flags);
  app.add_option("--cdr-batch", w.batch_size, "records per DB transaction")->check(CLI::Range(1u, 10000u));
  app.add_option("--cdr-max-delay", w.max_delay_ms, "ms a partial batch waits before it is written")
      ->check(CLI::Range(1u, 60000u));
  app.add_option("--cdr-queue", w.queue_size, "records the memory queue holds before submit spools directly")
      ->check(CLI::Range(1u, 10'000'000u));
  app.add_option("--cdr-spool-dir", w.spool.dir, "spool dir (records, checkpoint, sequence)");
  app.add_option("--cdr-spool-limit", w.spool.limit_bytes, "spool size limit (e.g. 2GiB)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--cdr-spool-segment", w.spool.segment_bytes, "spool segment size (e.g. 64MiB)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--cdr-fsync", f.fsync,
                 "group: fdatasync the spool every --cdr-sync-records or --cdr-sync-ms; "
                 "none: survives a process crash, not a power cut")
      ->check(CLI::IsMember({"group", "none"}));
  app.add_option("--cdr-sync-records", w.sync_records, "group fsync after this many records")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--cdr-sync-ms", w.sync_ms, "group fsync at most this long after a record")
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--cdr-dc-id", w.dc_id, "this DC's number in record ids (0..255)");
  app.add_option("--cdr-node-id", w.node_id, "this node's number in record ids (0..65535)");
}

bool finish_cdr_flags(CdrFlags& f, std::string& error) {
  f.writer.spool.sync = f.fsync == "none" ? SyncPolicy::none : SyncPolicy::group;
  if (!db::finish_db_flags(f.db, f.db_flags, error)) return false;
  if (f.writer.spool.segment_bytes < 4096 || f.writer.spool.limit_bytes < f.writer.spool.segment_bytes) {
    error = "--cdr-spool-segment must be >= 4KiB and <= --cdr-spool-limit";
    return false;
  }
  if (!validate(f.writer, error)) {
    error = "CDR writer: " + error;
    return false;
  }
  return true;
}

}  // namespace tandem::cdr
