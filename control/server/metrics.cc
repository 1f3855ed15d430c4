#include "control/server/metrics.h"

#include "control/metrics.h"
#include "control/server/attendant_report.h"

namespace tandem::control {

std::string server_metrics(CallServer& server, const rules::Reloader& rules, const cdr::Writer& cdrs) {
  Exposition e;
  add_counters(e, "tandem_control", kCounterInfo,
               [&server](size_t i) { return server.counters().get(static_cast<Counter>(i)); });
  add_sip_stack(e, server.agent());
  e.gauge("tandem_control_calls_active", "calls in progress", static_cast<double>(server.active_calls()));
  e.gauge("tandem_control_capacity", "calls this server takes at most (--capacity)",
          static_cast<double>(server.capacity()));
  e.gauge("tandem_control_draining", "1 while draining (no new calls; tandemctl drain)", server.draining() ? 1 : 0);
  add_rules(e, rules.stats());
  add_db_connects(e);
  server.histograms().add_to(e);
  add_attendant(e, server.attendant_stats(), server.prompts_cached());

  const cdr::WriterStats w = cdrs.stats();
  auto count = [](uint64_t v) { return static_cast<double>(v); };
  e.counter("tandem_cdr_queued_total", "call records taken into the memory queue", count(w.queued));
  e.counter("tandem_cdr_spooled_total", "call records durable in the spool", count(w.spooled));
  e.counter("tandem_cdr_written_total", "call records committed to the CDR DB", count(w.written));
  e.counter("tandem_cdr_retries_total", "CDR DB batches that failed and are retried", count(w.retried));
  e.counter("tandem_cdr_refused_total", "call records the DB refused (kept in the spool's refused/)", count(w.refused));
  e.counter("tandem_cdr_dropped_total", "valid call records lost: queue and spool full", count(w.dropped));
  e.counter("tandem_cdr_spool_errors_total", "spool appends or syncs that failed", count(w.spool_errors));
  e.gauge("tandem_cdr_spool_bytes", "bytes of call records in the spool not yet in the DB", count(w.spool_bytes));
  e.gauge("tandem_cdr_queue_depth", "call records in the memory queue", count(w.queue_depth));
  e.gauge("tandem_cdr_open_calls", "answered calls kept as open until their final record is spooled",
          count(w.open_calls));
  e.counter("tandem_cdr_recovered_total", "calls a dead predecessor left up, billed at this start",
            count(w.recovered));
  e.gauge("tandem_cdr_db_up", "1 when the CDR writer's last DB attempt succeeded", w.db_up ? 1 : 0);
  return e.text();
}

}  // namespace tandem::control
