#include "control/sip/sip_message_class.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/url.h>

namespace tandem::control {

namespace {

constexpr std::string_view kWhitespace = " \t";

char* dup(su_home_t* home, std::string_view s) { return su_strndup(home, s.data(), static_cast<isize_t>(s.size())); }

void clear_url(sip_request_t* rq) {
  std::memset(rq->rq_url, 0, sizeof rq->rq_url);
  rq->rq_url->url_type = url_invalid;
}

// The host of `uri` when it is an IPv6 address written without brackets
// (RFC 5118 4.2: a sip: URI's IPv6 reference has them); empty otherwise.
std::string_view bare_ipv6_host(std::string_view uri) {
  const size_t scheme = uri.find(':');
  if (scheme == std::string_view::npos) return {};
  const std::string_view rest = uri.substr(scheme + 1);
  const size_t at = rest.substr(0, rest.find('?')).rfind('@');
  const size_t start = at == std::string_view::npos ? 0 : at + 1;
  const size_t end = rest.find_first_of(";?", start);
  const std::string_view host = rest.substr(start, end == std::string_view::npos ? end : end - start);
  if (host.empty() || host.front() == '[' || std::count(host.begin(), host.end(), ':') < 2) return {};
  in6_addr address{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1 ? host : std::string_view{};
}

// The Request-URI of a request line sofia-sip refused: parsed if it can be;
// an IPv6 host without brackets kept as written; url_invalid otherwise.
void read_uri(su_home_t* home, sip_request_t* rq, std::string_view uri) {
  clear_url(rq);
  if (uri.empty() || uri.find_first_of(kWhitespace) != std::string_view::npos) return;
  if (url_d(rq->rq_url, dup(home, uri)) == 0) return;
  clear_url(rq);
  const std::string_view host = bare_ipv6_host(uri);
  if (host.empty()) return;
  const size_t at = static_cast<size_t>(host.data() - uri.data());
  const std::string bracketed =
      std::string(uri.substr(0, at)) + "[" + std::string(host) + "]" + std::string(uri.substr(at + host.size()));
  if (url_d(rq->rq_url, dup(home, bracketed)) == 0)
    rq->rq_url->url_host = dup(home, host);  // as written: check_request refuses it
  else
    clear_url(rq);
}

enum class Line { request, unreadable_method, no_request_line };

// RFC 3261 25.1: Request-Line = Method SP Request-URI SP SIP-Version, with
// anything between the method and the version taken as the Request-URI.
Line lenient_request_line(su_home_t* home, sip_request_t* rq, std::string_view line) {
  line = line.substr(0, line.find_last_not_of(kWhitespace) + 1);
  const size_t method_end = line.find_first_of(kWhitespace);
  if (method_end == std::string_view::npos) return Line::no_request_line;
  const size_t version_start = line.find_last_of(kWhitespace) + 1;
  char* version = dup(home, line.substr(version_start));
  char const* version_name = nullptr;
  if (!version || sip_version_d(&version, &version_name) < 0 || *version) return Line::no_request_line;
  char* method = dup(home, line.substr(0, method_end));
  char const* method_name = nullptr;
  const sip_method_t code = method ? sip_method_d(&method, &method_name) : sip_method_invalid;
  if (code == sip_method_invalid || *method) return Line::unreadable_method;
  rq->rq_method = code;
  rq->rq_method_name = method_name;
  rq->rq_version = version_name;
  std::string_view uri = line.substr(method_end, version_start - method_end);
  uri.remove_prefix(std::min(uri.find_first_not_of(kWhitespace), uri.size()));
  uri = uri.substr(0, uri.find_last_not_of(kWhitespace) + 1);
  read_uri(home, rq, uri);
  return Line::request;
}

// The request line's parser in our class (msg_hclass_t's hc_parse).
issize_t request_line_d(su_home_t* home, msg_header_t* h, char* s, isize_t slen) {
  const std::string line(s, static_cast<size_t>(slen));  // sip_request_d writes into s
  if (sip_request_d(home, h, s, slen) == 0) return 0;
  auto* rq = reinterpret_cast<sip_request_t*>(h);
  rq->rq_method = sip_method_invalid;
  rq->rq_method_name = nullptr;
  rq->rq_version = nullptr;
  clear_url(rq);
  switch (lenient_request_line(home, rq, line)) {
    case Line::request:
      return 0;
    case Line::unreadable_method:
      return -1;
    case Line::no_request_line:
      break;
  }
  // Bytes that start no message. sofia-sip calls a class's request-line parser
  // only from msg_extract (msg_parser.c, extract_first) with msg_home(msg),
  // which is the message itself (msg.h: #define msg_home(h) ((su_home_t*)(h))).
  // Marked broken, the message ends with what has arrived (no waiting for an
  // empty line) and nta answers or closes as for any broken request.
  rq->rq_method = sip_method_unknown;
  rq->rq_method_name = "";
  rq->rq_version = "";
  msg_set_flags(reinterpret_cast<msg_t*>(home), MSG_FLG_ERROR);
  return 0;
}

// msg_hclass_t is const: the copy is made once, in make_class.
struct msg_hclass_s request_class;

msg_mclass_t* make_class() {
  // sofia-sip's class, copied; the copy's request line is sofia's class but
  // for the parser. The request line is placed by its hash, not its class
  // pointer (msg_parser.c, msg_hclass_offset), so sofia's own request lines,
  // made by nta for its requests, still find their place in our messages.
  msg_mclass_t* mc = msg_mclass_clone(sip_default_mclass(), 0, 0);
  if (!mc) return nullptr;
  request_class = *sip_request_class;
  request_class.hc_parse = request_line_d;
  mc->mc_request[0].hr_class = &request_class;
  return mc;
}

}  // namespace

const msg_mclass_t* sip_message_class() {
  static const msg_mclass_t* const mc = make_class();
  return mc;
}

}  // namespace tandem::control
