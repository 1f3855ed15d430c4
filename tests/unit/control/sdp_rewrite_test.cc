#include "control/server/sdp_rewrite.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tandem::control
