#include "cdr/open_calls.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "cdr/spool_format.h"
#include "cdr/spool_io.h"

namespace tandem::cdr {

namespace {

constexpr const char* kSuffix = ".call";

std::string alive_path(const std::string& dir) { return dir + "/alive"; }

int64_t mtime_ms(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// The file's two entries (spool framing: a torn or damaged file is refused): the record, the tariff.
bool parse(const std::string& bytes, Record& r, Tariff& t, std::string& error) {
  using spool_format::Frame;
  size_t first = 0, second = 0;
  if (spool_format::check_entry(bytes, first) != Frame::ok ||
      spool_format::check_entry(std::string_view(bytes).substr(first), second) != Frame::ok ||
      first + second != bytes.size()) {
    error = "torn or damaged";
    return false;
  }
  if (!decode(std::string_view(bytes).substr(kSpoolHeader, first - kSpoolHeader), r, error)) return false;
  const std::string tariff(bytes, first + kSpoolHeader, second - kSpoolHeader);
  if (std::sscanf(tariff.c_str(), "tariff %" SCNd64 " %" SCNu32, &t.cost_micros_per_min, &t.increment_s) != 2) {
    error = "no tariff";
    return false;
  }
  return true;
}

}  // namespace

bool OpenCalls::open(const std::string& dir, std::string& error) {
  dir_ = dir;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    error = spool_io::errno_text("open calls dir " + dir, errno);
    return false;
  }
  last_alive_ms_ = mtime_ms(alive_path(dir));
  return true;
}

std::string OpenCalls::path_of(uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "/%016" PRIx64 "%s", id, kSuffix);
  return dir_ + name;
}

bool OpenCalls::add(const Record& answered, const Tariff& tariff, std::string& error) {
  std::string payload, bytes;
  encode(answered, payload);
  spool_format::append_entry(bytes, payload);
  char t[64];
  std::snprintf(t, sizeof t, "tariff %" PRId64 " %" PRIu32, tariff.cost_micros_per_min, tariff.increment_s);
  spool_format::append_entry(bytes, t);
  const std::string path = path_of(answered.id);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = spool_io::errno_text("open call " + path, errno);
    return false;
  }
  int err = 0;
  const bool ok = spool_io::write_all(fd, bytes.data(), bytes.size(), err);
  if (!ok) error = spool_io::errno_text("open call " + path, err);
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return ok;
}

void OpenCalls::remove(uint64_t id) { ::unlink(path_of(id).c_str()); }

void OpenCalls::heartbeat(int64_t now_ms) {
  if (now_ms - touched_ms_ < 1000) return;
  touched_ms_ = now_ms;
  const std::string path = alive_path(dir_);
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) != 0) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) ::close(fd);
  }
}

std::vector<Record> OpenCalls::left_over(std::vector<std::string>& warnings) {
  std::vector<Record> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_.c_str()), ::closedir);
  if (!d) return out;
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.ends_with(kSuffix)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = dir_ + "/" + name;
    std::string bytes, error;
    Record r;
    Tariff t;
    int err = 0;
    if (!spool_io::read_file(path, bytes, err)) error = std::strerror(err);
    if (!error.empty() || !parse(bytes, r, t, error)) {
      warnings.push_back("open call " + path + " unreadable (" + error + "): its call is not billed");
      ::unlink(path.c_str());
      continue;
    }
    r.end_ms = std::max({last_alive_ms_, r.answer_ms, r.start_ms});
    r.disposition = r.answer_ms ? Disposition::answered : Disposition::failed;
    r.hangup_side = HangupSide::system;
    r.hangup_reason = kLeftOverReason;
    compute_durations(r);
    price(r, t);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tandem::cdr
