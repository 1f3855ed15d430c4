// One call detail record (CDR): what an operator bills and debugs a call from.
// Validated at submit (validate), encoded for the spool (encode/decode), and
// written to the `cdr` table (schema.sql) by the MySQL sink.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::cdr {

// Globally unique without AUTO_INCREMENT (both DCs insert and replicate both
// ways): 8 bits of DC, 16 bits of node, 40 bits of per-node sequence.
struct RecordId {
  static constexpr uint64_t kMaxSeq = (uint64_t{1} << 40) - 1;
  static uint64_t make(uint8_t dc_id, uint16_t node_id, uint64_t seq) {
    return (uint64_t{dc_id} << 56) | (uint64_t{node_id} << 40) | (seq & kMaxSeq);
  }
  static uint8_t dc_id(uint64_t id) { return static_cast<uint8_t>(id >> 56); }
  static uint16_t node_id(uint64_t id) { return static_cast<uint16_t>(id >> 40); }
  static uint64_t seq(uint64_t id) { return id & kMaxSeq; }
  // "DC-NODE-SEQ", as logs and tandemctl show it.
  static std::string format(uint64_t id);
  // format()'s text, or the id as one decimal number; false on anything else.
  static bool parse(std::string_view text, uint64_t& id);
};

// Each enum's names are the SQL ENUM values of its column (schema.sql).
#define TANDEM_CDR_DIRECTIONS(X) X(inbound) X(outbound)
#define TANDEM_CDR_DISPOSITIONS(X) \
  X(answered) X(busy) X(no_answer) X(failed) X(cancelled) X(rejected)
#define TANDEM_CDR_HANGUP_SIDES(X) X(caller) X(callee) X(system)

#define TANDEM_CDR_ENUM_ITEM(name) name,
enum class Direction : uint8_t { TANDEM_CDR_DIRECTIONS(TANDEM_CDR_ENUM_ITEM) };
enum class Disposition : uint8_t { TANDEM_CDR_DISPOSITIONS(TANDEM_CDR_ENUM_ITEM) };
enum class HangupSide : uint8_t { TANDEM_CDR_HANGUP_SIDES(TANDEM_CDR_ENUM_ITEM) };
#undef TANDEM_CDR_ENUM_ITEM

std::string_view name(Direction d);
std::string_view name(Disposition d);
std::string_view name(HangupSide s);
std::optional<Direction> parse_direction(std::string_view s);
std::optional<Disposition> parse_disposition(std::string_view s);
std::optional<HangupSide> parse_hangup_side(std::string_view s);

// Media quality of one leg, from the dataplane's final counters (delete reply).
struct LegQuality {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t lost = 0;               // RFC 3550 cumulative loss: duplicates can make it negative
  uint32_t jitter_max_us = 0;
  uint32_t jitter_mean_us = 0;
  bool operator==(const LegQuality&) const = default;
};

struct Record {
  uint64_t id = 0;                // RecordId
  std::string call_id;            // SIP Call-ID of the caller's leg
  Direction direction = Direction::inbound;
  std::string caller;
  std::string called;
  std::string customer;
  std::string target;             // what was reached (number, URI, voicemail...); empty if nothing
  std::string menu_path;          // the attendant's menus and entries: "MENU:ENTRY ..."; empty if none
  std::string provider;           // outbound: the carrier used
  int64_t cost_micros = 0;        // outbound: cost in millionths of the currency unit
  std::string dc;                 // DC name
  std::string server;             // node name
  int64_t start_ms = 0;           // UTC, ms since the epoch: the INVITE arrived
  int64_t answer_ms = 0;          // 0 = never answered
  int64_t end_ms = 0;
  int64_t duration_ms = 0;        // end - start
  uint32_t billable_s = 0;        // answered time, rounded up to the second (0 if unanswered)
  Disposition disposition = Disposition::failed;
  uint16_t sip_code = 0;          // final response to the caller (100..699)
  HangupSide hangup_side = HangupSide::system;
  std::string hangup_reason;
  std::array<LegQuality, 2> legs{};  // [0] caller's leg, [1] callee's leg

  bool operator==(const Record&) const = default;
};

// Column limits (schema.sql): validate() rejects longer values.
inline constexpr size_t kMaxCallId = 255;
inline constexpr size_t kMaxNumber = 64;     // caller, called
inline constexpr size_t kMaxName = 64;       // customer, provider, dc, server, hangup_reason
inline constexpr size_t kMaxTarget = 255;
inline constexpr size_t kMaxMenuPath = 255;
// Times before this are impossible for a call we handled (2001-09-09).
inline constexpr int64_t kMinTimeMs = 1'000'000'000'000;

// `s` made fit for a text column: every byte that is not part of a printable
// UTF-8 character becomes %XX, cut (between characters) at max_bytes. Call
// data comes from the network: a CDR must not be refused for its bytes.
std::string printable(std::string_view s, size_t max_bytes);

// Sets duration_ms and billable_s from the three times.
void compute_durations(Record& r);

// What an outbound call's carrier charges: per minute, billed in whole increments.
struct Tariff {
  int64_t cost_micros_per_min = 0;
  uint32_t increment_s = 60;
};

// Sets cost_micros of an answered outbound record from its billable seconds (after
// compute_durations); inbound and unanswered calls cost nothing.
void price(Record& r, const Tariff& tariff);

// Missing fields, impossible times, inconsistent disposition: false and why.
bool validate(const Record& r, std::string& error);

// The spool's encoding of a record: versioned, little-endian, length-prefixed
// strings. decode() refuses anything that is not exactly one record.
void encode(const Record& r, std::string& out);
bool decode(std::string_view in, Record& r, std::string& error);

// "2026-11-25 19:50:31.123" (UTC), the DATETIME(3) text.
std::string format_utc_ms(int64_t ms);
// "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DDTHH:MM[:SS]Z", UTC -> ms
// since the epoch; false on anything else (what tandemctl and the portal take).
bool parse_utc_time(const std::string& text, int64_t& ms);

}  // namespace tandem::cdr
