#include "control/server/sdp_rewrite.h"

#include "control/server/su_home.h"

#include <arpa/inet.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/su_string.h>

#include <array>
#include <charconv>

namespace tandem::control {

std::string_view name(MediaMode m) {
  switch (m) {
    case MediaMode::sendrecv: return "sendrecv";
    case MediaMode::sendonly: return "sendonly";
    case MediaMode::recvonly: return "recvonly";
    case MediaMode::inactive: return "inactive";
  }
  return "?";
}

namespace {

// The start of every refusal of media that is not on IPv4 (see warn_code).
constexpr std::string_view kNotIPv4 = "SDP: only IPv4 media is relayed";

// Attributes that would let media bypass the relay (RFC 8839).
constexpr std::array<const char*, 6> kIceAttributes = {
    "candidate", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options", "end-of-candidates"};

bool is_anchorable(const sdp_media_t* m) {
  return m->m_type == sdp_media_audio && m->m_port != 0 && !m->m_rejected &&
         (m->m_proto == sdp_proto_rtp || m->m_proto == sdp_proto_srtp);
}

const sdp_media_t* audio_stream(const sdp_session_t* s) {
  for (const sdp_media_t* m = s->sdp_media; m; m = m->m_next)
    if (is_anchorable(m)) return m;
  return nullptr;
}

// The mode attributes are parsed and printed as written (sdp_f_mode_manual):
// sofia's own handling drops an explicit a=sendrecv, and endpoints that keep
// the previous direction when none is given would then never resume from hold.
// Rtpmaps too, as written: sdp_f_all_rtpmaps would add those of the static
// payload types, and "a=rtpmap:96 /0" for a dynamic one that had none.
constexpr int kParseFlags = sdp_f_mode_manual;
constexpr int kPrintFlags = sdp_f_mode_manual;

// A media-level direction wins over the session's (RFC 4566 section 6).
MediaMode mode_of(const sdp_session_t* s, const sdp_media_t* m) {
  switch (sdp_attribute_mode(m->m_attributes, sdp_attribute_mode(s->sdp_attributes, sdp_sendrecv))) {
    case sdp_inactive: return MediaMode::inactive;
    case sdp_sendonly: return MediaMode::sendonly;
    case sdp_recvonly: return MediaMode::recvonly;
    default: return MediaMode::sendrecv;
  }
}

bool parse_port(std::string_view s, uint16_t& port) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data() || v == 0 || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

sdp_session_t* parse_session(su_home_t* home, std::string_view body, std::string& error) {
  sdp_parser_t* parser = sdp_parse(home, body.data(), static_cast<issize_t>(body.size()), kParseFlags);
  if (const char* e = sdp_parsing_error(parser)) {
    error = std::string("SDP: ") + e;
    sdp_parser_free(parser);
    return nullptr;
  }
  // The parser owns the session: keep a copy in our home, free the parser.
  sdp_session_t* s = sdp_session_dup(home, sdp_session(parser));
  sdp_parser_free(parser);
  if (!s) error = "SDP: empty";
  return s;
}

// Empty if sofia cannot print it.
std::string print_session(su_home_t* home, const sdp_session_t* s) {
  sdp_printer_t* printer = sdp_print(home, s, nullptr, 0, kPrintFlags);
  std::string out;
  if (!sdp_printing_error(printer)) out.assign(sdp_message(printer), sdp_message_size(printer));
  sdp_printer_free(printer);
  return out;
}

// RFC 3264 section 6: an answer's m= line answers the offer's in the same
// place with the same media type and transport.
bool same_kind(const sdp_media_t* offered, const sdp_media_t* answered) {
  return su_casematch(offered->m_type_name, answered->m_type_name) &&
         su_casematch(offered->m_proto_name, answered->m_proto_name);
}

// The stream of an SDP that with_relay printed that the relay carries: the
// only one not refused. Its place in `index`.
const sdp_media_t* relayed_stream(const sdp_session_t* s, int& index) {
  index = 0;
  for (const sdp_media_t* m = s->sdp_media; m; m = m->m_next, ++index)
    if (m->m_port != 0) return m;
  return nullptr;
}

std::string describe(const sdp_media_t* m, int index) {
  return "m= line " + std::to_string(index + 1) + " (" + m->m_type_name + " " + m->m_proto_name + ")";
}

// The one difference that cannot be mended: the answer accepts the relayed
// stream elsewhere, or on another transport (RTP/SAVP for RTP/AVP).
bool answers_the_relayed_stream(const sdp_session_t* offer, const sdp_session_t* answer, std::string& error) {
  int offered_at = 0, answered_at = 0;
  const sdp_media_t* offered = relayed_stream(offer, offered_at);
  const sdp_media_t* answered = relayed_stream(answer, answered_at);
  if (offered && answered && offered_at == answered_at && same_kind(offered, answered)) return true;
  error = "SDP answer does not match the offer (RFC 3264): ";
  error += offered ? describe(offered, offered_at) + " offered" : std::string("nothing offered");
  error += answered ? ", " + describe(answered, answered_at) + " accepted" : std::string(", nothing accepted");
  return false;
}

// The offer's m= line refused: what an answer that lacks it means.
sdp_media_t* refused(su_home_t* h, const sdp_media_t* offered, sdp_session_t* answer) {
  sdp_media_t* m = sdp_media_dup(h, offered, answer);
  m->m_port = 0;
  m->m_rejected = 1;
  m->m_information = nullptr;
  m->m_connections = nullptr;
  m->m_bandwidths = nullptr;
  m->m_key = nullptr;
  m->m_attributes = nullptr;
  // The m= line keeps its formats (it needs one); as "predefined" their rtpmaps are not printed.
  for (sdp_rtpmap_t* rm = m->m_rtpmaps; rm; rm = rm->rm_next) {
    rm->rm_predef = 1;
    rm->rm_fmtp = nullptr;
  }
  return m;
}

// The answer's m= lines, one per offered line in the offer's order: its own
// where it has one of that kind (the relayed stream, or refused), the
// offered line refused where it lacks it or has another kind there; lines
// beyond the offer's are dropped, as nothing offered them.
sdp_media_t* conformed_streams(su_home_t* h, const sdp_session_t* offer, sdp_session_t* answer) {
  sdp_media_t* head = nullptr;
  sdp_media_t** tail = &head;
  const sdp_media_t* answered = answer->sdp_media;
  for (const sdp_media_t* offered = offer->sdp_media; offered; offered = offered->m_next) {
    sdp_media_t* m = answered && same_kind(offered, answered) ? sdp_media_dup(h, answered, answer)
                                                              : refused(h, offered, answer);
    m->m_next = nullptr;
    *tail = m;
    tail = &m->m_next;
    if (answered) answered = answered->m_next;
  }
  return head;
}

// The address the audio stream's author receives on: IPv4 only, as the relay
// has no IPv6 side.
bool read_address(const sdp_connection_t* c, uint32_t& ip, std::string& error) {
  if (!c || !c->c_address) {
    error = "SDP: the audio stream has no connection address";
    return false;
  }
  in_addr addr{};
  if (c->c_addrtype != sdp_addr_ip4 || inet_pton(AF_INET, c->c_address, &addr) != 1) {
    error = std::string(kNotIPv4) + ", not " + c->c_address;
    return false;
  }
  ip = addr.s_addr;
  return true;
}

bool read_endpoint(const sdp_session_t* s, MediaEndpoint& ep, std::string& error) {
  if (!s->sdp_media) {
    error = "SDP: no m= line (no media to relay)";
    return false;
  }
  const sdp_media_t* m = audio_stream(s);
  if (!m) {
    error = "SDP: no RTP audio stream";
    return false;
  }
  if (!read_address(m->m_connections ? m->m_connections : s->sdp_connection, ep.ip, error)) return false;
  if (m->m_port > 65535) {
    error = "SDP: audio port out of range";
    return false;
  }
  ep.rtp_port = static_cast<uint16_t>(m->m_port);
  ep.rtcp_mux = sdp_attribute_find(m->m_attributes, "rtcp-mux") != nullptr;
  ep.rtcp_port = ep.rtcp_mux ? ep.rtp_port : static_cast<uint16_t>(ep.rtp_port + 1);
  if (const sdp_attribute_t* a = sdp_attribute_find(m->m_attributes, "rtcp"); a && a->a_value && !ep.rtcp_mux) {
    std::string_view v = a->a_value;
    if (!parse_port(v.substr(0, v.find(' ')), ep.rtcp_port)) {
      error = std::string("SDP: bad a=rtcp: ") + a->a_value;
      return false;
    }
  }
  ep.mode = mode_of(s, m);
  // c=0.0.0.0 is RFC 2543's hold: the author receives nothing.
  if (ep.ip == 0 && ep.mode == MediaMode::sendrecv) ep.mode = MediaMode::sendonly;
  if (m->m_rtpmaps && m->m_rtpmaps->rm_rate >= 1000 && m->m_rtpmaps->rm_rate / 1000 <= 255)
    ep.clock_khz = static_cast<uint8_t>(m->m_rtpmaps->rm_rate / 1000);
  return true;
}

}  // namespace

uint16_t warn_code(std::string_view error) { return error.starts_with(kNotIPv4) ? 301 : 399; }

struct ParsedSdp::Impl {
  SuHome home;
  sdp_session_t* session = nullptr;  // in home
};

ParsedSdp::ParsedSdp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ParsedSdp::~ParsedSdp() = default;

std::unique_ptr<ParsedSdp> ParsedSdp::parse(std::string_view body, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->home = new_su_home();
  if (!impl->home) {
    error = "out of memory";
    return nullptr;
  }
  impl->session = parse_session(impl->home.get(), body, error);
  if (!impl->session) return nullptr;

  MediaEndpoint ep;
  if (!read_endpoint(impl->session, ep, error)) return nullptr;

  auto parsed = std::unique_ptr<ParsedSdp>(new ParsedSdp(std::move(impl)));
  parsed->endpoint_ = ep;
  return parsed;
}

std::string ParsedSdp::with_relay(std::string_view ip, uint16_t rtp_port) const {
  SuHome home = new_su_home();
  su_home_t* h = home.get();
  sdp_session_t* s = sdp_session_dup(h, impl_->session);
  const char* relay = su_strndup(h, ip.data(), static_cast<isize_t>(ip.size()));

  auto relay_connection = [&]() {
    auto* c = static_cast<sdp_connection_t*>(su_zalloc(h, sizeof(sdp_connection_t)));
    c->c_size = sizeof(sdp_connection_t);
    c->c_nettype = sdp_net_in;
    c->c_addrtype = sdp_addr_ip4;
    c->c_address = relay;
    return c;
  };

  if (s->sdp_origin) s->sdp_origin->o_address = relay_connection();
  s->sdp_connection = relay_connection();
  for (const char* ice : kIceAttributes)
    while (sdp_attribute_remove(&s->sdp_attributes, ice)) {}

  bool anchored = false;
  for (sdp_media_t* m = s->sdp_media; m; m = m->m_next) {
    if (anchored || !is_anchorable(m)) {
      // Refused (RFC 3264 section 6): only one audio stream goes through the relay.
      if (m->m_port != 0) m->m_port = 0;
      m->m_connections = nullptr;
      continue;
    }
    anchored = true;
    m->m_port = rtp_port;
    m->m_connections = nullptr;  // the session-level c= is the relay
    for (const char* ice : kIceAttributes)
      while (sdp_attribute_remove(&m->m_attributes, ice)) {}
    for (sdp_attribute_t* a = m->m_attributes; a; a = a->a_next) {
      if (std::string_view(a->a_name) != "rtcp") continue;
      bool mux = sdp_attribute_find(m->m_attributes, "rtcp-mux") != nullptr;
      a->a_value = su_sprintf(h, "%u", mux ? rtp_port : rtp_port + 1u);
    }
  }

  return print_session(h, s);
}

bool conform_answer(std::string_view offer, std::string& answer, std::string& error) {
  SuHome home = new_su_home();
  su_home_t* h = home.get();
  const sdp_session_t* o = parse_session(h, offer, error);
  sdp_session_t* a = o ? parse_session(h, answer, error) : nullptr;
  if (!a || !answers_the_relayed_stream(o, a, error)) return false;
  a->sdp_media = conformed_streams(h, o, a);
  std::string out = print_session(h, a);
  if (out.empty()) {
    error = "cannot print the SDP";
    return false;
  }
  answer = std::move(out);
  return true;
}

}  // namespace tandem::control
