#include "control/server/sdp_rewrite.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::control {
namespace {

const std::string kOffer =
    "v=0\r\n"
    "o=caller 2890844526 2890844527 IN IP4 198.18.1.2\r\n"
    "s=call\r\n"
    "c=IN IP4 198.18.1.2\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=rtcp:40001\r\n"
    "a=candidate:1 1 UDP 2130706431 198.18.1.2 40000 typ host\r\n"
    "m=video 40002 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n";

uint32_t ip(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

TEST(SdpRewrite, ReadsWhereTheAuthorReceives) {
  std::string error;
  auto sdp = ParsedSdp::parse(kOffer, error);
  ASSERT_TRUE(sdp) << error;
  EXPECT_EQ(sdp->endpoint().ip, ip("198.18.1.2"));
  EXPECT_EQ(sdp->endpoint().rtp_port, 40000);
  EXPECT_EQ(sdp->endpoint().rtcp_port, 40001);
  EXPECT_FALSE(sdp->endpoint().rtcp_mux);
  EXPECT_EQ(sdp->endpoint().mode, MediaMode::sendrecv);
  EXPECT_EQ(sdp->endpoint().clock_khz, 8);
}

TEST(SdpRewrite, PutsTheRelayEverywhereAndKeepsTheRest) {
  std::string error;
  auto sdp = ParsedSdp::parse(kOffer, error);
  ASSERT_TRUE(sdp) << error;
  std::string out = sdp->with_relay("198.18.0.10", 20000);
  EXPECT_EQ(out.find("198.18.1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("o=caller 2890844526 2890844527 IN IP4 198.18.0.10\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("c=IN IP4 198.18.0.10\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("m=audio 20000 RTP/AVP 0 8 101\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:20001\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtpmap:0 PCMU/8000\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtpmap:101 telephone-event/8000\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=fmtp:101 0-16\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=ptime:20\r\n"), std::string::npos) << out;
  // ICE would take media around the relay; the second stream is refused.
  EXPECT_EQ(out.find("candidate"), std::string::npos) << out;
  EXPECT_NE(out.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << out;
  // What we print parses again to the relay.
  auto again = ParsedSdp::parse(out, error);
  ASSERT_TRUE(again) << error << "\n" << out;
  EXPECT_EQ(again->endpoint().ip, ip("198.18.0.10"));
  EXPECT_EQ(again->endpoint().rtp_port, 20000);
}

TEST(SdpRewrite, RtcpMuxKeepsOnePort) {
  std::string offer = kOffer;
  offer.replace(offer.find("a=rtcp:40001"), 12, "a=rtcp-mux\r\na=rtcp:40000");
  std::string error;
  auto sdp = ParsedSdp::parse(offer, error);
  ASSERT_TRUE(sdp) << error;
  EXPECT_TRUE(sdp->endpoint().rtcp_mux);
  EXPECT_EQ(sdp->endpoint().rtcp_port, 40000);
  std::string out = sdp->with_relay("198.18.0.10", 20000);
  EXPECT_NE(out.find("a=rtcp-mux\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("a=rtcp:20000\r\n"), std::string::npos) << out;
}

TEST(SdpRewrite, HoldModesAreRead) {
  std::string error;
  std::string sendonly = kOffer;
  sendonly.replace(sendonly.find("a=ptime:20"), 10, "a=sendonly");
  auto s = ParsedSdp::parse(sendonly, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->endpoint().mode, MediaMode::sendonly);
  EXPECT_NE(s->with_relay("198.18.0.10", 20000).find("a=sendonly"), std::string::npos);

  std::string zero = kOffer;  // RFC 2543 hold
  zero.replace(zero.find("c=IN IP4 198.18.1.2"), 19, "c=IN IP4 0.0.0.0");
  auto z = ParsedSdp::parse(zero, error);
  ASSERT_TRUE(z) << error;
  EXPECT_EQ(z->endpoint().ip, 0u);
  EXPECT_EQ(z->endpoint().mode, MediaMode::sendonly);
}

TEST(SdpRewrite, RefusesWhatCannotBeAnchored) {
  std::string error;
  EXPECT_FALSE(ParsedSdp::parse("", error));
  EXPECT_FALSE(ParsedSdp::parse("not sdp at all", error));
  EXPECT_FALSE(error.empty());
  std::string v6 = kOffer;
  v6.replace(v6.find("c=IN IP4 198.18.1.2"), 19, "c=IN IP6 2001:db8::1");
  EXPECT_FALSE(ParsedSdp::parse(v6, error));
  EXPECT_NE(error.find("IPv4"), std::string::npos) << error;
  std::string video_only =
      "v=0\r\no=- 1 1 IN IP4 198.18.1.2\r\ns=-\r\nc=IN IP4 198.18.1.2\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n";
  EXPECT_FALSE(ParsedSdp::parse(video_only, error));
  EXPECT_NE(error.find("audio"), std::string::npos) << error;
  std::string bad_rtcp = kOffer;
  bad_rtcp.replace(bad_rtcp.find("a=rtcp:40001"), 12, "a=rtcp:99999");
  EXPECT_FALSE(ParsedSdp::parse(bad_rtcp, error));
}

// RFC 3261 section 20.43: the Warning of the 488 says why in a code a user
// agent can act on: 301 for an address format we cannot relay.
TEST(SdpRewrite, MediaNotOnIPv4IsWarnCode301) {
  std::string error;
  std::string v6 = kOffer;
  v6.replace(v6.find("c=IN IP4 198.18.1.2"), 19, "c=IN IP6 2001:db8::1");
  ASSERT_FALSE(ParsedSdp::parse(v6, error));
  EXPECT_EQ(warn_code(error), 301) << error;
  std::string host = kOffer;
  host.replace(host.find("c=IN IP4 198.18.1.2"), 19, "c=IN IP4 media.example.com");
  ASSERT_FALSE(ParsedSdp::parse(host, error));
  EXPECT_EQ(warn_code(error), 301) << error;
  std::string bad_rtcp = kOffer;
  bad_rtcp.replace(bad_rtcp.find("a=rtcp:40001"), 12, "a=rtcp:99999");
  ASSERT_FALSE(ParsedSdp::parse(bad_rtcp, error));
  EXPECT_EQ(warn_code(error), 399) << error;
}

// No m= line: nothing to relay, refused (488) like any SDP without audio.
TEST(SdpRewrite, NoMediaLineIsRefused) {
  std::string error;
  EXPECT_FALSE(ParsedSdp::parse("v=0\r\no=- 1 1 IN IP4 198.18.1.2\r\ns=-\r\nc=IN IP4 198.18.1.2\r\nt=0 0\r\n", error));
  EXPECT_NE(error.find("no m= line"), std::string::npos) << error;
  EXPECT_EQ(warn_code(error), 399) << error;
}

// Resume after hold: an explicit a=sendrecv goes on, as does every direction
// and attribute the anchoring has no reason to change, in its place.
TEST(SdpRewrite, DirectionsAndAttributesAreKeptAsWritten) {
  for (const char* mode : {"sendrecv", "sendonly", "recvonly", "inactive"}) {
    std::string offer = kOffer;
    offer.replace(offer.find("a=ptime:20\r\n"), 12, std::string("a=ptime:20\r\na=") + mode + "\r\na=maxptime:40\r\n");
    std::string error;
    auto sdp = ParsedSdp::parse(offer, error);
    ASSERT_TRUE(sdp) << error;
    EXPECT_EQ(name(sdp->endpoint().mode), mode);
    std::string out = sdp->with_relay("198.18.0.10", 20000);
    EXPECT_NE(out.find(std::string("a=ptime:20\r\na=") + mode + "\r\na=maxptime:40\r\na=rtcp:20001\r\n"),
              std::string::npos)
        << out;
  }
}

TEST(SdpRewrite, NothingIsAddedToWhatWasWritten) {
  const std::string sdp =
      "v=0\r\no=- 1 1 IN IP4 198.18.1.2\r\ns=-\r\nc=IN IP4 198.18.1.2\r\nt=0 0\r\n"
      "m=audio 40000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n";
  std::string error;
  auto parsed = ParsedSdp::parse(sdp, error);
  ASSERT_TRUE(parsed) << error;
  const std::string out = parsed->with_relay("198.18.0.10", 20000);
  EXPECT_EQ(out.find("a=rtpmap"), std::string::npos) << out;
  EXPECT_TRUE(ParsedSdp::parse(out, error)) << error << "\n" << out;
}

TEST(SdpRewrite, SessionDirectionIsKeptAndApplies) {
  std::string offer = kOffer;
  offer.replace(offer.find("t=0 0\r\n"), 7, "t=0 0\r\na=recvonly\r\na=tool:x\r\n");
  std::string error;
  auto sdp = ParsedSdp::parse(offer, error);
  ASSERT_TRUE(sdp) << error;
  EXPECT_EQ(sdp->endpoint().mode, MediaMode::recvonly);
  std::string out = sdp->with_relay("198.18.0.10", 20000);
  EXPECT_NE(out.find("a=recvonly\r\na=tool:x\r\nm=audio"), std::string::npos) << out;
  // Nothing at the media level: the session's direction is the stream's.
  EXPECT_EQ(out.find("a=sendrecv"), std::string::npos) << out;

  std::string both = offer;  // the stream's own direction wins
  both.replace(both.find("a=ptime:20"), 10, "a=inactive");
  auto b = ParsedSdp::parse(both, error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->endpoint().mode, MediaMode::inactive);
}

// What the B2BUA has at hand when an answer comes: its offer to the answerer
// and the answer anchored, both as with_relay printed them.
std::string relayed(const std::string& sdp, const char* ip, uint16_t port) {
  std::string error;
  auto parsed = ParsedSdp::parse(sdp, error);
  EXPECT_TRUE(parsed) << error;
  return parsed ? parsed->with_relay(ip, port) : std::string();
}

const std::string kAnswerHead =
    "v=0\r\no=callee 1 1 IN IP4 198.18.2.2\r\ns=-\r\nc=IN IP4 198.18.2.2\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

std::vector<std::string> m_lines(const std::string& sdp) {
  std::vector<std::string> out;
  for (size_t at = 0, end; (end = sdp.find("\r\n", at)) != std::string::npos; at = end + 2)
    if (sdp.compare(at, 2, "m=") == 0) out.push_back(sdp.substr(at, end - at));
  return out;
}

TEST(ConformAnswer, AMatchingAnswerIsUnchanged) {
  const std::string offer = relayed(kOffer, "198.18.0.11", 30000);
  std::string answer = relayed(kAnswerHead + "m=video 0 RTP/AVP 96\r\n", "198.18.0.10", 20000);
  const std::string before = answer;
  std::string error;
  ASSERT_TRUE(conform_answer(offer, answer, error)) << error;
  EXPECT_EQ(answer, before);
}

// RFC 3264 section 6: exactly the offer's m= lines, in its order.
TEST(ConformAnswer, AnExtraStreamIsDroppedAndAMissingOneRefused) {
  const std::string offer = relayed(kOffer, "198.18.0.11", 30000);  // audio, video
  std::string extra =
      relayed(kAnswerHead + "m=video 0 RTP/AVP 96\r\nm=audio 50002 RTP/AVP 8\r\n", "198.18.0.10", 20000);
  std::string error;
  ASSERT_TRUE(conform_answer(offer, extra, error)) << error;
  EXPECT_EQ(m_lines(extra), (std::vector<std::string>{"m=audio 20000 RTP/AVP 0", "m=video 0 RTP/AVP 96"})) << extra;

  std::string missing = relayed(kAnswerHead, "198.18.0.10", 20000);
  ASSERT_TRUE(conform_answer(offer, missing, error)) << error;
  EXPECT_EQ(m_lines(missing), (std::vector<std::string>{"m=audio 20000 RTP/AVP 0", "m=video 0 RTP/AVP 96"})) << missing;
  // The added line is only a refusal: none of the offer's attributes of it.
  EXPECT_EQ(missing.find("H264"), std::string::npos) << missing;
  // The relayed stream keeps all it had.
  EXPECT_NE(missing.find("a=sendrecv\r\n"), std::string::npos) << missing;
}

TEST(ConformAnswer, ARefusedStreamOfAnotherKindTakesTheOffersKind) {
  const std::string offer = relayed(kOffer, "198.18.0.11", 30000);
  std::string answer = relayed(kAnswerHead + "m=image 0 udptl t38\r\n", "198.18.0.10", 20000);
  std::string error;
  ASSERT_TRUE(conform_answer(offer, answer, error)) << error;
  EXPECT_EQ(m_lines(answer), (std::vector<std::string>{"m=audio 20000 RTP/AVP 0", "m=video 0 RTP/AVP 96"})) << answer;
}

// What cannot be mended: the relayed stream answered on another transport,
// or in another place.
TEST(ConformAnswer, TheRelayedStreamMustMatch) {
  const std::string offer = relayed(kOffer, "198.18.0.11", 30000);
  std::string error;
  std::string savp = kAnswerHead;
  savp.replace(savp.find("RTP/AVP"), 7, "RTP/SAVP");
  std::string answer = relayed(savp, "198.18.0.10", 20000);
  const std::string before = answer;
  EXPECT_FALSE(conform_answer(offer, answer, error));
  EXPECT_NE(error.find("RTP/SAVP"), std::string::npos) << error;
  EXPECT_EQ(answer, before);

  std::string moved = relayed(
      "v=0\r\no=callee 1 1 IN IP4 198.18.2.2\r\ns=-\r\nc=IN IP4 198.18.2.2\r\nt=0 0\r\n"
      "m=video 0 RTP/AVP 96\r\nm=audio 50000 RTP/AVP 0\r\n",
      "198.18.0.10", 20000);
  EXPECT_FALSE(conform_answer(offer, moved, error));
  EXPECT_NE(error.find("m= line 2"), std::string::npos) << error;
}

}  // namespace
}  // namespace tandem::control
