// tandem-bench-session-loader: creates (and optionally deletes) N two-leg
// sessions over the dataplane's control socket, pipelined, and reports the
// rate. The benchmarks use it to load the sessions their captures hit, and to
// measure setups and deletes per second.
//
// Address plan (the captures of bench/dataplane_bench.py follow it):
//   session i goes to port pair k = i % pairs: leg a on port 2k, leg b on 2k+1;
//   j = i / pairs is its index within the pair;
//   leg x's remote is (first address of its port + 1):(remote-base + 2j),
//   the port wrapping round at 65535;
//   leg x's local port is the j-th the dataplane allocates on its port, which
//   on a fresh dataplane with one address per port is relay-port-min + 2j
//   (checked; or asked for explicitly with --explicit-ports). With several
//   addresses per port (--any-local), whatever the dataplane gives is taken.
//
// --hold keeps the sessions until stdin closes (a test sends traffic on them
// meanwhile), --sample-out names some of them with their relay addresses.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "control/dataplane_client.h"
#include "dataplane_protocol/address.h"
#include "dataplane_protocol/codec.h"

namespace {

namespace proto = tandem::dp::proto;
using tandem::control::DataplaneClient;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket = "/run/tandem/dataplane.sock";
  uint32_t sessions = 1000;
  uint32_t pairs = 1;
  uint16_t remote_base = 2000;
  uint32_t window = 256;
  bool explicit_ports = false;
  bool any_local = false;
  bool remove = false;
  bool hold = false;
  uint32_t samples = 0;
  std::string sample_out;
};

struct Plan {
  const Options& o;
  proto::HelloReply hello;

  uint32_t remote_ip(unsigned port) const { return htonl(ntohl(hello.port_ip[port]) + 1); }
  uint16_t local_port(uint32_t i) const { return static_cast<uint16_t>(hello.relay_port_min + 2 * (i / o.pairs)); }
  uint16_t remote_port(uint32_t j) const { return static_cast<uint16_t>(o.remote_base + 2 * (j % ((65536u - o.remote_base) / 2))); }
  proto::CreateRequest request(uint32_t i) const {
    proto::CreateRequest r{};
    const unsigned k = i % o.pairs;
    const uint32_t j = i / o.pairs;
    for (unsigned leg = 0; leg < 2; ++leg) {
      proto::LegSpec& l = r.legs[leg];
      l.port = static_cast<uint8_t>(2 * k + leg);
      l.remote_ip = remote_ip(l.port);
      l.remote_port = remote_port(j);
      l.local_port = o.explicit_ports ? local_port(i) : 0;
      l.mode = proto::kModeDefault;
    }
    return r;
  }
};

std::string address(const proto::LegInfo& l) {
  return proto::format_ipv4(l.local_ip) + ":" + std::to_string(l.local_port);
}

struct Phase {
  uint32_t done = 0;
  uint32_t errors = 0;
  std::string first_error;
  double seconds = 0;
};

// Sends requests[0..n) keeping at most `window` unanswered, refilling in
// batches of half a window (one write for many requests, as a call server
// under load would). `on_reply` sees each reply in order.
template <typename MakeRequest, typename OnReply>
bool pipeline(DataplaneClient& c, uint32_t n, uint32_t window, Phase& phase, MakeRequest make, OnReply on_reply) {
  std::deque<uint32_t> seqs;
  std::vector<uint8_t> batch;
  uint32_t next = 0;
  const auto start = Clock::now();
  while (phase.done < n) {
    if (next < n && seqs.size() <= window / 2) {
      batch.clear();
      while (next < n && seqs.size() < window) {
        const uint32_t seq = c.next_seq();
        const auto m = make(next++, seq);
        batch.insert(batch.end(), m.begin(), m.end());
        seqs.push_back(seq);
      }
      if (!c.send_raw(batch)) {
        std::fprintf(stderr, "session-loader: cannot send to the dataplane\n");
        return false;
      }
    }
    auto reply = c.read_message(10000);
    if (!reply) {
      std::fprintf(stderr, "session-loader: no reply from the dataplane\n");
      return false;
    }
    if (reply->header.seq == 0) continue;  // an event, not ours
    if (reply->header.seq != seqs.front()) {
      std::fprintf(stderr, "session-loader: reply %u out of order (expected %u)\n", reply->header.seq, seqs.front());
      return false;
    }
    seqs.pop_front();
    if (reply->header.type == static_cast<uint16_t>(proto::MsgType::error)) {
      if (phase.errors++ == 0) phase.first_error = proto::decode_error(reply->body.data(), reply->body.size()).message;
    } else if (!on_reply(phase.done, *reply)) {
      if (phase.errors++ == 0) phase.first_error = "unexpected reply";
    }
    ++phase.done;
  }
  phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return true;
}

