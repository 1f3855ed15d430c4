#include "control/server/attendant_sdp.h"

#include <fmt/format.h>
#include <strings.h>

#include <charconv>
#include <optional>
#include <vector>

namespace tandem::control {
namespace {

std::vector<std::string_view> lines_of(std::string_view sdp) {
  std::vector<std::string_view> out;
  while (!sdp.empty()) {
    const size_t end = sdp.find('\n');
    std::string_view line = sdp.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (end == std::string_view::npos) break;
    sdp.remove_prefix(end + 1);
  }
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<int> number(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool names(std::string_view rtpmap_tail, std::string_view encoding) {
  // "0 PCMU/8000" after "a=rtpmap:": the encoding name is case-insensitive (RFC 4855 3).
  const auto w = words(rtpmap_tail);
  if (w.size() < 2) return false;
  const std::string_view enc = w[1].substr(0, w[1].find('/'));
  const std::string_view rate = w[1].substr(w[1].find('/') == std::string_view::npos ? w[1].size() : w[1].find('/') + 1);
  return enc.size() == encoding.size() && strncasecmp(enc.data(), encoding.data(), enc.size()) == 0 &&
         rate.substr(0, rate.find('/')) == "8000";
}

struct AudioStream {
  size_t m_line = 0;                   // index in the lines
  std::vector<int> formats;
  std::vector<std::string_view> rtpmaps;  // "PT ENC/RATE", of this stream
};

std::optional<AudioStream> first_audio(const std::vector<std::string_view>& lines) {
  std::optional<AudioStream> s;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with("m=")) {
      if (s) break;
      const auto w = words(lines[i].substr(2));
      if (w.size() < 4 || w[0] != "audio" || w[1] == "0" || !w[2].starts_with("RTP/")) continue;
      s.emplace();
      s->m_line = i;
      for (size_t f = 3; f < w.size(); ++f)
        if (auto pt = number(w[f])) s->formats.push_back(*pt);
    } else if (s && lines[i].starts_with("a=rtpmap:")) {
      s->rtpmaps.push_back(lines[i].substr(9));
    }
  }
  return s;
}

std::string media_lines(const AttendantCodecs& c, uint16_t port) {
  const int law = static_cast<int>(c.codec);
  std::string m = fmt::format("m=audio {} RTP/AVP {}", port, law);
  if (c.telephone_event_pt >= 0) m += fmt::format(" {}", c.telephone_event_pt);
  m += fmt::format("\r\na=rtpmap:{} {}/8000\r\n", law, c.codec == attendant::Codec::pcmu ? "PCMU" : "PCMA");
  if (c.telephone_event_pt >= 0)
    m += fmt::format("a=rtpmap:{0} telephone-event/8000\r\na=fmtp:{0} 0-15\r\n", c.telephone_event_pt);
  return m + "a=ptime:20\r\na=sendrecv\r\n";
}

std::string session_lines(std::string_view ip, uint64_t session_id) {
  return fmt::format("v=0\r\no=tandem {0} {0} IN IP4 {1}\r\ns=tandem\r\nc=IN IP4 {1}\r\nt=0 0\r\n", session_id, ip);
}

}  // namespace

bool choose_codecs(std::string_view offer, AttendantCodecs& out, std::string& error) {
  const auto lines = lines_of(offer);
  const auto audio = first_audio(lines);
  if (!audio) {
    error = "no RTP audio stream offered";
    return false;
  }
  auto mapped = [&](int pt, std::string_view encoding) {
    for (std::string_view r : audio->rtpmaps) {
      const auto w = words(r);
      if (!w.empty() && number(w[0]) == pt && names(r, encoding)) return true;
    }
    return false;
  };
  bool found = false;
  for (int pt : audio->formats) {
    // The laws on their static payload types (RFC 3551 6), which is how the prompts are sent.
    if (!found && (pt == 0 || pt == 8)) {
      out.codec = pt == 0 ? attendant::Codec::pcmu : attendant::Codec::pcma;
      found = true;
    }
    if (out.telephone_event_pt < 0 && pt >= 96 && pt <= 127 && mapped(pt, "telephone-event")) out.telephone_event_pt = pt;
  }
  if (!found) error = "the attendant plays PCMU or PCMA: neither is offered";
  return found;
}

std::string attendant_answer(std::string_view offer, const AttendantCodecs& codecs, std::string_view ip,
                             uint16_t port, uint64_t session_id) {
  const auto lines = lines_of(offer);
  const auto audio = first_audio(lines);
  std::string out = session_lines(ip, session_id);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("m=")) continue;
    if (audio && i == audio->m_line) {
      out += media_lines(codecs, port);
      continue;
    }
    const auto w = words(lines[i].substr(2));
    out += fmt::format("m={} 0 {} {}\r\n", w.size() > 0 ? w[0] : "audio", w.size() > 2 ? w[2] : "RTP/AVP",
                       w.size() > 3 ? w[3] : "0");
  }
  return out;
}

std::string attendant_offer(const AttendantCodecs& codecs, std::string_view ip, uint16_t port, uint64_t session_id) {
  return session_lines(ip, session_id) + media_lines(codecs, port);
}

std::string attendant_delayed_offer(std::string_view ip, uint16_t port, uint64_t session_id) {
  return session_lines(ip, session_id) +
         fmt::format("m=audio {0} RTP/AVP 0 8 {1}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                     "a=rtpmap:{1} telephone-event/8000\r\na=fmtp:{1} 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
                     port, kOfferedTelephoneEvent);
}

}  // namespace tandem::control
