#include "control/sip/sip_checks.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include <sofia-sip/msg_mime.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

namespace tandem::control {

namespace {

bool iequals(const char* a, std::string_view b) {
  return a && std::string_view(a).size() == b.size() && strncasecmp(a, b.data(), b.size()) == 0;
}

Refusal refuse(int status, std::string phrase, std::string why) {
  return Refusal{status, std::move(phrase), std::move(why), {}};
}

// The headers a proxy reads to send a request on (RFC 3261 16.3, 16.6); a
// malformed other header goes on unchanged, as 16.3 item 1's Date example says.
bool proxy_reads(const char* name) {
  for (const char* h : {"Via", "v", "Max-Forwards", "Route", "Proxy-Require", "Call-ID", "i", "CSeq", "From", "f",
                        "To", "t"})
    if (name && iequals(name, h)) return true;
  return false;
}

// sofia-sip keeps a header it could not parse on the error list; its class
// names it when the header was known (a second Content-Length, say).
std::string error_header_name(const sip_error_t* e) {
  const msg_hclass_t* c = e->er_common->h_class;
  return c && c->hc_name && *c->hc_name ? c->hc_name : "a header";
}

// RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool is_scheme(const char* s) {
  if (!s || !isalpha(static_cast<unsigned char>(*s))) return false;
  for (; *s; ++s)
    if (!isalnum(static_cast<unsigned char>(*s)) && *s != '+' && *s != '-' && *s != '.') return false;
  return true;
}

// RFC 5118 section 4: an IPv6 reference is an IPv6 address in brackets.
// sofia-sip's parser takes any hex digits, colons and dots between them.
// Without them (4.2 "ipv6-bad") no URI parses: our message class keeps such
// a host as written (sip_message_class.h), the only host with a colon.
bool bracketless_ipv6(const char* host) { return host && *host != '[' && std::strchr(host, ':'); }

bool valid_host(const char* host) {
  if (!host || *host != '[') return true;
  const std::string_view h(host);
  if (h.size() < 2 || h.back() != ']') return false;
  in6_addr a{};
  return inet_pton(AF_INET6, std::string(h.substr(1, h.size() - 2)).c_str(), &a) == 1;
}

bool vias_valid(const sip_via_t* via) {
  for (; via; via = via->v_next)
    if (!valid_host(via->v_host)) return false;
  return true;
}

bool is_sdp(const sip_content_type_t* c) { return content_type_is(c, "application/sdp"); }
bool is_multipart_mixed(const sip_content_type_t* c) { return content_type_is(c, "multipart/mixed"); }

// RFC 3261 section 8.2.2.3: the option tags we require the peer to know are
// none; every tag a request requires is unsupported.
std::string unsupported_tags(const sip_t* sip, CheckedAs as) {
  std::string tags;
  const msg_list_t* require = as == CheckedAs::user_agent ? sip->sip_require : nullptr;
  for (const msg_list_t* lists[] = {require, sip->sip_proxy_require}; const msg_list_t* l : lists)
    for (; l; l = l->k_next)
      for (const msg_param_t* item = l->k_items; item && *item; ++item) {
        if (!tags.empty()) tags += ", ";
        tags += *item;
      }
  return tags;
}

Refusal check_extensions(const sip_t* sip, CheckedAs as) {
  std::string tags = unsupported_tags(sip, as);
  if (tags.empty()) return {};
  Refusal r = refuse(420, "Bad Extension", "requires " + tags);
  r.unsupported = std::move(tags);
  return r;
}

bool accepts_sdp(const sip_accept_t* accept) {
  for (const sip_accept_t* a = accept; a; a = a->ac_next) {
    if (!a->ac_type) return true;  // an empty Accept: RFC 3261 20.1 "no body acceptable" applies to bodies we would send
    if (iequals(a->ac_type, "application/sdp") || iequals(a->ac_type, "application/*") || iequals(a->ac_type, "*/*"))
      return true;
  }
  return false;
}

}  // namespace

bool content_type_is(const sip_content_type_t* c, std::string_view type) { return c && iequals(c->c_type, type); }

Refusal check_syntax(const sip_t* sip, bool every_header) {
  const sip_request_t* rq = sip->sip_request;
  if (!rq) return refuse(400, "Bad Request", "not a request");
  // A request line only our message class could read (sip_message_class.h); nta answers it 400 itself.
  if (rq->rq_url->url_type == url_invalid)
    return refuse(400, "Bad Request", rq->rq_version && *rq->rq_version ? "malformed Request-URI" : "no request line");
  if (!iequals(rq->rq_version, "SIP/2.0"))
    return refuse(505, "Version Not Supported", std::string("protocol version ") + (rq->rq_version ? rq->rq_version : "?"));
  for (const sip_error_t* e = sip->sip_error; e; e = e->er_next)
    if (every_header || proxy_reads(e->er_name))
      return refuse(400, "Bad Request", "malformed " + (every_header ? error_header_name(e) : std::string(e->er_name)));
  if (!sip->sip_via || !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq)
    return refuse(400, "Bad Request", "missing a mandatory header (Via, From, To, Call-ID, CSeq)");
  if (sip->sip_cseq->cs_method != rq->rq_method ||
      (rq->rq_method == sip_method_unknown && !iequals(sip->sip_cseq->cs_method_name, rq->rq_method_name ? rq->rq_method_name : "")))
    return refuse(400, "Bad Request", "CSeq method does not match the request method");
  if (!vias_valid(sip->sip_via)) return refuse(400, "Bad Request", "a Via's IPv6 reference is no IPv6 address");
  const url_t* uri = rq->rq_url;
  if (!is_scheme(uri->url_scheme)) return refuse(400, "Bad Request", "malformed Request-URI");
  if (bracketless_ipv6(uri->url_host))
    return refuse(400, "Bad Request", "IPv6 reference without brackets in the Request-URI (RFC 5118 4.2)");
  if (!valid_host(uri->url_host)) return refuse(400, "Bad Request", "the Request-URI's IPv6 reference is no IPv6 address");
  // RFC 3261 section 19.1.5: headers are not allowed in a Request-URI (RFC 4475 escruri).
  if (uri->url_headers) return refuse(400, "Bad Request", "Request-URI carries headers");
  if (rq->rq_url->url_type != url_sip && rq->rq_url->url_type != url_sips && rq->rq_url->url_type != url_tel)
    return refuse(416, "Unsupported URI Scheme",
                  std::string("Request-URI scheme ") + (rq->rq_url->url_scheme ? rq->rq_url->url_scheme : "?"));
  return {};
}

