#include "cdr/record.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <functional>

#include "tests/unit/cdr/sample_records.h"

namespace tandem::cdr {
namespace {

Record good() {
  Record r = testing::sample_record(1, RecordId::make(1, 2, 3));  // outbound, busy
  return r;
}

Record answered() {
  Record r = testing::sample_record(6, RecordId::make(1, 2, 4));  // inbound, answered
  EXPECT_EQ(r.disposition, Disposition::answered);
  return r;
}

std::string why(const Record& r) {
  std::string e;
  EXPECT_FALSE(validate(r, e));
  return e;
}

TEST(CdrRecord, SamplesAreValid) {
  for (uint64_t i = 1; i < 120000; ++i) {
    std::string e;
    EXPECT_TRUE(validate(testing::sample_record(i, RecordId::make(1, 2, i)), e)) << i << ": " << e;
  }
}

TEST(CdrRecord, IdPartsAndFormat) {
  const uint64_t id = RecordId::make(7, 513, 123456789);
  EXPECT_EQ(RecordId::dc_id(id), 7);
  EXPECT_EQ(RecordId::node_id(id), 513);
  EXPECT_EQ(RecordId::seq(id), 123456789u);
  EXPECT_EQ(RecordId::format(id), "7-513-123456789");
}

TEST(CdrRecord, EnumNamesRoundTrip) {
  for (auto d : {Disposition::answered, Disposition::busy, Disposition::no_answer,
                 Disposition::failed, Disposition::cancelled, Disposition::rejected}) {
    EXPECT_EQ(parse_disposition(name(d)), d);
  }
  EXPECT_EQ(name(Disposition::no_answer), "no_answer");
  EXPECT_EQ(parse_direction("outbound"), Direction::outbound);
  EXPECT_EQ(parse_hangup_side("callee"), HangupSide::callee);
  EXPECT_FALSE(parse_direction("sideways"));
}

TEST(CdrRecord, MissingFields) {
  struct Case {
    const char* expect;
    std::function<void(Record&)> change;
  };
  const Case cases[] = {
      {"id is missing (sequence 0)", [](Record& r) { r.id = RecordId::make(1, 2, 0); }},
      {"call_id is missing", [](Record& r) { r.call_id.clear(); }},
      {"caller is missing", [](Record& r) { r.caller.clear(); }},
      {"called is missing", [](Record& r) { r.called.clear(); }},
      {"customer is missing", [](Record& r) { r.customer.clear(); }},
      {"dc is missing", [](Record& r) { r.dc.clear(); }},
      {"server is missing", [](Record& r) { r.server.clear(); }},
  };
  for (const auto& c : cases) {
    Record r = good();
    c.change(r);
    EXPECT_EQ(why(r), c.expect);
  }
  Record a = answered();
  a.target.clear();
  EXPECT_EQ(why(a), "target is missing");
  Record o = testing::sample_record(7, RecordId::make(1, 2, 5));
  o.disposition = Disposition::answered;
  o.answer_ms = o.start_ms;
  o.target = "x";
  o.sip_code = 200;
  o.provider.clear();
  compute_durations(o);
  EXPECT_EQ(why(o), "provider is missing");
}

TEST(CdrRecord, TooLongOrNotText) {
  Record r = good();
  r.caller = std::string(kMaxNumber + 1, '1');
  EXPECT_EQ(why(r), "caller is 65 bytes, at most 64");
  r = good();
  r.customer = "bad\xff";
  EXPECT_EQ(why(r), "customer is not printable UTF-8");
  r = good();
  r.hangup_reason = std::string("a\0b", 3);
  EXPECT_EQ(why(r), "hangup_reason is not printable UTF-8");
  r = good();
  r.customer = "\xc0\xaf";  // overlong '/'
  EXPECT_EQ(why(r), "customer is not printable UTF-8");
}

TEST(CdrRecord, ImpossibleTimes) {
  Record r = good();
  r.start_ms = 0;
  EXPECT_EQ(why(r), "start time 0 ms is missing or before 2001");
  r = good();
  r.end_ms = r.start_ms - 1;
  EXPECT_EQ(why(r), "end time is before start time");
  r = answered();
  r.answer_ms = r.end_ms + 1;
  EXPECT_EQ(why(r), "answer time is outside start..end");
  r = answered();
  r.answer_ms = 0;
  EXPECT_EQ(why(r), "answered call has no answer time");
  r = good();
  r.answer_ms = r.start_ms;
  EXPECT_EQ(why(r), "unanswered call (busy) has an answer time");
  r = good();
  r.duration_ms += 1;
  EXPECT_NE(why(r).find("is not end - start"), std::string::npos);
  r = answered();
  r.billable_s += 1;
  EXPECT_NE(why(r).find("is not end - answer rounded up"), std::string::npos);
}

TEST(CdrRecord, CodesAndCost) {
  Record r = good();
  r.sip_code = 99;
  EXPECT_EQ(why(r), "final SIP code 99 is not 100..699");
  r = answered();
  r.sip_code = 486;
  EXPECT_EQ(why(r), "answered call with final SIP code 486");
  r = answered();  // inbound
  r.cost_micros = 5;
  EXPECT_EQ(why(r), "an inbound call has a cost");
  r = good();
  r.cost_micros = -1;
  EXPECT_EQ(why(r), "cost is negative");
  r = good();
  r.legs[1].jitter_mean_us = r.legs[1].jitter_max_us + 1;
  EXPECT_EQ(why(r), "mean jitter is above max jitter");
  r = good();
  r.disposition = static_cast<Disposition>(42);
  EXPECT_EQ(why(r), "disposition is out of range");
}

TEST(CdrRecord, BillableRoundsUp) {
  Record r = answered();
  r.answer_ms = r.start_ms;
  r.end_ms = r.answer_ms + 1001;
  compute_durations(r);
  EXPECT_EQ(r.billable_s, 2u);
  EXPECT_EQ(r.duration_ms, 1001);
  r.end_ms = r.answer_ms;
  compute_durations(r);
  EXPECT_EQ(r.billable_s, 0u);
}

TEST(CdrRecord, EncodeDecodeRoundTrip) {
  for (uint64_t i = 1; i < 500; ++i) {
    const Record r = testing::sample_record(i, RecordId::make(3, 4, i));
    std::string bytes;
    encode(r, bytes);
    Record back;
    std::string e;
    ASSERT_TRUE(decode(bytes, back, e)) << e;
    EXPECT_EQ(back, r);
  }
}

TEST(CdrRecord, MenuPathRoundTripsAndRecordsOfVersionOneStillDecode) {
  Record r = good();
  r.menu_path = "3:2 4:201#";
  std::string bytes;
  encode(r, bytes);
  Record back;
  std::string e;
  ASSERT_TRUE(decode(bytes, back, e)) << e;
  EXPECT_EQ(back.menu_path, "3:2 4:201#");

  // A spool or open-calls journal written before menu paths: version 1, no such field.
  r.menu_path.clear();
  encode(r, bytes);
  std::string v1 = bytes.substr(0, bytes.size() - 2);  // the empty string's length
  v1[0] = 1;
  ASSERT_TRUE(decode(v1, back, e)) << e;
  EXPECT_EQ(back, r);

  r.menu_path = std::string(kMaxMenuPath + 1, '1');
  EXPECT_FALSE(validate(r, e));
}

TEST(CdrRecord, DecodeRefusesDamage) {
  std::string bytes;
  encode(good(), bytes);
  Record back;
  std::string e;
  EXPECT_FALSE(decode(std::string_view(bytes).substr(0, bytes.size() - 1), back, e));
  EXPECT_EQ(e, "record is truncated");
  EXPECT_FALSE(decode(bytes + "x", back, e));
  EXPECT_EQ(e, "record has 1 trailing bytes");
  bytes[0] = 9;
  EXPECT_FALSE(decode(bytes, back, e));
  EXPECT_EQ(e, "unknown record encoding version 9");
}

TEST(CdrRecord, FormatUtc) {
  EXPECT_EQ(format_utc_ms(1'764'100'231'007), "2025-11-25 19:50:31.007");
  EXPECT_EQ(format_utc_ms(0), "1970-01-01 00:00:00.000");
  EXPECT_EQ(format_utc_ms(951'782'400'000), "2000-02-29 00:00:00.000");
  EXPECT_EQ(format_utc_ms(4'107'542'399'999), "2100-02-28 23:59:59.999");
  EXPECT_EQ(format_utc_ms(4'107'542'400'000), "2100-03-01 00:00:00.000");
  EXPECT_EQ(format_utc_ms(253'402'300'799'999), "9999-12-31 23:59:59.999");
}

// The calendar arithmetic agrees with gmtime_r + strftime, every day from
// 1970 to 2400 and at random milliseconds up to the year 9999.
TEST(CdrRecord, FormatUtcAgreesWithStrftime) {
  auto reference = [](int64_t ms) {
    const time_t secs = static_cast<time_t>(ms / 1000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[40];
    const size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms % 1000));
    return std::string(buf);
  };
  for (int64_t day = 0; day < 157'000; ++day) {
    const int64_t ms = day * 86'400'000 + (day * 7'919'993) % 86'400'000;
    ASSERT_EQ(format_utc_ms(ms), reference(ms)) << ms;
  }
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 200'000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const auto ms = static_cast<int64_t>(x % 253'402'300'800'000ull);
    ASSERT_EQ(format_utc_ms(ms), reference(ms)) << ms;
  }
}

TEST(Printable, EscapesWhatATextColumnCannotHoldAndCutsBetweenCharacters) {
  EXPECT_EQ(printable("abc@example.com", 64), "abc@example.com");
  EXPECT_EQ(printable(std::string("a\xff" "b\x01", 4), 64), "a%FFb%01");
  EXPECT_EQ(printable("M\xc3\xbcller", 64), "M\xc3\xbcller");           // UTF-8 kept
  EXPECT_EQ(printable("M\xc3\xbcller", 2), "M");                         // not cut inside ü
  EXPECT_EQ(printable(std::string("\xc3", 1), 64), "%C3");                // a torn sequence
  std::string id = printable(std::string(300, '\x80'), kMaxCallId);
  EXPECT_LE(id.size(), kMaxCallId);
  Record r = good();
  r.call_id = id;
  std::string error;
  EXPECT_TRUE(validate(r, error)) << error;
}

}  // namespace
}  // namespace tandem::cdr
