#include "rules/snapshot.h"

#include <absl/container/flat_hash_map.h>
#include <absl/time/time.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <new>
#include <set>
#include <type_traits>

namespace tandem::rules {

namespace {

#define TANDEM_RULES_NAME(n) #n,
constexpr std::array kMissNames{TANDEM_RULES_MISS_REASONS(TANDEM_RULES_NAME)};
constexpr std::array kSkipNames{TANDEM_RULES_PROVIDER_SKIPS(TANDEM_RULES_NAME)};
#undef TANDEM_RULES_NAME

constexpr size_t kMaxErrors = 50;
constexpr uint32_t kSecondsPerDay = 24 * 3600;

constexpr std::array<uint64_t, 16> kPow10 = [] {
  std::array<uint64_t, 16> p{};
  p[0] = 1;
  for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}();

class Errors {
 public:
  explicit Errors(std::vector<std::string>& out) : out_(out) {}
  ~Errors() {
    if (dropped_) out_.push_back("... and " + std::to_string(dropped_) + " more");
  }
  Errors(const Errors&) = delete;
  Errors& operator=(const Errors&) = delete;
  void add(std::string e) {
    if (out_.size() < kMaxErrors) {
      out_.push_back(std::move(e));
    } else {
      ++dropped_;
    }
  }
  bool any() const { return !out_.empty() || dropped_; }

 private:
  std::vector<std::string>& out_;
  size_t dropped_ = 0;
};

// Proleptic Gregorian calendar <-> days since 1970-01-01 (std::chrono's civil
// calendar): the local date of a call without a cctz civil-time conversion.
constexpr int32_t days_from_civil(int32_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<int32_t>(sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count());
}

constexpr Date civil_from_days(int32_t z) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{z}}};
  return Date{static_cast<int32_t>(ymd.year()), static_cast<uint8_t>(static_cast<unsigned>(ymd.month())),
              static_cast<uint8_t>(static_cast<unsigned>(ymd.day()))};
}

// 0 Monday ... 6 Sunday; 1970-01-01 was a Thursday.
constexpr uint8_t weekday_of(int64_t days) { return static_cast<uint8_t>(((days % 7) + 10) % 7); }

constexpr int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2026, 1, 13) == 20466);
static_assert(civil_from_days(20466) == Date{2026, 1, 13});
static_assert(civil_from_days(-1) == Date{1969, 12, 31});
static_assert(weekday_of(20466) == 1);  // a Tuesday
static_assert(weekday_of(-1) == 2);

bool valid_date(const Date& d) {
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.year < -1000000 || d.year > 1000000) return false;
  return civil_from_days(days_from_civil(d.year, d.month, d.day)) == d;
}

bool valid_sip(std::string_view s) {
  return (s.substr(0, 4) == "sip:" && s.size() > 4) || (s.substr(0, 5) == "sips:" && s.size() > 5);
}

