// The calls a call server has up, each as a small file in SPOOL_DIR/open until
// its final record is in the spool: a process that dies with calls up (SIGKILL,
// a crash, the OOM killer) still bills them. At its next start every file left
// becomes that call's record, ended at the last moment the dead process was known
// alive (SPOOL_DIR/open/alive, touched every second), hung up by the system.
//
// The files are not fsync()ed: they cover the death of the process, whose
// writes the kernel keeps. A power cut loses the calls of the last seconds the
// page cache held (as it loses those calls' signalling anyway).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cdr/record.h"

namespace tandem::cdr {

class OpenCalls {
 public:
  // Creates `dir` if needed and reads the previous process's last sign of life.
  bool open(const std::string& dir, std::string& error);

  // A call answered: its record as known now (id, times, parties, target) and
  // its tariff, to price it if it must be finished from here.
  bool add(const Record& answered, const Tariff& tariff, std::string& error);
  // Its final record is in the spool.
  void remove(uint64_t id);
  // Touches the alive file when a second has passed since the last touch.
  void heartbeat(int64_t now_ms);

  // The records of the calls the previous process left up, finished: ended at
  // its last heartbeat (never before their answer), priced, hung up by the
  // system. Unreadable files are named in `warnings` and removed.
  std::vector<Record> left_over(std::vector<std::string>& warnings);

  // The previous process's last heartbeat (ms since the epoch); 0 if none.
  int64_t last_alive_ms() const { return last_alive_ms_; }

 private:
  std::string path_of(uint64_t id) const;

  std::string dir_;
  int64_t last_alive_ms_ = 0;
  int64_t touched_ms_ = 0;
};

inline constexpr const char* kLeftOverReason = "call server stopped with the call up";

}  // namespace tandem::cdr
