#include "rules/saved_rules.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <concepts>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <type_traits>
#include <vector>

#include "disk/crc32.h"

namespace tandem::rules {

namespace {

// Format 2 has menus with multi-digit options, an inter-digit timeout and
// retries (issue 15). Format 1 (one key per option) is still read, so that a
// call server upgraded while its DB is unreachable routes from its last rules;
// any other is refused like a damaged file.
constexpr unsigned kFormat = 2;
constexpr unsigned kOldestFormat = 1;
constexpr char kHeaderFormat[] =
    "tandem-rules-saved %1u version=%020" PRIu64 " saved=%020" PRId64 " bytes=%020" PRIu64 " crc32=%08x\n";
// format: 1 digit; version, saved, bytes: 20 digits each; crc32: 8.
constexpr size_t kHeaderBytes = sizeof("tandem-rules-saved 2 version= saved= bytes= crc32=\n") - 1 + 3 * 20 + 8;

using disk::crc32_of;

// Serialises into a buffer that goes to the file a megabyte at a time, with
// its checksum as it goes.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) {}
  unsigned format() const { return kFormat; }
  void operator()(uint8_t v) { put(&v, 1); }
  void operator()(char v) { put(&v, 1); }
  void operator()(bool v) { (*this)(static_cast<uint8_t>(v)); }
  void operator()(uint16_t v) { le(v); }
  void operator()(uint32_t v) { le(v); }
  void operator()(int32_t v) { le(static_cast<uint32_t>(v)); }
  void operator()(uint64_t v) { le(v); }
  void operator()(int64_t v) { le(static_cast<uint64_t>(v)); }
  void operator()(const std::string& s) {
    (*this)(static_cast<uint64_t>(s.size()));
    put(s.data(), s.size());
  }
  template <class E>
    requires std::is_enum_v<E>
  void operator()(E e) { (*this)(static_cast<std::underlying_type_t<E>>(e)); }
  template <class T>
  void operator()(const std::vector<T>& list) {
    (*this)(static_cast<uint64_t>(list.size()));
    for (const T& x : list) io(*this, x);
  }
  template <class T>
  void operator()(const std::optional<T>& o) {
    (*this)(o.has_value());
    if (o) io(*this, *o);
  }

  bool flush() {
    if (!ok_ || buf_.empty()) return ok_;
    crc_ = crc32_of(buf_, crc_);
    bytes_ += buf_.size();
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (ok_ && left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      ok_ = n > 0;
      if (ok_) p += n, left -= static_cast<size_t>(n);
    }
    buf_.clear();
    return ok_;
  }
  uint32_t crc() const { return crc_; }
  uint64_t bytes() const { return bytes_; }

 private:
  template <class U>
  void le(U v) {
    char b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    put(b, sizeof b);
  }
  void put(const void* p, size_t n) {
    buf_.append(static_cast<const char*>(p), n);
    if (buf_.size() >= (1u << 20)) flush();
  }

