#include "rules/explain.h"

#include <cstdio>

namespace tandem::rules {

namespace {

std::string hhmm(uint32_t s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u:%02u", s / 3600 % 100, s / 60 % 60);
  return buf;
}

std::string date(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string money(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(micros / 1000000),
                static_cast<long long>(micros % 1000000));
  return buf;
}

std::string rule_name(const Rule& r) {
  std::string s = "rule " + std::to_string(r.id) + " (priority " + std::to_string(r.priority);
  if (!r.description.empty()) s += ", \"" + r.description + "\"";
  return s + ")";
}

std::string why_not(const InboundDecision& d, const RuleMiss& m) {
  const Rule& r = *m.rule;
  switch (m.reason) {
    case MissReason::caller_differs:
      return "caller " + (d.caller.empty() ? std::string("(none)") : d.caller) + " is not " +
             (r.caller_match == CallerMatch::prefix ? "under prefix " : "") + r.caller_pattern;
    case MissReason::caller_anonymous:
      return "the caller is anonymous; the rule wants " + std::string(name(r.caller_match)) + " " +
             r.caller_pattern;
    case MissReason::caller_not_anonymous:
      return "the rule is for anonymous callers; the caller is " + d.caller;
    case MissReason::outside_time_window:
      return "local time " + hhmm(d.local.second_of_day) + " is outside " +
             hhmm(r.window->from_s) + "-" + hhmm(r.window->to_s);
    case MissReason::day_of_week:
      return "not on " + format_days(r.days) +
             (r.window && r.window->from_s > r.window->to_s
                  ? " (a window past midnight counts for the day it starts)"
                  : "");
    case MissReason::outside_dates:
      return "local date " + date(d.local.date) + " is outside its dates";
  }
  return "";
}

// The action, and the VM's address where it goes to the VM.
std::string action_text(const Action& a, const Customer& c) {
  const bool vm = a.kind == ActionKind::voicemail || a.kind == ActionKind::extension;
  return describe(a) + (vm ? " " + c.vm_sip : "");
}

std::string step_text(const MenuStep& st) {
  std::string s = "  entry " + st.entry + ": ";
  switch (st.outcome) {
    case MenuOutcome::option:
      s += "option " + st.option->digits;
      break;
    case MenuOutcome::invalid:
      s += "no such option";
      break;
    case MenuOutcome::timeout:
      s += "nothing keyed within " + std::to_string(st.menu->timeout_s) + " s";
      break;
  }
  if (!st.ignored.empty()) s += " (then " + st.ignored + ": not used, the entry was decided)";
  if (st.retry) {
    return s + ": the prompt again (retry " + std::to_string(st.retry) + " of " +
           std::to_string(st.menu->retries) + ")\n";
  }
  if (st.outcome != MenuOutcome::option) s += " after " + std::to_string(st.menu->retries) + " retries";
  return s + " -> " + describe(*st.action) + "\n";
}

std::string menu_name(const Menu& m) { return "menu " + std::to_string(m.id) + " \"" + m.name + "\""; }

}  // namespace

std::string describe(const Menu& m) {
  std::string s = menu_name(m) + ": prompt " + m.prompt + ", first key within " + std::to_string(m.timeout_s) +
                  " s, then " + std::to_string(m.inter_digit_timeout_s) + " s between keys (# ends an entry), " +
                  std::to_string(m.retries) + " retries\n";
  for (const auto& o : m.options) s += "  " + o.digits + ": " + describe(o.action) + "\n";
  s += "  timeout: " + describe(m.timeout_action) + "; invalid: " + describe(m.invalid_action) + "\n";
  return s;
}

std::string explain(const MenuPath& p, const Customer& c) {
  if (!p.error.empty()) return p.error + "\n";
  std::string s;
  const Menu* shown = nullptr;
  for (const auto& st : p.steps) {
    if (st.menu != shown) s += describe(*st.menu);
    shown = st.menu;
    s += step_text(st);
  }
  if (p.action) {
    s += "-> " + action_text(*p.action, c) + "\n";
    if (p.unused) s += "(" + std::to_string(p.unused) + " more entries not used: the call left the menus)\n";
  } else if (p.waiting) {
    if (p.waiting != shown) s += describe(*p.waiting);
    s += "-> in " + menu_name(*p.waiting) + ", waiting for an entry\n";
  }
  return s;
}

std::string describe(const Rule& r) {
  std::string s;
  auto add = [&](const std::string& x) { s += (s.empty() ? "" : ", ") + x; };
  switch (r.caller_match) {
    case CallerMatch::any:
      break;
    case CallerMatch::exact:
      add("caller " + r.caller_pattern);
      break;
    case CallerMatch::prefix:
      add("caller prefix " + r.caller_pattern);
      break;
    case CallerMatch::anonymous:
      add("anonymous callers");
      break;
  }
  if (r.days != kAllDays) add(format_days(r.days));
  if (r.window) add(hhmm(r.window->from_s) + "-" + hhmm(r.window->to_s));
  for (const auto& dr : r.dates) add(date(dr.from) + ".." + date(dr.to));
  if (s.empty()) s = "always";
  return s;
}

std::string explain(const InboundDecision& d) {
  switch (d.status) {
    case InboundStatus::bad_number:
      return "bad number: " + d.error + "\n";
    case InboundStatus::unknown_number:
      return d.error + "\n";
    case InboundStatus::routed:
      break;
  }
  std::string s = "called " + d.called + ": customer " + d.customer->name + " (" +
                   d.customer->time_zone + "), local time " + format(d.local) + "\n";
  s += "caller " + (d.caller_anonymous ? std::string("anonymous")
                                       : d.caller + (d.caller_valid ? "" : " (not a number)")) +
       "\n";
  for (const auto& m : d.skipped) {
    s += "  no:  " + rule_name(*m.rule) + " [" + describe(*m.rule) + "]: " + why_not(d, m) + "\n";
  }
  if (d.rule) {
    s += "  yes: " + rule_name(*d.rule) + " [" + describe(*d.rule) + "]\n";
  } else {
    s += "  no rule matched: the customer's default action\n";
  }
  return s + "-> " + action_text(*d.action, *d.customer) + "\n";
}

std::string explain(const OutboundDecision& d) {
  if (!d.ok) return "bad number: " + d.error + "\n";
  std::string s = "dialled " + d.dialled + "\n";
  if (d.providers.empty()) s += "  no provider has a rate for it\n";
  int i = 0;
  for (const auto& c : d.providers) {
    s += "  " + std::to_string(++i) + ". " + c.provider->name + " " + c.provider->sip_address +
         ": prefix " + c.rate->prefix + ", " + money(c.rate->cost_micros) + "/min per " +
         std::to_string(c.rate->increment_s) + " s, preference " +
         std::to_string(c.provider->preference) + "\n";
  }
  for (const auto& k : d.skipped) {
    s += "  skipped " + k.provider->name + " (prefix " + k.rate->prefix + ", " +
         money(k.rate->cost_micros) + "/min): " + std::string(name(k.reason)) + "\n";
  }
  return s;
}

}  // namespace tandem::rules
