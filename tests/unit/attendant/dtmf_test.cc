// RFC 4733 events counted once, and the SIP INFO bodies.
#include "attendant/dtmf.h"

#include <gtest/gtest.h>

#include <vector>

namespace tandem::attendant {
namespace {

// One event block: event, E bit, volume 10, duration.
std::vector<uint8_t> block(uint8_t event, bool end, uint16_t duration) {
  return {event, static_cast<uint8_t>((end ? 0x80 : 0) | 10), static_cast<uint8_t>(duration >> 8),
          static_cast<uint8_t>(duration)};
}

TEST(Dtmf, EventsAreTheSixteenKeys) {
  const std::string keys = "0123456789*#ABCD";
  for (uint8_t e = 0; e < 16; ++e) EXPECT_EQ(dtmf_event_digit(e), keys[e]);
  EXPECT_EQ(dtmf_event_digit(16), std::nullopt);
  EXPECT_EQ(dtmf_event_digit(255), std::nullopt);
}

TEST(Dtmf, AnEventIsReportedOnceAcrossItsUpdatesAndRetransmittedEnds) {
  TelephoneEventDetector d;
  const DtmfResult first = d.on_packet(1000, block(5, false, 160));
  EXPECT_EQ(first.outcome, DtmfOutcome::digit);
  EXPECT_EQ(first.digit, '5');
  for (uint16_t dur : {160, 320, 480}) EXPECT_EQ(d.on_packet(1000, block(5, false, dur)).outcome, DtmfOutcome::repeat);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d.on_packet(1000, block(5, true, 800)).outcome, DtmfOutcome::repeat);
}

TEST(Dtmf, TheSameKeyTwiceIsTwoEvents) {
  TelephoneEventDetector d;
  EXPECT_EQ(d.on_packet(1000, block(1, true, 800)).digit, '1');
  EXPECT_EQ(d.on_packet(3000, block(1, false, 160)).digit, '1');
}

TEST(Dtmf, ANewTimestampEndsAnEventWhoseEndPacketsWereLost) {
  TelephoneEventDetector d;
  EXPECT_EQ(d.on_packet(1000, block(7, false, 160)).digit, '7');
  const DtmfResult next = d.on_packet(2600, block(11, false, 160));
  EXPECT_EQ(next.outcome, DtmfOutcome::digit);
  EXPECT_EQ(next.digit, '#');
}

TEST(Dtmf, OlderEventsAreStaleAndTimestampsWrap) {
  TelephoneEventDetector d;
  EXPECT_EQ(d.on_packet(0xffffff00u, block(2, false, 160)).digit, '2');
  EXPECT_EQ(d.on_packet(0x00000100u, block(3, false, 160)).digit, '3');  // after the wrap: newer
  EXPECT_EQ(d.on_packet(0xffffff00u, block(2, true, 800)).outcome, DtmfOutcome::stale);
}

TEST(Dtmf, BadLengthsAndUnknownEventsAreRefusedAndLeaveTheStateAlone) {
  TelephoneEventDetector d;
  EXPECT_EQ(d.on_packet(1000, {}).outcome, DtmfOutcome::bad_length);
  const std::vector<uint8_t> three = {5, 0, 1};
  EXPECT_EQ(d.on_packet(1000, three).outcome, DtmfOutcome::bad_length);
  std::vector<uint8_t> five = block(5, false, 1);
  five.push_back(0);
  EXPECT_EQ(d.on_packet(1000, five).outcome, DtmfOutcome::bad_length);
  EXPECT_EQ(d.on_packet(1000, block(16, false, 160)).outcome, DtmfOutcome::unknown_event);
  EXPECT_EQ(d.on_packet(1000, block(200, false, 160)).outcome, DtmfOutcome::unknown_event);
  // None of those was an event: the key at the same timestamp still counts.
  EXPECT_EQ(d.on_packet(1000, block(0, false, 160)).digit, '0');
  // Two blocks in one packet: the first event's.
  std::vector<uint8_t> two = block(9, true, 800);
  const std::vector<uint8_t> more = block(4, false, 160);
  two.insert(two.end(), more.begin(), more.end());
  EXPECT_EQ(d.on_packet(5000, two).digit, '9');
}

TEST(Dtmf, DtmfRelayBodies) {
  EXPECT_EQ(parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"), '5');
  EXPECT_EQ(parse_dtmf_relay("Signal= #\r\nDuration=100"), '#');
  EXPECT_EQ(parse_dtmf_relay("Signal=*"), '*');
  EXPECT_EQ(parse_dtmf_relay("signal = a\n"), 'A');
  EXPECT_EQ(parse_dtmf_relay("Duration=160\nSignal=0\n"), '0');
  EXPECT_EQ(parse_dtmf_relay("Signal=55\r\n"), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay("Signal=\r\nDuration=160"), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay("Signal=E"), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay("Duration=160"), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay("Signals=5"), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay(""), std::nullopt);
  EXPECT_EQ(parse_dtmf_relay(std::string_view("Signal=\0", 8)), std::nullopt);
}

TEST(Dtmf, DtmfBodies) {
  EXPECT_EQ(parse_dtmf("5"), '5');
  EXPECT_EQ(parse_dtmf(" 9\r\n"), '9');
  EXPECT_EQ(parse_dtmf("#"), '#');
  EXPECT_EQ(parse_dtmf("d"), 'D');
  EXPECT_EQ(parse_dtmf("55"), std::nullopt);
  EXPECT_EQ(parse_dtmf(""), std::nullopt);
  EXPECT_EQ(parse_dtmf("x"), std::nullopt);
}

}  // namespace
}  // namespace tandem::attendant
