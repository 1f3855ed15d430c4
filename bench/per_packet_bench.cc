// The per-packet path on mbufs, in process: EAL (no hugepages, one lcore), a
// session table of N sessions made by SessionTable::create, the neighbour
// table with every remote's MAC learnt, and a worker whose TX buffers drain
// into two net_null ports, so that the TX path (buffering, tx_burst, the free
// of the mbufs) is the real one. Each iteration is one pass of worker_main's
// loop over two ports: a burst of 32 RTP frames received on each side,
// worker_process_burst on each, then the TX flush and the RCU quiescent state.
//
//   BM_WorkerBurst/N   allocate 2 x 32 mbufs, write the frames, process, flush
//                      (checksums verified in software: virtual ports give no verdict)
//   BM_WorkerBurstNicChecksums/N  the same with the mbufs flagged as a NIC's RX
//                      checksum offload flags them: the verdict is read, not computed
//   BM_FeedOnly/N      allocate 2 x 32 mbufs, write the frames, send them to
//                      net_null untouched: the feed and the free, to subtract
//
// Why the subtraction: the worker rewrites every frame in place and sends it
// away, so each burst needs fresh mbufs holding fresh frames. Pausing the timer
// around the refill costs more than the path being measured (PauseTiming reads
// clocks, about a microsecond per call pair) and would hide the mbuf free,
// which belongs to the path. So the refill is timed with the path, and the
// same refill with nothing but TX is timed alone: the difference is what the
// worker's stages add per packet (parse, index lookup, relay, rewrite, TX
// buffering). Both are reported; ns_per_packet counters use CPU time.
//
// Traffic (bench/flow_plan.h): every session's two remotes send to it in a
// random order fixed by a seed, each leg's RTP sequence going up by one per
// round, after a warm-up of two rounds (latched, out of RTP probation, peer MACs
// learnt): the steady state of established calls.
//
// Above 32,256 sessions the plan needs more than one relay address per side:
// the table is given one "port" per (side, address) group, and after creation
// each leg's egress port is set back to its side's real net_null port. The
// lookup key, the session array and the worker's code are those of a
// dataplane that has several addresses per port, which today's dataplane (one
// address per --port) cannot configure: see bench/RESULTS.md.
//
// Flags besides Google Benchmark's: --lcore=N (EAL core, default 0),
// --huge (hugepages instead of --no-huge, to see the TLB's share).
#include <benchmark/benchmark.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/flow_plan.h"
#include "dataplane/clock.h"
#include "dataplane_protocol/protocol.h"
#include "dataplane/neighbors.h"
#include "dataplane/ports.h"
#include "dataplane/session_table.h"
#include "dataplane/worker.h"

