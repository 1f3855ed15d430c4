// The CDR writer: submit() validates a record and hands it over without
// blocking; it is accepted once durable in the spool, and a DB thread moves it
// from the spool into the CDR DB in batches, so nothing is lost (spool replayed
// after a crash, a DB outage or a failover) and nothing doubled (the id is the
// primary key and the INSERT updates on duplicates).
//
//   submit() --queue (bounded)--> spool thread: append, group fsync --+
//      \--(queue full)--> append to the spool directly ---------------+--> spool
//   DB thread: read from the checkpoint, N records or T ms, Sink::write, checkpoint
//
// A batch the DB refuses for a value in it (which validate() is meant to make
// impossible) is written record by record; the refused ones are kept in a
// second spool, SPOOL_DIR/refused, logged and counted, so that one bad record
// neither stops the others nor disappears.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cdr/open_calls.h"
#include "cdr/record.h"
#include "cdr/sequence.h"
#include "cdr/sink.h"
#include "cdr/spool.h"

namespace tandem::cdr {

struct WriterConfig {
  SpoolConfig spool;                 // dir, size limit, segment size, sync policy
  uint32_t sync_records = 1000;      // group fsync after this many records...
  uint32_t sync_ms = 10;             // ...or this long after the first unsynced one
  uint32_t batch_size = 500;         // records per DB transaction
  uint32_t max_delay_ms = 200;       // a partial batch waits at most this long
  uint32_t queue_size = 65536;
  uint32_t backoff_min_ms = 100;     // DB retry delay, doubling...
  uint32_t backoff_max_ms = 500;     // ...up to this: a DB failover (a few s) costs half a second at most
  uint8_t dc_id = 0;                 // RecordId parts for new_id()
  uint16_t node_id = 0;
};

// Checks ranges and the relations between the values.
bool validate(const WriterConfig& config, std::string& error);

struct WriterStats {
  uint64_t queued = 0;          // submits taken into the memory queue
  uint64_t overflowed = 0;      // submits that found the queue full and went to the spool directly
  uint64_t spooled = 0;         // records durable in the spool (accepted)
  uint64_t written = 0;         // records committed to the DB
  uint64_t batches = 0;         // DB transactions committed
  uint64_t retried = 0;         // DB batch attempts that failed and are retried
  uint64_t rejected = 0;        // invalid records refused at submit
  uint64_t dropped = 0;         // valid records refused: queue full and the spool refused too
  uint64_t refused = 0;         // records the DB refuses (a value it will not store), kept in SPOOL_DIR/refused
  uint64_t recovered = 0;       // calls the previous process left up, billed at this start (open_calls.h)
  uint64_t open_calls = 0;      // answered calls now without their final record
  uint64_t spool_errors = 0;    // spool appends or syncs that failed
  uint64_t spool_full = 0;      // appends refused at the spool's size limit
  uint64_t torn_entries = 0;
  uint64_t corrupt_entries = 0;
  uint64_t spool_bytes = 0;     // on disk now
  uint64_t queue_depth = 0;     // now
  bool db_up = false;           // the last DB attempt succeeded
  std::string alarm;            // empty when all is well; else what is wrong now
};

enum class SubmitResult : uint8_t {
  queued,     // in the memory queue; durable within sync_ms
  spooled,    // the queue was full: appended to the spool directly
  rejected,   // invalid record: see the error
  dropped,    // queue full and the spool refused it (disk full, spool limit): see the error
};

class Writer {
 public:
  Writer(WriterConfig config, std::unique_ptr<Sink> sink);
  ~Writer();   // stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Opens the spool (replaying what it holds) and the sequence, starts the
  // threads. Warnings: a torn last spool entry, an unreadable checkpoint.
  bool start(std::string& error, std::vector<std::string>* warnings = nullptr);
  // Spools what is queued, syncs, stops both threads. What the DB does not
  // have yet stays in the spool for the next start.
  void stop();

  // A new record id (DC, node, next sequence); 0 if the sequence file cannot
  // be written (error set).
  uint64_t new_id(std::string& error);

  // A call answered (its record as known now, with its id from new_id()): kept
  // as open (open_calls.h) until a record with the same id is submitted and in
  // the spool, so that it is billed even if this process dies first. One small
  // file write.
  bool open_call(const Record& answered, const Tariff& tariff, std::string& error);

  // Never blocks on I/O except when the queue is full (one spool append).
  SubmitResult submit(Record record, std::string* error = nullptr);

  // Waits until everything submitted so far is in the DB; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  WriterStats stats() const;

 private:
  void spool_loop();
  void db_loop();
  // The calls the previous process left open, finished and queued (before the threads start).
  void recover_open_calls(std::vector<std::string>* warnings);
  // Open calls whose final record came with a ticket up to `appended` are in the spool now.
  void close_open_calls(uint64_t appended);
  void set_alarm(int source, std::string text);   // source: 0 spool, 1 DB; empty text clears
  // Writes a refused batch record by record; what is left to retry stays in `batch`.
  WriteStatus write_one_by_one(std::vector<Record>& batch, std::string& error);

  WriterConfig config_;
  std::unique_ptr<Sink> sink_;
  Spool spool_;
  Spool refused_spool_;               // dead letters: records the DB refuses
  Sequence sequence_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Record> queue_;
  bool stopping_ = false;
  uint64_t tickets_ = 0;                                  // records ever queued: a record's place
  std::unordered_set<uint64_t> open_ids_;                 // open calls without their final record
  std::vector<std::pair<uint64_t, uint64_t>> closing_;    // (ticket, id): final record queued
  OpenCalls open_calls_;

  std::mutex db_mu_;                  // only for db_cv_
  std::condition_variable db_cv_;

  std::atomic<bool> stop_db_{false};
  std::atomic<bool> busy_spooling_{false};   // the spool thread holds records not yet appended
  std::atomic<uint64_t> queued_{0}, overflowed_{0}, written_{0}, batches_{0}, retried_{0},
      rejected_{0}, dropped_{0}, refused_{0}, recovered_{0};
  std::atomic<bool> db_up_{false};
  std::atomic<uint64_t> db_position_segment_{0}, db_position_offset_{0};   // checkpoint reached

  mutable std::mutex alarm_mu_;
  std::string alarms_[2];

  std::thread spool_thread_;
  std::thread db_thread_;
  bool started_ = false;
};

}  // namespace tandem::cdr
