#include "control/server/attendant_sdp.h"

#include <gtest/gtest.h>

#include <string>

#include "control/server/sdp_rewrite.h"

namespace tandem::control {
namespace {

std::string offer(const std::string& media) {
  return "v=0\r\no=caller 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" + media;
}

TEST(AttendantSdp, TakesTheCallersFirstLawAndItsTelephoneEventType) {
  AttendantCodecs c;
  std::string error;
  ASSERT_TRUE(choose_codecs(offer("m=audio 4000 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"), c, error))
      << error;
  EXPECT_EQ(c.codec, attendant::Codec::pcma);
  EXPECT_EQ(c.telephone_event_pt, 96);

  AttendantCodecs u;
  ASSERT_TRUE(choose_codecs(offer("m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 TELEPHONE-EVENT/8000\r\n"), u, error));
  EXPECT_EQ(u.codec, attendant::Codec::pcmu);
  EXPECT_EQ(u.telephone_event_pt, 101) << "encoding names are case-insensitive";
}

TEST(AttendantSdp, WithoutTelephoneEventDigitsComeByInfoOnly) {
  AttendantCodecs c;
  std::string error;
  ASSERT_TRUE(choose_codecs(offer("m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/16000\r\n"), c, error));
  EXPECT_EQ(c.telephone_event_pt, -1) << "a 16 kHz event clock does not go with G.711";
}

TEST(AttendantSdp, RefusesAnOfferWithoutG711) {
  AttendantCodecs c;
  std::string error;
  EXPECT_FALSE(choose_codecs(offer("m=audio 4000 RTP/AVP 18 9\r\n"), c, error));
  EXPECT_NE(error.find("PCMU or PCMA"), std::string::npos) << error;
  EXPECT_FALSE(choose_codecs(offer("m=video 4002 RTP/AVP 96\r\n"), c, error));
}

TEST(AttendantSdp, AnswerTakesTheFirstAudioStreamAndRefusesTheOthers) {
  const std::string o = offer(
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
      "m=audio 4002 RTP/AVP 8\r\n");
  AttendantCodecs c;
  std::string error;
  ASSERT_TRUE(choose_codecs(o, c, error)) << error;
  const std::string a = attendant_answer(o, c, "198.18.1.1", 30000, 7);
  EXPECT_NE(a.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("m=audio 30000 RTP/AVP 0 101\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("m=audio 0 RTP/AVP 8\r\n"), std::string::npos) << a;
  EXPECT_LT(a.find("m=video"), a.find("m=audio 30000")) << "the offer's order (RFC 3264 6)";
  EXPECT_NE(a.find("a=fmtp:101 0-15\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("c=IN IP4 198.18.1.1\r\n"), std::string::npos) << a;

  // Our own SDP parses as any other: the relay could anchor it.
  auto parsed = ParsedSdp::parse(a, error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->endpoint().rtp_port, 30000);
}

TEST(AttendantSdp, OfferToTheCalleeIsWhatTheCallerAgreedTo) {
  AttendantCodecs c;
  c.codec = attendant::Codec::pcma;
  c.telephone_event_pt = -1;
  const std::string o = attendant_offer(c, "198.18.2.1", 30002, 9);
  EXPECT_NE(o.find("m=audio 30002 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"), std::string::npos) << o;
  EXPECT_EQ(o.find("telephone-event"), std::string::npos) << o;
  std::string error;
  EXPECT_TRUE(ParsedSdp::parse(o, error)) << error;
}

TEST(AttendantSdp, DelayedOfferHasBothLawsAndTheAnswerPicksOne) {
  const std::string o = attendant_delayed_offer("198.18.1.1", 30004, 3);
  EXPECT_NE(o.find("m=audio 30004 RTP/AVP 0 8 101\r\n"), std::string::npos) << o;
  std::string error;
  ASSERT_TRUE(ParsedSdp::parse(o, error)) << error;
  AttendantCodecs c;
  ASSERT_TRUE(choose_codecs(offer("m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"), c, error));
  EXPECT_EQ(c.codec, attendant::Codec::pcma);
  EXPECT_EQ(c.telephone_event_pt, kOfferedTelephoneEvent);
}

}  // namespace
}  // namespace tandem::control
