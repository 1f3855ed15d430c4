// Builders of RulesData for the rules tests: one customer in Europe/Berlin
// with one DID, plus whatever a test adds.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rules/model.h"
#include "rules/snapshot.h"

namespace tandem::rules::testing {

inline constexpr Id kCustomer = 1;
inline constexpr Id kNumber = 10;
inline constexpr const char* kDid = "+49301234567";

inline UtcSeconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

inline Action voicemail() { return Action{}; }
inline Action forward(std::string n) {
  Action a;
  a.kind = ActionKind::forward;
  a.number = std::move(n);
  return a;
}
inline Action reject(uint16_t code) {
  Action a;
  a.kind = ActionKind::reject;
  a.sip_code = code;
  return a;
}
inline Action menu(Id id) {
  Action a;
  a.kind = ActionKind::menu;
  a.menu_id = id;
  return a;
}

// A menu's own actions.
inline Action extension(std::string digits) {
  Action a;
  a.kind = ActionKind::extension;
  a.number = std::move(digits);
  return a;
}
inline Action menu_action(ActionKind k) {
  Action a;
  a.kind = k;
  return a;
}

// A menu with no options, its timeout and invalid actions the VM.
inline Menu attendant(Id id, Id customer = kCustomer) {
  Menu m;
  m.id = id;
  m.customer_id = customer;
  m.name = "main";
  m.prompt = "/var/lib/tandem/prompts/main.wav";
  return m;
}

inline RulesData base(const std::string& zone = "Europe/Berlin") {
  RulesData d;
  d.version = 1;
  Customer c;
  c.id = kCustomer;
  c.name = "Acme";
  c.time_zone = zone;
  c.vm_sip = "sip:pbx@vm1.example.net";
  c.default_action = voicemail();
  d.customers.push_back(c);
  d.numbers.push_back(Number{kNumber, kDid, kCustomer});
  return d;
}

inline Rule rule(Id id, int32_t priority, Action action) {
  Rule r;
  r.id = id;
  r.number_id = kNumber;
  r.priority = priority;
  r.action = std::move(action);
  return r;
}

inline constexpr uint32_t hm(uint32_t h, uint32_t m = 0) { return h * 3600 + m * 60; }

// Mon = bit 0 ... Sun = bit 6.
enum : DayMask { mon = 1, tue = 2, wed = 4, thu = 8, fri = 16, sat = 32, sun = 64 };
inline constexpr DayMask weekdays = mon | tue | wed | thu | fri;

inline std::shared_ptr<const Snapshot> build_ok(RulesData d, const NumberPlan& plan = {}) {
  std::vector<std::string> errors;
  auto s = Snapshot::build(std::move(d), plan, errors);
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(s, nullptr) << all;
  EXPECT_TRUE(errors.empty()) << all;
  return s;
}

inline std::string build_errors(RulesData d, const NumberPlan& plan = {}) {
  std::vector<std::string> errors;
  auto s = Snapshot::build(std::move(d), plan, errors);
  EXPECT_EQ(s, nullptr);
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  return all;
}

}  // namespace tandem::rules::testing
