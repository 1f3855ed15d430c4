// tandem-rtp-peer: a real RTP endpoint for the demo and the integration tests.
// It sends a paced G.711-like stream with oRTP (or echoes what it receives),
// and reports what arrived: counts, loss, RFC 3550 jitter, the addresses and
// SSRCs it came from, and RTCP. oRTP owns the sockets, the RTP header and RTCP
// (SR/RR on PORT+1, a BYE at the end); the measuring is ours, because oRTP's
// own statistics are those of a playout buffer, not of the wire.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <ortp/ortp.h>
#include <poll.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config_check/command_line.h"
#include "tools/rtp_peer/stream_stats.h"

namespace tandem::rtp_peer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kSendClockRate = 8000;  // G.711: the timestamp advances 8 per ms
constexpr milliseconds kMaxWait{20};       // oRTP schedules RTCP only from inside its recv/send calls

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: stop early but still report

struct Endpoint {
  std::string ip;
  int port = 0;
  int family = AF_INET;

  std::string text() const {
    return family == AF_INET6 ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
  }
};

// IPv4:PORT or [IPv6]:PORT. PORT stops at 65534 because RTCP takes PORT+1.
std::optional<Endpoint> parse_endpoint(const std::string& text) {
  Endpoint e;
  std::string_view port;
  unsigned char addr[sizeof(in6_addr)];
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    e.ip = text.substr(1, close - 1);
    port = std::string_view(text).substr(close + 2);
    if (inet_pton(AF_INET6, e.ip.c_str(), addr) != 1) return std::nullopt;
    e.family = AF_INET6;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    e.ip = text.substr(0, colon);
    port = std::string_view(text).substr(colon + 1);
    if (inet_pton(AF_INET, e.ip.c_str(), addr) != 1) return std::nullopt;
  }
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (ec != std::errc() || end != port.data() + port.size() || e.port < 1 || e.port > 65534) return std::nullopt;
  return e;
}

struct Options {
  Endpoint local;
  Endpoint remote;
  uint32_t count = 0;  // 0: --duration-ms / --ptime
  uint32_t ptime_ms = 20;
  int payload_type = 0;
  uint32_t payload_bytes = 160;
  std::optional<uint32_t> ssrc;
  uint32_t duration_ms = 2000;
  uint32_t receive_ms = 500;
  uint32_t start_delay_ms = 0;
  uint32_t rtcp_interval_ms = 1000;
  bool echo = false;
  bool json = false;
  bool rtcp_mux = false;
  bool verbose = false;
};

struct Flags {
  Options options;
  int exit_code = -1;  // >= 0: exit now with it
};

