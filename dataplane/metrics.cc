#include "dataplane/metrics.h"

#include <rte_ethdev.h>

#include "dataplane_protocol/drop_reasons.h"
#include "metrics/exposition.h"

namespace tandem::dp {

PortsBytes read_port_bytes(const Config& config) {
  PortsBytes out{};
  for (size_t i = 0; i < config.ports.size() && i < out.size(); ++i) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(config.ports[i].port_id, &s) == 0) out[i] = {s.ibytes, s.obytes};
  }
  return out;
}

std::string dataplane_metrics(const proto::HealthReply& h, const PortsBytes& bytes, const PuntTableUse& punt,
                              const Config& config) {
  metrics::Exposition e;
  auto n = [](uint64_t v) { return static_cast<double>(v); };
  e.gauge("tandem_dp_uptime_seconds", "seconds since the dataplane started", n(h.uptime_s));
  e.gauge("tandem_dp_sessions", "media sessions in the table", n(h.sessions));
  e.gauge("tandem_dp_sessions_max", "media sessions the table holds (--max-sessions)", n(h.max_sessions));
  e.counter("tandem_dp_sessions_created_total", "media sessions created", n(h.sessions_created));
  e.counter("tandem_dp_sessions_deleted_total", "media sessions deleted (by the control plane or a timeout)",
            n(h.sessions_deleted));
  e.counter("tandem_dp_session_timeouts_total", "media sessions removed by --idle-timeout", n(h.timeouts));
  e.gauge("tandem_dp_mbufs_in_use", "packet buffers in use", n(h.mbufs_in_use));
  e.gauge("tandem_dp_mbufs", "packet buffers in the pools", n(h.mbufs_total));
  e.gauge("tandem_dp_neighbors", "next hops resolved (ARP)", n(h.neighbors));
  e.gauge("tandem_dp_control_clients", "control-plane connections", n(h.clients));
  e.counter("tandem_dp_control_errors_total", "malformed or refused control messages", n(h.control_errors));

  const unsigned workers = std::min<unsigned>(h.workers, proto::kMaxWorkers);
  auto per_worker = [&](const char* name, const char* help, auto value) {
    e.family(name, "counter", help);
    for (unsigned w = 0; w < workers; ++w) {
      e.sample(static_cast<double>(value(h.worker[w])), {{"worker", std::to_string(w)}});
    }
  };
  per_worker("tandem_dp_worker_rx_packets_total", "packets received by the worker",
             [](const proto::WorkerHealth& w) { return w.rx; });
  per_worker("tandem_dp_worker_relayed_packets_total", "media packets relayed by the worker",
             [](const proto::WorkerHealth& w) { return w.relayed; });
  per_worker("tandem_dp_worker_tx_packets_total", "packets sent by the worker (relayed and to the kernel)",
             [](const proto::WorkerHealth& w) { return w.tx; });
  // busy / (busy + idle) over a window is the worker's load in busy mode; in
  // adaptive mode, 1 - rate(sleep seconds) is (WorkerHealth::sleep_us).
  per_worker("tandem_dp_worker_busy_polls_total", "polls that found packets",
             [](const proto::WorkerHealth& w) { return w.busy_polls; });
  per_worker("tandem_dp_worker_idle_polls_total", "polls that found none",
             [](const proto::WorkerHealth& w) { return w.idle_polls; });
  per_worker("tandem_dp_worker_sleeps_total", "sleeps of the adaptive poll mode",
             [](const proto::WorkerHealth& w) { return w.sleeps; });
  per_worker("tandem_dp_worker_handed_off_total", "packets of legs another worker owns, passed to it",
             [](const proto::WorkerHealth& w) { return w.handed_off; });
  per_worker("tandem_dp_worker_sleep_seconds_total", "time asleep in the adaptive poll mode",
             [](const proto::WorkerHealth& w) { return static_cast<double>(w.sleep_us) / 1e6; });

  const size_t ports = std::min<size_t>(config.ports.size(), proto::kMaxPorts);
  auto per_port = [&](const char* name, const char* type, const char* help, auto value) {
    e.family(name, type, help);
    for (size_t i = 0; i < ports; ++i)
      e.sample(n(value(h.port[i])), {{"port", std::to_string(config.ports[i].port_id)}, {"role", config.ports[i].role}});
  };
  per_port("tandem_dp_port_rx_packets_total", "counter", "packets the NIC received",
           [](const proto::PortHealth& p) { return p.rx_packets; });
  per_port("tandem_dp_port_tx_packets_total", "counter", "packets the NIC sent",
           [](const proto::PortHealth& p) { return p.tx_packets; });
  per_port("tandem_dp_port_rx_bytes_total", "counter", "bytes the NIC received",
           [&](const proto::PortHealth& p) { return bytes[&p - h.port].rx; });
  per_port("tandem_dp_port_tx_bytes_total", "counter", "bytes the NIC sent",
           [&](const proto::PortHealth& p) { return bytes[&p - h.port].tx; });
  per_port("tandem_dp_port_rx_missed_total", "counter", "packets the NIC dropped: no room in the RX ring",
           [](const proto::PortHealth& p) { return p.rx_missed; });
  per_port("tandem_dp_port_rx_nombuf_total", "counter", "packets dropped at RX: no mbuf to receive into",
           [](const proto::PortHealth& p) { return p.rx_nombuf; });
  per_port("tandem_dp_port_rx_errors_total", "counter", "erroneous packets received",
           [](const proto::PortHealth& p) { return p.rx_errors; });
  per_port("tandem_dp_port_tx_errors_total", "counter", "packets the NIC failed to send",
           [](const proto::PortHealth& p) { return p.tx_errors; });
  per_port("tandem_dp_port_punted_packets_total", "counter", "packets passed to the kernel (exception path)",
           [](const proto::PortHealth& p) { return p.punted; });
  per_port("tandem_dp_port_injected_packets_total", "counter", "packets the kernel sent through the port",
           [](const proto::PortHealth& p) { return p.injected; });
  per_port("tandem_dp_port_link_up", "gauge", "1 while the port's link is up",
           [](const proto::PortHealth& p) { return p.link_up; });

  e.gauge("tandem_dp_punt_sources", "source addresses with a bucket of the exception path's policing",
          n(punt.sources));
  e.gauge("tandem_dp_punt_sources_max", "buckets the workers' source tables hold (--punt-sources per worker)",
          n(punt.capacity));
  e.counter("tandem_dp_punt_source_evictions_total", "buckets taken over by a new source, their set being full",
            n(punt.evictions));
  e.family("tandem_dp_drops_total", "counter", "packets dropped, by reason (tandemctl dataplane status explains each)");
  for (size_t d = 0; d < kDropReasonCount && d < proto::kMaxDropReasons; ++d)
    e.sample(n(h.drops[d]), {{"reason", std::string(kDropReasonNames[d])}});
  return e.text();
}

}  // namespace tandem::dp
