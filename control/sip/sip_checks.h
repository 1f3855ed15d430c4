// What a request must be before the call server acts on it: the checks of RFC
// 3261 section 8.2 (and 16.3 for Max-Forwards) in the order RFC 4475 expects
// them, on a message sofia-sip has parsed. Pure: the unit tests run them on
// RFC 4475's messages without a network.
#pragma once

#include <string>
#include <string_view>

#include <sofia-sip/sip.h>
#include <sofia-sip/su_alloc.h>

namespace tandem::control {

// The methods we serve; the Allow header of 405s and of our OPTIONS answer.
inline constexpr std::string_view kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";
// The option tags we support: none (no 100rel, timer, replaces...: a request
// that requires one gets 420). Our OPTIONS answer says so with an empty
// Supported header, which RFC 3261 11.2 asks for and 20.37 allows.
inline constexpr std::string_view kSupported = "";

struct Refusal {
  int status = 0;               // 0: acceptable
  std::string phrase;
  std::string why;              // for the log, and a Warning header
  std::string unsupported;      // 420: the Unsupported header
  explicit operator bool() const { return status != 0; }
};

// Whose extensions a request must name only among ours (420): a user agent's
// (Require and Proxy-Require: the call server, a B2BUA; the SBC answering an
// OPTIONS itself), or a proxy's, which heeds Proxy-Require alone and must not
// refuse for Require (RFC 3261 16.3 item 6, 20.32: that is the far end's).
enum class CheckedAs { user_agent, proxy };

// Checks an out-of-dialog request (a new INVITE or an OPTIONS): syntax (400,
// 505; an IPv6 reference that is no IPv6 address in the Request-URI or a Via,
// or an IPv6 address without brackets in the Request-URI: RFC 5118), scheme (416), method (405, 501; 481 for in-dialog methods), loop
// fuse (483), extensions (420), body type (415), and for an INVITE, whose
// answer carries SDP, Accept (406; an OPTIONS answer has no body to refuse).
Refusal check_request(const sip_t* sip, CheckedAs as = CheckedAs::user_agent);

// The syntax checks of check_request alone (400, 505, 416): what any request
// must pass before it is acted on or sent on; with `every_header` false, a
// malformed header counts only if a proxy reads it (Via, Max-Forwards, Route,
// Proxy-Require and the dialog's identifiers).
Refusal check_syntax(const sip_t* sip, bool every_header = true);

// A request in a dialog that a proxy sends on: the headers it reads must
// parse (nta leaves Max-Forwards, Route and Proxy-Require to the application,
// and a malformed one must not go on), the rest go on unchanged (RFC 3261
// 16.3 item 1); and Proxy-Require (420).
Refusal check_forwarded(const sip_t* sip);

// A SIPS Request-URI: 416, as we have no TLS to keep it secure up to the
// target (RFC 3261 26.2.2: never sent on as sip:). Checked apart from
// check_request, as an INVITE refused here leaves a CDR.
Refusal refuse_sips(const sip_t* sip);

// The Warning header of our refusals: what an operator reads in a trace, and
// for SDP a warn-code of RFC 3261 section 20.43 that a user agent can act on.
std::string warning(const std::string& host, std::string_view why, uint16_t code = 399);

// A header value with its folds (CRLF and the whitespace around it) made one
// space each (RFC 3261 7.3.1), before it is sent on in a header of ours.
std::string unfold(std::string_view value);

// RFC 3261 section 16.3 item 4, for a B2BUA: a request of ours that came back
// carries our own Via (host and port).
bool loops_back(const sip_t* sip, std::string_view host, uint16_t port);

// The SDP of a request or response: an application/sdp body, or the
// application/sdp part of a multipart/mixed body (RFC 5621). Empty when there
// is none; `error` set when the body is not something we can read.
std::string sdp_body(su_home_t* home, const sip_t* sip, std::string& error);
// Whether a Content-Type (maybe absent) is `type`, case-insensitively (RFC 3261 7.3.1; parameters apart).
bool content_type_is(const sip_content_type_t* c, std::string_view type);

}  // namespace tandem::control