namespace tandem::bench {
namespace {

namespace proto = dp::proto;

constexpr uint16_t kBurst = 32;
constexpr unsigned kPoolSize = 8191;
constexpr unsigned kPoolCache = 256;

// Everything that does not depend on the session count: made once after EAL.
struct Env {
  rte_mempool* pool = nullptr;
  uint16_t port[2] = {0, 0};     // DPDK port of each side (net_null)
  rte_rcu_qsbr* rcu = nullptr;
  rte_ring* arp_ring = nullptr;
  rte_ring* resolve_ring = nullptr;
  std::unique_ptr<dp::Neighbors> neighbors;
  std::vector<dp::PortView> views;
  dp::Clock clock;
  std::atomic<bool> stop{false};
  int socket = 0;
};
Env* g_env = nullptr;

bool start_null_port(const char* name, uint16_t& port, std::string& error) {
  if (rte_vdev_init(name, "no-rx=1") != 0 || rte_eth_dev_get_port_by_name(name, &port) != 0) {
    error = std::string("cannot create ") + name;
    return false;
  }
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(port, 0, 512, g_env->socket, nullptr, g_env->pool) != 0 ||
      rte_eth_tx_queue_setup(port, 0, 512, g_env->socket, nullptr) != 0 || rte_eth_dev_start(port) != 0) {
    error = std::string("cannot start ") + name;
    return false;
  }
  return true;
}

bool make_env(std::string& error) {
  g_env = new Env;
  Env& e = *g_env;
  e.socket = static_cast<int>(rte_socket_id());
  e.clock.start();
  e.pool = rte_pktmbuf_pool_create("bench_mbufs", kPoolSize, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, e.socket);
  if (!e.pool) {
    error = std::string("mbuf pool: ") + rte_strerror(rte_errno);
    return false;
  }
  if (!start_null_port("net_null0", e.port[0], error) || !start_null_port("net_null1", e.port[1], error)) return false;
  e.rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_rcu", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
  if (!e.rcu || rte_rcu_qsbr_init(e.rcu, 1) != 0) {
    error = "RCU variable";
    return false;
  }
  rte_rcu_qsbr_thread_register(e.rcu, 0);
  rte_rcu_qsbr_thread_online(e.rcu, 0);
  e.arp_ring = rte_ring_create("bench_arp", 4096, e.socket, RING_F_SC_DEQ);
  e.resolve_ring = rte_ring_create("bench_resolve", 4096, e.socket, RING_F_SC_DEQ);
  if (!e.arp_ring || !e.resolve_ring) {
    error = "rings";
    return false;
  }
  e.neighbors = dp::Neighbors::create(4096, e.socket, error);
  if (!e.neighbors) return false;
  e.views.assign(RTE_MAX_ETHPORTS, dp::PortView{});
  for (unsigned side = 0; side < 2; ++side) {
    dp::PortView& v = e.views[e.port[side]];
    v.ip = relay_port_ip(side);
    v.netmask = relay_netmask();
    rte_eth_macaddr_get(e.port[side], &v.mac);
    for (uint32_t h = 0; h < kRemoteHosts; ++h) {
      uint8_t mac[6];
      remote_mac(side, h, mac);
      e.neighbors->learn(e.port[side], remote_ip_by_host(side, h), mac);
    }
  }
  return true;
}

// A table of N sessions and a worker over it, kept across the runs Google
// Benchmark makes of one size (1M sessions take a second or two to create).
struct Fixture {
  uint32_t size = 0;
  std::unique_ptr<dp::SessionTable> table;
  dp::WorkerShared shared{};
  dp::Worker worker;
  std::unique_ptr<FrameTemplate> templates[2];
  std::unique_ptr<FlowOrder> order[2];
  uint32_t memory_per_session = 0;