  int fd_;
  std::string buf_;
  uint32_t crc_ = 0;
  uint64_t bytes_ = 0;
  bool ok_ = true;
};

// Reads back what Writer wrote; after the first fault every read is a no-op
// and ok() stays false. Lists are bounded by the bytes left.
class Reader {
 public:
  Reader(std::string_view data, unsigned format)
      : p_(data.data()), end_(data.data() + data.size()), format_(format) {}
  unsigned format() const { return format_; }
  void operator()(uint8_t& v) { v = static_cast<uint8_t>(le<uint8_t>()); }
  void operator()(char& v) { v = static_cast<char>(le<uint8_t>()); }
  void operator()(bool& v) {
    const uint8_t b = le<uint8_t>();
    if (b > 1) fail();
    v = b == 1;
  }
  void operator()(uint16_t& v) { v = le<uint16_t>(); }
  void operator()(uint32_t& v) { v = le<uint32_t>(); }
  void operator()(int32_t& v) { v = static_cast<int32_t>(le<uint32_t>()); }
  void operator()(uint64_t& v) { v = le<uint64_t>(); }
  void operator()(int64_t& v) { v = static_cast<int64_t>(le<uint64_t>()); }
  void operator()(std::string& s) {
    const uint64_t n = le<uint64_t>();
    if (n > left()) return fail();
    s.assign(p_, n);
    p_ += n;
  }
  template <class E>
    requires std::is_enum_v<E>
  void operator()(E& e) {
    std::underlying_type_t<E> v{};
    (*this)(v);
    e = static_cast<E>(v);
  }
  template <class T>
  void operator()(std::vector<T>& list) {
    const uint64_t n = le<uint64_t>();
    if (n > left()) return fail();  // every row takes at least a byte
    list.resize(n);
    for (T& x : list) {
      if (!ok_) return;
      io(*this, x);
    }
  }
  template <class T>
  void operator()(std::optional<T>& o) {
    bool has = false;
    (*this)(has);
    if (!has) return o.reset();
    io(*this, o.emplace());
  }

