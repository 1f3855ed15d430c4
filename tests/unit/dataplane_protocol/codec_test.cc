#include "dataplane_protocol/codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dataplane_protocol/address.h"

namespace tandem::dp::proto {
namespace {

uint32_t ipv4(const char* text) {
  uint32_t ip = 0;
  EXPECT_TRUE(parse_ipv4(text, ip)) << text;
  return ip;
}

Header header_of(const std::vector<uint8_t>& msg) {
  Header h;
  std::memcpy(&h, msg.data(), sizeof h);
  return h;
}

std::vector<uint8_t> with_header(std::vector<uint8_t> msg, const std::function<void(Header&)>& edit) {
  Header h = header_of(msg);
  edit(h);
  std::memcpy(msg.data(), &h, sizeof h);
  return msg;
}

std::vector<uint8_t> hello_message(uint32_t seq = 1) {
  HelloRequest r{};
  std::strcpy(r.client, "unit-test");
  return encode(static_cast<uint16_t>(MsgType::hello), seq, r);
}

Frame check(const std::vector<uint8_t>& buf, size_t avail) { return check_frame(buf.data(), avail); }
Frame check(const std::vector<uint8_t>& buf) { return check(buf, buf.size()); }

void expect_fatal(const Frame& f, ErrorCode code) {
  EXPECT_EQ(f.status, FrameStatus::fatal);
  EXPECT_EQ(f.error.code, code) << error_name(f.error.code) << ": " << f.error.message;
  EXPECT_FALSE(f.error.message.empty());
}

void expect_error(const std::optional<Error>& e, ErrorCode code) {
  ASSERT_TRUE(e.has_value()) << "accepted, expected " << error_name(code);
  EXPECT_EQ(e->code, code) << error_name(e->code) << ": " << e->message;
  EXPECT_FALSE(e->message.empty());
}

void expect_ok(const std::optional<Error>& e) {
  EXPECT_FALSE(e.has_value()) << error_name(e->code) << ": " << e->message;
}

// ---- framing ---------------------------------------------------------------

TEST(CheckFrame, NeedsMoreUntilTheWholeMessageIsThere) {
  const auto msg = hello_message();
  ASSERT_EQ(msg.size(), sizeof(Header) + sizeof(HelloRequest));
  for (size_t avail = 0; avail < msg.size(); ++avail) {
    EXPECT_EQ(check(msg, avail).status, FrameStatus::need_more) << avail << " bytes";
  }
  const Frame f = check(msg);
  EXPECT_EQ(f.status, FrameStatus::complete);
  EXPECT_EQ(f.length, msg.size());
}

TEST(CheckFrame, PipelinedMessagesAreFramedOneAtATime) {
  auto buf = hello_message(1);
  const auto second = encode(static_cast<uint16_t>(MsgType::health), 2, HealthRequest{});
  buf.insert(buf.end(), second.begin(), second.begin() + 5);  // and a part of a third
  const Frame f = check(buf);
  EXPECT_EQ(f.status, FrameStatus::complete);
  EXPECT_EQ(f.length, sizeof(Header) + sizeof(HelloRequest));
}

TEST(CheckFrame, BadMagicIsFatalFromTheFirstByte) {
  const std::vector<uint8_t> http = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'};
  for (size_t avail = 1; avail <= http.size(); ++avail) expect_fatal(check(http, avail), ErrorCode::bad_magic);

  // Right first bytes, wrong last one.
  auto msg = hello_message();
  msg[3] ^= 0xff;
  EXPECT_EQ(check(msg, 3).status, FrameStatus::need_more);
  for (size_t avail : {size_t{4}, size_t{15}, msg.size()}) expect_fatal(check(msg, avail), ErrorCode::bad_magic);
}

TEST(CheckFrame, BadVersionIsFatal) {
  for (uint16_t version : {uint16_t{0}, uint16_t{kVersion - 1}, uint16_t{kVersion + 1}, uint16_t{0x0300}}) {
    expect_fatal(check(with_header(hello_message(), [&](Header& h) { h.version = version; })), ErrorCode::bad_version);
  }
}

TEST(CheckFrame, LengthBelowHeaderIsFatal) {
  for (uint32_t length : {0u, 1u, 15u}) {
    expect_fatal(check(with_header(hello_message(), [&](Header& h) { h.length = length; })), ErrorCode::bad_length);
  }
  // Exactly a header is well framed (the body check then refuses it).
  const Frame f = check(with_header(hello_message(), [](Header& h) { h.length = sizeof(Header); }));
  EXPECT_EQ(f.status, FrameStatus::complete);
  EXPECT_EQ(f.length, sizeof(Header));
}

TEST(CheckFrame, LengthAboveLimitIsFatalBeforeTheBodyArrives) {
  for (uint32_t length : {kMaxRequest + 1, 0xffffffffu}) {
    expect_fatal(check(with_header(hello_message(), [&](Header& h) { h.length = length; }), sizeof(Header)),
                 ErrorCode::too_large);
  }
  const auto at_limit = with_header(hello_message(), [](Header& h) { h.length = kMaxRequest; });
  EXPECT_EQ(check(at_limit, sizeof(Header)).status, FrameStatus::need_more);
}

// ---- body sizes ------------------------------------------------------------

Header header(uint16_t type, size_t body) {
  return Header{kMagic, kVersion, type, static_cast<uint32_t>(sizeof(Header) + body), 1};
}

TEST(CheckBody, EachRequestTypeHasItsBodySize) {
  const struct {
    MsgType type;
    size_t body;
  } requests[] = {
      {MsgType::hello, 32},         {MsgType::create_session, 40}, {MsgType::update_leg, 24},
      {MsgType::delete_session, 8}, {MsgType::query_session, 8},   {MsgType::list_sessions, 16},
      {MsgType::subscribe, 8},      {MsgType::health, 8},          {MsgType::punt_offenders, 8},
  };
  for (const auto& r : requests) {
    const auto type = static_cast<uint16_t>(r.type);
    SCOPED_TRACE(type_name(type));
    expect_ok(check_body(header(type, r.body)));
    expect_error(check_body(header(type, r.body - 1)), ErrorCode::bad_length);
    expect_error(check_body(header(type, r.body + 1)), ErrorCode::bad_length);
    expect_error(check_body(header(type, 0)), ErrorCode::bad_length);
  }
}

TEST(CheckBody, UnknownTypesAreRefused) {
  for (uint16_t type : {0, 10, 0x4001 /* an event */, 0x7fff /* error */, 0x8001 /* a reply */, 0xffff}) {
    expect_error(check_body(header(type, 8)), ErrorCode::unknown_type);
  }
}

// ---- field validation ------------------------------------------------------

Limits limits() { return Limits{.port_mask = 0b0101, .relay_port_min = 30000, .relay_port_max = 39999}; }

CreateRequest good_create() {
  CreateRequest r{};
  r.legs[0].port = 0;
  r.legs[0].mode = kModeDefault;  // remote to be learnt, local port allocated
  r.legs[1].port = 2;
  r.legs[1].mode = kModeLearn;
  r.legs[1].remote_ip = ipv4("192.0.2.10");
  r.legs[1].remote_port = 5004;
  r.legs[1].local_port = 30010;
  r.legs[1].clock_khz = 48;
  return r;
}

std::optional<Error> validate_create(const std::function<void(CreateRequest&)>& edit) {
  CreateRequest r = good_create();
  edit(r);
  return validate(r, limits());
}

TEST(ValidateCreate, GoodRequestIsAccepted) {
  expect_ok(validate(good_create(), limits()));
  expect_ok(validate_create([](CreateRequest& r) { r.legs[1].remote_rtcp_port = 5004; }));  // rtcp-mux
  expect_ok(validate_create([](CreateRequest& r) { r.legs[1].mode = 0; }));
  expect_ok(validate_create([](CreateRequest& r) { r.legs[1].clock_khz = 192; }));
}

TEST(ValidateCreate, PortMustBeConfigured) {
  for (uint8_t port : {1, 3, 7, 31, 32, 255}) {
    expect_error(validate_create([&](CreateRequest& r) { r.legs[1].port = port; }), ErrorCode::bad_field);
  }
}

TEST(ValidateCreate, ErrorNamesTheLeg) {
  const auto e = validate_create([](CreateRequest& r) { r.legs[1].port = 1; });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message.rfind("leg 1", 0), 0u) << e->message;
}

TEST(ValidateCreate, UnknownModeBits) {
  for (uint8_t mode : {0x10, 0x20, 0x80, 0xff}) {
    expect_error(validate_create([&](CreateRequest& r) { r.legs[0].mode = mode; }), ErrorCode::bad_field);
  }
}

TEST(ValidateCreate, LatchingModes) {
  for (int mode : {0, int{kModeLearn}, int{kModeStrict}, int{kModeDefault}, int{kModeAll}, kModeLearn | kModeLockAddress}) {
    expect_ok(validate_create([&](CreateRequest& r) { r.legs[0].mode = static_cast<uint8_t>(mode); }));
  }
  // A port is only locked together with its address.
  expect_error(validate_create([](CreateRequest& r) { r.legs[1].mode = kModeLearn | kModeLockPort; }),
               ErrorCode::bad_field);
}

TEST(ValidateCreate, RemoteAddressAndPortGoTogether) {
  expect_error(validate_create([](CreateRequest& r) { r.legs[1].remote_port = 0; }), ErrorCode::bad_field);
  expect_error(validate_create([](CreateRequest& r) { r.legs[0].remote_port = 5004; }), ErrorCode::bad_field);
  expect_error(validate_create([](CreateRequest& r) { r.legs[0].remote_ip = ipv4("192.0.2.1"); }),
               ErrorCode::bad_field);
  expect_error(validate_create([](CreateRequest& r) { r.legs[0].remote_rtcp_port = 5005; }), ErrorCode::bad_field);
}

TEST(ValidateCreate, RemoteMustBeUnicastAndNotLoopback) {
  for (const char* ip : {"127.0.0.1", "127.255.255.254", "0.1.2.3", "224.0.0.1", "239.1.1.1", "240.0.0.1",
                         "255.255.255.255"}) {
    SCOPED_TRACE(ip);
    expect_error(validate_create([&](CreateRequest& r) { r.legs[1].remote_ip = ipv4(ip); }), ErrorCode::bad_field);
  }
  for (const char* ip : {"1.0.0.1", "126.255.255.254", "128.0.0.1", "223.255.255.254"}) {
    SCOPED_TRACE(ip);
    expect_ok(validate_create([&](CreateRequest& r) { r.legs[1].remote_ip = ipv4(ip); }));
  }
}

TEST(ValidateCreate, LocalPortMustBeEvenAndInsideTheRelayRange) {
  for (uint16_t port : {30011, 29998, 40000, 40002, 1024, 65534}) {
    SCOPED_TRACE(port);
    expect_error(validate_create([&](CreateRequest& r) { r.legs[1].local_port = port; }), ErrorCode::port_unavailable);
  }
  for (uint16_t port : {30000, 39998}) {
    expect_ok(validate_create([&](CreateRequest& r) { r.legs[1].local_port = port; }));
  }
}

TEST(ValidateCreate, BothLegsCannotAskForTheSameLocalPortOnOnePort) {
  expect_error(validate_create([](CreateRequest& r) {
                 r.legs[0].port = r.legs[1].port;
                 r.legs[0].local_port = r.legs[1].local_port;
               }),
               ErrorCode::port_unavailable);
  // The same number on two different ports is two different sockets.
  expect_ok(validate_create([](CreateRequest& r) { r.legs[0].local_port = r.legs[1].local_port; }));
  // Both left to the allocator.
  expect_ok(validate_create([](CreateRequest& r) {
    r.legs[0].port = r.legs[1].port;
    r.legs[1].local_port = 0;
  }));
}

TEST(ValidateCreate, ClockRate) {
  expect_error(validate_create([](CreateRequest& r) { r.legs[0].clock_khz = 193; }), ErrorCode::bad_field);
  expect_error(validate_create([](CreateRequest& r) { r.legs[1].clock_khz = 255; }), ErrorCode::bad_field);
}

TEST(ValidateCreate, ReservedBytesMustBeZero) {
  for (int leg = 0; leg < 2; ++leg) {
    for (int i = 0; i < 3; ++i) {
      expect_error(validate_create([&](CreateRequest& r) { r.legs[leg].reserved[i] = 1; }), ErrorCode::bad_field);
    }
  }
}

UpdateLegRequest good_update() {
  UpdateLegRequest r{};
  r.session_id = make_session_id(7, 3);
  r.leg = 1;
  r.mode = kModeStrict;
  r.remote_ip = ipv4("198.51.100.7");
  r.remote_port = 40000;
  return r;
}

std::optional<Error> validate_update(const std::function<void(UpdateLegRequest&)>& edit) {
  UpdateLegRequest r = good_update();
  edit(r);
  return validate(r, limits());
}

TEST(ValidateUpdateLeg, Fields) {
  expect_ok(validate(good_update(), limits()));
  expect_ok(validate_update([](UpdateLegRequest& r) { r.leg = 0; }));
  expect_ok(validate_update([](UpdateLegRequest& r) {
    r.remote_ip = 0;
    r.remote_port = 0;
  }));
  expect_ok(validate_update([](UpdateLegRequest& r) { r.clock_khz = 192; }));

  expect_error(validate_update([](UpdateLegRequest& r) { r.leg = 2; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.mode = 0x08; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.remote_port = 0; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.remote_ip = 0; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) {
                 r.remote_ip = 0;
                 r.remote_port = 0;
                 r.remote_rtcp_port = 5005;
               }),
               ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.remote_ip = ipv4("127.0.0.1"); }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.remote_ip = ipv4("230.0.0.5"); }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.clock_khz = 200; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.reserved = 1; }), ErrorCode::bad_field);
  expect_error(validate_update([](UpdateLegRequest& r) { r.reserved2 = 0x80000000; }), ErrorCode::bad_field);
}

