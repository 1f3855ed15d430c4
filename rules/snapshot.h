// The Rules DB compiled for lookups: immutable once built, shared by every
// call through std::shared_ptr<const Snapshot> (reloader.h swaps it).
//
//   route_inbound(called, caller, utc)  the number's rules in priority order,
//     first match wins, else the customer's default action; with the rule
//     that decided and why each earlier one did not match.
//   route_outbound(dialled, utc, load)  per provider, the rate of its longest
//     prefix of the number valid at `utc`; providers by cost, then preference,
//     then id; disabled ones and those at max_calls are skipped (and listed).
//
// Both are on the call path (issue 3's targets: p99 <= 1 us and <= 2 us with
// 1M DIDs, 3M rules and 500k rates), so they allocate nothing for a usual
// call: the decisions keep their lists inline (absl::InlinedVector, on the
// heap only past 8 skipped rules or 32 providers) and E.164 strings fit
// std::string's inline buffer. The explanation (`skipped`) is a few pointers,
// kept for every call. The compiled index (compiled_index.h) is laid out for few
// cache misses: an open-addressing table of DIDs whose slot holds everything
// but the rules, each number's rules packed next to each other (caller
// patterns as integers, dates as day numbers), rate prefixes in a table probed
// for every prefix length at once; the big tables are on transparent huge
// pages.
//
// Time zones: GCC 12's libstdc++ has no <chrono> tz database (get_tzdb came
// with GCC 13), and localtime_r needs TZ in the environment, which is process
// global. Abseil's time zone library (cctz) reads the system's TZif files
// under /usr/share/zoneinfo, including the POSIX rule for dates past the last
// transition, and is thread-safe. Each distinct zone is loaded once at build
// and its UTC offsets from 1970 to 2100 copied into a table of periods: a
// lookup is a binary search over that zone's transitions and integer civil
// date arithmetic; times outside the table ask cctz.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/inlined_vector.h>

#include "rules/model.h"
#include "rules/number.h"

namespace tandem::rules {

#define TANDEM_RULES_MISS_REASONS(X) \
  X(caller_differs)                 \
  X(caller_anonymous)               \
  X(caller_not_anonymous)           \
  X(outside_time_window)            \
  X(day_of_week)                    \
  X(outside_dates)

#define TANDEM_RULES_ENUM_ITEM(name) name,
enum class MissReason : uint8_t { TANDEM_RULES_MISS_REASONS(TANDEM_RULES_ENUM_ITEM) };
#undef TANDEM_RULES_ENUM_ITEM
std::string_view name(MissReason r);

// A wall-clock time in a customer's zone.
struct LocalTime {
  Date date;
  uint8_t weekday = 0;       // 0 Monday ... 6 Sunday
  uint32_t second_of_day = 0;
  int32_t utc_offset_s = 0;
  std::string zone_abbr;     // "CET", "CEST"
};
std::string format(const LocalTime& t);  // "2026-03-29 Sun 03:30:00 CEST (+02:00)"

struct RuleMiss {
  const Rule* rule = nullptr;
  MissReason reason = MissReason::caller_differs;
};

enum class InboundStatus : uint8_t {
  routed,          // action is set
  bad_number,      // the called number does not normalise: error says why
  unknown_number,  // not one of our DIDs
};

// Pointers point into the snapshot: valid while the caller holds it.
struct InboundDecision {
  InboundStatus status = InboundStatus::unknown_number;
  std::string error;
  std::string called;             // normalised
  std::string caller;             // normalised; the text as given if it does not normalise
  bool caller_anonymous = false;
  bool caller_valid = false;      // caller normalised (anonymous callers are not)
  const Customer* customer = nullptr;
  const Number* number = nullptr;
  const Rule* rule = nullptr;     // nullptr: the customer's default action
  const Action* action = nullptr;
  absl::InlinedVector<RuleMiss, 8> skipped;  // the rules tried before, in order
  LocalTime local;                // the call's time in the customer's zone
};

// Concurrent calls per provider, as the caller counts them.
class ProviderLoad {
 public:
  virtual ~ProviderLoad() = default;
  virtual uint32_t active_calls(Id provider) const = 0;
};

#define TANDEM_RULES_PROVIDER_SKIPS(X) X(disabled) X(at_capacity)
#define TANDEM_RULES_ENUM_ITEM(name) name,
enum class ProviderSkip : uint8_t { TANDEM_RULES_PROVIDER_SKIPS(TANDEM_RULES_ENUM_ITEM) };
#undef TANDEM_RULES_ENUM_ITEM
std::string_view name(ProviderSkip s);

struct OutboundChoice {
  const Provider* provider = nullptr;
  const Rate* rate = nullptr;     // its longest valid prefix of the number
};

struct OutboundSkipped {
  const Provider* provider = nullptr;
  const Rate* rate = nullptr;
  ProviderSkip reason = ProviderSkip::disabled;
};

struct OutboundDecision {
  bool ok = false;                // the number normalised; providers may still be empty
  std::string error;
  std::string dialled;            // normalised
  absl::InlinedVector<OutboundChoice, 32> providers;  // best first
  absl::InlinedVector<OutboundSkipped, 8> skipped;
};

class Snapshot {
 public:
  // Validates everything (references, time zones, numbers, patterns, windows,
  // rates) and compiles. nullptr if anything is wrong; `errors` lists what
  // (at most 50 lines, then a count).
  static std::shared_ptr<const Snapshot> build(RulesData data, const NumberPlan& plan,
                                               std::vector<std::string>& errors);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  InboundDecision route_inbound(std::string_view called, std::string_view caller,
                                UtcSeconds utc) const;
  OutboundDecision route_outbound(std::string_view dialled, UtcSeconds utc,
                                  const ProviderLoad* load = nullptr) const;

  uint64_t version() const { return data_.version; }
  const RulesData& data() const { return data_; }
  const NumberPlan& plan() const { return plan_; }
  const Customer* customer(Id id) const;
  const Menu* menu(Id id) const;
  const Provider* provider(Id id) const;
  const Number* number(std::string_view e164) const;  // normalised form

 private:
  struct Index;
  Snapshot(RulesData data, NumberPlan plan);

  RulesData data_;
  NumberPlan plan_;
  std::unique_ptr<Index> index_;
};

// "anonymous" callers: an empty caller ID or one of anonymous, unknown,
// withheld, restricted, private (any case), as SIP From/P-Asserted-Identity
// user parts carry them.
bool is_anonymous_caller(std::string_view caller);

}  // namespace tandem::rules
