// The durable spool: an append-only log of encoded records in a directory of
// segment files, each entry checksummed, plus a checkpoint file that says how
// far the DB has everything. A record counts as accepted once its entry is
// durable (synced, or written under SyncPolicy::none).
//
//   entry = magic "TCR1" | u32 length | u32 CRC32(length, payload) | payload   (little endian)
//   dir/  segment-<N>.spool   (N increasing; a new one on open and past segment_bytes;
//                              the next one is created ahead, empty, by sync())
//         checkpoint          ("tandem-cdr-checkpoint 1 SEG OFFSET CRC", replaced by rename)
//         lock                (flock while open: one writer per dir)
//
// append() never syncs and never creates a file while it holds the lock that
// other appends wait for: when the segment is full it switches to the next
// one, which sync() has already created (and whose directory entry it has
// synced); the full segment is fdatasynced by the next sync(), outside that
// lock, before anything after it counts as durable. If no next segment is
// ready, the append goes to the current one, past segment_bytes.
//
// Threads: append() from any thread; sync() from one thread at a time; read()
// from one reader thread; commit_checkpoint() from that same reader thread.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "disk/crc32.h"

namespace tandem::cdr {

struct SpoolPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const SpoolPosition&) const = default;
};

enum class SyncPolicy : uint8_t {
  group,  // fdatasync the segment (the writer calls sync() every N records or T ms)
  none,   // leave it to the kernel: survives a process kill, not a power loss
};

struct SpoolConfig {
  std::string dir;
  uint64_t limit_bytes = uint64_t{1} << 30;   // all segments together
  uint64_t segment_bytes = uint64_t{64} << 20;
  SyncPolicy sync = SyncPolicy::group;
};

// Monotonic counters, read with relaxed loads.
struct SpoolCounters {
  std::atomic<uint64_t> appended{0};        // entries written
  std::atomic<uint64_t> synced{0};          // entries made durable
  std::atomic<uint64_t> append_errors{0};   // write failed (disk full, I/O error): nothing appended;
                                            // or the next segment could not be created
  std::atomic<uint64_t> rotations{0};       // switches to a new segment
  std::atomic<uint64_t> full{0};            // refused: limit_bytes reached
  std::atomic<uint64_t> sync_errors{0};
  std::atomic<uint64_t> torn_entries{0};    // a torn last entry found at open, cut off
  std::atomic<uint64_t> corrupt_entries{0}; // bad checksum or framing met while reading, skipped
  std::atomic<uint64_t> checkpoint_errors{0};
  std::atomic<uint64_t> bytes{0};           // on disk now, all segments
};

inline constexpr uint32_t kSpoolMagic = 0x31524354;  // "TCR1"
inline constexpr size_t kSpoolHeader = 12;
inline constexpr uint32_t kMaxSpoolPayload = 64 * 1024;

using disk::crc32_of;  // the spool's records, checkpoint and id sequence

class Spool {
 public:
  Spool() = default;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  ~Spool();

  // Creates the dir if needed, reads the checkpoint, checks the newest segment
  // (a torn last entry is reported in `warnings`, counted and cut off) and
  // starts a new segment. Everything found is durable and will be read again.
  bool open(const SpoolConfig& config, std::string& error, std::vector<std::string>* warnings = nullptr);

  // Appends all payloads in one write, or none of them (the segment is cut
  // back on a partial write). Fails when the spool is full or the disk refuses.
  bool append(const std::vector<std::string>& payloads, std::string& error);

  // Makes everything appended so far durable and visible to read(); then
  // creates the next segment if none is ready. False (and why) if either fails.
  bool sync(std::string& error);

  // Reads up to `max` durable entries from `pos` on (bad entries are skipped
  // and counted); advances `pos` past what it returns.
  bool read(SpoolPosition& pos, size_t max, std::vector<std::string>& payloads, std::string& error);

  // Where reading starts after open: the checkpoint, or the oldest segment.
  SpoolPosition checkpoint() const;
  // Everything before `pos` is in the DB: records it and deletes the segments
  // wholly before it.
  bool commit_checkpoint(SpoolPosition pos, std::string& error);

  SpoolPosition durable_end() const;
  uint64_t unsynced() const;   // entries appended and not yet synced
  const SpoolCounters& counters() const { return counters_; }
  const SpoolConfig& config() const { return config_; }

  // For tests: called right before every fdatasync/fsync, from the thread
  // that is about to sync. Set before open().
  enum class SyncPoint : uint8_t { segment, dir };
  void set_sync_hook(std::function<void(SyncPoint)> hook) { sync_hook_ = std::move(hook); }

 private:
  int create_segment(uint64_t segment, std::string& error);   // open + directory fsync; no lock
  bool prepare_next(std::string& error);                      // the next segment, created ahead
  void switch_to_next();                                      // with mu_ held, next_fd_ >= 0
  std::string segment_path(uint64_t segment) const;
  bool check_tail(uint64_t segment, std::vector<std::string>* warnings, std::string& error);
  bool check_newest_segments(std::vector<std::string>* warnings, std::string& error);  // check_tail where a crash tears
  bool start_first_segment(std::string& error);   // past the newest on disk and the checkpoint
  int sync_fd(int fd, SyncPoint what);   // fdatasync (fsync for the dir) after the hook

  SpoolConfig config_;
  SpoolCounters counters_;

  mutable std::mutex mu_;                   // everything below except the reader's and sync's;
                                            // never held across a sync or a file creation
  std::map<uint64_t, uint64_t> segments_;   // segment -> size in bytes
  uint64_t current_ = 0;                    // segment appended to
  int fd_ = -1;
  uint64_t end_ = 0;                        // append offset in current_
  uint64_t unsynced_ = 0;
  SpoolPosition durable_;
  std::vector<int> rotated_fds_;            // segments switched away from, oldest first: the
                                            // next sync() fdatasyncs them, then closes them
  int next_fd_ = -1;                        // segment current_ + 1, created ahead (or -1)
  SpoolPosition checkpoint_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;                        // flock: one writer per spool dir

  std::mutex sync_mu_;                      // one sync() at a time
  std::mutex prepare_mu_;                   // one segment creation at a time
  std::function<void(SyncPoint)> sync_hook_;

  int read_fd_ = -1;                        // the reader's
  uint64_t read_segment_ = 0;
  std::string read_buf_;
};

}  // namespace tandem::cdr
