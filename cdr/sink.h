// Where the writer puts batches of records: the CDR DB (MysqlSink), or a fake
// in tests. write() is called from the writer's DB thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cdr/record.h"

namespace tandem::cdr {

enum class WriteStatus : uint8_t {
  ok,        // all records committed
  failed,    // nothing may be assumed written; retrying later can help (DB down, failover...)
  refused,   // the DB refuses the data of a record in the batch: retrying the same cannot help
};

class Sink {
 public:
  virtual ~Sink() = default;
  // All records in one transaction, idempotently (a record written twice is
  // one row); the error says why when not ok.
  virtual WriteStatus write(const std::vector<Record>& batch, std::string& error) = 0;
  // Whether the DB answers now (connecting first if needed). The writer asks
  // while it has nothing to write, so that its db_up is true between calls too
  // (a server just started, or idle, is not "CDR DB down").
  virtual bool reachable(std::string& error) = 0;
};

}  // namespace tandem::cdr
