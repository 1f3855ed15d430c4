// The spool at work: segment creation, append, sync, read and the checkpoint's
// commit. Opening and recovery are in spool_open.cc, the entry and checkpoint
// formats in spool_format.cc.
#include "cdr/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "cdr/spool_format.h"
#include "cdr/spool_io.h"

namespace tandem::cdr {

using namespace spool_format;
using namespace spool_io;

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
  if (next_fd_ >= 0) ::close(next_fd_);
  for (int fd : rotated_fds_) ::close(fd);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Spool::segment_path(uint64_t segment) const {
  char name[48];
  std::snprintf(name, sizeof name, "/segment-%016" PRIu64 ".spool", segment);
  return config_.dir + name;
}

int Spool::sync_fd(int fd, SyncPoint what) {
  if (sync_hook_) sync_hook_(what);
  return what == SyncPoint::dir ? ::fsync(fd) : ::fdatasync(fd);
}

int Spool::create_segment(uint64_t segment, std::string& error) {
  const std::string path = segment_path(segment);
  // Always past the newest segment on disk: one of that name is a bug, and is
  // refused rather than appended to.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = errno_text("spool segment " + path, errno);
    return -1;
  }
  // The new name must survive a power cut before anything in the file counts.
  if (config_.sync == SyncPolicy::group && sync_fd(dir_fd_, SyncPoint::dir) != 0) {
    const int err = errno;
    counters_.sync_errors.fetch_add(1, std::memory_order_relaxed);
    ::close(fd);
    ::unlink(path.c_str());
    error = errno_text("spool dir " + config_.dir + ": sync after creating " + path, err);
    return -1;
  }
  return fd;
}

bool Spool::prepare_next(std::string& error) {
  std::lock_guard prepare(prepare_mu_);
  uint64_t segment;
  {
    std::lock_guard lock(mu_);
    if (next_fd_ >= 0) return true;
    // current_ changes only by switching to a prepared segment, and none is
    // prepared until this one is: the number stays right without the lock.
    segment = current_ + 1;
  }
  const int fd = create_segment(segment, error);
  if (fd < 0) {
    counters_.append_errors.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::lock_guard lock(mu_);
  next_fd_ = fd;
  return true;
}

void Spool::switch_to_next() {
  // The old segment may hold entries not yet synced: the next sync() syncs
  // it before it counts anything after it durable, and closes it then.
  if (fd_ >= 0) rotated_fds_.push_back(fd_);
  fd_ = next_fd_;
  next_fd_ = -1;
  ++current_;
  end_ = 0;
  segments_[current_] = 0;
  counters_.rotations.fetch_add(1, std::memory_order_relaxed);
}

bool Spool::append(const std::vector<std::string>& payloads, std::string& error) {
  std::string buf;
  size_t total = 0;
  for (const auto& p : payloads) total += kSpoolHeader + p.size();
  buf.reserve(total);
  for (const auto& p : payloads) {
    if (p.empty() || p.size() > kMaxSpoolPayload) {
      error = "spool entry of " + std::to_string(p.size()) + " bytes";
      return false;
    }
    append_entry(buf, p);
  }
  if (buf.empty()) return true;

  std::unique_lock lock(mu_);
  for (;;) {
    const uint64_t on_disk = counters_.bytes.load(std::memory_order_relaxed);
    if (on_disk + buf.size() > config_.limit_bytes) {
      counters_.full.fetch_add(1, std::memory_order_relaxed);
      error = "spool is full (" + std::to_string(on_disk) + " of " +
              std::to_string(config_.limit_bytes) + " bytes)";
      return false;
    }
    if (fd_ >= 0 || next_fd_ >= 0) break;
    // No segment to write to (a failed write could not be cut back): create
    // the next one, without the lock, as sync() does.
    lock.unlock();
    if (!prepare_next(error)) return false;
    lock.lock();
  }
  if (next_fd_ >= 0 && (fd_ < 0 || (end_ > 0 && end_ + buf.size() > config_.segment_bytes))) {
    switch_to_next();
  }
  int err = 0;
  if (!write_all(fd_, buf.data(), buf.size(), err)) {
    counters_.append_errors.fetch_add(1, std::memory_order_relaxed);
    error = errno_text("spool segment " + segment_path(current_), err);
    // Cut back to the last whole entry; if even that fails, never append to
    // this segment again (the reader skips the torn bytes).
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
      struct stat st {};
      ::fstat(fd_, &st);
      const auto size = static_cast<uint64_t>(st.st_size);
      counters_.bytes.fetch_add(size - end_, std::memory_order_relaxed);
      end_ = size;
      segments_[current_] = size;
      rotated_fds_.push_back(fd_);
      fd_ = -1;
    }
    return false;
  }
  end_ += buf.size();
  segments_[current_] = end_;
  unsynced_ += payloads.size();
  counters_.bytes.fetch_add(buf.size(), std::memory_order_relaxed);
  counters_.appended.fetch_add(payloads.size(), std::memory_order_relaxed);
  return true;
}