Refusal check_forwarded(const sip_t* sip) {
  if (Refusal r = check_syntax(sip, false)) return r;
  return check_extensions(sip, CheckedAs::proxy);
}

Refusal check_request(const sip_t* sip, CheckedAs as) {
  if (Refusal r = check_syntax(sip)) return r;
  const sip_request_t* rq = sip->sip_request;
  switch (rq->rq_method) {
    case sip_method_invite:
    case sip_method_options:
      break;
    case sip_method_bye:
    case sip_method_cancel:
    case sip_method_info:
    case sip_method_prack:
    case sip_method_update:
      return refuse(481, "Call/Transaction Does Not Exist", "in-dialog request for no dialog of ours");
    case sip_method_unknown:
      return refuse(501, "Not Implemented", std::string("method ") + (rq->rq_method_name ? rq->rq_method_name : "?"));
    default:
      return refuse(405, "Method Not Allowed", std::string("method ") + rq->rq_method_name + ": we are no registrar, presence or messaging server");
  }

  if (rq->rq_method == sip_method_invite && sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
    return refuse(483, "Too Many Hops", "Max-Forwards is 0");

  if (Refusal r = check_extensions(sip, as)) return r;

  if (rq->rq_method == sip_method_invite && sip->sip_payload && sip->sip_payload->pl_len > 0 &&
      !is_sdp(sip->sip_content_type) && !is_multipart_mixed(sip->sip_content_type))
    return refuse(415, "Unsupported Media Type",
                  std::string("body of type ") +
                      (sip->sip_content_type && sip->sip_content_type->c_type ? sip->sip_content_type->c_type : "(none)"));

  if (rq->rq_method == sip_method_invite && sip->sip_accept && !accepts_sdp(sip->sip_accept))
    return refuse(406, "Not Acceptable", "Accept does not allow application/sdp");
  return {};
}

Refusal refuse_sips(const sip_t* sip) {
  if (sip->sip_request->rq_url->url_type != url_sips) return {};
  // 416 rather than RFC 5630's 480 with Warning 380 "SIPS Not Allowed": that one says the target
  // cannot be reached securely now; we cannot keep any request secure, ever (no TLS), which is
  // a scheme we do not support (RFC 3261 8.2.2.1; RFC 5630 keeps 416 for a UAS without SIPS).
  return refuse(416, "Unsupported URI Scheme", "sips: Request-URI but no TLS here to keep it secure");
}

std::string unfold(std::string_view value) {
  auto is_lws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\r' && value[i] != '\n') {
      out += value[i];
      continue;
    }
    while (!out.empty() && is_lws(out.back())) out.pop_back();
    while (i + 1 < value.size() && is_lws(value[i + 1])) ++i;
    out += ' ';
  }
  return out;
}

bool loops_back(const sip_t* sip, std::string_view host, uint16_t port) {
  for (const sip_via_t* v = sip->sip_via; v; v = v->v_next) {
    const unsigned vport = v->v_port ? static_cast<unsigned>(std::atoi(v->v_port)) : 5060u;
    if (v->v_host && host == v->v_host && vport == port) return true;
  }
  return false;
}

std::string sdp_body(su_home_t* home, const sip_t* sip, std::string& error) {
  const sip_payload_t* pl = sip->sip_payload;
  if (!pl || pl->pl_len == 0) return {};
  if (is_sdp(sip->sip_content_type)) return std::string(pl->pl_data, pl->pl_len);
  if (!is_multipart_mixed(sip->sip_content_type)) {
    error = "body is not application/sdp";
    return {};
  }
  // msg_multipart_parse takes a non-const payload but only reads it.
  msg_multipart_t* parts = msg_multipart_parse(home, sip->sip_content_type, const_cast<sip_payload_t*>(pl));
  if (!parts) {
    error = "multipart body does not parse";
    return {};
  }
  for (msg_multipart_t* mp = parts; mp; mp = mp->mp_next)
    if (is_sdp(mp->mp_content_type) && mp->mp_payload)
      return std::string(mp->mp_payload->pl_data, mp->mp_payload->pl_len);
  error = "multipart body has no application/sdp part";
  return {};
}

std::string warning(const std::string& host, std::string_view why, uint16_t code) {
  std::string text(why.substr(0, 200));
  std::replace(text.begin(), text.end(), '"', '\'');
  return fmt::format("{} {} \"{}\"", code, host, text);
}

}  // namespace tandem::control
