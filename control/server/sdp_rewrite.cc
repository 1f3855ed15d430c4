#include "control/server/sdp_rewrite.h"

#include "control/server/su_home.h"

#include <arpa/inet.h>
#include <sofia-sip/sdp.h>

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

MediaMode mode_of(unsigned m) {
  switch (m) {
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

}  // namespace

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
  sdp_parser_t* parser = sdp_parse(impl->home.get(), body.data(), static_cast<issize_t>(body.size()), 0);
  if (const char* e = sdp_parsing_error(parser)) {
    error = std::string("SDP: ") + e;
    sdp_parser_free(parser);
    return nullptr;
  }
  // The parser owns the session: keep a copy in our home, free the parser.
  impl->session = sdp_session_dup(impl->home.get(), sdp_session(parser));
  sdp_parser_free(parser);
  if (!impl->session) {
    error = "SDP: empty";
    return nullptr;
  }

  const sdp_media_t* m = audio_stream(impl->session);
  if (!m) {
    error = "SDP: no RTP audio stream";
    return nullptr;
  }
  const sdp_connection_t* c = m->m_connections ? m->m_connections : impl->session->sdp_connection;
  if (!c || !c->c_address) {
    error = "SDP: the audio stream has no connection address";
    return nullptr;
  }
  if (c->c_addrtype != sdp_addr_ip4) {
    error = "SDP: only IPv4 media is relayed";
    return nullptr;
  }
  MediaEndpoint ep;
  in_addr addr{};
  if (inet_pton(AF_INET, c->c_address, &addr) != 1) {
    error = std::string("SDP: connection address is not an IPv4 address: ") + c->c_address;
    return nullptr;
  }
  ep.ip = addr.s_addr;
  if (m->m_port > 65535) {
    error = "SDP: audio port out of range";
    return nullptr;
  }
  ep.rtp_port = static_cast<uint16_t>(m->m_port);
  ep.rtcp_mux = sdp_attribute_find(m->m_attributes, "rtcp-mux") != nullptr;
  ep.rtcp_port = ep.rtcp_mux ? ep.rtp_port : static_cast<uint16_t>(ep.rtp_port + 1);
  if (const sdp_attribute_t* a = sdp_attribute_find(m->m_attributes, "rtcp"); a && a->a_value && !ep.rtcp_mux) {
    std::string_view v = a->a_value;
    if (!parse_port(v.substr(0, v.find(' ')), ep.rtcp_port)) {
      error = std::string("SDP: bad a=rtcp: ") + a->a_value;
      return nullptr;
    }
  }
  ep.mode = mode_of(m->m_mode);
  // c=0.0.0.0 is RFC 2543's hold: the author receives nothing.
  if (ep.ip == 0 && ep.mode == MediaMode::sendrecv) ep.mode = MediaMode::sendonly;
  if (m->m_rtpmaps && m->m_rtpmaps->rm_rate >= 1000 && m->m_rtpmaps->rm_rate / 1000 <= 255)
    ep.clock_khz = static_cast<uint8_t>(m->m_rtpmaps->rm_rate / 1000);

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

  sdp_printer_t* printer = sdp_print(h, s, nullptr, 0, sdp_f_all_rtpmaps);
  std::string out;
  if (!sdp_printing_error(printer)) out.assign(sdp_message(printer), sdp_message_size(printer));
  sdp_printer_free(printer);
  return out;
}

}  // namespace tandem::control