bool Spool::sync(std::string& error) {
  std::lock_guard sync_lock(sync_mu_);
  int fd;
  SpoolPosition end;
  uint64_t count;
  std::vector<int> rotated;
  {
    std::lock_guard lock(mu_);
    fd = fd_;
    end = {current_, end_};
    count = unsynced_;
    unsynced_ = 0;
    rotated.swap(rotated_fds_);
  }
  // Oldest first, all before `end` counts: entries appended to the segments
  // switched away from, then to the current one. Appends go on meanwhile.
  bool ok = true;
  if (config_.sync == SyncPolicy::group && count > 0) {
    for (int r : rotated) {
      if (sync_fd(r, SyncPoint::segment) != 0) {
        error = errno_text("spool sync of a full segment before " + segment_path(end.segment), errno);
        ok = false;
        break;
      }
    }
    if (ok && fd >= 0 && sync_fd(fd, SyncPoint::segment) != 0) {
      error = errno_text("spool sync " + segment_path(end.segment), errno);
      ok = false;
    }
  }
  {
    std::lock_guard lock(mu_);
    if (!ok) {
      counters_.sync_errors.fetch_add(1, std::memory_order_relaxed);
      unsynced_ += count;
      // Synced again, with those rotated since, next time.
      rotated_fds_.insert(rotated_fds_.begin(), rotated.begin(), rotated.end());
      return false;
    }
    if (durable_ < end) durable_ = end;
  }
  for (int r : rotated) ::close(r);
  counters_.synced.fetch_add(count, std::memory_order_relaxed);
  // Ready before the current segment fills up, so that append() only switches.
  return prepare_next(error);
}

SpoolPosition Spool::durable_end() const {
  std::lock_guard lock(mu_);
  return durable_;
}

uint64_t Spool::unsynced() const {
  std::lock_guard lock(mu_);
  return unsynced_;
}

SpoolPosition Spool::checkpoint() const {
  std::lock_guard lock(mu_);
  return checkpoint_;
}

bool Spool::read(SpoolPosition& pos, size_t max, std::vector<std::string>& payloads,
                 std::string& error) {
  constexpr size_t kChunk = 1 << 20;
  while (payloads.size() < max) {
    uint64_t end;
    {
      std::lock_guard lock(mu_);
      if (durable_ <= pos) return true;
      auto it = segments_.lower_bound(pos.segment);
      if (it == segments_.end()) return true;
      if (it->first != pos.segment) pos = {it->first, 0};
      end = pos.segment == durable_.segment ? durable_.offset : it->second;
      if (pos.offset >= end) {
        if (pos.segment >= durable_.segment) return true;
        auto next = std::next(it);
        if (next == segments_.end()) return true;
        pos = {next->first, 0};
        continue;
      }
    }
    if (read_fd_ < 0 || read_segment_ != pos.segment) {
      if (read_fd_ >= 0) ::close(read_fd_);
      read_fd_ = ::open(segment_path(pos.segment).c_str(), O_RDONLY | O_CLOEXEC);
      if (read_fd_ < 0) {
        error = errno_text("spool segment " + segment_path(pos.segment), errno);
        return false;
      }
      read_segment_ = pos.segment;
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(end - pos.offset, kChunk));
    read_buf_.resize(want);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(read_fd_, read_buf_.data() + got, want - got,
                                static_cast<off_t>(pos.offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = errno_text("spool segment " + segment_path(pos.segment), errno);
        return false;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    const bool to_end = pos.offset + got >= end;
    std::string_view buf(read_buf_.data(), got);
    size_t at = 0;
    while (at < buf.size() && payloads.size() < max) {
      size_t size = 0;
      const Frame f = check_entry(buf.substr(at), size);
      if (f == Frame::ok) {
        payloads.emplace_back(buf.substr(at + kSpoolHeader, size - kSpoolHeader));
        at += size;
        continue;
      }
      if (f == Frame::incomplete && !to_end) break;  // the next chunk starts here
      counters_.corrupt_entries.fetch_add(1, std::memory_order_relaxed);
      const size_t skip = resync(buf.substr(at));
      at = skip == std::string_view::npos ? buf.size() : at + skip;
    }
    if (at == 0 && !to_end) {
      // Cannot happen with entries <= kMaxSpoolPayload and a 1 MiB chunk.
      error = "spool segment " + segment_path(pos.segment) + ": entry larger than a read";
      return false;
    }
    pos.offset += at;
  }
  return true;
}

bool Spool::commit_checkpoint(SpoolPosition pos, std::string& error) {
  const std::string text = checkpoint_text(pos);
  const std::string tmp = config_.dir + "/checkpoint.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  int err = 0;
  if (fd < 0 || !write_all(fd, text.data(), text.size(), err)) {
    if (fd < 0) err = errno;
    if (fd >= 0) ::close(fd);
    counters_.checkpoint_errors.fetch_add(1, std::memory_order_relaxed);
    error = errno_text("spool checkpoint " + tmp, err);
    return false;
  }
  ::close(fd);
  // No fsync: a checkpoint lost in a power cut only replays rows the DB has,
  // which ON DUPLICATE KEY UPDATE makes harmless.
  if (::rename(tmp.c_str(), (config_.dir + "/checkpoint").c_str()) != 0) {
    counters_.checkpoint_errors.fetch_add(1, std::memory_order_relaxed);
    error = errno_text("spool checkpoint " + config_.dir + "/checkpoint", errno);
    return false;
  }
  std::vector<uint64_t> done;
  {
    std::lock_guard lock(mu_);
    checkpoint_ = pos;
    // Everything consumed and the segment is big: switch to the next one
    // (if sync() has it ready) so that this one's space comes back (the
    // spool limit counts bytes on disk).
    if (pos.segment == current_ && pos.offset == end_ && end_ >= config_.segment_bytes / 4 &&
        next_fd_ >= 0) {
      switch_to_next();
    }
    for (auto it = segments_.begin(); it != segments_.end() && it->first <= pos.segment;) {
      if (it->first == current_ || (it->first == pos.segment && pos.offset < it->second)) break;
      done.push_back(it->first);
      counters_.bytes.fetch_sub(it->second, std::memory_order_relaxed);
      it = segments_.erase(it);
    }
  }
  for (uint64_t seg : done) {
    if (read_fd_ >= 0 && read_segment_ == seg) {
      ::close(read_fd_);
      read_fd_ = -1;
    }
    ::unlink(segment_path(seg).c_str());
  }
  return true;
}

}  // namespace tandem::cdr