TEST(ValidateList, MaxItems) {
  for (uint32_t n : {1u, 50u, kMaxListItems}) expect_ok(validate(ListRequest{0, n, 0}));
  for (uint32_t n : {0u, kMaxListItems + 1, 0xffffffffu}) expect_error(validate(ListRequest{0, n, 0}), ErrorCode::bad_field);
}

TEST(ValidateSubscribe, EventBits) {
  expect_ok(validate(SubscribeRequest{0, 0}));
  expect_ok(validate(SubscribeRequest{kEventTimeouts, 0}));
  for (uint32_t events : {2u, 3u, 0x80000000u}) expect_error(validate(SubscribeRequest{events, 0}), ErrorCode::bad_field);
}

TEST(ValidateReserved, ListSubscribeAndHealthWantZeroes) {
  expect_error(validate(ListRequest{0, 10, 1}), ErrorCode::bad_field);
  expect_error(validate(SubscribeRequest{kEventTimeouts, 7}), ErrorCode::bad_field);
  expect_ok(validate(HealthRequest{{0, 0}}));
  expect_error(validate(HealthRequest{{0, 1}}), ErrorCode::bad_field);
  expect_error(validate(HealthRequest{{1, 0}}), ErrorCode::bad_field);
}

TEST(ValidateOffenders, OneToTheMostTheReplyHoldsAndReservedZero) {
  expect_ok(validate(OffendersRequest{1, 0}));
  expect_ok(validate(OffendersRequest{kMaxOffenders, 0}));
  expect_error(validate(OffendersRequest{0, 0}), ErrorCode::bad_field);
  expect_error(validate(OffendersRequest{kMaxOffenders + 1, 0}), ErrorCode::bad_field);
  expect_error(validate(OffendersRequest{1, 1}), ErrorCode::bad_field);
}

