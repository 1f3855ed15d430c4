#include "control/server/call_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace tandem::control {

cdr::Record call_record(const Call& call, const std::string& dc, const std::string& node) {
  // What came off the network is made printable: a CDR is never refused for its bytes.
  using cdr::printable;
  cdr::Record r;
  r.call_id = printable(call.call_id, cdr::kMaxCallId);
  r.direction = call.plan.direction;
  r.caller = printable(call.plan.caller.empty() ? call.from_user : call.plan.caller, cdr::kMaxNumber);
  if (r.caller.empty()) r.caller = "anonymous";
  r.called = printable(call.plan.called.empty() ? call.to_uri : call.plan.called, cdr::kMaxNumber);
  if (r.called.empty()) r.called = "unknown";
  r.customer = call.plan.customer.empty() ? "(none)" : printable(call.plan.customer, cdr::kMaxName);
  const bool answered = call.disposition == cdr::Disposition::answered;
  if (!call.plan.targets.empty() && (answered || call.state != CallState::routing)) {
    const Target& t = call.plan.targets[std::min(call.target, call.plan.targets.size() - 1)];
    r.target = printable(t.label, cdr::kMaxTarget);
    r.provider = printable(t.provider, cdr::kMaxName);
  }
  if (call.menu) {
    std::string_view path = call.menu->path;
    while (path.ends_with(' ')) path.remove_suffix(1);
    r.menu_path = printable(path, cdr::kMaxMenuPath);
    // Answered by the attendant and ended in its menus: it is what the caller reached.
    if (!call.menu->transferred && call.menu->menu)
      r.target = printable(fmt::format("attendant menu {} ({})", call.menu->menu->id, call.menu->menu->name), cdr::kMaxTarget);
    if (r.target.empty()) r.target = "attendant";
  }
  r.id = call.cdr_id;
  r.dc = dc;
  r.server = node;
  r.start_ms = call.start_ms;
  r.answer_ms = answered ? call.answer_ms : 0;
  r.end_ms = std::max(call.end_ms, call.start_ms);
  r.disposition = call.disposition;
  r.sip_code = call.final_code ? call.final_code : (answered ? 200 : 500);
  r.hangup_side = call.hangup_side;
  r.hangup_reason = printable(call.hangup_reason, cdr::kMaxName);
  r.legs = call.quality;
  cdr::compute_durations(r);
  cdr::price(r, tariff(call));
  return r;
}

cdr::Tariff tariff(const Call& call) {
  if (call.plan.targets.empty()) return {};
  const Target& t = call.plan.targets[std::min(call.target, call.plan.targets.size() - 1)];
  return {.cost_micros_per_min = t.cost_micros, .increment_s = t.increment_s};
}

}  // namespace tandem::control
