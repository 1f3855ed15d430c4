// tandem-bench-rtp-load: RTP for every session of a running dataplane, as the
// legs' remotes would send it, through a DPDK port facing the dataplane's port
// (net_memif, either role), and an account of what the dataplane relays back:
// per leg received, lost (RTP seq), out of order, and whether it is what the
// other leg sent. One measurement per run, or many on demand (--serve).
//
// sipp cannot stream thousands of calls from one core (bench/sip/README.md,
// Quirks); this sends G.711 20 ms packets (50/s per leg) for the sessions the
// dataplane lists, spread over each 20 ms in bursts of up to --burst packets,
// and sleeps between bursts: the machine it runs on is shared with the
// dataplane and the call server.
//
// Usage: tandem-bench-rtp-load [EAL options] -- [options]; see --help.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <nlohmann/json.hpp>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/latency_histogram.h"
#include "bench/rtp_load_port.h"
#include "bench/rtp_load_streams.h"
#include "control/dataplane_client.h"

namespace tandem::bench::rtpload {
namespace {

using control::DataplaneClient;

constexpr uint16_t kMaxBurst = 64;
constexpr unsigned kBurstsPerWake = 16;   // then RX gets its turn
constexpr unsigned kTxRetries = 4;        // a full ring: the dataplane is behind
constexpr uint64_t kTxRetryPauseNs = 20'000;
constexpr uint64_t kMinSleepNs = 50'000;  // below this nanosleep costs more than it saves
constexpr uint64_t kMaxSleepNs = 1'000'000;
constexpr uint64_t kNeighborWaitNs = 2'000'000'000;
// A packet's send time is kept until its number comes round again: far longer
// than any relay takes.
constexpr uint32_t kSendTimes = 4;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

struct Options {
  std::string socket = "/run/tandem/dataplane.sock";
  std::string dataplane_mac;
  unsigned dataplane_port = 0;
  unsigned port = 0;
  double seconds = 10;
  unsigned burst = 32;
  uint32_t mbufs = 16384;
  double attach_timeout = 10;
  unsigned drain_ms = 500;
  unsigned rx_poll_us = 0;
  bool announce = true;
  std::string json;
  bool serve = false;
};

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

void sleep_until(uint64_t t_ns) {
  const timespec ts{static_cast<time_t>(t_ns / 1'000'000'000u), static_cast<long>(t_ns % 1'000'000'000u)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

double unix_seconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string ip_text(uint32_t ip_net) {
  char buf[INET_ADDRSTRLEN];
  in_addr a{ip_net};
  return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

// Argv split at the first "--": EAL's part, then ours, each behind the program name.
void split_args(int argc, char** argv, std::vector<char*>& eal, std::vector<char*>& ours, bool& separator) {
  eal.push_back(argv[0]);
  ours.push_back(argv[0]);
  separator = false;
  for (int i = 1; i < argc; ++i) {
    if (!separator && std::string_view(argv[i]) == "--") {
      separator = true;
      continue;
    }
    (separator ? ours : eal).push_back(argv[i]);
  }
}

struct Counters {
  uint64_t sent = 0;
  uint64_t received = 0;  // RTP accounted to a leg, good or bad
  uint64_t unknown = 0;
  uint64_t misdirected = 0;
  uint64_t arp_answered = 0;
  uint64_t arp_other = 0;
  uint64_t pool_empty = 0;
};

class Generator {
 public:
  Generator(const Options& o, Wire& wire, Streams& streams)
      : o_(o), wire_(wire), streams_(streams), sent_ns_(streams.legs().size() * kSendTimes) {}

  // Sends an ARP request from every remote address so that the dataplane
  // knows their MAC before the first packet, then waits (bounded) until its
  // neighbour table holds as many entries.
  void announce(DataplaneClient& c, uint32_t dataplane_ip) {
    std::vector<rte_mbuf*> out;
    for (uint32_t ip : streams_.remote_ips()) {
      if (rte_mbuf* m = arp_announce(wire_, ip, dataplane_ip)) out.push_back(m);
    }
    transmit(out.data(), static_cast<uint16_t>(out.size()), nullptr);
    const uint64_t end = now_ns() + kNeighborWaitNs;
    while (now_ns() < end) {
      receive();
      const auto h = c.health();
      if (h && h->neighbors >= streams_.remote_ips().size()) return;
      sleep_until(now_ns() + 20'000'000);
    }
    std::fprintf(stderr, "rtp-load: the dataplane learnt no neighbour for the remotes in %llu ms; going on\n",
                 static_cast<unsigned long long>(kNeighborWaitNs / 1'000'000));
  }

  // Every leg sends rounds packets, leg i's k-th at t0 + (k * legs + i) / legs * 20 ms.
  void run(uint64_t rounds) {
    const uint64_t legs = streams_.legs().size();
    const uint64_t total = rounds * legs;
    const uint64_t t0 = now_ns();
    send_start_ = t0;
    unix_start_ = unix_seconds();
    uint64_t next_report = t0 + 1'000'000'000u;
    uint64_t last = t0;
    Counters at_last = c_;
    cpu0_ = cpu_seconds();
    // Short, exact sleeps: what the relay's latency includes of our own polling.
    if (o_.rx_poll_us) prctl(PR_SET_TIMERSLACK, 1000UL);
    const uint64_t max_sleep_ns = o_.rx_poll_us ? uint64_t{o_.rx_poll_us} * 1000 : kMaxSleepNs;
    uint64_t n = 0;
    while (n < total && !g_stop.load(std::memory_order_relaxed)) {
      const uint64_t now = now_ns();
      const uint64_t due = std::min(total, (now - t0) * legs / kPeriodNs + 1);
      for (unsigned b = 0; b < kBurstsPerWake && n < due; ++b) {
        n += send_burst(n, static_cast<uint16_t>(std::min<uint64_t>(o_.burst, due - n)), legs);
      }
      receive();
      if (now >= next_report) {
        report(now, last, at_last);
        last = now;
        at_last = c_;
        next_report += 1'000'000'000u;
      }
      if (n < due) continue;  // behind: no sleep
      // Wake when a whole burst is due (at low rates: each wake costs more than the packets).
      const uint64_t next_burst = t0 + std::min(total, n + o_.burst) * kPeriodNs / legs;
      const uint64_t after = now_ns();
      sleep_until(std::clamp(next_burst, after + std::min(kMinSleepNs, max_sleep_ns), after + max_sleep_ns));
    }
    send_end_ = now_ns();
    unix_end_ = unix_seconds();
    cpu1_ = cpu_seconds();
    // What the dataplane still has in flight.
    const uint64_t drain_end = send_end_ + uint64_t{o_.drain_ms} * 1'000'000u;
    while (now_ns() < drain_end) {
      receive();
      sleep_until(now_ns() + max_sleep_ns);
    }
  }

  nlohmann::json summary(const Skipped& skipped) const {
    const Totals t = totals(streams_.legs());
    const double secs = double(send_end_ - send_start_) / 1e9;
    const double loss = t.expected ? 100.0 * double(int64_t(t.expected) - int64_t(t.received)) / double(t.expected) : 0;
    return {{"sessions", streams_.sessions()},
            {"legs", streams_.legs().size()},
            {"sessions_skipped", {{"legs_on_other_ports", skipped.other_port},
                                  {"legs_without_remote", skipped.remote_unknown}}},
            {"remote_ips", streams_.remote_ips().size()},
            {"seconds", secs},
            // When the sending started and ended, for a caller that samples other processes' CPU.
            {"start_unix_s", unix_start_},
            {"end_unix_s", unix_end_},
            {"sent", t.sent},
            {"tx_failed", t.tx_failed},
            {"received", t.received},
            {"expected", t.expected},
            {"lost", int64_t(t.expected) - int64_t(t.received)},
            {"loss_pct", loss},
            {"lost_by_seq", t.lost_by_seq},
            {"out_of_order", t.out_of_order},
            {"duplicates", t.duplicates},
            {"bad_payload_or_ssrc", t.bad},
            {"legs_without_packets", t.legs_without_packets},
            {"pps_sent", secs > 0 ? double(t.sent) / secs : 0},
            {"pps_received", secs > 0 ? double(t.received) / secs : 0},
            {"expected_pps", double(streams_.legs().size() * kPacketsPerSecond)},
            {"unknown_frames", c_.unknown},
            {"misdirected", c_.misdirected},
            {"arp_answered", c_.arp_answered},
            {"pool_empty", c_.pool_empty},
            // From our send to our receive: the relay's, plus up to --rx-poll-us of our own.
            {"latency_us", {{"samples", latency_.count()}, {"p50", latency_.percentile_us(0.5)},
                            {"p90", latency_.percentile_us(0.9)}, {"p99", latency_.percentile_us(0.99)},
                            {"p999", latency_.percentile_us(0.999)}, {"max", latency_.max_us()}}},
            {"cpu_s", cpu1_ - cpu0_},
            {"cpu_pct", secs > 0 ? 100.0 * (cpu1_ - cpu0_) / secs : 0},
            {"interrupted", g_stop.load()}};
  }

 private:
  uint16_t send_burst(uint64_t n, uint16_t count, uint64_t legs) {
    rte_mbuf* pkts[kMaxBurst];
    uint32_t leg_of[kMaxBurst];
    if (rte_pktmbuf_alloc_bulk(wire_.pool, pkts, count) != 0) {
      ++c_.pool_empty;  // mbufs still in the ring: the packets wait for the next wake
      return 0;
    }
    const uint64_t now = now_ns();
    for (uint16_t j = 0; j < count; ++j) {
      leg_of[j] = static_cast<uint32_t>((n + j) % legs);
      const auto k = static_cast<uint32_t>((n + j) / legs);
      write_rtp_frame(wire_, streams_, leg_of[j], k, pkts[j]);
      sent_ns_[leg_of[j] * kSendTimes + k % kSendTimes] = now;
    }
    transmit(pkts, count, leg_of);
    return count;
  }

  // Sends, retrying a little when the ring is full; what still does not go is
  // freed and counted per leg (its seq numbers then show as lost).
  void transmit(rte_mbuf** pkts, uint16_t count, const uint32_t* leg_of) {
    uint16_t done = 0;
    for (unsigned attempt = 0; done < count; ++attempt) {
      done = static_cast<uint16_t>(done + rte_eth_tx_burst(wire_.port, 0, pkts + done, count - done));
      if (done == count || attempt == kTxRetries) break;
      sleep_until(now_ns() + kTxRetryPauseNs);
    }
    for (uint16_t j = 0; j < count; ++j) {
      if (!leg_of) continue;
      Stream& st = streams_.legs()[leg_of[j]];
      if (j < done) {
        ++st.sent;
      } else {
        ++st.tx_failed;
      }
    }
    if (leg_of) c_.sent += done;
    rte_pktmbuf_free_bulk(pkts + done, count - done);
  }

  void receive() {
    rte_mbuf* pkts[kMaxBurst];
    rte_mbuf* replies[kMaxBurst];
    for (unsigned polls = 0; polls < kBurstsPerWake; ++polls) {
      const uint16_t n = rte_eth_rx_burst(wire_.port, 0, pkts, kMaxBurst);
      const uint64_t now = n ? now_ns() : 0;
      uint16_t nr = 0;
      for (uint16_t j = 0; j < n; ++j) {
        rte_mbuf* reply = nullptr;
        std::optional<RelayedRtp> rtp;
        const Received what = classify(wire_, streams_, pkts[j], &reply, &rtp);
        if (rtp) latency_.add(now - sent_ns_[rtp->sender * kSendTimes + rtp->k % kSendTimes]);
        switch (what) {
          case Received::rtp: ++c_.received; break;
          case Received::arp_answered: ++c_.arp_answered; break;
          case Received::arp_other: ++c_.arp_other; break;
          case Received::unknown: ++c_.unknown; break;
          case Received::misdirected: ++c_.misdirected; break;
        }
        if (reply) {
          replies[nr++] = reply;
        } else {
          rte_pktmbuf_free(pkts[j]);
        }
      }
      transmit(replies, nr, nullptr);
      if (n < kMaxBurst) return;
    }
  }

  void report(uint64_t now, uint64_t last, const Counters& before) const {
    const double dt = double(now - last) / 1e9;
    const double elapsed = double(now - send_start_) / 1e9;
    std::fprintf(stderr, "rtp-load: %5.1f s  sent %8.0f pps  received %8.0f pps  total sent %llu received %llu\n",
                 elapsed, double(c_.sent - before.sent) / dt, double(c_.received - before.received) / dt,
                 static_cast<unsigned long long>(c_.sent), static_cast<unsigned long long>(c_.received));
  }

  const Options& o_;
  Wire& wire_;
  Streams& streams_;
  Counters c_;
  std::vector<uint64_t> sent_ns_;  // leg i's k-th packet at [i * kSendTimes + k % kSendTimes]
  LatencyHistogram latency_;
  uint64_t send_start_ = 0;
  uint64_t send_end_ = 0;
  double unix_start_ = 0;
  double unix_end_ = 0;
  double cpu0_ = 0;
  double cpu1_ = 0;
};

// Writes a summary to `json` under a temporary name renamed at the end, so that a
// reader polling for the file never sees half of it.
bool write_summary(const std::string& json, const std::string& text) {
  const std::string part = json + ".part";
  if ((std::ofstream(part) << text) && std::rename(part.c_str(), json.c_str()) == 0) return true;
  std::fprintf(stderr, "rtp-load: cannot write %s\n", json.c_str());
  return false;
}

// One measurement: RTP for the sessions the dataplane holds now, for `seconds`,
// and its summary written to `json` (write_summary) or to stdout when empty.
int measure(const Options& o, Wire& wire, double seconds, const std::string& json) {
  DataplaneClient c;
  std::string error;
  if (!c.connect(o.socket, error, 10000)) {
    std::fprintf(stderr, "rtp-load: %s\n", error.c_str());
    return 1;
  }
  const auto hello = c.hello("bench-rtp-load");
  if (!hello) {
    std::fprintf(stderr, "rtp-load: hello: %s\n", hello.error.c_str());
    return 1;
  }
  const uint32_t dataplane_ip = hello->port_ip[o.dataplane_port];
  if (dataplane_ip == 0) {
    std::fprintf(stderr, "rtp-load: the dataplane has no port %u\n", o.dataplane_port);
    return 1;
  }
  const auto sessions = c.list_all();
  if (!sessions) {
    std::fprintf(stderr, "rtp-load: listing sessions: %s\n", sessions.error.c_str());
    return 1;
  }
  Skipped skipped;
  Streams streams = Streams::from_sessions(*sessions, static_cast<uint8_t>(o.dataplane_port), skipped);
  if (streams.sessions() == 0) {
    std::fprintf(stderr, "rtp-load: no session with both legs on port %u and their remotes known (%zu sessions; "
                 "%u legs on other ports, %u without a remote)\n", o.dataplane_port, sessions->size(),
                 skipped.other_port, skipped.remote_unknown);
    return 1;
  }
  for (uint32_t ip : streams.remote_ips()) {
    if (ip == dataplane_ip) {
      std::fprintf(stderr, "rtp-load: a remote is the dataplane port's own address %s: the relay would send to "
                   "itself\n", ip_text(ip).c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "rtp-load: %zu sessions, %zu legs, %zu remote addresses: %.0f packets/s for %.1f s\n",
               streams.sessions(), streams.legs().size(), streams.remote_ips().size(),
               double(streams.legs().size() * kPacketsPerSecond), seconds);
  Generator g(o, wire, streams);
  if (o.announce) g.announce(c, dataplane_ip);
  g.run(static_cast<uint64_t>(std::llround(seconds * kPacketsPerSecond)));
  const std::string out = g.summary(skipped).dump(1) + "\n";
  if (json.empty()) {
    std::cout << out << std::flush;
    return 0;
  }
  return write_summary(json, out) ? 0 : 1;
}

// --serve: measurements on demand, one per line of stdin ("SECONDS JSON-PATH"),
// on a port attached once, until end of input or a signal. A memif server
// that outlives the dataplane's restarts lets the dataplane be the zero-copy
// client (DPDK's memif copies on the server side only), as a NIC would DMA.
int serve(const Options& o, Wire& wire) {
  std::fprintf(stderr, "rtp-load: serving; measurements from stdin as \"SECONDS JSON-PATH\"\n");
  int failed = 0;
  std::string line;
  while (!g_stop.load() && std::getline(std::cin, line)) {
    std::istringstream in(line);
    double seconds = 0;
    std::string json;
    if (!(in >> seconds >> json) || seconds < 0.02 || seconds > 3600) {
      std::fprintf(stderr, "rtp-load: ignored \"%s\": not \"SECONDS JSON-PATH\" with 0.02-3600 seconds\n",
                   line.c_str());
      ++failed;
      continue;
    }
    if (measure(o, wire, seconds, json) != 0) {
      ++failed;
      // Its reader waits for this file: the failure is the summary (the reason is on stderr).
      write_summary(json, nlohmann::json{{"error", "the measurement failed: see the generator's log"}}.dump());
    }
  }
  return failed ? 1 : 0;
}

int run(int argc, char** argv) {
  std::vector<char*> eal_args, our_args;
  bool separator = false;
  split_args(argc, argv, eal_args, our_args, separator);

  Options o;
  CLI::App app{
      "tandem-bench-rtp-load: RTP for every session of a running tandem-dataplane, sent as the legs' remotes would "
      "(G.711 20 ms, 50 packets/s per leg) through a net_memif port facing the dataplane's, and a count of what it "
      "relays back (received, lost, out of order, wrong payload) per leg. JSON summary on stdout or --json.\n"
      "Run as: tandem-bench-rtp-load [EAL options] -- [options]\n"
      "  e.g. tandem-bench-rtp-load -l 1 --file-prefix load --no-pci \\\n"
      "         --vdev net_memif0,role=client,socket=/tmp/x/memif.sock,socket-abstract=no,mac=02:00:00:00:1a:01 \\\n"
      "         -- --socket /tmp/x/dataplane.sock --dataplane-mac 02:00:00:00:d0:01 --seconds 10\n"
      "  with the dataplane on --vdev net_memif0,role=server,socket=/tmp/x/memif.sock,socket-abstract=no,"
      "mac=02:00:00:00:d0:01\n"
      "  or, the dataplane started after this and copying nothing: --vdev net_memif0,role=server,... -- --serve\n"
      "  here and, for the dataplane, --single-file-segments --vdev net_memif0,role=client,zero-copy=yes,...",
      "tandem-bench-rtp-load"};
  app.option_defaults()->always_capture_default();
  app.add_option("--socket", o.socket, "the dataplane's control socket");
  app.add_option("--dataplane-mac", o.dataplane_mac, "MAC of the dataplane's port (its memif's mac=)")->required();
  app.add_option("--dataplane-port", o.dataplane_port, "the dataplane's port id that the memif is: its legs get RTP")
      ->check(CLI::Range(0u, dp::proto::kMaxPorts - 1));
  app.add_option("--port", o.port, "our DPDK port facing it")->check(CLI::Range(0u, RTE_MAX_ETHPORTS - 1u));
  app.add_option("--seconds", o.seconds, "how long every leg sends")->check(CLI::Range(0.02, 3600.0));
  app.add_option("--burst", o.burst, "packets per burst at most")->check(CLI::Range(1u, unsigned{kMaxBurst}));
  app.add_option("--mbufs", o.mbufs, "mbuf pool size")->check(CLI::Range(1024u, 1u << 22));
  app.add_option("--attach-timeout", o.attach_timeout, "seconds to wait for the memif link")
      ->check(CLI::Range(0.1, 300.0));
  app.add_option("--drain-ms", o.drain_ms, "after the last packet, how long to wait for the relayed ones")
      ->check(CLI::Range(0u, 10000u));
  app.add_option("--rx-poll-us", o.rx_poll_us,
                 "sleep at most this long between polls (0 = until the next burst is due), so that the latency "
                 "reported is the relay's and not our own sleep")
      ->check(CLI::Range(0u, 1000u));
  app.add_flag("!--no-announce", o.announce,
               "do not announce the remotes by ARP before sending: the dataplane resolves them itself (by ARP, "
               "which this answers) and drops what it cannot send meanwhile");
  app.add_option("--json", o.json, "write the summary here instead of stdout");
  app.add_flag("--serve", o.serve,
               "attach the port once and measure on demand: one line of stdin per measurement, \"SECONDS "
               "JSON-PATH\" (--seconds and --json unused); ends at end of input. With the memif as the server "
               "here, the dataplane can be a zero-copy client (zero-copy=yes, EAL --single-file-segments)");
  if (!separator) {
    // No "--": a help request belongs to us, anything else is a mistake.
    for (char* a : eal_args) {
      if (std::string_view(a) == "--help" || std::string_view(a) == "-h") {
        std::cout << app.help();
        return 0;
      }
    }
  }
  try {
    app.parse(static_cast<int>(our_args.size()), our_args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  Wire wire;
  if (rte_ether_unformat_addr(o.dataplane_mac.c_str(), &wire.dataplane_mac) != 0) {
    std::fprintf(stderr, "rtp-load: --dataplane-mac %s is not a MAC address\n", o.dataplane_mac.c_str());
    return 2;
  }
  if (rte_eal_init(static_cast<int>(eal_args.size()), eal_args.data()) < 0) {
    std::fprintf(stderr, "rtp-load: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  int rc = 0;
  std::string error;
  if (!attach(static_cast<uint16_t>(o.port), o.mbufs, static_cast<int>(o.attach_timeout * 1000), wire, error)) {
    std::fprintf(stderr, "rtp-load: %s\n", error.c_str());
    rc = 1;
  } else {
    // Without SA_RESTART (signal()'s default here), so that a signal also ends --serve's wait
    // for its next line of stdin.
    struct sigaction stop {};
    stop.sa_handler = on_signal;
    sigaction(SIGINT, &stop, nullptr);
    sigaction(SIGTERM, &stop, nullptr);
    rc = o.serve ? serve(o, wire) : measure(o, wire, o.seconds, o.json);
    detach(wire);
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace tandem::bench::rtpload

int main(int argc, char** argv) { return tandem::bench::rtpload::run(argc, argv); }