// ---- encoding --------------------------------------------------------------

TEST(Encode, RoundTripsThroughFramingAndBodyCheck) {
  CreateRequest body = good_create();
  const auto msg = encode(static_cast<uint16_t>(MsgType::create_session), 0xdeadbeef, body);
  ASSERT_EQ(msg.size(), sizeof(Header) + sizeof(CreateRequest));
  const Header h = header_of(msg);
  EXPECT_EQ(h.magic, kMagic);
  EXPECT_EQ(h.version, kVersion);
  EXPECT_EQ(h.type, static_cast<uint16_t>(MsgType::create_session));
  EXPECT_EQ(h.length, msg.size());
  EXPECT_EQ(h.seq, 0xdeadbeefu);

  const Frame f = check(msg);
  ASSERT_EQ(f.status, FrameStatus::complete);
  EXPECT_EQ(f.length, msg.size());
  expect_ok(check_body(h));
  CreateRequest decoded;
  std::memcpy(&decoded, msg.data() + sizeof(Header), sizeof decoded);
  EXPECT_EQ(std::memcmp(&decoded, &body, sizeof body), 0);
  expect_ok(validate(decoded, limits()));
}

TEST(Encode, ReplyTypeAndEmptyBody) {
  EXPECT_EQ(reply_type(MsgType::health), 0x8008);
  const auto msg = encode(reply_type(MsgType::subscribe), 42, nullptr, 0);
  ASSERT_EQ(msg.size(), sizeof(Header));
  EXPECT_EQ(header_of(msg).type, 0x8007);
  EXPECT_EQ(header_of(msg).length, sizeof(Header));
}