Flags parse_flags(int argc, char** argv) {
  Flags f;
  Options& o = f.options;
  CLI::App app{
      "tandem-rtp-peer: sends a paced RTP stream (G.711-like, 8 kHz) to --remote with oRTP while receiving from "
      "it, or echoes every RTP packet back to where it came from (--echo), then reports what arrived: loss, "
      "RFC 3550 jitter, source addresses, SSRCs, RTCP. RTCP uses PORT+1 on both sides.",
      "tandem-rtp-peer"};
  std::string local;
  std::string remote;
  uint32_t ssrc = 0;
  const auto endpoint = CLI::Validator(
      [](std::string& s) {
        return parse_endpoint(s) ? std::string{} : "expected IPv4:PORT or [IPv6]:PORT with PORT 1..65534";
      },
      "IP:PORT");
  app.add_option("--local", local, "address to bind RTP to; RTCP binds PORT+1")->required()->check(endpoint);
  app.add_option("--remote", remote, "where RTP goes (RTCP to PORT+1)")->required()->check(endpoint);
  auto* count = app.add_option("--count", o.count, "packets to send (default: --duration-ms / --ptime)")
                    ->check(CLI::Range(1u, 10'000'000u));
  app.add_option("--ptime", o.ptime_ms, "milliseconds between packets; the timestamp steps by 8 * ptime")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--payload-type", o.payload_type, "RTP payload type")
      ->capture_default_str()
      ->check(CLI::Range(0, 127));
  app.add_option("--payload-bytes", o.payload_bytes, "payload size (160 = 20 ms of G.711)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1400u));
  auto* ssrc_opt = app.add_option("--ssrc", ssrc, "our SSRC (default: random)");
  app.add_option("--duration-ms", o.duration_ms,
                 "how long to send when --count is not given; with --echo, how long to echo")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86'400'000u));
  app.add_option("--receive-ms", o.receive_ms, "keep receiving this long after the last packet sent")
      ->capture_default_str()
      ->check(CLI::Range(0u, 600'000u));
  app.add_option("--rtcp-interval-ms", o.rtcp_interval_ms, "mean RTCP report interval (oRTP's default is 5000)")
      ->capture_default_str()
      ->check(CLI::Range(100u, 60'000u));
  auto* delay = app.add_option("--start-delay-ms", o.start_delay_ms,
                               "receive only, this long, before the first packet (lets the far end bind first)")
                    ->capture_default_str()
                    ->check(CLI::Range(0u, 600'000u));
  app.add_flag("--echo", o.echo, "send nothing of our own; return every RTP packet received to its source")
      ->excludes(count)
      ->excludes(delay);
  app.add_flag("--rtcp-mux", o.rtcp_mux, "send and accept RTCP on the RTP port (RFC 5761)");
  app.add_flag("--json", o.json, "print the report as one JSON object");
  app.add_flag("-v,--verbose", o.verbose, "show oRTP's warnings and messages on stderr");

  auto fail = [&](const std::string& msg) {
    std::fprintf(stderr, "tandem-rtp-peer: %s\nRun with --help for the options.\n", msg.c_str());
    f.exit_code = 2;
    return f;
  };
  tandem::standard_flags(app);
  if (const int rc = tandem::parse_command_line(app, argc, argv, "tandem-rtp-peer"); rc >= 0) {
    f.exit_code = rc;
    return f;
  }
  o.local = *parse_endpoint(local);
  o.remote = *parse_endpoint(remote);
  if (o.local.family != o.remote.family) return fail("--local and --remote must both be IPv4 or both IPv6");
  if (*ssrc_opt) o.ssrc = ssrc;
  if (o.count == 0) o.count = std::max(1u, o.duration_ms / o.ptime_ms);
  return f;
}

struct SessionDeleter {
  void operator()(RtpSession* s) const { rtp_session_destroy(s); }
};
using Session = std::unique_ptr<RtpSession, SessionDeleter>;

void resync_on_ssrc_change(RtpSession* s, void*, void*, void*) { rtp_session_resync(s); }

Session open_session(const Options& o, std::string& error) {
  Session session{rtp_session_new(RTP_SESSION_SENDRECV)};
  RtpSession* s = session.get();
  // Our loop paces the sending and waits in poll(); oRTP's scheduler thread stays off.
  rtp_session_set_scheduling_mode(s, FALSE);
  rtp_session_set_blocking_mode(s, FALSE);
  if (rtp_session_set_local_addr(s, o.local.ip.c_str(), o.local.port, o.local.port + 1) < 0) {
    error =
        fmt::format("cannot bind RTP {} and RTCP port {}: {}", o.local.text(), o.local.port + 1, std::strerror(errno));
    return {};
  }
  if (rtp_session_set_remote_addr_full(s, o.remote.ip.c_str(), o.remote.port, o.remote.ip.c_str(), o.remote.port + 1) <
      0) {
    error = fmt::format("cannot use remote {}", o.remote.text());
    return {};
  }
  rtp_session_set_payload_type(s, o.payload_type);
  if (o.ssrc) rtp_session_set_ssrc(s, *o.ssrc);
  // Measure what the network delivered, not what a playout buffer would play:
  // without the jitter buffer packets come out as soon as they are read; the
  // adaptive compensation would otherwise rewrite the timestamps it returns;
  // oRTP drops the first 50 packets of a new SSRC unless the threshold is 0,
  // and then still drops the new source's packets whose sequence number is
  // behind the old source's last one (every oRTP peer starts at 0) unless the
  // receiver is resynchronised when the SSRC changes.
  rtp_session_enable_jitter_buffer(s, FALSE);
  rtp_session_enable_adaptive_jitter_compensation(s, FALSE);
  rtp_session_set_ssrc_changed_threshold(s, 0);
  rtp_session_signal_connect(s, "ssrc_changed", resync_on_ssrc_change, nullptr);
  // Always send to --remote: following the source (latching) is the relay's job.
  rtp_session_set_symmetric_rtp(s, FALSE);
  rtp_session_enable_rtcp(s, TRUE);
  rtp_session_enable_rtcp_mux(s, o.rtcp_mux ? TRUE : FALSE);
  rtp_session_set_rtcp_report_interval(s, static_cast<int>(o.rtcp_interval_ms));
  return session;
}

std::string format_address(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof ip);
    return fmt::format("[{}]:{}", ip, ntohs(a.sin6_port));
  }
  return "unknown";
}

uint32_t clock_rate_of(int payload_type) {
  const PayloadType* pt = rtp_profile_get_payload(&av_profile, payload_type);
  return pt != nullptr && pt->clock_rate > 0 ? static_cast<uint32_t>(pt->clock_rate) : kSendClockRate;
}

struct Report {
  uint64_t sent = 0;
  uint64_t sent_bytes = 0;  // RTP header and payload, as on the wire above UDP
  uint64_t send_errors = 0;
  int send_errno = 0;  // of the last failed send
  ReceiveStats rx;
  std::vector<std::string> sources;
};

// Sends the packet back to its source as it came. oRTP turned the header to
// host order while parsing it, so that is undone first; the caller then sees
// its own sequence numbers and timestamps and measures the whole round trip.
void echo_back(RtpSession* s, mblk_t* mp, Report& r) {
  auto* h = reinterpret_cast<rtp_header_t*>(mp->b_rptr);
  for (unsigned i = 0; i < h->cc; ++i) h->csrc[i] = htonl(h->csrc[i]);
  h->seq_number = htons(h->seq_number);
  h->timestamp = htonl(h->timestamp);
  h->ssrc = htonl(h->ssrc);
  const int n = rtp_session_sendto(s, TRUE, mp, 0, reinterpret_cast<const sockaddr*>(&mp->net_addr), mp->net_addrlen);
  if (n < 0) {
    ++r.send_errors;
    r.send_errno = errno;
  } else {
    ++r.sent;
    r.sent_bytes += static_cast<uint64_t>(n);
  }
}

// The kernel's receive time, which oRTP asks for (SO_TIMESTAMP) and keeps in
// mblk_t::timestamp when built with ORTP_TIMESTAMP, as Debian's is; otherwise
// the time we read the packet, on the same (wall) clock.
int64_t arrival_us(const mblk_t* mp) {
  if (mp->timestamp.tv_sec != 0) return int64_t{mp->timestamp.tv_sec} * 1'000'000 + mp->timestamp.tv_usec;
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Each oRTP recv call reads every datagram waiting on the RTP and RTCP sockets
// and runs the RTCP timers, then returns one RTP packet. The cap keeps a flood
// from holding the loop past its deadline.
void drain(RtpSession* s, const Options& o, Clock::time_point t0, Report& r) {
  constexpr int kMaxPackets = 1000;
  const auto user_ts = static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() *
                                             (kSendClockRate / 1000));
  for (int i = 0; i < kMaxPackets; ++i) {
    mblk_t* mp = rtp_session_recvm_with_ts(s, user_ts);
    if (mp == nullptr) break;
    const auto* h = reinterpret_cast<const rtp_header_t*>(mp->b_rptr);
    r.rx.add(h->ssrc, h->seq_number, h->timestamp, clock_rate_of(h->paytype), arrival_us(mp));
    std::string source = format_address(mp->net_addr);
    if (std::find(r.sources.begin(), r.sources.end(), source) == r.sources.end()) r.sources.push_back(source);
    if (o.echo) echo_back(s, mp, r);
    freemsg(mp);
  }
}

void send_one(RtpSession* s, const std::vector<uint8_t>& payload, uint32_t index, const Options& o, Report& r) {
  mblk_t* mp = rtp_session_create_packet(s, RTP_FIXED_HEADER_SIZE, payload.data(), payload.size());
  // The first packet starts a talkspurt (RFC 3551 section 4.1), as a phone's would.
  if (index == 0) rtp_set_markbit(mp, 1);
  const int n = rtp_session_sendm_with_ts(s, mp, index * o.ptime_ms * (kSendClockRate / 1000));
  if (n < 0) {
    ++r.send_errors;
    r.send_errno = rtp_session_get_last_send_error_code(s);
  } else {
    ++r.sent;
    r.sent_bytes += static_cast<uint64_t>(n);
  }
}

timespec to_timespec(Clock::duration d) {
  const auto ns = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Runs until the last packet was sent and --receive-ms passed (or, with
// --echo, until --duration-ms passed), or a signal came. Returns an error
// message, empty on success.
std::string run(RtpSession* s, const Options& o, Report& r) {
  // G.711 silence, so that a capture decodes to something sensible.
  const std::vector<uint8_t> payload(o.payload_bytes, o.payload_type == 8 ? 0xD5 : 0xFF);
  const milliseconds ptime{o.ptime_ms};
  const uint32_t count = o.echo ? 0 : o.count;
  const auto t0 = Clock::now();
  const auto first_send = t0 + milliseconds{o.start_delay_ms};
  auto end = o.echo ? t0 + milliseconds{o.duration_ms} : Clock::time_point::max();
  uint32_t next = 0;  // index of the next packet to send

  pollfd fds[2] = {{rtp_session_get_rtp_socket(s), POLLIN, 0}, {rtp_session_get_rtcp_socket(s), POLLIN, 0}};
  const nfds_t nfds = fds[1].fd >= 0 ? 2 : 1;
  while (!g_stop.load(std::memory_order_relaxed)) {
    auto now = Clock::now();
    if (next < count && now >= first_send + next * ptime) {
      send_one(s, payload, next, o, r);
      if (++next == count) end = Clock::now() + milliseconds{o.receive_ms};
    }
    if (now >= end) break;
    auto wake = std::min(end, now + kMaxWait);
    if (next < count) wake = std::min(wake, first_send + next * ptime);
    const timespec timeout = to_timespec(wake - now);
    if (ppoll(fds, nfds, &timeout, nullptr) < 0 && errno != EINTR) {
      return fmt::format("poll: {}", std::strerror(errno));
    }
    drain(s, o, t0, r);
  }
  // Tell the far end (and the relay) that this source is done.
  rtp_session_bye(s, "tandem-rtp-peer done");
  return {};
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

void print_report(RtpSession* s, const Options& o, const Report& r) {
  const rtp_stats_t* st = rtp_session_get_stats(s);
  const uint32_t own_ssrc = rtp_session_get_send_ssrc(s);
  if (o.json) {
    nlohmann::json ssrcs = nlohmann::json::array();
    for (const auto& stream : r.rx.streams()) ssrcs.push_back(stream.ssrc);
    const nlohmann::ordered_json j = {
        {"mode", o.echo ? "echo" : "send"},
        {"ssrc", own_ssrc},
        {"sent", r.sent},
        {"sent_bytes", r.sent_bytes},
        {"send_errors", r.send_errors},
        {"received", r.rx.received()},
        {"expected", r.rx.expected()},
        {"lost", r.rx.lost()},
        {"loss_pct", round3(r.rx.loss_pct())},
        {"jitter_ms", round3(r.rx.jitter_ms())},
        {"jitter_max_ms", round3(r.rx.jitter_max_ms())},
        {"sources", r.sources},
        {"ssrcs", ssrcs},
        {"rtcp_received", st->recv_rtcp_packets},
        {"rtcp_sent", st->sent_rtcp_packets},
        // RTP packets oRTP read but did not hand over: reordered behind a later
        // one already returned, duplicates, no payload or queue overflow, not RTP.
        {"ortp_dropped",
         {{"late", st->outoftime}, {"duplicate", st->packet_dup_recv}, {"discarded", st->discarded}, {"bad", st->bad}}},
    };
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::string ssrcs;
  for (const auto& stream : r.rx.streams()) {
    ssrcs += fmt::format("{}0x{:08x} ({} packets, jitter {:.3f} ms)", ssrcs.empty() ? "" : ", ", stream.ssrc,
                         stream.received, stream.jitter_ms());
  }
  std::string sources;
  for (const auto& src : r.sources) sources += (sources.empty() ? "" : ", ") + src;
  fmt::print("tandem-rtp-peer {} {} -> {}, ssrc 0x{:08x}\n", o.echo ? "echo" : "send", o.local.text(), o.remote.text(),
             own_ssrc);
  fmt::print("  sent      {} packets, {} bytes ({} send errors)\n", r.sent, r.sent_bytes, r.send_errors);
  fmt::print("  received  {} of {} expected, lost {} ({:.2f}%)\n", r.rx.received(), r.rx.expected(), r.rx.lost(),
             r.rx.loss_pct());
  fmt::print("  jitter    {:.3f} ms (max {:.3f} ms)\n", r.rx.jitter_ms(), r.rx.jitter_max_ms());
  fmt::print("  sources   {}\n", sources.empty() ? "none" : sources);
  fmt::print("  ssrcs     {}\n", ssrcs.empty() ? "none" : ssrcs);
  fmt::print("  rtcp      {} received, {} sent\n", st->recv_rtcp_packets, st->sent_rtcp_packets);
  fmt::print("  dropped by oRTP: {} late, {} duplicate, {} discarded, {} bad\n", st->outoftime, st->packet_dup_recv,
             st->discarded, st->bad);
}

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

int run_peer(const Options& o) {
  // oRTP logs through bctoolbox under the "ortp" domain. Its errors include
  // one line per late packet it drops, which the report already counts, so
  // they are shown only on request; failures that matter we report ourselves.
  bctbx_set_log_level_mask("ortp", o.verbose ? (ORTP_MESSAGE | ORTP_WARNING | ORTP_ERROR | ORTP_FATAL) : ORTP_FATAL);
  ortp_init();
  struct OrtpExit {
    ~OrtpExit() { ortp_exit(); }
  } ortp_guard;

  std::string error;
  Session session = open_session(o, error);
  if (!session) {
    std::fprintf(stderr, "tandem-rtp-peer: %s\n", error.c_str());
    return 1;
  }
  // No SA_RESTART: the signal must interrupt ppoll() so the loop sees the flag.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  Report report;
  error = run(session.get(), o, report);
  if (!error.empty()) {
    std::fprintf(stderr, "tandem-rtp-peer: %s\n", error.c_str());
    return 1;
  }
  print_report(session.get(), o, report);
  if (report.send_errors > 0) {
    std::fprintf(stderr, "tandem-rtp-peer: %llu packets could not be sent: %s\n",
                 static_cast<unsigned long long>(report.send_errors), std::strerror(report.send_errno));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tandem::rtp_peer

int main(int argc, char** argv) {
  const auto flags = tandem::rtp_peer::parse_flags(argc, argv);
  if (flags.exit_code >= 0) return flags.exit_code;
  return tandem::rtp_peer::run_peer(flags.options);
}
