// tandem-rtp-pcap: writes RTP captures to drive the relay with, and checks the
// relay's output capture against the expected one.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "config_check/command_line.h"
#include "tools/rtp_pcap/pcap_compare.h"
#include "tools/rtp_pcap/pcap_generate.h"
#include "tools/rtp_pcap/wire.h"

namespace {

using namespace tandem::rtp_pcap;

// Address options parse straight into the options struct; the validator runs
// first, so the callbacks only see well-formed text.
void add_mac(CLI::App* app, const std::string& name, Mac& mac, const std::string& help) {
  app->add_option_function<std::string>(name, [&mac](const std::string& s) { mac = *parse_mac(s); }, help)
      ->check(CLI::Validator(
          [](std::string& s) { return parse_mac(s) ? std::string{} : "not a MAC address (aa:bb:cc:dd:ee:ff): " + s; },
          "MAC"))
      ->default_str(format_mac(mac));
}

void add_ipv4(CLI::App* app, const std::string& name, uint32_t& ip, const std::string& help) {
  app->add_option_function<std::string>(name, [&ip](const std::string& s) { ip = *parse_ipv4(s); }, help)
      ->check(CLI::Validator(
          [](std::string& s) { return parse_ipv4(s) ? std::string{} : "not an IPv4 address: " + s; }, "IPv4"))
      ->default_str(format_ipv4(ip));
}

void add_generate(CLI::App& app, GenerateOptions& g) {
  auto* cmd = app.add_subcommand("generate", "write a capture of RTP sessions");
  cmd->footer(
      "Ethernet[/802.1Q]/IPv4/UDP/RTP frames (RTP v2, PT 0, one SSRC per session, timestamp +160 per packet), "
      "packet k of every session, then packet k+1, 20 ms apart. Both checksums set. The same options give the "
      "same file, byte for byte. Exit status: 0 written, 1 write failed, 2 bad arguments.");
  constexpr uint32_t kMax32 = UINT32_MAX;
  cmd->add_option("--out", g.out, "pcap file to write, - for stdout")->required();
  cmd->add_option("--sessions", g.sessions, "RTP sessions")->required()->check(CLI::Range(1u, kMax32));
  cmd->add_option("--packets-per-session", g.packets_per_session, "RTP packets per session")
      ->required()
      ->check(CLI::Range(1u, kMax32));
  add_mac(cmd, "--src-mac", g.src_mac, "source MAC");
  add_mac(cmd, "--dst-mac", g.dst_mac, "destination MAC");
  add_ipv4(cmd, "--src-ip", g.src_ip, "source address (of the first address pair)");
  add_ipv4(cmd, "--dst-ip", g.dst_ip, "destination address (of the first address pair)");
  cmd->add_option("--src-port-base", g.src_port_base, "source RTP port of session 0; session i: base + i*step")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--dst-port-base", g.dst_port_base, "destination RTP port of session 0; session i: base + i*step")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--port-step", g.port_step, "port distance between sessions")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--ip-step-sessions", g.ip_step_sessions,
                  "sessions per address pair: after that many, both addresses go up by one and the ports start "
                  "again from their bases (0 = every session on the same pair)")
      ->check(CLI::Range(0u, kMax32))
      ->capture_default_str();
  cmd->add_option("--payload-bytes", g.payload_bytes, "RTP payload bytes (160 = 20 ms of G.711: 214-byte frames)")
      ->check(CLI::Range(0, int{kMaxPayloadBytes}))
      ->capture_default_str();
  cmd->add_option("--vlan", g.vlan, "802.1Q VLAN id to tag frames with (untagged when absent)")
      ->check(CLI::Range(1, 4094));
  cmd->add_option("--rtcp-every", g.rtcp_every,
                  "also send an RTCP sender report (port+1 to port+1) after every N RTP packets of a session "
                  "(0 = none)")
      ->check(CLI::Range(0u, kMax32))
      ->capture_default_str();
  cmd->add_option("--ssrc-base", g.ssrc_base, "SSRC of session 0; session i: base + i")
      ->capture_default_str();
  cmd->add_flag("--reverse", g.reverse, "the answering side: MACs, addresses and ports swapped");
}

void add_compare(CLI::App& app, CompareOptions& c) {
  auto* cmd = app.add_subcommand("compare", "compare two captures field by field");
  cmd->footer(
      "Compares Ethernet, VLAN, IPv4, UDP and payload of each packet, and checks ACTUAL's IPv4 and UDP checksums "
      "recomputed from its bytes. Packets are numbered from 1, as in Wireshark. Exit status: 0 equal, 1 different, "
      "2 bad arguments or unreadable capture.");
  cmd->add_option("expected", c.expected, "EXPECTED.pcap")->required()->check(CLI::ExistingFile);
  cmd->add_option("actual", c.actual, "ACTUAL.pcap")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--ignore-order", c.ignore_order,
                "match packets as multisets (a relay with several queues reorders across sessions)");
  cmd->add_option("--max-diffs", c.max_diffs, "difference lines to print (0 = all)")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tandem-rtp-pcap: builds RTP benchmark captures and compares a relay's output with the expected one.",
               "tandem-rtp-pcap"};
  app.footer(
      "Exit status: 0 written / equal, 1 write failed / captures differ, 2 bad arguments or unreadable capture.");
  app.require_subcommand(1);
  GenerateOptions g;
  CompareOptions c;
  add_generate(app, g);
  add_compare(app, c);

  tandem::standard_flags(app);
  if (const int rc = tandem::parse_command_line(app, argc, argv, "tandem-rtp-pcap"); rc >= 0) return rc;

  if (app.got_subcommand("compare")) return compare(c);

  if (auto err = check_options(g); !err.empty()) {
    fmt::print(stderr, "tandem-rtp-pcap generate: {}\n", err);
    return 2;
  }
  const GenerateResult r = generate(g);
  if (!r.error.empty()) {
    fmt::print(stderr, "tandem-rtp-pcap generate: {}\n", r.error);
    return 1;
  }
  // Not on stdout when the capture itself goes there.
  fmt::print(g.out == "-" ? stderr : stdout, "wrote {}: {} sessions, {} RTP and {} RTCP frames\n", g.out, g.sessions,
             r.rtp_frames, r.rtcp_frames);
  return 0;
}
