// Spool::open: the dir and its lock, the segments and the checkpoint found
// there, and the recovery of a torn last entry.
#include "cdr/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "cdr/spool_format.h"
#include "cdr/spool_io.h"

namespace tandem::cdr {

using namespace spool_format;
using namespace spool_io;

namespace {

bool check_config(const SpoolConfig& config, std::string& error) {
  if (config.dir.empty()) {
    error = "spool dir is not set";
    return false;
  }
  if (config.segment_bytes < 4096 || config.limit_bytes < config.segment_bytes) {
    error = "spool segment size must be >= 4096 and <= the spool limit";
    return false;
  }
  return true;
}

// Creates the dir if needed; its fd (writable), or -1 and why.
int open_dir(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    error = errno_text("spool dir " + dir, errno);
    return -1;
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text("spool dir " + dir, errno);
    return -1;
  }
  if (::faccessat(fd, ".", W_OK, AT_EACCESS) != 0) {
    error = errno_text("spool dir " + dir + " is not writable", errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// The lock file's fd, locked; or -1 and why.
int lock_dir(int dir_fd, const std::string& dir, std::string& error) {
  // One writer per spool: a second one would replay and delete the first's
  // segments. The kernel drops the lock when the process dies, however it dies.
  const int fd = ::openat(dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = errno_text("spool lock " + dir + "/lock", errno);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    error = errno == EWOULDBLOCK ? "spool dir " + dir + " is in use by another writer"
                                 : errno_text("spool lock " + dir + "/lock", errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Every segment-<N>.spool in the dir, with its size.
bool scan_segments(int dir_fd, const std::string& dir, std::map<uint64_t, uint64_t>& segments,
                   std::string& error) {
  DIR* d = ::fdopendir(::dup(dir_fd));
  if (!d) {
    error = errno_text("spool dir " + dir, errno);
    return false;
  }
  while (const dirent* e = ::readdir(d)) {
    uint64_t seg;
    int consumed = 0;
    if (std::sscanf(e->d_name, "segment-%16" SCNu64 ".spool%n", &seg, &consumed) == 1 &&
        e->d_name[consumed] == '\0') {
      struct stat st {};
      if (::fstatat(dir_fd, e->d_name, &st, 0) == 0) segments[seg] = static_cast<uint64_t>(st.st_size);
    }
  }
  ::closedir(d);
  return true;
}

// No checkpoint file leaves `pos` as it is; an unreadable one is warned about
// and replaced by the start.
bool read_checkpoint(const std::string& dir, SpoolPosition& pos, std::vector<std::string>* warnings,
                     std::string& error) {
  std::string text;
  int err = 0;
  if (read_file(dir + "/checkpoint", text, err)) {
    if (!parse_checkpoint(text, pos)) {
      if (warnings) warnings->push_back("spool checkpoint is unreadable: replaying the whole spool");
      pos = {};
    }
  } else if (err != ENOENT) {
    error = errno_text("spool checkpoint " + dir + "/checkpoint", err);
    return false;
  }
  return true;
}

}  // namespace

bool Spool::open(const SpoolConfig& config, std::string& error, std::vector<std::string>* warnings) {
  config_ = config;
  if (!check_config(config_, error)) return false;
  dir_fd_ = open_dir(config_.dir, error);
  if (dir_fd_ < 0) return false;
  lock_fd_ = lock_dir(dir_fd_, config_.dir, error);
  if (lock_fd_ < 0) return false;
  if (!scan_segments(dir_fd_, config_.dir, segments_, error) ||
      !read_checkpoint(config_.dir, checkpoint_, warnings, error)) {
    return false;
  }
  if (!segments_.empty() && checkpoint_.segment < segments_.begin()->first) {
    checkpoint_ = {segments_.begin()->first, 0};
  }
  if (!check_newest_segments(warnings, error)) return false;
  uint64_t total = 0;
  for (const auto& [seg, size] : segments_) total += size;
  counters_.bytes.store(total, std::memory_order_relaxed);
  return start_first_segment(error);
}

bool Spool::check_newest_segments(std::vector<std::string>* warnings, std::string& error) {
  // A crash tears at most the segment being written, which is the newest
  // one with data: the newest file may be the next segment, created ahead
  // and still empty. The one before it is checked too: after a power cut
  // its unsynced tail (never accepted) may be gone while the newer one's
  // writes survived.
  int checked = 0;
  for (auto it = segments_.rbegin(); it != segments_.rend() && checked < 2; ++it) {
    if (it->second == 0) continue;
    if (it->first < checkpoint_.segment) break;
    if (!check_tail(it->first, warnings, error)) return false;
    ++checked;
  }
  return true;
}

bool Spool::check_tail(uint64_t segment, std::vector<std::string>* warnings, std::string& error) {
  const std::string path = segment_path(segment);
  std::string data;
  int err = 0;
  if (!read_file(path, data, err)) {
    error = errno_text("spool segment " + path, err);
    return false;
  }
  size_t pos = 0;
  while (pos < data.size()) {
    size_t size = 0;
    const Frame f = check_entry(std::string_view(data).substr(pos), size);
    if (f == Frame::ok) {
      pos += size;
      continue;
    }
    // A bad entry followed by good ones is corruption the reader skips; a bad
    // or incomplete entry with nothing valid after it is a torn last write.
    if (f == Frame::bad && resync(std::string_view(data).substr(pos)) != std::string_view::npos) {
      pos = pos + resync(std::string_view(data).substr(pos));
      continue;
    }
    counters_.torn_entries.fetch_add(1, std::memory_order_relaxed);
    if (warnings) {
      warnings->push_back("spool " + path + ": torn last entry at offset " + std::to_string(pos) +
                          " (" + std::to_string(data.size() - pos) + " bytes) skipped");
    }
    if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
      error = errno_text("spool segment " + path + ": cannot cut off the torn entry", errno);
      return false;
    }
    segments_[segment] = pos;
    break;
  }
  return true;
}

bool Spool::start_first_segment(std::string& error) {
  std::lock_guard lock(mu_);
  current_ = segments_.empty() ? 1 : segments_.rbegin()->first + 1;
  if (checkpoint_.segment >= current_) current_ = checkpoint_.segment + 1;
  if (segments_.empty() || checkpoint_.segment > segments_.rbegin()->first) {
    checkpoint_ = {current_, 0};
  }
  // Nothing else runs yet: creating the first segment under the lock is fine.
  fd_ = create_segment(current_, error);
  if (fd_ < 0) return false;
  end_ = 0;
  segments_[current_] = 0;
  durable_ = {current_, 0};
  return true;
}

}  // namespace tandem::cdr
