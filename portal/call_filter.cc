#include "portal/call_filter.h"

#include <charconv>

#include "cdr/record.h"

namespace tandem::portal {

namespace {

constexpr int64_t kDayMs = 86'400'000;

bool day(const std::string& text, const char* what, int64_t& ms, std::string& error) {
  if (text.size() != 10 || !cdr::parse_utc_time(text, ms)) {
    error = std::string(what) + ": a date YYYY-MM-DD";
    return false;
  }
  return true;
}

}  // namespace

bool parse_call_params(const CallParams& p, cdr::QueryFilter& f, uint32_t& page, std::string& error) {
  int64_t ms = 0;
  if (!p.from.empty()) {
    if (!day(p.from, "from", ms, error)) return false;
    f.from_ms = ms;
  }
  if (!p.to.empty()) {
    if (!day(p.to, "to", ms, error)) return false;
    f.to_ms = ms + kDayMs;   // the whole day
  }
  if (p.number.size() > cdr::kMaxNumber) {
    error = "number: at most " + std::to_string(cdr::kMaxNumber) + " characters";
    return false;
  }
  f.number = p.number;
  if (!p.direction.empty()) {
    f.direction = cdr::parse_direction(p.direction);
    if (!f.direction) {
      error = "direction: inbound or outbound";
      return false;
    }
  }
  if (!p.disposition.empty()) {
    f.disposition = cdr::parse_disposition(p.disposition);
    if (!f.disposition) {
      error = "disposition: not one of the list";
      return false;
    }
  }
  page = 1;
  if (!p.page.empty()) {
    const auto [end, ec] = std::from_chars(p.page.data(), p.page.data() + p.page.size(), page);
    if (ec != std::errc() || end != p.page.data() + p.page.size() || page < 1 || page > kMaxPage) {
      error = "page: 1 to " + std::to_string(kMaxPage);
      return false;
    }
  }
  // One more than a page: whether there is a next one.
  f.limit = kPageSize + 1;
  f.offset = uint64_t{page - 1} * kPageSize;
  return true;
}

}  // namespace tandem::portal
