// What the parts of Snapshot::build share: snapshot_build.cc checks the
// customers, providers and actions and runs the steps in order;
// build_menus.cc checks the menus, build_inbound.cc compiles the numbers and
// their rules, build_outbound.cc the rates.
#pragma once

#include <absl/functional/function_ref.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rules/compiled_index.h"
#include "rules/model.h"
#include "rules/number.h"

namespace tandem::rules {

inline constexpr size_t kMaxErrors = 50;

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

struct Builder {
  RulesData& d;          // the snapshot's, normalised in place
  CompiledIndex& ix;
  const NumberPlan& plan;
  Errors& err;

  // An action's references: menus of the same customer, numbers normalised;
  // the menus' own kinds (extension, repeat, hangup) only `in_menu`.
  // `who` makes the error's subject, only when there is an error.
  void check_action(Action& a, Id customer_id, bool in_menu, absl::FunctionRef<std::string()> who);
};

// The menus checked (customer, prompt, timeouts, retries, options, their
// actions, no loop of timeout actions) and their options sorted by digits
// (build_menus.cc).
void build_menus(Builder& b);

// The numbers into the DID table, each one's rules checked and, if nothing
// is wrong so far, compiled (build_inbound.cc).
void build_inbound(Builder& b, const std::vector<uint16_t>& customer_zone);

// The rates into the prefix table (build_outbound.cc).
void build_outbound(Builder& b);

}  // namespace tandem::rules