  bool ok() const { return ok_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  void fail() {
    ok_ = false;
    p_ = end_;
  }

 private:
  template <class U>
  U le() {
    if (left() < sizeof(U)) {
      fail();
      return 0;
    }
    U v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(static_cast<U>(static_cast<uint8_t>(p_[i])) << (8 * i));
    p_ += sizeof(U);
    return v;
  }

  const char* p_;
  const char* end_;
  unsigned format_;
  bool ok_ = true;
};

// Each row's fields, in file order, for both directions: `A` is Writer (rows
// const) or Reader. One list per type, so writing and reading cannot differ.
template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, RingTarget>
void io(A& a, T& t) { a(t.target), a(t.timeout_s); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Action>
void io(A& a, T& x) { a(x.kind), a(x.number), a(x.ring), a(x.menu_id), a(x.sip_code); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Customer>
void io(A& a, T& c) { a(c.id), a(c.name), a(c.time_zone), a(c.vm_sip), io(a, c.default_action); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Number>
void io(A& a, T& n) { a(n.id), a(n.e164), a(n.customer_id); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Date>
void io(A& a, T& d) { a(d.year), a(d.month), a(d.day); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, DateRange>
void io(A& a, T& r) { io(a, r.from), io(a, r.to); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, TimeWindow>
void io(A& a, T& w) { a(w.from_s), a(w.to_s); }

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Rule>
void io(A& a, T& r) {
  a(r.id), a(r.number_id), a(r.priority), a(r.caller_match), a(r.caller_pattern), a(r.days), a(r.window),
      a(r.dates), io(a, r.action), a(r.description);
}

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, MenuOption>
void io(A& a, T& o) {
  if constexpr (!std::is_const_v<T>) {
    if (a.format() == 1) {  // one key
      char key = 0;
      a(key);
      o.digits.assign(1, key);
      return io(a, o.action);
    }
  }
  a(o.digits), io(a, o.action);
}

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Menu>
void io(A& a, T& m) {
  a(m.id), a(m.customer_id), a(m.name), a(m.prompt), a(m.timeout_s), a(m.options), io(a, m.timeout_action),
      io(a, m.invalid_action);
  if (a.format() >= 2) a(m.inter_digit_timeout_s), a(m.retries);
}

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Provider>
void io(A& a, T& p) { a(p.id), a(p.name), a(p.sip_address), a(p.max_calls), a(p.enabled), a(p.preference); }

// UtcSeconds as its count of seconds.
template <class A>
void io(A& a, const UtcSeconds& t) { a(static_cast<int64_t>(t.time_since_epoch().count())); }
template <class A>
void io(A& a, UtcSeconds& t) {
  int64_t s = 0;
  a(s);
  t = UtcSeconds(std::chrono::seconds(s));
}

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, Rate>
void io(A& a, T& r) {
  a(r.id), a(r.provider_id), a(r.prefix), a(r.cost_micros), a(r.increment_s), a(r.valid_from), a(r.valid_to);
}

template <class A, class T>
  requires std::same_as<std::remove_const_t<T>, RulesData>
void io(A& a, T& d) { a(d.customers), a(d.numbers), a(d.rules), a(d.menus), a(d.providers), a(d.rates); }

std::string header(unsigned format, uint64_t version, int64_t saved, uint64_t bytes, uint32_t crc) {
  char line[kHeaderBytes + 1];
  std::snprintf(line, sizeof line, kHeaderFormat, format, version, saved, bytes, crc);
  return line;
}

// The checksum covers the header's fields too (all of it before "crc32="), then the tables.
uint32_t file_crc(unsigned format, uint64_t version, int64_t saved, uint64_t bytes, uint32_t body_crc) {
  const std::string h = header(format, version, saved, bytes, 0);
  const std::string_view fields = std::string_view(h).substr(0, h.rfind("crc32="));
  return static_cast<uint32_t>(::crc32_combine(crc32_of(fields, 0), body_crc, static_cast<z_off_t>(bytes)));
}

}  // namespace

bool write_saved_rules(const RulesData& data, const std::string& file, std::string& error) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = file + ": " + std::strerror(errno);
    return false;
  }
  // The header goes last, once the size and checksum are known: a file cut short has none.
  bool ok = ::lseek(fd, static_cast<off_t>(kHeaderBytes), SEEK_SET) == static_cast<off_t>(kHeaderBytes);
  Writer w(fd);
  if (ok) {
    io(w, data);
    ok = w.flush();
  }
  if (ok) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string h =
        header(kFormat, data.version, now, w.bytes(), file_crc(kFormat, data.version, now, w.bytes(), w.crc()));
    ok = ::pwrite(fd, h.data(), h.size(), 0) == static_cast<ssize_t>(h.size()) && ::fsync(fd) == 0;
  }
  const int err = errno;
  ::close(fd);
  if (!ok) error = file + ": " + std::strerror(err);
  return ok;
}

bool read_saved_rules(const std::string& path, RulesData& out, SavedInfo& info, std::string& error) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string all(static_cast<size_t>(f.tellg()), '\0');
  f.seekg(0);
  if (!f.read(all.data(), static_cast<std::streamsize>(all.size()))) {
    error = path + ": cannot be read";
    return false;
  }
  uint32_t crc = 0;
  unsigned format = 0;
  if (all.size() < kHeaderBytes ||
      std::sscanf(all.c_str(), kHeaderFormat, &format, &info.version, &info.saved_unix_s, &info.bytes, &crc) != 5 ||
      header(format, info.version, info.saved_unix_s, info.bytes, crc) != all.substr(0, kHeaderBytes)) {
    error = path + ": not a file of saved rules (its first line is not tandem-rules-saved " +
            std::to_string(kFormat) + ")";
    return false;
  }
  if (format < kOldestFormat || format > kFormat) {
    error = path + ": saved rules of format " + std::to_string(format) + ", this version reads " +
            std::to_string(kOldestFormat) + " to " + std::to_string(kFormat);
    return false;
  }
  const std::string_view body = std::string_view(all).substr(kHeaderBytes);
  if (body.size() != info.bytes) {
    error = path + ": " + std::to_string(body.size()) + " bytes of tables where its header says " +
            std::to_string(info.bytes) + " (cut short or appended to)";
    return false;
  }
  if (file_crc(format, info.version, info.saved_unix_s, info.bytes, crc32_of(body, 0)) != crc) {
    error = path + ": damaged (checksum differs)";
    return false;
  }
  Reader r(body, format);
  RulesData data;
  io(r, data);
  if (!r.ok() || r.left() != 0) {
    error = path + ": damaged (its tables do not read back)";
    return false;
  }
  data.version = info.version;
  out = std::move(data);
  return true;
}

}  // namespace tandem::rules