nlohmann::json phase_json(const Phase& p, const char* rate_name) {
  nlohmann::json j{{"done", p.done}, {"errors", p.errors}, {"seconds", p.seconds},
                   {rate_name, p.seconds > 0 ? (p.done - p.errors) / p.seconds : 0.0}};
  if (!p.first_error.empty()) j["first_error"] = p.first_error;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tandem-bench-session-loader: create N sessions over the control socket, pipelined; report setups/s",
               "tandem-bench-session-loader"};
  app.option_defaults()->always_capture_default();
  app.add_option("--socket", o.socket, "dataplane control socket");
  app.add_option("--sessions", o.sessions, "sessions to create")->check(CLI::Range(1u, 8u << 20));
  app.add_option("--pairs", o.pairs, "port pairs (0,1), (2,3)...: session i goes to pair i % pairs")
      ->check(CLI::Range(1u, proto::kMaxPorts / 2));
  app.add_option("--remote-base", o.remote_base, "RTP port of the remotes of each pair's first session")
      ->check(CLI::Range(1024, 65534));
  app.add_option("--window", o.window, "requests in flight")->check(CLI::Range(1u, 65536u));
  app.add_flag("--explicit-ports", o.explicit_ports, "ask for each leg's local port instead of taking the allocated one");
  app.add_flag("--any-local", o.any_local,
               "take whatever relay address and port the dataplane gives (ports with several addresses)")
      ->excludes("--explicit-ports");
  app.add_flag("--delete", o.remove, "then delete them all, pipelined the same way, and report deletes/s");
  app.add_flag("--hold", o.hold, "after creating, print the create figures and wait for stdin to close before deleting");
  app.add_option("--samples", o.samples, "sessions spread over the whole set to describe in --sample-out");
  app.add_option("--sample-out", o.sample_out, "file for the samples: one JSON object per line (index, id, "
                                               "remote port, legs' relay addresses)")
      ->needs("--samples");
  CLI11_PARSE(app, argc, argv);

  DataplaneClient c;
  std::string error;
  if (!c.connect(o.socket, error, 10000)) {
    std::fprintf(stderr, "session-loader: %s\n", error.c_str());
    return 1;
  }
  const auto hello = c.hello("bench-session-loader");
  if (!hello) {
    std::fprintf(stderr, "session-loader: hello: %s\n", hello.error.c_str());
    return 1;
  }
  for (unsigned p = 0; p < 2 * o.pairs; ++p) {
    if (hello->port_ip[p] == 0) {
      std::fprintf(stderr, "session-loader: port %u is not configured in the dataplane\n", p);
      return 2;
    }
  }
  const Plan plan{o, *hello};
  if (!o.any_local && (o.sessions + o.pairs - 1) / o.pairs > (hello->relay_port_max - hello->relay_port_min + 1u) / 2) {
    std::fprintf(stderr, "session-loader: %u sessions on %u port pairs do not fit the relay port range %u-%u "
                 "(one address per port: at most %u legs per port)\n",
                 o.sessions, o.pairs, hello->relay_port_min, hello->relay_port_max,
                 (hello->relay_port_max - hello->relay_port_min + 1u) / 2);
    return 2;
  }

  std::vector<uint64_t> ids(o.sessions, 0);
  // Sample k is session k * step + k % 97: spread over the whole set, and not
  // all on one step of a round robin (the dataplane's over a port's addresses).
  const uint64_t sample_step = o.samples ? std::max(1u, o.sessions / (o.samples + 1)) : 0;
  auto sample_index = [&](uint64_t k) { return k * sample_step + k % 97; };
  std::vector<nlohmann::json> samples;
  Phase create;
  const bool sent_all = pipeline(
      c, o.sessions, o.window, create,
      [&](uint32_t i, uint32_t seq) {
        return proto::encode(static_cast<uint16_t>(proto::MsgType::create_session), seq, plan.request(i));
      },
      [&](uint32_t i, const DataplaneClient::RawReply& r) {
        proto::SessionInfo info;
        if (r.header.type != proto::reply_type(proto::MsgType::create_session) || r.body.size() != sizeof info) {
          return false;
        }
        std::memcpy(&info, r.body.data(), sizeof info);
        ids[i] = info.session_id;
        if (sample_step && samples.size() < o.samples && i == sample_index(samples.size())) {
          samples.push_back({{"index", i},
                             {"id", info.session_id},
                             {"remote_port", plan.remote_port(i / o.pairs)},
                             {"local", {address(info.legs[0]), address(info.legs[1])}}});
        }
        // The captures were made for the plan's ports: a different one is an error.
        return o.any_local ||
               (info.legs[0].local_port == plan.local_port(i) && info.legs[1].local_port == plan.local_port(i));
      });
  nlohmann::json out{{"sessions", o.sessions}, {"pairs", o.pairs}, {"window", o.window},
                     {"create", phase_json(create, "per_second")}};
  bool ok = sent_all && create.errors == 0;
  if (!o.sample_out.empty()) {
    std::ofstream f(o.sample_out);
    for (const auto& s : samples) f << s.dump() << "\n";
    if (!f) {
      std::fprintf(stderr, "session-loader: cannot write %s\n", o.sample_out.c_str());
      return 1;
    }
  }
  if (o.hold) {
    std::cout << out.dump() << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
    }
  }

  if (sent_all && o.remove) {
    std::vector<uint64_t> live;
    for (uint64_t id : ids) {
      if (id) live.push_back(id);
    }
    Phase del;
    ok = pipeline(
             c, static_cast<uint32_t>(live.size()), o.window, del,
             [&](uint32_t i, uint32_t seq) {
               return proto::encode(static_cast<uint16_t>(proto::MsgType::delete_session), seq,
                                    proto::SessionRequest{live[i]});
             },
             [&](uint32_t, const DataplaneClient::RawReply& r) {
               return r.header.type == proto::reply_type(proto::MsgType::delete_session);
             }) &&
         ok && del.errors == 0;
    out["delete"] = phase_json(del, "per_second");
  }
  std::cout << out.dump() << std::endl;
  return ok ? 0 : 1;
}
