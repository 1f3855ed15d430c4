// The per-node record sequence, persisted so that ids never repeat after a
// restart: the file holds the start of the next block of ids not handed out,
// rewritten (fsync, rename) once per block, so a crash skips at most the rest
// of a block and never reuses an id.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace tandem::cdr {

class Sequence {
 public:
  // `path`: e.g. SPOOL_DIR/sequence. `block`: ids reserved per file write.
  bool open(const std::string& path, std::string& error, uint64_t block = 4096);
  // The next sequence number (>= 1); 0 when the file cannot be written (error set).
  uint64_t next(std::string& error);

 private:
  bool persist(uint64_t limit, std::string& error);   // with mu_ held

  std::string path_;
  uint64_t block_ = 4096;
  std::atomic<uint64_t> next_{1};
  std::atomic<uint64_t> limit_{0};   // ids < limit_ are reserved on disk
  std::mutex mu_;
};

}  // namespace tandem::cdr