// The ErrorReply as the encoder put it on the wire, not terminated by a decoder.
ErrorReply wire_error_of(const std::vector<uint8_t>& msg) {
  ErrorReply r;
  std::memcpy(&r, msg.data() + sizeof(Header), sizeof r);
  return r;
}

TEST(Encode, ErrorReply) {
  const auto msg = encode_error(77, Error{ErrorCode::no_such_session, "no such session 0x12"});
  ASSERT_EQ(msg.size(), sizeof(Header) + sizeof(ErrorReply));
  const Header h = header_of(msg);
  EXPECT_EQ(h.type, static_cast<uint16_t>(MsgType::error));
  EXPECT_EQ(h.seq, 77u);
  EXPECT_EQ(check(msg).status, FrameStatus::complete);
  const ErrorReply r = wire_error_of(msg);
  EXPECT_EQ(r.code, static_cast<uint32_t>(ErrorCode::no_such_session));
  EXPECT_STREQ(r.message, "no such session 0x12");
}

TEST(Decode, ErrorReplyOfAShortOrUnterminatedBody) {
  ErrorReply full;
  full.code = 9;
  std::memset(full.message, 'y', sizeof full.message);  // no terminator on the wire
  const ErrorReply r = decode_error(reinterpret_cast<const uint8_t*>(&full), sizeof full);
  EXPECT_EQ(r.code, 9u);
  EXPECT_EQ(std::string(r.message), std::string(sizeof r.message - 1, 'y'));
  const ErrorReply s = decode_error(reinterpret_cast<const uint8_t*>(&full), 2);  // cut short
  EXPECT_EQ(s.code, 9u);  // little-endian: the two bytes hold it
  EXPECT_STREQ(s.message, "");
}

