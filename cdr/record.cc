#include "cdr/record.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <type_traits>

namespace tandem::cdr {

namespace {

#define TANDEM_CDR_NAME_ITEM(n) #n,
constexpr std::string_view kDirectionNames[] = {TANDEM_CDR_DIRECTIONS(TANDEM_CDR_NAME_ITEM)};
constexpr std::string_view kDispositionNames[] = {TANDEM_CDR_DISPOSITIONS(TANDEM_CDR_NAME_ITEM)};
constexpr std::string_view kHangupSideNames[] = {TANDEM_CDR_HANGUP_SIDES(TANDEM_CDR_NAME_ITEM)};
#undef TANDEM_CDR_NAME_ITEM

template <typename E, size_t N>
std::optional<E> parse_enum(const std::string_view (&names)[N], std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <size_t N>
std::string_view enum_name(const std::string_view (&names)[N], uint8_t v) {
  return v < N ? names[v] : std::string_view("?");
}

// The length of the printable UTF-8 character at s[i], 0 if there is none
// (a control character, a bad or overlong sequence, a surrogate).
size_t printable_char_length(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return (c < 0x20 || c == 0x7f) ? 0 : 1;
  if ((c & 0xe0) == 0xc0) {
    n = 1; cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2; cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3; cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n + 1) return 0;
  for (size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n + 1;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = printable_char_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool check_text(std::string& error, const char* field, const std::string& v, size_t max,
                bool required) {
  if (required && v.empty()) {
    error = std::string(field) + " is missing";
    return false;
  }
  if (v.size() > max) {
    error = std::string(field) + " is " + std::to_string(v.size()) + " bytes, at most " +
            std::to_string(max);
    return false;
  }
  if (!valid_utf8(v)) {
    error = std::string(field) + " is not printable UTF-8";
    return false;
  }
  return true;
}

// Encoding ------------------------------------------------------------------

// 2 added menu_path (at the end); a spool written before holds records of 1.
constexpr uint8_t kEncodingVersion = 2;

template <typename T>
void put(std::string& out, T v) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  auto u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>(u & 0xff));
    if constexpr (sizeof(T) > 1) u = static_cast<U>(u >> 8);
  }
}

void put_str(std::string& out, const std::string& s) {
  put<uint16_t>(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view in;
  size_t pos = 0;
  bool ok = true;

  template <typename T>
  T get() {
    using U = std::make_unsigned_t<T>;
    if (in.size() - pos < sizeof(T)) {
      ok = false;
      return T{};
    }
    U u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      u = static_cast<U>(u | (static_cast<U>(static_cast<uint8_t>(in[pos + i])) << (8 * i)));
    }
    pos += sizeof(T);
    return static_cast<T>(u);
  }
  std::string get_str() {
    const auto n = get<uint16_t>();
    if (!ok || in.size() - pos < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(pos, n));
    pos += n;
    return s;
  }
};

}  // namespace

std::string printable(std::string_view s, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = printable_char_length(s, i);
    char escaped[4];
    std::string_view piece = n ? s.substr(i, n) : std::string_view(escaped, 3);
    if (!n) std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<uint8_t>(s[i]));
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += n ? n : 1;
  }
  return out;
}

