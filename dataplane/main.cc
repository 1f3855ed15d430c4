// tandem-dataplane: EAL arguments, then ours after `--`.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include <signal.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "dataplane/af_packet.h"
#include "dataplane/check_config.h"
#include "dataplane/config.h"
#include "dataplane/control_handlers.h"
#include "dataplane/control_server.h"
#include "dataplane/housekeeping.h"
#include "dataplane/runtime.h"

namespace tandem::dp {
namespace {

constexpr unsigned kRingSize = 4096;
constexpr uint32_t kNeighborCapacity = 4096;

std::atomic<bool>* g_stop = nullptr;

void on_signal(int) {
  if (g_stop) g_stop->store(true);
}

int fail(const std::string& msg) {
  spdlog::critical("{}", msg);
  return 1;
}

// Splits argv at the first "--": EAL's part, then ours (with the program name
// in front of both).
void split_args(int argc, char** argv, std::vector<char*>& eal, std::vector<char*>& ours, bool& had_separator) {
  eal.push_back(argv[0]);
  ours.push_back(argv[0]);
  had_separator = false;
  for (int i = 1; i < argc; ++i) {
    if (!had_separator && std::string_view(argv[i]) == "--") {
      had_separator = true;
      continue;
    }
    (had_separator ? ours : eal).push_back(argv[i]);
  }
}

bool create_rings(Runtime& rt, std::string& error) {
  const int socket = static_cast<int>(rte_socket_id());
  rt.arp_ring = rte_ring_create("tandem_arp", kRingSize, socket, RING_F_SC_DEQ);
  rt.resolve_ring = rte_ring_create("tandem_resolve", kRingSize, socket, RING_F_SC_DEQ);
  if (!rt.arp_ring || !rt.resolve_ring) {
    error = std::string("cannot create rings: ") + rte_strerror(rte_errno);
    return false;
  }
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
  rt.rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("tandem_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (!rt.rcu || rte_rcu_qsbr_init(rt.rcu, RTE_MAX_LCORE) != 0) {
    error = "cannot create the RCU variable";
    return false;
  }
  return true;
}

bool create_workers(Runtime& rt, std::string& error) {
  std::vector<uint16_t> tx_ports;
  for (uint16_t port : rt.ports.wire_ports()) {
    tx_ports.push_back(port);
    if (rt.ports.views()[port].tap != kNoPort) tx_ports.push_back(rt.ports.views()[port].tap);
  }
  auto ring = [&](const std::string& name, unsigned lcore, unsigned flags) {
    rte_ring* r = rte_ring_create(name.c_str(), kRingSize, static_cast<int>(rte_lcore_to_socket_id(lcore)), flags);
    if (!r) error = "cannot create " + name + ": " + rte_strerror(rte_errno);
    return r;
  };
  const bool several = rte_lcore_count() > 2;
  unsigned lcore;
  unsigned index = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    auto w = std::make_unique<Worker>();
    w->index = index;
    const std::string suffix = std::to_string(index++);
    if (!(w->inject = ring("tandem_inject" + suffix, lcore, RING_F_SP_ENQ | RING_F_SC_DEQ))) return false;
    if (several) {
      if (!(w->handoff = ring("tandem_handoff" + suffix, lcore, RING_F_SC_DEQ))) return false;
      rt.shared.handoff.push_back(w->handoff);
    }
    w->shared = &rt.shared;
    w->fragment_pool = rt.ports.pool();
    w->policer = PuntPolicer(rt.config.punt, rte_get_tsc_hz(), rte_lcore_count() - 1, rte_rand());
    if (!worker_prepare(*w, tx_ports, static_cast<int>(rte_lcore_to_socket_id(lcore)), error)) return false;
    rt.workers.push_back(std::move(w));
  }
  // RX queue q of every port goes to worker q mod workers.
  for (uint16_t port : rt.ports.wire_ports()) {
    for (uint16_t q = 0; q < rt.layout.rx_queues; ++q) {
      rt.workers[q % rt.workers.size()]->rx.push_back({port, q});
    }
  }
  return true;
}

// Our flags (checked before EAL takes hugepages and devices, so that a typo
// costs nothing), then EAL's: the exit code, or nullopt to go on.
std::optional<int> initialise(int argc, char** argv, Runtime& rt) {
  std::vector<char*> eal_args, our_args;
  bool separator = false;
  split_args(argc, argv, eal_args, our_args, separator);
  if (!separator) {
    for (char* a : eal_args) {
      if (std::string_view(a) == "--help" || std::string_view(a) == "-h") {
        char help[] = "--help";
        char* args[] = {argv[0], help};
        return parse_flags(2, args).exit_code;
      }
    }
  }
  FlagsResult flags = parse_flags(static_cast<int>(our_args.size()), our_args.data());
  if (flags.exit_code >= 0) return flags.exit_code;
  rt.config = std::move(flags.config);
  spdlog::set_level(spdlog::level::from_str(rt.config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [dataplane] %v");

  // net_af_packet's kernel hands it reassembled datagrams: its ring slots must
  // hold them (af_packet.h).
  std::vector<std::string> eal_strings(eal_args.begin(), eal_args.end());
  if (rt.config.check_config) return check_dataplane_config(rt.config, {eal_strings.begin() + 1, eal_strings.end()});
  for (const std::string& vdev : add_af_packet_ring_defaults(eal_strings)) {
    spdlog::info("--vdev {}: ring geometry added, so that reassembled datagrams fit its slots", vdev);
  }
  eal_args.clear();
  for (std::string& a : eal_strings) eal_args.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_args.size()), eal_args.data()) < 0) {
    std::fprintf(stderr, "tandem-dataplane: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  rt.clock.start();
  const unsigned workers = rte_lcore_count() - 1;
  if (workers == 0) {
    rte_eal_cleanup();
    std::fprintf(stderr, "tandem-dataplane: give at least two lcores (-l): the main one and a worker\n");
    return 2;
  }
  rt.layout.worker_count = static_cast<uint16_t>(workers);
  rt.layout.rx_queues = rt.config.rx_queues ? rt.config.rx_queues : static_cast<uint16_t>(workers);
  return std::nullopt;
}

// Ports, tables, the control socket and the workers; then housekeeping until
// a signal. Returns the exit code; what it made is released by the caller.
int serve(Runtime& rt, ControlServer& server, ControlHandlers& handlers) {
  std::string error;
  std::vector<std::vector<uint32_t>> port_ips(proto::kMaxPorts);
  for (const PortConfig& p : rt.config.ports) port_ips[p.port_id] = relay_addresses(p);
  if (!rt.ports.start(rt.config, rt.layout, error) || !create_rings(rt, error)) return fail(error);
  if (!(rt.sessions = SessionTable::create({rt.config.max_sessions, rt.config.relay_port_min, rt.config.relay_port_max,
                                            port_ips, rt.rcu, static_cast<int>(rte_socket_id())},
                                           error)) ||
      !(rt.neighbors = Neighbors::create(kNeighborCapacity, static_cast<int>(rte_socket_id()), error))) {
    return fail(error);
  }
  if (!server.listen(rt.config.control_socket, error)) return fail(error);
  // Created before the workers: its thread takes the main lcore's CPU set, never a worker's.
  std::unique_ptr<metrics::TextServer> metrics_server;
  if (!rt.config.metrics_listen.empty()) {
    metrics_server = std::make_unique<metrics::TextServer>();
    if (!metrics_server->start(rt.config.metrics_listen, error)) return fail(error);
  }
  rt.shared = WorkerShared{rt.sessions.get(), rt.neighbors.get(), &rt.ports.views(), rt.arp_ring, rt.resolve_ring,
                           rt.rcu, {}, &rt.clock, rt.config.burst, rt.config.rx_desc, rt.config.poll_mode,
                           rt.config.idle_max_delay_us, rt.config.exception_path,
                           &rt.stop};
  if (!create_workers(rt, error)) return fail(error);
  g_stop = &rt.stop;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  unsigned lcore;
  size_t i = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { rte_eal_remote_launch(worker_main, rt.workers[i++].get(), lcore); }
  spdlog::info("ready: {} workers, {} sessions max ({} bytes each), control socket {}, poll mode {}",
               rt.workers.size(), rt.sessions->capacity(), rt.sessions->memory_per_session(),
               rt.config.control_socket,
               rt.config.poll_mode == PollMode::busy
                   ? "busy"
                   : fmt::format("adaptive (max delay {} us)", rt.config.idle_max_delay_us));
  housekeeping_run(rt, server, handlers, metrics_server.get());
  spdlog::info("stopping");
  rte_eal_mp_wait_lcore();
  return 0;
}

int run(int argc, char** argv) {
  Runtime rt;
  if (const auto code = initialise(argc, argv, rt)) return *code;
  int rc = 0;
  {
    ControlHandlers handlers(rt);
    ControlServer server([&](ControlClient& c, const proto::Header& h, const uint8_t* body) {
      handlers.handle(c, h, body);
    });
    handlers.attach(&server);
    rc = serve(rt, server, handlers);
    for (auto& w : rt.workers) {
      worker_release(*w);
      rte_ring_free(w->inject);
      rte_ring_free(w->handoff);
    }
    rt.sessions.reset();
    rt.neighbors.reset();
    rt.ports.stop();
  }
  rte_ring_free(rt.arp_ring);
  rte_ring_free(rt.resolve_ring);
  rte_free(rt.rcu);
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace tandem::dp

int main(int argc, char** argv) { return tandem::dp::run(argc, argv); }
