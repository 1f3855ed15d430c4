// tandem-udp-flood: sends one UDP payload from a local address to a target at
// a fixed rate for a fixed time, in batches of sendmmsg(2), and prints what it
// sent as JSON: {"sent": N, "errors": N, "seconds": S}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "config_check/command_line.h"

namespace {

constexpr unsigned kBatch = 64;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool parse_endpoint(const std::string& text, sockaddr_in& out) {
  const auto colon = text.rfind(':');
  out = sockaddr_in{};
  out.sin_family = AF_INET;
  if (colon == std::string::npos || inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) != 1) return false;
  const int port = std::atoi(text.c_str() + colon + 1);
  if (port < 0 || port > 65535) return false;
  out.sin_port = htons(static_cast<uint16_t>(port));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tandem-udp-flood: a paced UDP flood from one address, for tests"};
  std::string from, to, payload = "flood";
  uint32_t rate = 50000;
  double seconds = 5;
  app.add_option("--from", from, "local IPV4:PORT to send from (PORT 0: any)")->required();
  app.add_option("--to", to, "target IPV4:PORT")->required();
  app.add_option("--rate", rate, "packets a second")->check(CLI::Range(1u, 10000000u));
  app.add_option("--seconds", seconds, "how long to send")->check(CLI::Range(0.01, 3600.0));
  app.add_option("--payload", payload, "the datagram's text (\\r\\n and \\n as escapes)");
  tandem::standard_flags(app);
  if (const int rc = tandem::parse_command_line(app, argc, argv, "tandem-udp-flood"); rc >= 0) return rc;

  for (auto [escape, byte] : {std::pair{"\\r", '\r'}, std::pair{"\\n", '\n'}}) {
    for (size_t at; (at = payload.find(escape)) != std::string::npos;) payload.replace(at, 2, 1, byte);
  }
  sockaddr_in local, remote;
  if (!parse_endpoint(from, local) || !parse_endpoint(to, remote)) {
    std::fprintf(stderr, "tandem-udp-flood: --from and --to take IPV4:PORT\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    std::fprintf(stderr, "tandem-udp-flood: %s\n", std::strerror(errno));
    return 1;
  }
  iovec iov{payload.data(), payload.size()};
  std::vector<mmsghdr> batch(kBatch);
  for (auto& m : batch) {
    m.msg_hdr = msghdr{};
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }

  // Paced by the clock: each round sends what is due by now, at most a batch,
  // and sleeps 100 us when nothing is; so the rate holds on a loaded machine
  // and the run ends on time.
  const double start = now_s();
  const auto total = static_cast<uint64_t>(seconds * rate);
  uint64_t sent = 0, errors = 0;
  for (double t = start; t - start < seconds && sent + errors < total; t = now_s()) {
    const auto due = std::min(total, static_cast<uint64_t>((t - start) * rate) + 1);
    const auto n = static_cast<unsigned>(std::min<uint64_t>(due - sent - errors, kBatch));
    if (n == 0) {
      timespec pause{0, 100000};
      nanosleep(&pause, nullptr);
      continue;
    }
    const int done = sendmmsg(fd, batch.data(), n, 0);
    if (done > 0) {
      sent += static_cast<uint64_t>(done);
    } else {
      ++errors;  // ENOBUFS and the like: the datagram is lost, the pace goes on
    }
  }
  std::printf("{\"sent\": %llu, \"errors\": %llu, \"seconds\": %.3f}\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(errors), now_s() - start);
  close(fd);
  return 0;
}
