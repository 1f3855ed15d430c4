// The Rules DB as plain data: customers and their numbers (DIDs), the rules
// tried for a call to a number, attendant menus, and the providers and rate
// tables of outbound least-cost routing. One row of a table is one struct;
// store_load.cc fills them from the DB, snapshot_build.cc validates and compiles them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/number.h"

namespace tandem::rules {

// Row ids. Both DCs insert and replication carries the rows both ways, so ids
// come from AUTO_INCREMENT with auto_increment_increment/offset set per DC
// (schema.sql): DC n only ever makes ids = n (mod increment).
using Id = uint64_t;

// Each enum's names are the SQL ENUM values of its column (schema.sql).
// extension, repeat and hangup are menu options' only (the snapshot refuses
// them elsewhere): they mean something only to a caller already in a menu.
#define TANDEM_RULES_ACTION_KINDS(X) \
  X(voicemail) X(forward) X(ring) X(menu) X(reject) X(extension) X(repeat) X(hangup)
#define TANDEM_RULES_CALLER_MATCHES(X) X(any) X(exact) X(prefix) X(anonymous)

#define TANDEM_RULES_ENUM_ITEM(name) name,
enum class ActionKind : uint8_t { TANDEM_RULES_ACTION_KINDS(TANDEM_RULES_ENUM_ITEM) };
enum class CallerMatch : uint8_t { TANDEM_RULES_CALLER_MATCHES(TANDEM_RULES_ENUM_ITEM) };
#undef TANDEM_RULES_ENUM_ITEM

std::string_view name(ActionKind k);
std::string_view name(CallerMatch m);
std::optional<ActionKind> parse_action_kind(std::string_view s);
std::optional<CallerMatch> parse_caller_match(std::string_view s);

// One target of a `ring` action: an E.164 number (reached through outbound
// routing) or a SIP URI, rung for timeout_s before the next one.
struct RingTarget {
  std::string target;
  uint16_t timeout_s = 20;
  bool operator==(const RingTarget&) const = default;
};

// What to do with a call. In the DB an action is two columns, the kind and a
// `target` text whose meaning depends on the kind (see parse_action):
//   voicemail  (empty)             the customer's VM
//   forward    NUMBER              E.164 or national form, normalised
//   ring       T/SECS,T/SECS,...   numbers or sip: URIs, in order
//   menu       MENU_ID
//   reject     SIP_CODE            400..699
//   extension  DIGITS              1-16 digits: sip:DIGITS@ the customer's VM
//   repeat     (empty)             play the menu's prompt again
//   hangup     (empty)             end the call
struct Action {
  ActionKind kind = ActionKind::voicemail;
  std::string number;               // forward: E.164; extension: its digits
  std::vector<RingTarget> ring;     // ring
  Id menu_id = 0;                   // menu
  uint16_t sip_code = 0;            // reject
  bool operator==(const Action&) const = default;
};

struct Customer {
  Id id = 0;
  std::string name;
  std::string time_zone;            // IANA name: "Europe/Berlin"
  std::string vm_sip;               // the customer's PBX VM: "sip:pbx@vm1.example.net"
  Action default_action;            // when no rule of a number matches
};

struct Number {
  Id id = 0;
  std::string e164;                 // "+4930123456"
  Id customer_id = 0;
};

// Days of week as a bit set: bit 0 Monday ... bit 6 Sunday (ISO order).
using DayMask = uint8_t;
inline constexpr DayMask kAllDays = 0x7f;

// A local calendar date, as in the customer's time zone.
struct Date {
  int32_t year = 1970;
  uint8_t month = 1;
  uint8_t day = 1;
  auto operator<=>(const Date&) const = default;
};

struct DateRange {
  Date from;                        // inclusive
  Date to;                          // inclusive
};

// Seconds since local midnight. [from, to); from > to wraps midnight.
struct TimeWindow {
  uint32_t from_s = 0;
  uint32_t to_s = 0;
};

// Tried in ascending priority (then ascending id) for calls to its number.
// Time conditions are in the customer's time zone. A window that wraps
// midnight belongs to the day it starts on: "Fri 22:00-06:00" matches Friday
// 23:00 and Saturday 05:00, not Friday 05:00; its days and dates are those of
// the start. No window means the whole day. No date range means every date.
struct Rule {
  Id id = 0;
  Id number_id = 0;
  int32_t priority = 0;
  CallerMatch caller_match = CallerMatch::any;
  std::string caller_pattern;       // exact: number; prefix: leading digits (E.164 or national)
  DayMask days = kAllDays;
  std::optional<TimeWindow> window;
  std::vector<DateRange> dates;     // any of them (holidays)
  Action action;
  std::string description;
};

// What the caller keys for an option: "#" alone, or 1-16 of 0-9 and *
// (rules/menu.h has the syntax and how an entry is matched).
struct MenuOption {
  std::string digits;
  Action action;
};

// An automated attendant: play the prompt, collect an entry, act on it. A
// timeout or an entry that is no option plays the prompt again, `retries`
// times, then takes the timeout or invalid action.
struct Menu {
  Id id = 0;
  Id customer_id = 0;
  std::string name;
  std::string prompt;               // absolute path of a WAV file on the call servers (rules/prompt_wav.h)
  uint16_t timeout_s = 10;          // for the first digit, from the prompt's end
  std::vector<MenuOption> options;  // sorted by digits once in a snapshot
  Action timeout_action;            // no digit within timeout_s
  Action invalid_action;            // an entry that is no option
  uint16_t inter_digit_timeout_s = 3;  // between the digits of a longer entry
  uint8_t retries = 2;
};

struct Provider {
  Id id = 0;
  std::string name;
  std::string sip_address;          // "sip:gw.carrier.example:5060"
  uint32_t max_calls = 0;           // concurrent calls; 0 = no limit
  bool enabled = true;
  int32_t preference = 0;           // lower first among equal costs
};

using UtcSeconds = std::chrono::sys_seconds;

struct Rate {
  Id id = 0;
  Id provider_id = 0;
  std::string prefix;               // digits, without '+': "4930"
  int64_t cost_micros = 0;          // per minute, in millionths of the currency unit
  uint32_t increment_s = 60;        // billing increment
  std::optional<UtcSeconds> valid_from;  // inclusive; none = always
  std::optional<UtcSeconds> valid_to;    // exclusive; none = forever
};

// The whole Rules DB, as loaded; `version` is the config_version it was read at.
struct RulesData {
  uint64_t version = 0;
  std::vector<Customer> customers;
  std::vector<Number> numbers;
  std::vector<Rule> rules;
  std::vector<Menu> menus;
  std::vector<Provider> providers;
  std::vector<Rate> rates;
};

// The DB's two action columns -> Action, with the target checked and
// normalised (see Action); `error` names what is wrong.
bool parse_action(std::string_view kind, std::string_view target, const NumberPlan& plan,
                  Action& out, std::string& error);
// Action -> its `target` column (the inverse of parse_action).
std::string format_target(const Action& a);
// "forward to +4930123", "reject 486"...: for explanations and logs.
std::string describe(const Action& a);

// The longest entry a caller keys in a menu, and so the longest extension.
inline constexpr size_t kMaxEntryDigits = 16;
// 1-kMaxEntryDigits digits 0-9.
bool valid_extension(std::string_view s);

// "mon,tue,sun" (the SET column; empty = no day) -> DayMask; false on an unknown name.
bool parse_days(std::string_view s, DayMask& out);
std::string format_days(DayMask d);

}  // namespace tandem::rules
