#include "attendant/dtmf.h"

#include <cctype>

namespace tandem::attendant {

namespace {

constexpr std::string_view kKeys = "0123456789*#ABCD";
constexpr size_t kEventBlock = 4;  // event, E/R/volume, duration (RFC 4733 2.3)

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A key as SIP INFO bodies write it: one of kKeys, letters in either case.
std::optional<char> key(std::string_view text) {
  text = trim(text);
  if (text.size() != 1) return std::nullopt;
  const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return kKeys.find(c) == std::string_view::npos ? std::nullopt : std::optional<char>(c);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<char> dtmf_event_digit(uint8_t event) {
  return event < kKeys.size() ? std::optional<char>(kKeys[event]) : std::nullopt;
}

DtmfResult TelephoneEventDetector::on_packet(uint32_t rtp_timestamp, std::span<const uint8_t> payload) {
  // Several blocks in one packet (RFC 4733 2.5.1.5) share the timestamp of the
  // first event, which is the one that matters here.
  if (payload.empty() || payload.size() % kEventBlock != 0) return {DtmfOutcome::bad_length};
  const std::optional<char> digit = dtmf_event_digit(payload[0]);
  if (!digit) return {DtmfOutcome::unknown_event};
  if (seen_) {
    const auto ahead = static_cast<int32_t>(rtp_timestamp - last_timestamp_);  // serial arithmetic: wraps
    if (ahead == 0) return {DtmfOutcome::repeat};
    if (ahead < 0) return {DtmfOutcome::stale};
  }
  seen_ = true;
  last_timestamp_ = rtp_timestamp;
  return {DtmfOutcome::digit, *digit};
}

std::optional<char> parse_dtmf_relay(std::string_view body) {
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view{} : body.substr(eol + 1);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos && iequals(trim(line.substr(0, eq)), "Signal")) {
      return key(line.substr(eq + 1));  // trim() takes the '\r' of CRLF with the spaces
    }
  }
  return std::nullopt;
}

std::optional<char> parse_dtmf(std::string_view body) { return key(body); }

}  // namespace tandem::attendant