bool RecordId::parse(std::string_view text, uint64_t& id) {
  auto num = [](std::string_view s, uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  const auto d1 = text.find('-');
  if (d1 == std::string_view::npos) return num(text, id);
  const auto d2 = text.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  uint64_t dc = 0, node = 0, seq = 0;
  if (!num(text.substr(0, d1), dc) || !num(text.substr(d1 + 1, d2 - d1 - 1), node) || !num(text.substr(d2 + 1), seq) ||
      dc > 255 || node > 65535 || seq > kMaxSeq) {
    return false;
  }
  id = make(static_cast<uint8_t>(dc), static_cast<uint16_t>(node), seq);
  return true;
}

std::string RecordId::format(uint64_t id) {
  return std::to_string(dc_id(id)) + "-" + std::to_string(node_id(id)) + "-" +
         std::to_string(seq(id));
}

std::string_view name(Direction d) { return enum_name(kDirectionNames, static_cast<uint8_t>(d)); }
std::string_view name(Disposition d) {
  return enum_name(kDispositionNames, static_cast<uint8_t>(d));
}
std::string_view name(HangupSide s) { return enum_name(kHangupSideNames, static_cast<uint8_t>(s)); }
std::optional<Direction> parse_direction(std::string_view s) {
  return parse_enum<Direction>(kDirectionNames, s);
}
std::optional<Disposition> parse_disposition(std::string_view s) {
  return parse_enum<Disposition>(kDispositionNames, s);
}
std::optional<HangupSide> parse_hangup_side(std::string_view s) {
  return parse_enum<HangupSide>(kHangupSideNames, s);
}

void compute_durations(Record& r) {
  r.duration_ms = r.end_ms - r.start_ms;
  if (r.answer_ms != 0 && r.end_ms > r.answer_ms) {
    r.billable_s = static_cast<uint32_t>((r.end_ms - r.answer_ms + 999) / 1000);
  } else {
    r.billable_s = 0;
  }
}

void price(Record& r, const Tariff& tariff) {
  r.cost_micros = 0;
  if (r.direction != Direction::outbound || r.disposition != Disposition::answered) return;
  const uint32_t inc = tariff.increment_s ? tariff.increment_s : 60;
  const uint64_t billed_s = (uint64_t{r.billable_s} + inc - 1) / inc * inc;
  r.cost_micros = static_cast<int64_t>(static_cast<uint64_t>(tariff.cost_micros_per_min) * billed_s / 60);
}

namespace {

// Each check sets `error` when it fails. validate() runs them in this order,
// so a record with several faults is refused for the first one.

bool check_id_and_enums(const Record& r, std::string& error) {
  if (RecordId::seq(r.id) == 0) {
    error = "id is missing (sequence 0)";
    return false;
  }
  if (static_cast<uint8_t>(r.direction) >= std::size(kDirectionNames)) {
    error = "direction is out of range";
    return false;
  }
  if (static_cast<uint8_t>(r.disposition) >= std::size(kDispositionNames)) {
    error = "disposition is out of range";
    return false;
  }
  if (static_cast<uint8_t>(r.hangup_side) >= std::size(kHangupSideNames)) {
    error = "hangup_side is out of range";
    return false;
  }
  return true;
}

bool check_text_fields(const Record& r, std::string& error) {
  const bool outbound = r.direction == Direction::outbound;
  const bool answered = r.disposition == Disposition::answered;
  return check_text(error, "call_id", r.call_id, kMaxCallId, true) &&
         check_text(error, "caller", r.caller, kMaxNumber, true) &&
         check_text(error, "called", r.called, kMaxNumber, true) &&
         check_text(error, "customer", r.customer, kMaxName, true) &&
         check_text(error, "target", r.target, kMaxTarget, answered) &&
         check_text(error, "menu_path", r.menu_path, kMaxMenuPath, false) &&
         check_text(error, "provider", r.provider, kMaxName, outbound && answered) &&
         check_text(error, "dc", r.dc, kMaxName, true) &&
         check_text(error, "server", r.server, kMaxName, true) &&
         check_text(error, "hangup_reason", r.hangup_reason, kMaxName, false);
}

bool check_cost(const Record& r, std::string& error) {
  if (r.cost_micros < 0) {
    error = "cost is negative";
    return false;
  }
  if (r.direction != Direction::outbound && r.cost_micros != 0) {
    error = "an inbound call has a cost";
    return false;
  }
  return true;
}

// Start, answer and end in order, an answer time exactly when answered, and
// the durations that follow from them.
bool check_times(const Record& r, std::string& error) {
  const bool answered = r.disposition == Disposition::answered;
  if (r.start_ms < kMinTimeMs) {
    error = "start time " + std::to_string(r.start_ms) + " ms is missing or before 2001";
    return false;
  }
  if (r.end_ms < r.start_ms) {
    error = "end time is before start time";
    return false;
  }
  if (r.answer_ms != 0 && (r.answer_ms < r.start_ms || r.answer_ms > r.end_ms)) {
    error = "answer time is outside start..end";
    return false;
  }
  if (answered != (r.answer_ms != 0)) {
    error = answered ? "answered call has no answer time"
                     : "unanswered call (" + std::string(name(r.disposition)) + ") has an answer time";
    return false;
  }
  Record expect = r;
  compute_durations(expect);
  if (r.duration_ms != expect.duration_ms) {
    error = "duration " + std::to_string(r.duration_ms) + " ms is not end - start (" +
            std::to_string(expect.duration_ms) + ")";
    return false;
  }
  if (r.billable_s != expect.billable_s) {
    error = "billable " + std::to_string(r.billable_s) + " s is not end - answer rounded up (" +
            std::to_string(expect.billable_s) + ")";
    return false;
  }
  return true;
}

bool check_sip_code(const Record& r, std::string& error) {
  if (r.sip_code < 100 || r.sip_code > 699) {
    error = "final SIP code " + std::to_string(r.sip_code) + " is not 100..699";
    return false;
  }
  if (r.disposition == Disposition::answered && (r.sip_code < 200 || r.sip_code > 299)) {
    error = "answered call with final SIP code " + std::to_string(r.sip_code);
    return false;
  }
  return true;
}

bool check_legs(const Record& r, std::string& error) {
  for (const auto& leg : r.legs) {
    if (leg.jitter_mean_us > leg.jitter_max_us) {
      error = "mean jitter is above max jitter";
      return false;
    }
  }
  return true;
}

}  // namespace

bool validate(const Record& r, std::string& error) {
  if (!check_id_and_enums(r, error) || !check_text_fields(r, error) || !check_cost(r, error) ||
      !check_times(r, error) || !check_sip_code(r, error) || !check_legs(r, error)) {
    return false;
  }
  error.clear();
  return true;
}

void encode(const Record& r, std::string& out) {
  out.clear();
  put<uint8_t>(out, kEncodingVersion);
  put<uint64_t>(out, r.id);
  put_str(out, r.call_id);
  put<uint8_t>(out, static_cast<uint8_t>(r.direction));
  put_str(out, r.caller);
  put_str(out, r.called);
  put_str(out, r.customer);
  put_str(out, r.target);
  put_str(out, r.provider);
  put<int64_t>(out, r.cost_micros);
  put_str(out, r.dc);
  put_str(out, r.server);
  put<int64_t>(out, r.start_ms);
  put<int64_t>(out, r.answer_ms);
  put<int64_t>(out, r.end_ms);
  put<int64_t>(out, r.duration_ms);
  put<uint32_t>(out, r.billable_s);
  put<uint8_t>(out, static_cast<uint8_t>(r.disposition));
  put<uint16_t>(out, r.sip_code);
  put<uint8_t>(out, static_cast<uint8_t>(r.hangup_side));
  put_str(out, r.hangup_reason);
  for (const auto& leg : r.legs) {
    put<uint64_t>(out, leg.packets);
    put<uint64_t>(out, leg.bytes);
    put<int64_t>(out, leg.lost);
    put<uint32_t>(out, leg.jitter_max_us);
    put<uint32_t>(out, leg.jitter_mean_us);
  }
  put_str(out, r.menu_path);
}

bool decode(std::string_view in, Record& r, std::string& error) {
  Reader rd{in};
  const auto version = rd.get<uint8_t>();
  if (rd.ok && (version < 1 || version > kEncodingVersion)) {
    error = "unknown record encoding version " + std::to_string(version);
    return false;
  }
  r.id = rd.get<uint64_t>();
  r.call_id = rd.get_str();
  r.direction = static_cast<Direction>(rd.get<uint8_t>());
  r.caller = rd.get_str();
  r.called = rd.get_str();
  r.customer = rd.get_str();
  r.target = rd.get_str();
  r.provider = rd.get_str();
  r.cost_micros = rd.get<int64_t>();
  r.dc = rd.get_str();
  r.server = rd.get_str();
  r.start_ms = rd.get<int64_t>();
  r.answer_ms = rd.get<int64_t>();
  r.end_ms = rd.get<int64_t>();
  r.duration_ms = rd.get<int64_t>();
  r.billable_s = rd.get<uint32_t>();
  r.disposition = static_cast<Disposition>(rd.get<uint8_t>());
  r.sip_code = rd.get<uint16_t>();
  r.hangup_side = static_cast<HangupSide>(rd.get<uint8_t>());
  r.hangup_reason = rd.get_str();
  for (auto& leg : r.legs) {
    leg.packets = rd.get<uint64_t>();
    leg.bytes = rd.get<uint64_t>();
    leg.lost = rd.get<int64_t>();
    leg.jitter_max_us = rd.get<uint32_t>();
    leg.jitter_mean_us = rd.get<uint32_t>();
  }
  r.menu_path = version >= 2 ? rd.get_str() : std::string();
  if (!rd.ok) {
    error = "record is truncated";
    return false;
  }
  if (rd.pos != in.size()) {
    error = "record has " + std::to_string(in.size() - rd.pos) + " trailing bytes";
    return false;
  }
  return true;
}

std::string format_utc_ms(int64_t ms) {
  // Every record binds three of these: std::chrono's civil date and the digits
  // by hand are about ten times cheaper than gmtime_r + strftime + snprintf.
  constexpr int64_t kYear10000Ms = 253'402'300'800'000;   // 10000-01-01 00:00:00 UTC
  if (ms >= 0 && ms < kYear10000Ms) {
    const int64_t secs = ms / 1000;
    const int64_t days = secs / 86400;
    const auto sod = static_cast<unsigned>(secs % 86400);
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
    const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));
    const auto month = static_cast<unsigned>(ymd.month());
    const auto day = static_cast<unsigned>(ymd.day());
    char buf[23];   // "YYYY-MM-DD HH:MM:SS.mmm"
    auto put = [&](size_t at, unsigned v, int width) {
      for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
    };
    put(0, year, 4);
    buf[4] = '-';
    put(5, month, 2);
    buf[7] = '-';
    put(8, day, 2);
    buf[10] = ' ';
    put(11, sod / 3600, 2);
    buf[13] = ':';
    put(14, sod / 60 % 60, 2);
    buf[16] = ':';
    put(17, sod % 60, 2);
    buf[19] = '.';
    put(20, static_cast<unsigned>(ms % 1000), 3);
    return std::string(buf, sizeof buf);
  }
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms % 1000));
  return buf;
}

bool parse_utc_time(const std::string& text, int64_t& ms) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 0;
  int consumed = 0;
  const int n = std::sscanf(text.c_str(), "%4d-%2u-%2u%n%c%2u:%2u%n:%2u%n", &y, &mo, &d, &consumed, &sep,
                            &h, &mi, &consumed, &s, &consumed);
  if (n != 3 && n != 6 && n != 7) return false;
  if (n >= 6 && (sep != ' ' && sep != 'T')) return false;
  std::string_view rest = std::string_view(text).substr(static_cast<size_t>(consumed));
  if (rest == "Z" && sep == 'T') rest = {};
  if (!rest.empty() || h > 23 || mi > 59 || s > 59) return false;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{mo}, std::chrono::day{d}};
  if (!ymd.ok()) return false;
  const auto t = std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
                 std::chrono::seconds{s};
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return true;
}

}  // namespace tandem::cdr
