#include "cdr/sequence.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "cdr/record.h"
#include "cdr/spool.h"
#include "disk/replace_file.h"

namespace tandem::cdr {

namespace {

std::string format_line(uint64_t limit) {
  char body[64];
  std::snprintf(body, sizeof body, "tandem-cdr-sequence 1 %" PRIu64, limit);
  char line[96];
  std::snprintf(line, sizeof line, "%s %08x\n", body, crc32_of(body));
  return line;
}

}  // namespace

bool Sequence::open(const std::string& path, std::string& error, uint64_t block) {
  path_ = path;
  block_ = block == 0 ? 1 : block;
  uint64_t start = 1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128] = {};
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    uint64_t limit = 0;
    if (n <= 0 || std::sscanf(buf, "tandem-cdr-sequence 1 %" SCNu64, &limit) != 1 ||
        format_line(limit) != std::string(buf, static_cast<size_t>(n))) {
      // Never guess: a wrong guess would reuse ids and overwrite records.
      error = "sequence file " + path + " is damaged; refusing to reuse ids (fix or remove it "
              "after checking the highest id of this node in the DB)";
      return false;
    }
    start = limit;
  } else if (errno != ENOENT) {
    error = "sequence file " + path + ": " + std::strerror(errno);
    return false;
  }
  std::lock_guard lock(mu_);
  next_.store(start);
  limit_.store(start);
  return persist(start + block_, error);
}

bool Sequence::persist(uint64_t limit, std::string& error) {
  if (limit > RecordId::kMaxSeq) {
    error = "sequence exhausted";
    return false;
  }
  std::string why;
  if (!disk::write_file(path_, format_line(limit), why)) {
    error = "sequence file " + why;
    return false;
  }
  limit_.store(limit, std::memory_order_release);
  return true;
}

uint64_t Sequence::next(std::string& error) {
  const uint64_t v = next_.fetch_add(1, std::memory_order_relaxed);
  if (v < limit_.load(std::memory_order_acquire)) return v;
  std::lock_guard lock(mu_);
  while (v >= limit_.load(std::memory_order_relaxed)) {
    if (!persist(limit_.load(std::memory_order_relaxed) + block_, error)) return 0;
  }
  return v;
}

}  // namespace tandem::cdr