std::string format_date(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

// "+DIGITS" already in E.164 (what the SIP layer usually passes): no need to normalise.
bool plain_e164(std::string_view s) {
  if (s.size() < 7 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool to_e164(std::string_view in, const NumberPlan& plan, std::string& out, std::string& error) {
  if (plain_e164(in)) {
    out.assign(in);
    return true;
  }
  return normalize_number(in, plan, out, error);
}

// "+DIGITS" (as normalised) -> the digits as a number and their count.
void digits_value(std::string_view e164, uint64_t& value, uint8_t& len) {
  value = 0;
  for (size_t i = 1; i < e164.size(); ++i) value = value * 10 + static_cast<uint64_t>(e164[i] - '0');
  len = static_cast<uint8_t>(e164.size() - 1);
}

// Slot of a digits_key in a power-of-two table: the MurmurHash3 finaliser,
// top bits (DIDs come in runs of consecutive numbers).
inline size_t slot_of(uint64_t key, unsigned shift) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return static_cast<size_t>(key >> shift);
}

// A fixed-size array of trivial T, zero-filled, in its own mapping; from 2 MB
// on, 2 MB aligned and on transparent huge pages (MADV_HUGEPAGE: the usual
// THP setting is "madvise"). A lookup takes a few cache misses into tables
// of tens of MB; on 4 kB pages each would also be a TLB miss and a page walk
// (two-dimensional under KVM).
template <typename T>
class Table {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  Table() = default;
  ~Table() { release(); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  void reset(size_t n) {
    release();
    if (n == 0) return;
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t bytes = n * sizeof(T);
    const bool huge = bytes >= kHuge;
    const size_t keep = huge ? (bytes + kHuge - 1) / kHuge * kHuge : bytes;
    const size_t len = huge ? keep + kHuge : keep;
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    char* start = static_cast<char*>(p);
    if (huge) {
      char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1));
      if (aligned > start) ::munmap(start, static_cast<size_t>(aligned - start));
      const size_t tail = static_cast<size_t>(start + len - (aligned + keep));
      if (tail) ::munmap(aligned + keep, tail);
      start = aligned;
      ::madvise(start, keep, MADV_HUGEPAGE);  // best effort
    }
    base_ = start;
    len_ = keep;
    data_ = reinterpret_cast<T*>(start);
    std::uninitialized_default_construct_n(data_, n);  // no writes: the pages stay zero
    size_ = n;
  }
  size_t size() const { return size_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void release() {
    if (base_) ::munmap(base_, len_);
    base_ = nullptr;
    data_ = nullptr;
    size_ = len_ = 0;
  }
  void* base_ = nullptr;
  size_t len_ = 0;
  T* data_ = nullptr;
  size_t size_ = 0;
};

// log2 of the power-of-two capacity for n keys at a load factor <= 1/2.
unsigned capacity_bits(size_t n) {
  unsigned bits = 4;
  while ((size_t{1} << bits) < 2 * n) ++bits;
  return bits;
}

// One time zone: its UTC offsets from kZoneFrom to kZoneTo as periods.
constexpr int64_t kZoneFrom = 0;             // 1970-01-01
constexpr int64_t kZoneTo = 4102444800;      // 2100-01-01

struct Zone {
  absl::TimeZone tz;
  std::vector<int64_t> begins;      // each period's first UTC second, ascending; [0] = kZoneFrom
  std::vector<int32_t> offsets;     // its UTC offset
  std::vector<std::string> abbrs;   // its abbreviation ("CET")

  void load(const absl::TimeZone& zone) {
    tz = zone;
    auto add = [&](absl::Time t) {
      const absl::TimeZone::CivilInfo ci = tz.At(t);
      begins.push_back(absl::ToUnixSeconds(t));
      offsets.push_back(ci.offset);
      abbrs.emplace_back(ci.zone_abbr ? ci.zone_abbr : "");
    };
    absl::Time t = absl::FromUnixSeconds(kZoneFrom);
    add(t);
    absl::TimeZone::CivilTransition tr;
    while (tz.NextTransition(t, &tr)) {
      const absl::Time next = tz.At(tr.to).trans;
      if (next <= t || absl::ToUnixSeconds(next) >= kZoneTo) break;
      t = next;
      add(t);
    }
  }

  // UTC offset and abbreviation at `t` (unix seconds).
  void at(int64_t t, int32_t& offset, std::string& abbr) const {
    if (t < kZoneFrom || t >= kZoneTo) {
      const absl::TimeZone::CivilInfo ci = tz.At(absl::FromUnixSeconds(t));
      offset = ci.offset;
      abbr = ci.zone_abbr ? ci.zone_abbr : "";
      return;
    }
    const size_t i = static_cast<size_t>(std::upper_bound(begins.begin(), begins.end(), t) - begins.begin()) - 1;
    offset = offsets[i];
    abbr = abbrs[i];
  }
};

}  // namespace

std::string_view name(MissReason r) { return kMissNames.at(static_cast<size_t>(r)); }
std::string_view name(ProviderSkip s) { return kSkipNames.at(static_cast<size_t>(s)); }

std::string format(const LocalTime& t) {
  static constexpr std::array<const char*, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const int32_t off = t.utc_offset_s;
  const int32_t abs_off = off < 0 ? -off : off;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %s %02u:%02u:%02u %s (%c%02d:%02d)",
                format_date(t.date).c_str(), kDays.at(t.weekday % 7), t.second_of_day / 3600,
                t.second_of_day / 60 % 60, t.second_of_day % 60, t.zone_abbr.c_str(),
                off < 0 ? '-' : '+', abs_off / 3600, abs_off / 60 % 60);
  return buf;
}

