// RFC 4475's torture messages through sofia-sip's parser and our request
// checks: every message gets the answer the RFC asks for (or, where it allows
// either, the one we chose), and none crashes.
#include "control/sip/sip_checks.h"

#include <gtest/gtest.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip_parser.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

void parse(const std::string& text, Parsed& p) {
  p.msg = msg_make(sip_default_mclass(), 0, text.data(), static_cast<isize_t>(text.size()));
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
    if (name == "intmeth" || name == "lwsruri" || name == "clerr") continue;  // below
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

// Three messages sofia-sip's parser cannot make a request of: the transport
// layer answers or drops them before any check (tests/integration/sip covers
// them over UDP and TCP). Here: they do not crash the parser.
TEST(SipChecks, UnparseableRequestLinesDoNotCrash) {
  for (const char* name : {"intmeth", "lwsruri", "clerr"}) {
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

// RFC 5118 4.2 (ipv6-bad), an IPv6 address without brackets: sofia-sip's parser
// finds no request line, and nta drops what is no request without a callback.
TEST(SipChecks, Rfc5118Ipv6BadIsNoRequestToSofia) {
  Parsed p;
  parse(with_request_uri("sip:user@2001:db8::10"), p);
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