  ~Fixture() { dp::worker_release(worker); }
};

std::unique_ptr<Fixture> make_fixture(uint32_t n, std::string& error) {
  Env& e = *g_env;
  auto f = std::make_unique<Fixture>();
  f->size = n;
  const uint32_t groups = groups_for(n);
  dp::SessionTableParams p{n, kRelayPortMin, kRelayPortMax, {}, e.rcu, e.socket};
  p.port_ips.resize(std::max(e.port[0], e.port[1]) + 1u);
  for (uint32_t g = 0; g < groups; ++g) {
    for (unsigned side = 0; side < 2; ++side) p.port_ips[e.port[side]].push_back(relay_ip(side, g));
  }
  f->table = dp::SessionTable::create(p, error);
  if (!f->table) return nullptr;
  f->memory_per_session = f->table->memory_per_session();
  for (uint32_t s = 0; s < n; ++s) {
    proto::CreateRequest r{};
    for (unsigned side = 0; side < 2; ++side) {
      proto::LegSpec& l = r.legs[side];
      l.remote_ip = remote_ip(side, s);
      l.remote_port = remote_port_host(s);
      l.local_ip = relay_ip(side, s / kLegsPerAddress);
      l.local_port = local_port_host(s);
      l.port = static_cast<uint8_t>(e.port[side]);
      l.mode = proto::kModeDefault;
      l.clock_khz = 8;
    }
    const auto created = f->table->create(r, 0);
    if (created.error) {
      error = "session " + std::to_string(s) + " of " + std::to_string(n) + ": " + created.error->message;
      return nullptr;
    }
  }
  f->shared = dp::WorkerShared{f->table.get(), e.neighbors.get(), &e.views, e.arp_ring, e.resolve_ring, e.rcu, {},
                               &e.clock, kBurst, 1024, dp::PollMode::busy, 0, false, &e.stop};
  f->worker.index = 0;
  f->worker.shared = &f->shared;
  if (!dp::worker_prepare(f->worker, {e.port[0], e.port[1]}, e.socket, error)) return nullptr;
  for (unsigned side = 0; side < 2; ++side) {
    uint8_t peer[6];
    remote_mac(side, 0, peer);
    f->templates[side] = std::make_unique<FrameTemplate>(e.views[e.port[side]].mac.addr_bytes, peer);
    f->order[side] = std::make_unique<FlowOrder>(n, kSeed + side);
  }
  return f;
}

// Allocates a burst and writes the next frame of each flow into it, with the
// RX offload flags a port sets (0: no checksum verdict, as virtual ports).
bool feed(Fixture& f, unsigned side, rte_mbuf** m, uint64_t ol_flags = 0) {
  if (rte_pktmbuf_alloc_bulk(g_env->pool, m, kBurst) != 0) return false;
  FlowOrder& order = *f.order[side];
  for (unsigned i = 0; i < kBurst; ++i) {
    const uint32_t round = order.round();
    const uint32_t s = order.next();
    f.templates[side]->write(rte_pktmbuf_mtod(m[i], uint8_t*), packet_of(side, s, round));
    m[i]->data_len = kFrameBytes;
    m[i]->pkt_len = kFrameBytes;
    m[i]->ol_flags = ol_flags;
  }
  return true;
}

// One pass of the worker's loop over both ports.
bool worker_pass(Fixture& f, uint64_t ol_flags = 0) {
  rte_mbuf* m[kBurst];
  for (unsigned side = 0; side < 2; ++side) {
    if (!feed(f, side, m, ol_flags)) return false;
    dp::worker_process_burst(f.worker, g_env->port[side], m, kBurst);
  }
  for (unsigned side = 0; side < 2; ++side) {
    const uint16_t port = g_env->port[side];
    rte_eth_tx_buffer_flush(port, 0, f.worker.tx[port]);
  }
  rte_rcu_qsbr_quiescent(g_env->rcu, 0);
  return true;
}

uint64_t total_drops(const dp::WorkerCounters& c) {
  uint64_t d = 0;
  for (uint64_t x : c.drops) d += x;
  return d;
}

std::string drop_summary(const dp::WorkerCounters& c) {
  std::string s;
  for (size_t i = 0; i < dp::kDropReasonCount; ++i) {
    if (c.drops[i]) s += " " + std::string(dp::kDropReasonNames[i]) + "=" + std::to_string(c.drops[i]);
  }
  return s;
}

std::unique_ptr<Fixture> current;  // the size being measured

Fixture* fixture(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  if (current && current->size == n) return current.get();
  current.reset();
  std::string error;
  current = make_fixture(n, error);
  if (!current) {
    state.SkipWithError(("setup: " + error).c_str());
    return nullptr;
  }
  // Warm-up: two rounds through every leg on both sides.
  const uint64_t passes = (2 * uint64_t{n} + kBurst - 1) / kBurst + 1;
  for (uint64_t i = 0; i < passes; ++i) {
    if (!worker_pass(*current)) {
      state.SkipWithError("mbuf pool empty");
      current.reset();
      return nullptr;
    }
  }
  const auto& c = current->worker.counters;
  // Only the first round may drop (a leg whose other side has not spoken yet
  // has no peer MAC when its neighbour is unknown): the second must not.
  current->worker.counters = dp::WorkerCounters{};
  for (uint64_t i = 0; i < passes; ++i) worker_pass(*current);
  if (total_drops(c) != 0) {
    state.SkipWithError(("drops in steady state:" + drop_summary(c)).c_str());
    current.reset();
    return nullptr;
  }
  return current.get();
}

void report(benchmark::State& state, const Fixture& f) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2 * kBurst);
  state.counters["ns_per_packet"] =
      benchmark::Counter(2 * kBurst, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_session"] = f.memory_per_session;
}

