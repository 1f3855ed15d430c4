// The message class the call server's SIP stack parses with: sofia-sip's own,
// but for its request line. sofia-sip's parser gives up on a message whose
// first line it cannot read, and nta drops what is no request or response
// without a word (nta.c agent_recv_garbage), before any code of ours sees it.
// With this class the first line is read in three steps:
//
// - sofia-sip's own request line, when it parses (every well-formed request);
// - `METHOD SP anything SP SIP/x.y`, for a method sofia-sip can read: the
//   Request-URI as far as it goes. An IPv6 address without its brackets
//   (RFC 5118 4.2 "ipv6-bad") is kept as the host, unbracketed, which no URI
//   sofia-sip parses ever has: check_request answers 400. Any other URI that
//   does not parse is `url_invalid`, which nta itself answers 400 (its
//   sanity check) when the request has a Via;
// - anything else is bytes that start no message (on a stream: after the
//   previous message's Content-Length, RFC 3261 18.3): a request line with
//   `url_invalid` and the message marked broken, so that nta answers 400 when
//   a Via follows and, on TCP, closes the connection (or sends FIN when
//   there is nothing to answer), where it would have stalled the connection.
//
// A request line whose method sofia-sip cannot read (RFC 4475 intmeth) still
// fails: its CSeq could not be read either, and nta would answer 400 to a
// request the RFC calls valid.
#pragma once

#include <sofia-sip/msg_types.h>

namespace tandem::control {

// Built once, never freed; for NTATAG_MCLASS and msg_make.
const msg_mclass_t* sip_message_class();

}  // namespace tandem::control
