#include "cdr/sequence.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "cdr/record.h"
#include "cdr/spool.h"

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
  const std::string tmp = path_ + ".tmp";
  const std::string line = format_line(limit);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    error = "sequence file " + path_ + ": " + std::strerror(ok ? errno : err);
    return false;
  }
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
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