void run_worker(benchmark::State& state, uint64_t ol_flags) {
  Fixture* f = fixture(state);
  if (!f) return;
  const dp::WorkerCounters before = f->worker.counters;
  for (auto _ : state) {
    if (!worker_pass(*f, ol_flags)) {
      state.SkipWithError("mbuf pool empty");
      return;
    }
  }
  const dp::WorkerCounters& after = f->worker.counters;
  const uint64_t expected = static_cast<uint64_t>(state.iterations()) * 2 * kBurst;
  if (after.relayed - before.relayed != expected || total_drops(after) != total_drops(before)) {
    state.SkipWithError(("not every packet was relayed:" + drop_summary(after)).c_str());
    return;
  }
  report(state, *f);
}

// Checksums verified in software (virtual ports, no RX offload verdict).
void BM_WorkerBurst(benchmark::State& state) { run_worker(state, 0); }
// As a NIC with RX checksum offload hands packets over: the worker reads the
// verdict instead of summing.
void BM_WorkerBurstNicChecksums(benchmark::State& state) {
  run_worker(state, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
}

void BM_FeedOnly(benchmark::State& state) {
  Fixture* f = fixture(state);
  if (!f) return;
  rte_mbuf* m[kBurst];
  for (auto _ : state) {
    for (unsigned side = 0; side < 2; ++side) {
      if (!feed(*f, side, m)) {
        state.SkipWithError("mbuf pool empty");
        return;
      }
      uint16_t sent = 0;
      while (sent < kBurst) sent += rte_eth_tx_burst(g_env->port[side ^ 1], 0, m + sent, kBurst - sent);
    }
    rte_rcu_qsbr_quiescent(g_env->rcu, 0);
  }
  report(state, *f);
}

// Removes our own flag from argv; true if it was there. `value` gets what
// follows '=' for flags that take one.
bool take_flag(int& argc, char** argv, std::string_view name, std::string* value) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == name || (value && a.starts_with(std::string(name) + "="))) {
      if (value) *value = a.size() > name.size() ? std::string(a.substr(name.size() + 1)) : "";
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      return true;
    }
  }
  return false;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  using namespace tandem::bench;
  std::string lcore = "0";
  take_flag(argc, argv, "--lcore", &lcore);
  const bool huge = take_flag(argc, argv, "--huge", nullptr);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  const std::string prefix = "bench" + std::to_string(getpid());
  std::vector<std::string> eal = {argv[0], "-m", "1024", "--no-pci", "-l", lcore, "--file-prefix", prefix,
                                  "--log-level=error"};
  if (!huge) eal.push_back("--no-huge");
  std::vector<char*> eal_argv;
  for (auto& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "per_packet_bench: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::string error;
  if (!make_env(error)) {
    std::fprintf(stderr, "per_packet_bench: %s\n", error.c_str());
    return 1;
  }
  // Sizes in order, the baseline right after the path, so that each table is
  // built once.
  for (int64_t n : {1000, 100000, 1000000}) {
    benchmark::RegisterBenchmark("BM_WorkerBurst", BM_WorkerBurst)->Arg(n);
    benchmark::RegisterBenchmark("BM_WorkerBurstNicChecksums", BM_WorkerBurstNicChecksums)->Arg(n);
    benchmark::RegisterBenchmark("BM_FeedOnly", BM_FeedOnly)->Arg(n);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  current.reset();
  // Our prefix is ours alone: leave no runtime directory behind.
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir, ec);
  return 0;
}