bool is_anonymous_caller(std::string_view caller) {
  static constexpr std::array<std::string_view, 5> kNames{"anonymous", "unknown", "withheld",
                                                          "restricted", "private"};
  if (caller.empty()) return true;
  for (auto n : kNames) {
    if (n.size() != caller.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i) {
      const char c = caller[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == n[i];
    }
    if (same) return true;
  }
  return false;
}

struct Snapshot::Index {
  // One DID: everything route_inbound needs before the rules, in one slot of
  // an open-addressing table (linear probing, load <= 1/2).
  struct NumberSlot {
    uint64_t key;          // digits_key of the E.164 number; 0: empty
    uint32_t number;       // into data_.numbers
    uint32_t customer;     // into data_.customers
    uint32_t rules;        // its first rule in `rules`
    uint16_t rule_count;
    uint16_t zone;         // into zones
  };
  static_assert(sizeof(NumberSlot) == 24);

  // What route_inbound reads of a rule; a number's rules are consecutive.
  // The Rule itself is not read on the call path.
  struct CompiledRule {
    uint64_t pattern;      // exact, prefix: the pattern's digits as a number
    uint32_t rule;         // into data_.rules
    uint32_t from_s;       // window, if `window`
    uint32_t to_s;
    uint32_t dates;        // into `dates`
    uint16_t date_count;
    CallerMatch match;
    DayMask days;
    uint8_t pattern_len;   // its digits
    bool window;
  };
  static_assert(sizeof(CompiledRule) == 32);

  struct DaySpan {
    int32_t from;          // local days since 1970-01-01, inclusive
    int32_t to;
  };

  // A rate prefix: its rates are entries [begin, begin + count) of `rates`.
  struct PrefixSlot {
    uint64_t key;          // digits_key of the prefix; 0: empty
    uint32_t begin;
    uint32_t count;
  };
  struct RateEntry {       // grouped by prefix, then by provider and validity
    int64_t cost;          // cost_micros
    int64_t from;          // unix seconds, [from, to)
    int64_t to;
    uint32_t rate;         // into data_.rates
    uint16_t provider;     // into data_.providers
    uint16_t rank;         // the provider's place by (preference, id)
  };
  static_assert(sizeof(RateEntry) == 32);

  Table<NumberSlot> numbers;
  unsigned number_shift = 64;
  Table<CompiledRule> rules;
  std::vector<DaySpan> dates;
  std::vector<Zone> zones;
  absl::flat_hash_map<Id, uint32_t> customers, menus, providers;
  Table<PrefixSlot> prefixes;
  unsigned prefix_shift = 64;
  Table<RateEntry> rates;
  uint32_t prefix_lengths = 0;   // bit n: some prefix has n digits
  uint8_t max_prefix_len = 0;

  size_t number_mask() const { return numbers.size() - 1; }
  const NumberSlot* find_number(uint64_t key, size_t i) const {
    for (;; i = (i + 1) & number_mask()) {
      const NumberSlot& s = numbers[i];
      if (s.key == key) return &s;
      if (s.key == 0) return nullptr;
    }
  }
  const PrefixSlot* find_prefix(uint64_t key, size_t i) const {
    const size_t mask = prefixes.size() - 1;
    for (;; i = (i + 1) & mask) {
      const PrefixSlot& s = prefixes[i];
      if (s.key == key) return &s;
      if (s.key == 0) return nullptr;
    }
  }
};

Snapshot::Snapshot(RulesData data, NumberPlan plan)
    : data_(std::move(data)), plan_(std::move(plan)), index_(std::make_unique<Index>()) {}

Snapshot::~Snapshot() = default;

std::shared_ptr<const Snapshot> Snapshot::build(RulesData data, const NumberPlan& plan,
                                                std::vector<std::string>& errors) {
  errors.clear();
  std::shared_ptr<Snapshot> s(new Snapshot(std::move(data), plan));
  {
    Errors err(errors);
    std::string e;
    if (!validate_plan(plan, e)) err.add(e);
    RulesData& d = s->data_;
    Index& ix = *s->index_;

    // Customers and their zones (each distinct zone loaded once).
    std::vector<uint16_t> customer_zone(d.customers.size(), 0);
    {
      absl::flat_hash_map<std::string, uint16_t> zone_of;
      for (uint32_t i = 0; i < d.customers.size(); ++i) {
        const Customer& c = d.customers[i];
        auto who = [&] { return "customer " + std::to_string(c.id) + " (" + c.name + ")"; };
        if (!ix.customers.emplace(c.id, i).second) err.add(who() + ": duplicate id");
        if (c.name.empty()) err.add(who() + ": no name");
        auto z = zone_of.find(c.time_zone);
        if (z == zone_of.end()) {
          absl::TimeZone tz;
          if (c.time_zone.empty() || !absl::LoadTimeZone(c.time_zone, &tz)) {
            err.add(who() + ": unknown time zone \"" + c.time_zone + "\"");
          } else if (ix.zones.size() > UINT16_MAX) {
            err.add(who() + ": more than 65536 time zones");
          } else {
            ix.zones.emplace_back().load(tz);
            z = zone_of.emplace(c.time_zone, static_cast<uint16_t>(ix.zones.size() - 1)).first;
          }
        }
        if (z != zone_of.end()) customer_zone[i] = z->second;
        if (!valid_sip(c.vm_sip)) err.add(who() + ": VM address \"" + c.vm_sip + "\" is not a sip: URI");
      }
    }
    for (uint32_t i = 0; i < d.menus.size(); ++i) {
      if (!ix.menus.emplace(d.menus[i].id, i).second) {
        err.add("menu " + std::to_string(d.menus[i].id) + ": duplicate id");
      }
    }
    if (d.providers.size() > UINT16_MAX) err.add("more than 65535 providers");
    for (uint32_t i = 0; i < d.providers.size(); ++i) {
      const Provider& p = d.providers[i];
      auto who = [&] { return "provider " + std::to_string(p.id) + " (" + p.name + ")"; };
      if (!ix.providers.emplace(p.id, i).second) err.add(who() + ": duplicate id");
      if (p.name.empty()) err.add(who() + ": no name");
      if (!valid_sip(p.sip_address)) {
        err.add(who() + ": address \"" + p.sip_address + "\" is not a sip: URI");
      }
    }

    // An action's references: menus of the same customer, numbers normalised.
    // `who` makes the error's subject, only when there is an error.
    auto check_action = [&](Action& a, Id customer_id, auto&& who) {
      switch (a.kind) {
        case ActionKind::voicemail:
          break;
        case ActionKind::forward: {
          if (plain_e164(a.number)) break;
          std::string n;
          if (normalize_number(a.number, plan, n, e)) {
            a.number = n;
          } else {
            err.add(who() + ": forward: " + e);
          }
          break;
        }
        case ActionKind::ring:
          if (a.ring.empty()) err.add(who() + ": ring with no target");
          for (auto& t : a.ring) {
            if (t.timeout_s == 0) err.add(who() + ": ring target " + t.target + " with no timeout");
            if (valid_sip(t.target) || plain_e164(t.target)) continue;
            std::string n;
            if (normalize_number(t.target, plan, n, e)) {
              t.target = n;
            } else {
              err.add(who() + ": ring target: " + e);
            }
          }
          break;
        case ActionKind::menu: {
          auto m = ix.menus.find(a.menu_id);
          if (m == ix.menus.end()) {
            err.add(who() + ": menu " + std::to_string(a.menu_id) + " does not exist");
          } else if (d.menus[m->second].customer_id != customer_id) {
            err.add(who() + ": menu " + std::to_string(a.menu_id) + " belongs to another customer");
          }
          break;
        }
        case ActionKind::reject:
          if (a.sip_code < 400 || a.sip_code > 699) {
            err.add(who() + ": reject code " + std::to_string(a.sip_code) + " is not 400-699");
          }
          break;
      }
    };

    for (auto& c : d.customers) {
      check_action(c.default_action, c.id,
                   [&] { return "customer " + std::to_string(c.id) + " default action"; });
    }
    for (auto& m : d.menus) {
      auto who = [&] { return "menu " + std::to_string(m.id); };
      if (!ix.customers.contains(m.customer_id)) {
        err.add(who() + ": customer " + std::to_string(m.customer_id) + " does not exist");
      }
      if (m.timeout_s == 0) err.add(who() + ": timeout 0");
      std::set<char> digits;
      for (auto& o : m.options) {
        auto who_o = [&] { return who() + " digit " + std::string(1, o.digit); };
        const bool ok = (o.digit >= '0' && o.digit <= '9') || o.digit == '*' || o.digit == '#';
        if (!ok) err.add(who() + ": option digit '" + std::string(1, o.digit) + "' is not 0-9, * or #");
        if (!digits.insert(o.digit).second) err.add(who_o() + ": duplicate");
        check_action(o.action, m.customer_id, who_o);
      }
      check_action(m.timeout_action, m.customer_id, [&] { return who() + " timeout action"; });
      check_action(m.invalid_action, m.customer_id, [&] { return who() + " invalid action"; });
    }

    // Numbers: normalised, into the DID table (the rules are added below).
    constexpr uint32_t kNone = UINT32_MAX;
    std::vector<uint64_t> number_key(d.numbers.size(), 0);      // 0: not valid
    std::vector<uint32_t> number_customer(d.numbers.size(), 0);
    std::vector<uint32_t> number_slot(d.numbers.size(), kNone);
    for (uint32_t i = 0; i < d.numbers.size(); ++i) {
      Number& n = d.numbers[i];
      auto who = [&] { return "number " + std::to_string(n.id) + " (" + n.e164 + ")"; };
      auto c = ix.customers.find(n.customer_id);
      if (c == ix.customers.end()) {
        err.add(who() + ": customer " + std::to_string(n.customer_id) + " does not exist");
        continue;
      }
      if (!plain_e164(n.e164)) {
        std::string norm;
        if (!normalize_number(n.e164, plan, norm, e)) {
          err.add(who() + ": " + e);
          continue;
        }
        n.e164 = std::move(norm);
      }
      if (!digits_key(n.e164, number_key[i])) {
        err.add(who() + ": not a number");
        continue;
      }
      number_customer[i] = c->second;
    }
    const unsigned bits = capacity_bits(d.numbers.size());
    ix.numbers.reset(size_t{1} << bits);
    ix.number_shift = 64 - bits;
    constexpr size_t kAhead = 16;  // inserts land anywhere in the table: fetch them early
    for (uint32_t i = 0; i < d.numbers.size(); ++i) {
      if (i + kAhead < d.numbers.size() && number_key[i + kAhead]) {
        __builtin_prefetch(&ix.numbers[slot_of(number_key[i + kAhead], ix.number_shift)], 1);
      }
      const uint64_t key = number_key[i];
      if (!key) continue;
      size_t slot = slot_of(key, ix.number_shift);
      while (ix.numbers[slot].key != 0 && ix.numbers[slot].key != key) slot = (slot + 1) & ix.number_mask();
      if (ix.numbers[slot].key == key) {
        const Number& n = d.numbers[i];
        err.add("number " + std::to_string(n.id) + " (" + n.e164 + "): the number is listed twice");
        number_key[i] = 0;
        continue;
      }
      Index::NumberSlot& ns = ix.numbers[slot];
      ns.key = key;
      ns.number = i;
      ns.customer = number_customer[i];
      ns.zone = customer_zone[number_customer[i]];
      number_slot[i] = static_cast<uint32_t>(slot);
    }

    // A number by id. The DB gives numbers and rules by id, and a number's
    // rules are usually next to each other: the previous rule's number or the
    // one after it, else a binary search; a hash map if the ids are not in order.
    const bool ids_sorted = std::is_sorted(d.numbers.begin(), d.numbers.end(),
                                           [](const Number& a, const Number& b) { return a.id < b.id; });
    absl::flat_hash_map<Id, uint32_t> number_of;
    if (ids_sorted) {
      for (uint32_t i = 1; i < d.numbers.size(); ++i) {
        if (d.numbers[i].id == d.numbers[i - 1].id) {
          err.add("number " + std::to_string(d.numbers[i].id) + " (" + d.numbers[i].e164 + "): duplicate id");
        }
      }
    } else {
      number_of.reserve(d.numbers.size());
      for (uint32_t i = 0; i < d.numbers.size(); ++i) {
        if (!number_key[i]) continue;
        const Number& n = d.numbers[i];
        if (!number_of.emplace(n.id, i).second) {
          err.add("number " + std::to_string(n.id) + " (" + n.e164 + "): duplicate id");
        }
      }
    }
    size_t last_number = 0;
    auto find_number = [&](Id id) -> uint32_t {
      if (!ids_sorted) {
        auto it = number_of.find(id);
        return it == number_of.end() ? kNone : it->second;
      }
      const size_t n = d.numbers.size();
      if (last_number < n && d.numbers[last_number].id == id) return static_cast<uint32_t>(last_number);
      if (last_number + 1 < n && d.numbers[last_number + 1].id == id) return static_cast<uint32_t>(++last_number);
      auto it = std::lower_bound(d.numbers.begin(), d.numbers.end(), id,
                                 [](const Number& a, Id v) { return a.id < v; });
      if (it == d.numbers.end() || it->id != id) return kNone;
      last_number = static_cast<size_t>(it - d.numbers.begin());
      return static_cast<uint32_t>(last_number);
    };

    // Rules: checked, then grouped by number (a counting sort) and each
    // number's sorted by (priority, id).
    std::vector<uint32_t> rule_number(d.rules.size(), kNone);
    std::vector<uint32_t> per_number(d.numbers.size() + 1, 0);
    for (uint32_t ri = 0; ri < d.rules.size(); ++ri) {
      Rule& r = d.rules[ri];
      auto who = [&] { return "rule " + std::to_string(r.id); };
      const uint32_t ni = find_number(r.number_id);
      if (ni == kNone || number_key[ni] == 0) {
        err.add(who() + ": number " + std::to_string(r.number_id) + " does not exist");
        continue;
      }
      switch (r.caller_match) {
        case CallerMatch::any:
        case CallerMatch::anonymous:
          if (!r.caller_pattern.empty()) {
            err.add(who() + ": caller match " + std::string(name(r.caller_match)) +
                    " takes no pattern, got \"" + r.caller_pattern + "\"");
          }
          break;
        case CallerMatch::exact:
        case CallerMatch::prefix: {
          std::string norm;
          const bool ok = r.caller_match == CallerMatch::exact
                              ? normalize_number(r.caller_pattern, plan, norm, e)
                              : normalize_prefix(r.caller_pattern, plan, norm, e);
          if (ok) {
            r.caller_pattern = norm;
          } else {
            err.add(who() + ": caller pattern: " + e);
          }
          break;
        }
      }
      if ((r.days & kAllDays) == 0 || (r.days & ~kAllDays) != 0) err.add(who() + ": no day of week");
      if (r.window) {
        if (r.window->from_s >= kSecondsPerDay || r.window->to_s > kSecondsPerDay) {
          err.add(who() + ": time window outside 00:00-24:00");
        } else if (r.window->from_s == r.window->to_s) {
          err.add(who() + ": empty time window (omit the window for the whole day)");
        }
      }
      for (const auto& dr : r.dates) {
        if (!valid_date(dr.from) || !valid_date(dr.to)) {
          err.add(who() + ": invalid date in range " + format_date(dr.from) + ".." + format_date(dr.to));
        } else if (dr.to < dr.from) {
          err.add(who() + ": date range " + format_date(dr.from) + ".." + format_date(dr.to) +
                  " ends before it starts");
        }
      }
      if (r.dates.size() > UINT16_MAX) err.add(who() + ": more than 65535 date ranges");
      check_action(r.action, d.customers[number_customer[ni]].id, who);
      rule_number[ri] = ni;
      ++per_number[ni + 1];
    }
    for (size_t i = 0; i < d.numbers.size(); ++i) {
      if (per_number[i + 1] > UINT16_MAX) {
        err.add("number " + std::to_string(d.numbers[i].id) + ": more than 65535 rules");
      }
      per_number[i + 1] += per_number[i];
    }
    // Compiled once everything above is valid; the rates are checked anyway.
    if (!err.any()) {
      std::vector<uint32_t> order(per_number.back());
      {
        std::vector<uint32_t> next(per_number.begin(), per_number.end() - 1);
        for (uint32_t ri = 0; ri < d.rules.size(); ++ri) order[next[rule_number[ri]]++] = ri;
      }
      ix.rules.reset(order.size());
      for (uint32_t ni = 0; ni < d.numbers.size(); ++ni) {
        const auto first = order.begin() + per_number[ni], last = order.begin() + per_number[ni + 1];
        std::sort(first, last, [&](uint32_t a, uint32_t b) {
          const Rule& x = d.rules[a];
          const Rule& y = d.rules[b];
          return x.priority != y.priority ? x.priority < y.priority : x.id < y.id;
        });
      }
      for (size_t i = 0; i < order.size(); ++i) {
        const Rule& r = d.rules[order[i]];
        Index::CompiledRule& c = ix.rules[i];
        c.rule = order[i];
        c.match = r.caller_match;
        c.days = r.days;
        c.window = r.window.has_value();
        if (r.window) {
          c.from_s = r.window->from_s;
          c.to_s = r.window->to_s;
        }
        if (r.caller_match == CallerMatch::exact || r.caller_match == CallerMatch::prefix) {
          digits_value(r.caller_pattern, c.pattern, c.pattern_len);
        }
        c.dates = static_cast<uint32_t>(ix.dates.size());
        c.date_count = static_cast<uint16_t>(r.dates.size());
        for (const auto& dr : r.dates) {
          ix.dates.push_back({days_from_civil(dr.from.year, dr.from.month, dr.from.day),
                              days_from_civil(dr.to.year, dr.to.month, dr.to.day)});
        }
      }

      for (uint32_t ni = 0; ni < d.numbers.size(); ++ni) {
        Index::NumberSlot& slot = ix.numbers[number_slot[ni]];
        slot.rules = per_number[ni];
        slot.rule_count = static_cast<uint16_t>(per_number[ni + 1] - per_number[ni]);
      }
    }

    // Providers in their order among equal costs.
    std::vector<uint32_t> by_preference(d.providers.size());
    for (uint32_t i = 0; i < by_preference.size(); ++i) by_preference[i] = i;
    std::sort(by_preference.begin(), by_preference.end(), [&](uint32_t a, uint32_t b) {
      const Provider& x = d.providers[a];
      const Provider& y = d.providers[b];
      return x.preference != y.preference ? x.preference < y.preference : x.id < y.id;
    });
    std::vector<uint16_t> rank(d.providers.size());
    for (uint32_t i = 0; i < by_preference.size(); ++i) rank[by_preference[i]] = static_cast<uint16_t>(i);

    // Rates, grouped by prefix; one provider's validity periods of a prefix may not overlap.
    struct Keyed {
      uint64_t key;
      Index::RateEntry entry;
    };
    std::vector<Keyed> entries;
    entries.reserve(d.rates.size());
    for (uint32_t i = 0; i < d.rates.size(); ++i) {
      const Rate& r = d.rates[i];
      auto who = [&] { return "rate " + std::to_string(r.id) + " (prefix " + r.prefix + ")"; };
      auto p = ix.providers.find(r.provider_id);
      if (p == ix.providers.end()) {
        err.add(who() + ": provider " + std::to_string(r.provider_id) + " does not exist");
        continue;
      }
      uint64_t key = 0;
      if (r.prefix.empty() || r.prefix[0] == '+' || !digits_key(r.prefix, key)) {
        err.add(who() + ": the prefix must be 1-15 digits, without '+'");
        continue;
      }
      if (r.cost_micros < 0) err.add(who() + ": negative cost");
      if (r.increment_s == 0) err.add(who() + ": billing increment 0");
      Index::RateEntry re{r.cost_micros, INT64_MIN, INT64_MAX, i, static_cast<uint16_t>(p->second),
                          rank.empty() ? uint16_t{0} : rank[p->second]};
      if (r.valid_from) re.from = r.valid_from->time_since_epoch().count();
      if (r.valid_to) re.to = r.valid_to->time_since_epoch().count();
      if (re.from >= re.to) {
        err.add(who() + ": valid_to is not after valid_from");
        continue;
      }
      ix.max_prefix_len = std::max(ix.max_prefix_len, static_cast<uint8_t>(r.prefix.size()));
      ix.prefix_lengths |= 1u << r.prefix.size();
      entries.push_back({key, re});
    }
    std::sort(entries.begin(), entries.end(), [](const Keyed& a, const Keyed& b) {
      if (a.key != b.key) return a.key < b.key;
      if (a.entry.provider != b.entry.provider) return a.entry.provider < b.entry.provider;
      return a.entry.from < b.entry.from;
    });
    size_t prefix_count = 0;
    for (size_t i = 0; i < entries.size(); ++i) prefix_count += i == 0 || entries[i].key != entries[i - 1].key;
    const unsigned prefix_bits = capacity_bits(prefix_count);
    ix.prefixes.reset(size_t{1} << prefix_bits);
    ix.prefix_shift = 64 - prefix_bits;
    ix.rates.reset(entries.size());
    for (uint32_t i = 0; i < entries.size();) {
      const uint64_t key = entries[i].key;
      uint32_t j = i;
      while (j < entries.size() && entries[j].key == key) {
        const Index::RateEntry& re = entries[j].entry;
        if (j > i && re.provider == entries[j - 1].entry.provider && re.from < entries[j - 1].entry.to) {
          err.add("rates " + std::to_string(d.rates[entries[j - 1].entry.rate].id) + " and " +
                  std::to_string(d.rates[re.rate].id) + ": provider " + d.providers[re.provider].name +
                  " has two rates for prefix " + d.rates[re.rate].prefix + " valid at the same time");
        }
        ix.rates[j] = re;
        ++j;
      }
      size_t slot = slot_of(key, ix.prefix_shift);
      while (ix.prefixes[slot].key != 0) slot = (slot + 1) & (ix.prefixes.size() - 1);
      ix.prefixes[slot] = Index::PrefixSlot{key, i, j - i};
      i = j;
    }
    if (err.any()) return nullptr;
  }
  if (!errors.empty()) return nullptr;
  return s;
}

InboundDecision Snapshot::route_inbound(std::string_view called, std::string_view caller,
                                        UtcSeconds utc) const {
  InboundDecision out;
  const Index& ix = *index_;
  uint64_t key = 0;
  if (!to_e164(called, plan_, out.called, out.error) || !digits_key(out.called, key)) {
    out.status = InboundStatus::bad_number;
    return out;
  }
  const size_t first = slot_of(key, ix.number_shift);
  __builtin_prefetch(&ix.numbers[first]);

  // The caller, while the DID's slot is on its way.
  bool anonymous = is_anonymous_caller(caller);
  bool caller_valid = false;
  uint64_t caller_value = 0;
  uint8_t caller_len = 0;
  if (!anonymous) {
    std::string unused;
    caller_valid = to_e164(caller, plan_, out.caller, unused);
    if (caller_valid) {
      digits_value(out.caller, caller_value, caller_len);
    } else {
      out.caller = std::string(caller);
    }
  }

  const Index::NumberSlot* ns = ix.find_number(key, first);
  if (!ns) {
    out.caller.clear();
    out.status = InboundStatus::unknown_number;
    out.error = "number " + out.called + " is not one of ours";
    return out;
  }
  const Index::CompiledRule* rule = ix.rules.data() + ns->rules;  // null + 0 with no rules at all
  const Index::CompiledRule* const rules_end = rule + ns->rule_count;
  __builtin_prefetch(rule);
  __builtin_prefetch(reinterpret_cast<const char*>(rule) + 64);
  out.status = InboundStatus::routed;
  out.caller_anonymous = anonymous;
  out.caller_valid = caller_valid;
  out.number = &data_.numbers[ns->number];
  out.customer = &data_.customers[ns->customer];

  // The local time, and the day a window that wraps midnight started on.
  const int64_t t = utc.time_since_epoch().count();
  int32_t offset = 0;
  ix.zones[ns->zone].at(t, offset, out.local.zone_abbr);
  const int64_t local = t + offset;
  const int64_t today = floor_div(local, kSecondsPerDay);
  const auto tod = static_cast<uint32_t>(local - today * kSecondsPerDay);
  const uint8_t weekday = weekday_of(today);
  const uint8_t weekday_before = static_cast<uint8_t>((weekday + 6) % 7);
  out.local.date = civil_from_days(static_cast<int32_t>(today));
  out.local.weekday = weekday;
  out.local.second_of_day = tod;
  out.local.utc_offset_s = offset;

  for (; rule != rules_end; ++rule) {
    const Index::CompiledRule& c = *rule;
    auto miss = [&](MissReason why) { out.skipped.push_back({&data_.rules[c.rule], why}); };
    switch (c.match) {
      case CallerMatch::any:
        break;
      case CallerMatch::anonymous:
        if (!anonymous) {
          miss(MissReason::caller_not_anonymous);
          continue;
        }
        break;
      case CallerMatch::exact:
      case CallerMatch::prefix: {
        if (anonymous) {
          miss(MissReason::caller_anonymous);
          continue;
        }
        const bool match =
            caller_valid &&
            (c.match == CallerMatch::exact
                 ? caller_len == c.pattern_len && caller_value == c.pattern
                 : caller_len >= c.pattern_len && caller_value / kPow10[caller_len - c.pattern_len] == c.pattern);
        if (!match) {
          miss(MissReason::caller_differs);
          continue;
        }
        break;
      }
    }
    // The day the window (if any) started on.
    bool started_before = false;
    if (c.window) {
      if (c.from_s < c.to_s) {
        if (tod < c.from_s || tod >= c.to_s) {
          miss(MissReason::outside_time_window);
          continue;
        }
      } else if (tod < c.to_s) {
        started_before = true;
      } else if (tod < c.from_s) {
        miss(MissReason::outside_time_window);
        continue;
      }
    }
    if (!(c.days & (1u << (started_before ? weekday_before : weekday)))) {
      miss(MissReason::day_of_week);
      continue;
    }
    if (c.date_count) {
      const auto day = static_cast<int32_t>(today - (started_before ? 1 : 0));
      const Index::DaySpan* spans = &ix.dates[c.dates];
      const bool in = std::any_of(spans, spans + c.date_count,
                                  [&](const Index::DaySpan& r) { return r.from <= day && day <= r.to; });
      if (!in) {
        miss(MissReason::outside_dates);
        continue;
      }
    }
    out.rule = &data_.rules[c.rule];
    out.action = &out.rule->action;
    return out;
  }
  out.action = &out.customer->default_action;
  return out;
}

OutboundDecision Snapshot::route_outbound(std::string_view dialled, UtcSeconds utc,
                                          const ProviderLoad* load) const {
  OutboundDecision out;
  if (!to_e164(dialled, plan_, out.dialled, out.error)) return out;
  out.ok = true;
  const Index& ix = *index_;
  if (ix.max_prefix_len == 0) return out;
  const int64_t t = utc.time_since_epoch().count();
  uint64_t value = 0;
  uint8_t len = 0;
  digits_value(out.dialled, value, len);

  // Every prefix length that has rates, longest first: all the slots are
  // fetched at once, then read.
  struct Probe {
    uint64_t key;
    size_t slot;
  };
  std::array<Probe, 16> probes;
  size_t probe_count = 0;
  const size_t longest = std::min<size_t>(len, ix.max_prefix_len);
  uint64_t head = value / kPow10[len - longest];
  for (size_t n = longest; n >= 1; --n, head /= 10) {
    if (!(ix.prefix_lengths & (1u << n))) continue;
    const uint64_t key = (uint64_t{n} << 56) | head;
    const size_t slot = slot_of(key, ix.prefix_shift);
    __builtin_prefetch(&ix.prefixes[slot]);
    probes[probe_count++] = Probe{key, slot};
  }
  std::array<const Index::PrefixSlot*, 16> found;
  size_t found_count = 0;
  for (size_t i = 0; i < probe_count; ++i) {
    if (const Index::PrefixSlot* p = ix.find_prefix(probes[i].key, probes[i].slot)) {
      __builtin_prefetch(&ix.rates[p->begin]);
      found[found_count++] = p;
    }
  }

  // Per provider its longest prefix valid at t (the first one met); on the
  // stack for up to 256 providers.
  std::array<uint64_t, 4> seen_small{};
  std::vector<uint64_t> seen_large;
  uint64_t* seen = seen_small.data();
  if (data_.providers.size() > 256) {
    seen_large.assign((data_.providers.size() + 63) / 64, 0);
    seen = seen_large.data();
  }
  struct Candidate {
    int64_t cost;
    uint32_t rank;
    uint32_t entry;
  };
  absl::InlinedVector<Candidate, 32> candidates;
  for (size_t f = 0; f < found_count; ++f) {
    const uint32_t end = found[f]->begin + found[f]->count;
    for (uint32_t i = found[f]->begin; i < end; ++i) {
      const Index::RateEntry& re = ix.rates[i];
      uint64_t& word = seen[re.provider / 64];
      const uint64_t bit = uint64_t{1} << (re.provider % 64);
      if ((word & bit) || t < re.from || t >= re.to) continue;
      word |= bit;
      const Provider& p = data_.providers[re.provider];
      if (!p.enabled) {
        out.skipped.push_back({&p, &data_.rates[re.rate], ProviderSkip::disabled});
      } else if (p.max_calls != 0 && load && load->active_calls(p.id) >= p.max_calls) {
        out.skipped.push_back({&p, &data_.rates[re.rate], ProviderSkip::at_capacity});
      } else {
        candidates.push_back(Candidate{re.cost, re.rank, i});
      }
    }
  }
  // By cost, then preference and id (the rank).
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.rank < b.rank;
  });
  for (const Candidate& c : candidates) {
    const Index::RateEntry& re = ix.rates[c.entry];
    out.providers.push_back({&data_.providers[re.provider], &data_.rates[re.rate]});
  }
  return out;
}

const Customer* Snapshot::customer(Id id) const {
  auto it = index_->customers.find(id);
  return it == index_->customers.end() ? nullptr : &data_.customers[it->second];
}

const Menu* Snapshot::menu(Id id) const {
  auto it = index_->menus.find(id);
  return it == index_->menus.end() ? nullptr : &data_.menus[it->second];
}

const Provider* Snapshot::provider(Id id) const {
  auto it = index_->providers.find(id);
  return it == index_->providers.end() ? nullptr : &data_.providers[it->second];
}

const Number* Snapshot::number(std::string_view e164) const {
  uint64_t key = 0;
  if (!digits_key(e164, key) || index_->numbers.size() == 0) return nullptr;
  const Index::NumberSlot* s = index_->find_number(key, slot_of(key, index_->number_shift));
  return s ? &data_.numbers[s->number] : nullptr;
}

}  // namespace tandem::rules
