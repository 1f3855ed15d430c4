#include "cdr/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace tandem::cdr {

namespace {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t entry_crc(const char* len_field, std::string_view payload) {
  return crc32_of(payload, crc32_of(std::string_view(len_field, 4)));
}

enum class Frame { ok, incomplete, bad };

// Checks the entry at buf[0..]: ok with its total size, incomplete (needs
// more bytes than buf holds), or bad (wrong magic, length or checksum).
Frame check_entry(std::string_view buf, size_t& size) {
  if (buf.size() < kSpoolHeader) {
    // A prefix of a valid header is incomplete; anything else is bad.
    char magic[4];
    put32(magic, kSpoolMagic);
    return std::memcmp(buf.data(), magic, std::min<size_t>(buf.size(), 4)) == 0 ? Frame::incomplete
                                                                                 : Frame::bad;
  }
  if (get32(buf.data()) != kSpoolMagic) return Frame::bad;
  const uint32_t len = get32(buf.data() + 4);
  if (len == 0 || len > kMaxSpoolPayload) return Frame::bad;
  if (buf.size() < kSpoolHeader + len) return Frame::incomplete;
  if (entry_crc(buf.data() + 4, buf.substr(kSpoolHeader, len)) != get32(buf.data() + 8)) {
    return Frame::bad;
  }
  size = kSpoolHeader + len;
  return Frame::ok;
}

// The first offset > 0 in buf where a whole valid entry starts; npos if none.
size_t resync(std::string_view buf) {
  for (size_t i = 1; i + kSpoolHeader <= buf.size(); ++i) {
    size_t size;
    if (check_entry(buf.substr(i), size) == Frame::ok) return i;
  }
  return std::string_view::npos;
}

bool read_file(const std::string& path, std::string& out, int& err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return false;
  }
  out.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

bool write_all(int fd, const char* p, size_t n, int& err) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string checkpoint_text(SpoolPosition pos) {
  char body[96];
  std::snprintf(body, sizeof body, "tandem-cdr-checkpoint 1 %" PRIu64 " %" PRIu64, pos.segment,
                pos.offset);
  char line[128];
  std::snprintf(line, sizeof line, "%s %08x\n", body, crc32_of(body));
  return line;
}

bool parse_checkpoint(const std::string& text, SpoolPosition& pos) {
  uint64_t seg, off;
  unsigned crc;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "tandem-cdr-checkpoint 1 %" SCNu64 " %" SCNu64 " %8x\n%n", &seg,
                  &off, &crc, &consumed) != 3) {
    return false;
  }
  if (static_cast<size_t>(consumed) != text.size()) return false;
  if (checkpoint_text({seg, off}) != text) return false;
  pos = {seg, off};
  return true;
}

}  // namespace

uint32_t crc32_of(std::string_view data, uint32_t crc) {
  return static_cast<uint32_t>(
      ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

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

bool Spool::open(const SpoolConfig& config, std::string& error, std::vector<std::string>* warnings) {
  config_ = config;
  if (config_.dir.empty()) {
    error = "spool dir is not set";
    return false;
  }
  if (config_.segment_bytes < 4096 || config_.limit_bytes < config_.segment_bytes) {
    error = "spool segment size must be >= 4096 and <= the spool limit";
    return false;
  }
  if (::mkdir(config_.dir.c_str(), 0750) != 0 && errno != EEXIST) {
    error = errno_text("spool dir " + config_.dir, errno);
    return false;
  }
  dir_fd_ = ::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    error = errno_text("spool dir " + config_.dir, errno);
    return false;
  }
  if (::faccessat(dir_fd_, ".", W_OK, AT_EACCESS) != 0) {
    error = errno_text("spool dir " + config_.dir + " is not writable", errno);
    return false;
  }
  // One writer per spool: a second one would replay and delete the first's
  // segments. The kernel drops the lock when the process dies, however it dies.
  lock_fd_ = ::openat(dir_fd_, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) {
    error = errno_text("spool lock " + config_.dir + "/lock", errno);
    return false;
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    error = errno == EWOULDBLOCK ? "spool dir " + config_.dir + " is in use by another writer"
                                 : errno_text("spool lock " + config_.dir + "/lock", errno);
    return false;
  }
  DIR* d = ::fdopendir(::dup(dir_fd_));
  if (!d) {
    error = errno_text("spool dir " + config_.dir, errno);
    return false;
  }
  uint64_t total = 0;
  while (const dirent* e = ::readdir(d)) {
    uint64_t seg;
    int consumed = 0;
    if (std::sscanf(e->d_name, "segment-%16" SCNu64 ".spool%n", &seg, &consumed) == 1 &&
        e->d_name[consumed] == '\0') {
      struct stat st {};
      if (::fstatat(dir_fd_, e->d_name, &st, 0) == 0) {
        segments_[seg] = static_cast<uint64_t>(st.st_size);
        total += static_cast<uint64_t>(st.st_size);
      }
    }
  }
  ::closedir(d);

  std::string text;
  int err = 0;
  if (read_file(config_.dir + "/checkpoint", text, err)) {
    if (!parse_checkpoint(text, checkpoint_)) {
      if (warnings) warnings->push_back("spool checkpoint is unreadable: replaying the whole spool");
      checkpoint_ = {};
    }
  } else if (err != ENOENT) {
    error = errno_text("spool checkpoint " + config_.dir + "/checkpoint", err);
    return false;
  }
  if (!segments_.empty()) {
    if (checkpoint_.segment < segments_.begin()->first) checkpoint_ = {segments_.begin()->first, 0};
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
    total = 0;
    for (const auto& [seg, size] : segments_) total += size;
  }
  counters_.bytes.store(total, std::memory_order_relaxed);

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
    char h[kSpoolHeader];
    put32(h, kSpoolMagic);
    put32(h + 4, static_cast<uint32_t>(p.size()));
    put32(h + 8, entry_crc(h + 4, p));
    buf.append(h, kSpoolHeader);
    buf.append(p);
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
