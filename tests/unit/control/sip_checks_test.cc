// RFC 4475's torture messages through sofia-sip's parser (with our message
// class, control/sip/sip_message_class.h) and our request checks: every
// message gets the answer the RFC asks for (or, where it allows either, the
// one we chose), and none crashes.
#include "control/sip/sip_checks.h"

#include <gtest/gtest.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_parser.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "control/sip/sip_message_class.h"
#include "control/server/su_home.h"

namespace tandem::control {
namespace {

std::string corpus_dir() {
  const char* d = std::getenv("RFC4475_DIR");
  return d ? d : "tests/data/rfc4475";
}

std::string read(const std::string& name) {
  std::ifstream in(corpus_dir() + "/" + name + ".dat", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Parsed {
  msg_t* msg = nullptr;
  sip_t* sip = nullptr;
  ~Parsed() { msg_destroy(msg); }
};

// As the call server's stack parses (sip_message_class), or as sofia-sip's own class would.
void parse(const std::string& text, Parsed& p, const msg_mclass_t* mclass = sip_message_class()) {
  p.msg = msg_make(mclass, 0, text.data(), static_cast<isize_t>(text.size()));
  p.sip = p.msg ? sip_object(p.msg) : nullptr;
}

// What a request's checks answer: 0 when it goes on to routing. Responses and
// what does not parse into a request are dropped ("drop", -1).
constexpr int kDrop = -1;
const std::map<std::string, int> kExpected = {
    // 3.1.1: valid, parsed and processed.
    {"wsinv", 0}, {"esc01", 0}, {"lwsdisp", 0}, {"longreq", 0}, {"semiuri", 0},
    {"transports", 0}, {"inv2543", 0}, {"trws", 0},
    {"escnull", 405}, {"esc02", 501},         // REGISTER (no registrar here); RE%47IST%45R is an unknown method
    {"dblreq", 405},                          // the first REGISTER; the trailing octets are not a message
    {"mpart01", 405},                         // a valid MESSAGE: not a method we serve
    {"unreason", kDrop}, {"noreason", kDrop},  // responses: no transaction of ours
    // 3.1.2: invalid.
    {"badinv01", 400}, {"ncl", 400}, {"scalar02", 400}, {"quotbal", 400}, {"ltgtruri", 400},
    {"lwsruri", 400},                         // no request line to sofia-sip; ours reads a malformed Request-URI
    {"escruri", 400}, {"regbadct", 400}, {"baddn", 400}, {"mismatch01", 400}, {"mismatch02", 400},
    {"badvers", 505}, {"baddate", 400},
    {"scalarlg", kDrop}, {"bigcode", kDrop},
    // Tolerated as the RFC allows: sofia-sip's parser accepts the stray spaces.
    {"badaspec", 0}, {"lwsstart", 0},
    // 3.1.3, 3.1.4: semantics.
    {"badbranch", 0}, {"insuf", 400}, {"unkscm", 416}, {"novelsc", 416}, {"unksm2", 405},
    {"bext01", 420}, {"invut", 415}, {"regaut01", 405}, {"multi01", 400}, {"mcl01", 400},
    {"bcast", kDrop}, {"zeromf", 0},  // an OPTIONS we answer ourselves: not forwarded
    {"cparam01", 405}, {"cparam02", 405}, {"regescrt", 405}, {"sdp01", 406},
};

TEST(SipChecks, EveryRfc4475MessageGetsItsAnswer) {
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    if (entry.path().extension() != ".dat") continue;
    std::string name = entry.path().stem().string();
    if (name == "intmeth" || name == "clerr") continue;  // below
    ++seen;
    SCOPED_TRACE(name);
    auto it = kExpected.find(name);
    ASSERT_NE(it, kExpected.end()) << "no expectation for " << name;
    Parsed p;
    parse(read(name), p);
    ASSERT_NE(p.sip, nullptr);
    if (!p.sip->sip_request) {
      EXPECT_EQ(it->second, kDrop);
      continue;
    }
    Refusal r = check_request(p.sip);
    EXPECT_EQ(r.status, it->second) << r.why;
    if (r) {
      EXPECT_FALSE(r.phrase.empty());
      EXPECT_FALSE(r.why.empty());
    }
  }
  EXPECT_EQ(seen, kExpected.size());
}

TEST(SipChecks, UnsupportedExtensionsAreListed) {
  Parsed p;
  parse(read("bext01"), p);
  Refusal r = check_request(p.sip);
  EXPECT_EQ(r.status, 420);
  EXPECT_NE(r.unsupported.find("nothingSupportsThis"), std::string::npos);
  EXPECT_NE(r.unsupported.find("noProxiesSupportThis"), std::string::npos);
}

// Two messages the transport layer answers or drops before any check
// (tests/integration/sip covers them over UDP and TCP): intmeth's method,
// legal but beyond sofia-sip's reading (its CSeq's too), and clerr's
// Content-Length beyond the datagram. Here: they do not crash the parser.
TEST(SipChecks, UnparseableRequestLinesDoNotCrash) {
  for (const char* name : {"intmeth", "clerr"}) {
    SCOPED_TRACE(name);
    Parsed p;
    parse(read(name), p);
    if (p.sip && p.sip->sip_request) (void)check_request(p.sip);
  }
}

std::string invite(const std::string& extra_headers, const std::string& body = "") {
  std::string m =
      "INVITE sip:+4930123456@198.18.0.10 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK-1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:+4940111@198.18.0.1>;tag=a\r\n"
      "To: <sip:+4930123456@198.18.0.10>\r\n"
      "Call-ID: c1@198.18.0.1\r\n"
      "CSeq: 1 INVITE\r\n" +
      extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return m;
}

TEST(SipChecks, MaxForwardsZeroOnAnInviteIsTooManyHops) {
  std::string m = invite("");
  m.replace(m.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  Parsed p;
  parse(m, p);
  EXPECT_EQ(check_request(p.sip).status, 483);
}

// RFC 3261 16.3 item 6 and 20.32: a proxy heeds Proxy-Require only; Require is for the far end.
TEST(SipChecks, AProxyIgnoresRequireButNotProxyRequire) {
  Parsed far_end;
  parse(invite("Require: timer\r\n"), far_end);
  EXPECT_FALSE(check_request(far_end.sip, CheckedAs::proxy)) << check_request(far_end.sip, CheckedAs::proxy).why;
  EXPECT_EQ(check_request(far_end.sip).status, 420);  // as its user agent
  Parsed ours;
  parse(invite("Proxy-Require: fancy\r\n"), ours);
  const Refusal r = check_request(ours.sip, CheckedAs::proxy);
  EXPECT_EQ(r.status, 420);
  EXPECT_EQ(r.unsupported, "fancy");
}

// An OPTIONS answer has no body, so no Accept can make it unacceptable (sipsak sends text/plain).
TEST(SipChecks, AcceptIsAnInvitesMatterOnly) {
  std::string options = invite("Accept: text/plain\r\n");
  options.replace(0, 6, "OPTIONS");  // the request line's method
  options.replace(options.find("1 INVITE"), 8, "1 OPTIONS");
  Parsed p;
  parse(options, p);
  EXPECT_FALSE(check_request(p.sip)) << check_request(p.sip).why;
  Parsed inv;
  parse(invite("Accept: text/plain\r\n"), inv);
  EXPECT_EQ(check_request(inv.sip).status, 406);
}

// In a dialog a proxy sends on what parses and needs nothing of it; nta leaves Max-Forwards,
// Route and Proxy-Require to us.
TEST(SipChecks, AForwardedRequestMustParseAndRequireNothingOfTheProxy) {
  std::string bye = invite("");
  bye.replace(0, 6, "BYE");
  bye.replace(bye.find("1 INVITE"), 8, "2 BYE");
  bye.replace(bye.find("To: <sip:+4930123456@198.18.0.10>"), 34, "To: <sip:+4930123456@198.18.0.10>;tag=b");
  Parsed good;
  parse(bye, good);
  EXPECT_FALSE(check_forwarded(good.sip)) << check_forwarded(good.sip).why;
  std::string broken = bye;
  broken.replace(broken.find("Max-Forwards: 70"), 16, "Max-Forwards: x");
  Parsed bad;
  parse(broken, bad);
  EXPECT_EQ(check_forwarded(bad.sip).status, 400);
  // A malformed header the proxy does not read goes on unchanged (RFC 3261 16.3 item 1).
  std::string odd = bye;
  odd.insert(odd.find("Content-Length"), "Expires: soon\r\n");
  Parsed other;
  parse(odd, other);
  ASSERT_NE(other.sip->sip_error, nullptr) << "sofia-sip reads Expires: the case needs a malformed one";
  EXPECT_FALSE(check_forwarded(other.sip)) << check_forwarded(other.sip).why;
  EXPECT_EQ(check_syntax(other.sip).status, 400);
  std::string extension = bye;
  extension.insert(extension.find("Content-Length"), "Proxy-Require: nosuch\r\nRequire: timer\r\n");
  Parsed ext;
  parse(extension, ext);
  EXPECT_EQ(check_forwarded(ext.sip).status, 420);
  EXPECT_EQ(check_forwarded(ext.sip).unsupported, "nosuch");
}

TEST(SipChecks, AGoodInvitePasses) {
  Parsed p;
  parse(invite("Content-Type: application/sdp\r\n", "v=0\r\n"), p);
  EXPECT_FALSE(check_request(p.sip)) << check_request(p.sip).why;
}

TEST(SipChecks, OurOwnViaIsALoop) {
  std::string m = invite("");
  m.insert(m.find("Via:"), "Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK-ours\r\n");
  Parsed p;
  parse(m, p);
  EXPECT_TRUE(loops_back(p.sip, "198.18.0.10", 5060));
  EXPECT_FALSE(loops_back(p.sip, "198.18.0.10", 5070));
  EXPECT_FALSE(loops_back(p.sip, "198.18.0.11", 5060));
}

TEST(SipChecks, ByeOutsideADialogIs481) {
  std::string m = invite("");
  m.replace(0, 6, "BYE");
  m.replace(m.find("1 INVITE"), 8, "1 BYE");
  Parsed p;
  parse(m, p);
  EXPECT_EQ(check_request(p.sip).status, 481);
}

TEST(SipChecks, SdpFromAMultipartBody) {
  std::string body =
      "--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
      "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 198.18.0.1\r\n--b1--\r\n";
  Parsed p;
  parse(invite("Content-Type: multipart/mixed;boundary=b1\r\n", body), p);
  ASSERT_FALSE(check_request(p.sip)) << check_request(p.sip).why;
  SuHome home = new_su_home();
  std::string error;
  std::string sdp = sdp_body(home.get(), p.sip, error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(sdp.rfind("v=0\r\no=- 1 1 IN IP4 198.18.0.1", 0), 0u) << sdp;
}

TEST(SipChecks, ABodyOfAnotherTypeIsNoSdp) {
  Parsed p;
  parse(invite("Content-Type: text/plain\r\n", "hi"), p);
  EXPECT_EQ(check_request(p.sip).status, 415);
  SuHome home = new_su_home();
  std::string error;
  EXPECT_EQ(sdp_body(home.get(), p.sip, error), "");
  EXPECT_FALSE(error.empty());
}

std::string with_request_uri(const std::string& uri) {
  std::string m = invite("");
  m.replace(m.find("sip:+4930123456@198.18.0.10"), 27, uri);
  return m;
}

TEST(SipChecks, ASipsRequestUriIsRefusedNotDowngraded) {
  Parsed sips;
  parse(with_request_uri("sips:+4930123456@198.18.0.10"), sips);
  ASSERT_FALSE(check_request(sips.sip)) << check_request(sips.sip).why;
  const Refusal r = refuse_sips(sips.sip);
  EXPECT_EQ(r.status, 416);
  EXPECT_FALSE(r.why.empty());
  Parsed sip;
  parse(invite(""), sip);
  EXPECT_FALSE(refuse_sips(sip.sip));
}

TEST(SipChecks, AnIpv6ReferenceThatIsNoIpv6AddressIs400) {
  Parsed good;
  parse(with_request_uri("sip:+4930123456@[2001:db8::10]"), good);
  EXPECT_FALSE(check_request(good.sip)) << check_request(good.sip).why;

  Parsed bad_uri;
  parse(with_request_uri("sip:+4930123456@[2001:db8:::10]"), bad_uri);
  EXPECT_EQ(check_request(bad_uri.sip).status, 400);

  std::string m = invite("");
  m.replace(m.find("198.18.0.1:5060;branch"), 15, "[2001:db8:::9:1]");
  Parsed bad_via;
  parse(m, bad_via);
  ASSERT_NE(bad_via.sip->sip_via, nullptr);  // sofia-sip takes it: ours to refuse
  EXPECT_EQ(check_request(bad_via.sip).status, 400);
}

// RFC 5118 4.2 (ipv6-bad), an IPv6 address without brackets: sofia-sip's own
// parser finds no request line (and nta drops what is no request without a
// callback); our message class keeps the address as the host, and it is 400.
TEST(SipChecks, Rfc5118Ipv6BadIs400) {
  Parsed sofia;
  parse(with_request_uri("sip:user@2001:db8::10"), sofia, sip_default_mclass());
  ASSERT_NE(sofia.sip, nullptr);
  EXPECT_EQ(sofia.sip->sip_request, nullptr);

  for (const char* uri : {"sip:user@2001:db8::10", "sip:2001:db8::10", "sip:user@2001:db8::10;transport=udp",
                          "sips:+4930123456@::1"}) {
    SCOPED_TRACE(uri);
    Parsed p;
    parse(with_request_uri(uri), p);
    ASSERT_NE(p.sip->sip_request, nullptr);
    EXPECT_EQ(p.sip->sip_error, nullptr);
    EXPECT_EQ(p.sip->sip_request->rq_method, sip_method_invite);
    const Refusal r = check_request(p.sip);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.why.find("without brackets"), std::string::npos) << r.why;
  }
  Parsed p;
  parse(with_request_uri("sip:user@2001:db8::10;transport=udp"), p);
  EXPECT_STREQ(p.sip->sip_request->rq_url->url_host, "2001:db8::10");
  EXPECT_STREQ(p.sip->sip_request->rq_url->url_params, "transport=udp");

  // The RFC's own message: its To has the same address, which sofia-sip's header parser refuses (nta: 400).
  Parsed rfc;
  parse("OPTIONS sip:user@2001:db8::10 SIP/2.0\r\nTo: sip:user@2001:db8::10\r\n"
        "From: sip:user@example.com;tag=81x2\r\nVia: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
        "Call-ID: SSG9559905523997077@hlau_4100\r\nMax-Forwards: 70\r\nCSeq: 921 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n",
        rfc);
  ASSERT_NE(rfc.sip->sip_request, nullptr);
  EXPECT_NE(rfc.sip->sip_via, nullptr);
  EXPECT_EQ(check_request(rfc.sip).status, 400);
}

TEST(SipChecks, AnUnreadableRequestUriIs400) {
  // lwsruri's kind: whitespace in the Request-URI; sofia-sip finds no request line at all.
  for (const char* uri : {"sip:user@example.com; lr", "sip:user@exa mple.com", "sip:user@[2001:db8::10"}) {
    SCOPED_TRACE(uri);
    Parsed p;
    parse(with_request_uri(uri), p);
    ASSERT_NE(p.sip->sip_request, nullptr);
    EXPECT_EQ(p.sip->sip_request->rq_url->url_type, url_invalid);
    EXPECT_EQ(p.sip->sip_request->rq_method, sip_method_invite);
    EXPECT_NE(p.sip->sip_via, nullptr);  // nta answers 400 to the Via: its sanity check refuses url_invalid
    const Refusal r = check_request(p.sip);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.why, "malformed Request-URI");
  }
}

TEST(SipChecks, ValidRequestLinesAreSofiasOwn) {
  for (const char* name : {"wsinv", "esc01", "longreq", "semiuri", "transports", "inv2543", "unkscm", "badvers"}) {
    SCOPED_TRACE(name);
    Parsed ours, sofia;
    parse(read(name), ours);
    parse(read(name), sofia, sip_default_mclass());
    ASSERT_NE(ours.sip->sip_request, nullptr);
    ASSERT_NE(sofia.sip->sip_request, nullptr);
    const sip_request_t* a = ours.sip->sip_request;
    const sip_request_t* b = sofia.sip->sip_request;
    EXPECT_EQ(a->rq_method, b->rq_method);
    EXPECT_STREQ(a->rq_version, b->rq_version);
    EXPECT_EQ(url_cmp_all(a->rq_url, b->rq_url), 0);
    EXPECT_EQ(check_request(ours.sip).status, check_request(sofia.sip).status);
  }
}

// Bytes on a stream, fed as tport feeds sofia-sip's parser: what is not a
// message before `eos`, the next message after `first` complete. Returns what
// msg_extract said of that next message.
int extract_after(const std::string& first, const std::string& rest, const msg_mclass_t* mclass, Parsed& next) {
  msg_t* msg = msg_create(mclass, 0);
  const std::string bytes = first + rest;
  msg_iovec_t vec[msg_n_fragments] = {};
  const issize_t n = msg_recv_iovec(msg, vec, msg_n_fragments, bytes.size(), 1);
  if (n != 1) {
    msg_destroy(msg);
    return -100;
  }
  std::memcpy(vec[0].mv_base, bytes.data(), bytes.size());
  msg_recv_commit(msg, bytes.size(), 0);  // the stream goes on: no end of stream
  const int head = msg_extract(msg);
  next.msg = msg_next(msg);
  msg_destroy(msg);
  if (head != 1 || !next.msg) return -100;
  next.sip = sip_object(next.msg);
  return msg_extract(next.msg);
}

const std::string kOptions =
    "OPTIONS sip:198.18.0.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.18.0.1:5060;branch=z9hG4bK-o1\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:a@198.18.0.1>;tag=a\r\nTo: <sip:198.18.0.10>\r\nCall-ID: o1@198.18.0.1\r\n"
    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

// RFC 3261 18.3: after a message's Content-Length, bytes that start no
// message. sofia-sip's class: no request, so nta drops it without a word and
// tport stalls the connection. Ours: a broken request at once (no waiting for
// an empty line that may never come), which nta answers 400 when it has a Via
// and, on TCP, closes the connection after (or sends FIN, with nothing to answer).
TEST(SipChecks, BytesThatStartNoMessageAreABrokenRequest) {
  const std::string sdp_tail = "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\n";
  {
    Parsed sofia;
    EXPECT_EQ(extract_after(kOptions, sdp_tail, sip_default_mclass(), sofia), -1);
    EXPECT_EQ(sofia.sip->sip_request, nullptr);
  }
  for (const std::string& rest : {sdp_tail, std::string("hello world\r\nmore"), std::string("\x01\x02\x03\r\n\r\n")}) {
    SCOPED_TRACE(rest);
    Parsed p;
    EXPECT_EQ(extract_after(kOptions, rest, sip_message_class(), p), -1);
    ASSERT_NE(p.sip->sip_request, nullptr);
    EXPECT_EQ(p.sip->sip_request->rq_url->url_type, url_invalid);
    EXPECT_TRUE(msg_get_flags(p.msg, MSG_FLG_ERROR));
    EXPECT_EQ(p.sip->sip_via, nullptr);
    EXPECT_EQ(check_request(p.sip).status, 400);
  }
  // A broken first line with headers after it: the Via that nta's 400 needs.
  Parsed with_via;
  EXPECT_EQ(extract_after(kOptions, "garbage\r\nVia: SIP/2.0/TCP 198.18.0.1:5060;branch=z9hG4bK-g\r\n\r\n",
                          sip_message_class(), with_via),
            -1);
  ASSERT_NE(with_via.sip->sip_request, nullptr);
  EXPECT_NE(with_via.sip->sip_via, nullptr);
  // A keep-alive (RFC 5626 CRLFs) is no message and no error: sofia-sip skips it before the first line.
  Parsed ping;
  EXPECT_EQ(extract_after(kOptions, "\r\n\r\n", sip_message_class(), ping), 0);
  EXPECT_EQ(ping.sip->sip_request, nullptr);
}

TEST(SipChecks, AnUnreadableMethodIsNoRequestStill) {
  // RFC 4475 intmeth: legal, but sofia-sip cannot read its method in the CSeq either.
  Parsed p;
  parse(read("intmeth"), p);
  ASSERT_NE(p.sip, nullptr);
  EXPECT_EQ(p.sip->sip_request, nullptr);
}

TEST(SipChecks, FoldsBecomeOneSpace) {
  EXPECT_EQ(unfold("<sip:+4940111@198.18.0.1>,\r\n   <tel:+4940111>"), "<sip:+4940111@198.18.0.1>, <tel:+4940111>");
  EXPECT_EQ(unfold("\"Bob \r\n\tSmith\""), "\"Bob Smith\"");
  EXPECT_EQ(unfold("a\n b"), "a b");
  EXPECT_EQ(unfold("no fold at all"), "no fold at all");
}

TEST(SipChecks, AFoldedHeaderKeepsItsFoldInSofia) {
  // Why unfold() exists: sofia-sip keeps an unknown header's value and a display name as written.
  Parsed p;
  parse(invite("P-Asserted-Identity: <sip:+4940111@198.18.0.1>,\r\n <tel:+4940111>\r\n"), p);
  ASSERT_NE(p.sip->sip_unknown, nullptr);
  EXPECT_NE(std::string(p.sip->sip_unknown->un_value).find("\r\n"), std::string::npos);
}

}  // namespace
}  // namespace tandem::control