TEST(Encode, LongErrorMessageIsTruncatedAndTerminated) {
  const std::string long_message(300, 'x');
  const ErrorReply r = wire_error_of(encode_error(1, Error{ErrorCode::bad_field, long_message}));
  EXPECT_EQ(std::string(r.message), long_message.substr(0, sizeof r.message - 1));
}

TEST(Names, ErrorsAndTypes) {
  EXPECT_STREQ(error_name(ErrorCode::bad_magic), "bad_magic");
  EXPECT_STREQ(error_name(ErrorCode::no_free_port), "no_free_port");
  EXPECT_STREQ(error_name(static_cast<ErrorCode>(999)), "unknown");
  EXPECT_STREQ(type_name(2), "create_session");
  EXPECT_STREQ(type_name(reply_type(MsgType::create_session)), "create_session");
  EXPECT_STREQ(type_name(0x4001), "event_session_timeout");
  EXPECT_STREQ(type_name(0x7fff), "error");
  EXPECT_STREQ(type_name(99), "unknown");
}

TEST(SessionId, SlotAndGenerationRoundTrip) {
  const uint64_t id = make_session_id(0xfffffffe, 0x12345678);
  EXPECT_EQ(session_slot(id), 0xfffffffeu);
  EXPECT_EQ(session_generation(id), 0x12345678u);
  EXPECT_NE(make_session_id(1, 1), make_session_id(1, 2));
}

}  // namespace
}  // namespace tandem::dp::proto
