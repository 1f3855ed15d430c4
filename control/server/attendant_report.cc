#include "control/server/attendant_report.h"

#include <string>

namespace tandem::control {

namespace {

struct Figure {
  const char* name;
  const char* help;
  uint64_t attendant::EngineStats::*field;
  bool counter;
};

constexpr Figure kFigures[] = {
    {"callers", "callers whose media the attendant serves now", &attendant::EngineStats::callers, false},
    {"frames_sent", "prompt packets sent", &attendant::EngineStats::frames_sent, true},
    {"send_errors", "prompt packets the socket refused", &attendant::EngineStats::send_errors, true},
    {"prompts_finished", "prompts played to their end", &attendant::EngineStats::prompts_finished, true},
    {"barge_ins", "prompts stopped by a digit", &attendant::EngineStats::barge_ins, true},
    {"digits", "RFC 4733 digits detected", &attendant::EngineStats::digits, true},
    {"dtmf_repeats", "RFC 4733 packets of an event already reported", &attendant::EngineStats::dtmf_repeats, true},
    {"dtmf_stale", "RFC 4733 packets of an event older than the last", &attendant::EngineStats::dtmf_stale, true},
    {"dtmf_bad_length", "RFC 4733 payloads that are no whole event blocks", &attendant::EngineStats::dtmf_bad_length, true},
    {"dtmf_unknown_event", "RFC 4733 events that are no key", &attendant::EngineStats::dtmf_unknown_event, true},
    {"foreign_source", "RTP from another source than the caller's (ignored)", &attendant::EngineStats::foreign_source, true},
    {"not_rtp", "datagrams on a caller's port that are not RTP", &attendant::EngineStats::not_rtp, true},
    {"ticks_skipped", "1 ms ticks given up after a stall", &attendant::EngineStats::ticks_skipped, true},
    {"events_dropped", "digits and prompt ends lost: the event queue was full", &attendant::EngineStats::events_dropped, true},
};

}  // namespace

nlohmann::json attendant_json(const attendant::EngineStats& s, size_t prompts_cached) {
  nlohmann::json j;
  for (const Figure& f : kFigures) j[f.name] = s.*f.field;
  j["pacing_p99_us"] = s.pacing_p99_us;
  j["pacing_max_us"] = s.pacing_max_us;
  j["prompts_cached"] = prompts_cached;
  j["realtime"] = s.realtime;
  j["thread_cpu_ms"] = s.thread_cpu_ns / 1000000;
  return j;
}

void add_attendant(metrics::Exposition& e, const attendant::EngineStats& s, size_t prompts_cached) {
  for (const Figure& f : kFigures) {
    const std::string name = std::string("tandem_attendant_") + f.name + (f.counter ? "_total" : "");
    if (f.counter) {
      e.counter(name, f.help, static_cast<double>(s.*f.field));
    } else {
      e.gauge(name, f.help, static_cast<double>(s.*f.field));
    }
  }
  e.gauge("tandem_attendant_pacing_p99_seconds", "99th percentile of how late prompt packets left their deadline",
          static_cast<double>(s.pacing_p99_us) / 1e6);
  e.gauge("tandem_attendant_pacing_max_seconds", "the latest prompt packet's lateness (its histogram bucket)",
          static_cast<double>(s.pacing_max_us) / 1e6);
  e.gauge("tandem_attendant_prompts_cached", "prompt files decoded and shared", static_cast<double>(prompts_cached));
  e.counter("tandem_attendant_cpu_seconds_total", "the media thread's CPU time", static_cast<double>(s.thread_cpu_ns) / 1e9);
}

}  // namespace tandem::control
