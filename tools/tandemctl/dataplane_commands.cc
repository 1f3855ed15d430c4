#include "tools/tandemctl/dataplane_commands.h"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>

#include "control/dataplane_client.h"
#include "dataplane_protocol/address.h"
#include "dataplane_protocol/latch_mode.h"
#include "dataplane_protocol/session_id.h"
#include "tools/tandemctl/session_json.h"

namespace tandem::ctl {
namespace {

namespace proto = tandem::dp::proto;
using tandem::control::DataplaneClient;

struct LegOptions {
  uint16_t port = 0;
  std::string remote;      // IP:PORT[/RTCP]
  std::string local;       // [IP:]PORT
  bool no_learn = false;
  bool no_strict = false;
  std::string latch = "address";  // who may latch when a remote is given: address, address-port, any
  uint16_t clock_khz = 0;
};

constexpr const char* kLatchHelp =
    "when a remote is given, who may latch: address (its address, any port: NAT), address-port, any";

// "198.18.0.2:4000" or "198.18.0.2:4000/4001" -> address, RTP and RTCP port.
bool parse_remote(const std::string& text, uint32_t& ip, uint16_t& port, uint16_t& rtcp) {
  rtcp = 0;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || !proto::parse_ipv4(text.substr(0, colon), ip)) return false;
  std::string ports = text.substr(colon + 1);
  const auto slash = ports.find('/');
  auto num = [](const std::string& s, uint16_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out != 0;
  };
  if (slash != std::string::npos) {
    if (!num(ports.substr(slash + 1), rtcp)) return false;
    ports.resize(slash);
  }
  return num(ports, port);
}

// "30000" or "198.18.0.7:30000" -> the relay address (0: the dataplane's choice) and port.
bool parse_local(const std::string& text, uint32_t& ip, uint16_t& port) {
  ip = 0;
  const auto colon = text.rfind(':');
  if (colon != std::string::npos && !proto::parse_ipv4(text.substr(0, colon), ip)) return false;
  const std::string digits = colon == std::string::npos ? text : text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty();
}

uint8_t mode_of(const LegOptions& o) {
  return static_cast<uint8_t>((o.no_learn ? 0 : proto::kModeLearn) | (o.no_strict ? 0 : proto::kModeStrict) |
                              proto::latch_mode_bits(o.latch).value_or(proto::kModeLockAddress));
}

void add_latch_option(CLI::App* cmd, const std::string& flag, std::string& latch, const std::string& what) {
  cmd->add_option(flag, latch, what + kLatchHelp)
      ->check(CLI::IsMember(std::vector<std::string>(proto::kLatchModeNames.begin(), proto::kLatchModeNames.end())))
      ->capture_default_str();
}

std::unique_ptr<DataplaneClient> connect(const GlobalOptions& g, int& exit_code) {
  auto c = std::make_unique<DataplaneClient>();
  std::string error;
  if (!c->connect(g.socket, error, 1000)) {
    fail(g, exit_code, error + " (is tandem-dataplane running? --socket PATH names its control socket)");
    return nullptr;
  }
  return c;
}

template <typename T>
bool check(const GlobalOptions& g, const tandem::control::Reply<T>& r, int& exit_code) {
  if (r) return true;
  fail(g, exit_code, r.error);
  return false;
}

void print_session(const GlobalOptions& g, const proto::SessionInfo& s) {
  if (g.json) {
    std::cout << to_json(s).dump(2) << "\n";
  } else {
    std::cout << session_detail(s);
  }
}

void add_leg_options(CLI::App* cmd, const std::string& name, LegOptions& o) {
  cmd->add_option("--" + name + "-port", o.port, "leg " + name + ": DPDK port id")->check(CLI::Range(0, 7));
  cmd->add_option("--" + name + "-remote", o.remote, "leg " + name + ": remote IP:PORT[/RTCP] (omit to learn it)");
  cmd->add_option("--" + name + "-local", o.local,
                  "leg " + name + ": relay [ADDRESS:]PORT to use (even port, 0 = allocate; the address one of the "
                  "port's, default: the dataplane spreads legs over them)");
  cmd->add_flag("--" + name + "-no-learn", o.no_learn, "leg " + name + ": do not latch onto the first source");
  cmd->add_flag("--" + name + "-no-strict", o.no_strict, "leg " + name + ": accept media from any source");
  add_latch_option(cmd, "--" + name + "-latch", o.latch, "leg " + name + ": ");
  cmd->add_option("--" + name + "-clock-khz", o.clock_khz, "leg " + name + ": RTP clock (default 8)")
      ->check(CLI::Range(1, 192));
}

bool fill_leg(const GlobalOptions& g, int& exit_code, const std::string& name, const LegOptions& o,
              proto::LegSpec& s) {
  s = proto::LegSpec{};
  s.port = static_cast<uint8_t>(o.port);
  if (!o.local.empty() && !parse_local(o.local, s.local_ip, s.local_port)) {
    fail(g, exit_code, "--" + name + "-local " + o.local + ": expected PORT or IP:PORT", kUsage);
    return false;
  }
  s.mode = mode_of(o);
  s.clock_khz = static_cast<uint8_t>(o.clock_khz);
  if (!o.remote.empty() && !parse_remote(o.remote, s.remote_ip, s.remote_port, s.remote_rtcp_port)) {
    fail(g, exit_code, "--" + name + "-remote " + o.remote + ": expected IP:PORT or IP:PORT/RTCP_PORT", kUsage);
    return false;
  }
  return true;
}

}  // namespace

namespace {

void add_status(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  dp->add_subcommand("status", "health, load, ports, workers, drop counters and the top offenders of the exception path")
      ->callback([&g, &exit_code] {
        auto c = connect(g, exit_code);
        if (!c) return;
        auto h = c->health();
        if (!check(g, h, exit_code)) return;
        auto o = c->punt_offenders();
        if (!check(g, o, exit_code)) return;
        if (g.json) {
          auto out = to_json(*h);
          out["punt"] = to_json(*o);
          std::cout << out.dump(2) << "\n";
        } else {
          std::cout << health_text(*h) << offenders_text(*o);
        }
      });
}

void add_sessions(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  dp->add_subcommand("sessions", "list the media sessions")->callback([&g, &exit_code] {
    auto c = connect(g, exit_code);
    if (!c) return;
    auto list = c->list_all();
    if (!check(g, list, exit_code)) return;
    if (g.json) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& s : *list) all.push_back(to_json(s));
      std::cout << all.dump(2) << "\n";
      return;
    }
    std::cout << list->size() << " sessions\n";
    for (const auto& s : *list) std::cout << session_line(s) << "\n";
  });
}

constexpr const char* kSessionIdHelp = "session id: SLOT:GENERATION as tandemctl prints it, or the number";

// "SLOT:GEN" (or the raw number) into the raw id the protocol carries.
CLI::Validator session_id_arg() {
  return CLI::Validator(
      [](std::string& text) {
        uint64_t id = 0;
        if (!proto::parse_session_id(text, id)) return std::string("not a session id (SLOT:GENERATION or a number): ") + text;
        text = std::to_string(id);
        return std::string();
      },
      "SLOT:GEN");
}

void add_show(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  auto* show = dp->add_subcommand("show", "one session: addresses, counters, RTP statistics");
  static uint64_t show_id = 0;
  show->add_option("ID", show_id, kSessionIdHelp)->transform(session_id_arg())->required();
  show->callback([&g, &exit_code] {
    auto c = connect(g, exit_code);
    if (!c) return;
    auto s = c->query(show_id);
    if (check(g, s, exit_code)) print_session(g, *s);
  });
}

void add_delete(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  auto* del = dp->add_subcommand("delete", "delete a session and print its final counters");
  static uint64_t delete_id = 0;
  del->add_option("ID", delete_id, kSessionIdHelp)->transform(session_id_arg())->required();
  del->callback([&g, &exit_code] {
    auto c = connect(g, exit_code);
    if (!c) return;
    auto s = c->remove(delete_id);
    if (check(g, s, exit_code)) print_session(g, *s);
  });
}

void add_create(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  auto* create = dp->add_subcommand("create", "create a two-leg media session (legs a and b)");
  static LegOptions a, b;
  add_leg_options(create, "a", a);
  add_leg_options(create, "b", b);
  create->callback([&g, &exit_code] {
    proto::CreateRequest r{};
    if (!fill_leg(g, exit_code, "a", a, r.legs[0]) || !fill_leg(g, exit_code, "b", b, r.legs[1])) return;
    auto c = connect(g, exit_code);
    if (!c) return;
    auto s = c->create(r);
    if (check(g, s, exit_code)) print_session(g, *s);
  });
}

void add_update(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  auto* update = dp->add_subcommand("update", "give a leg its remote address (from an SDP answer)");
  static uint64_t update_id = 0;
  static std::string update_leg;
  static LegOptions u;
  update->add_option("ID", update_id, kSessionIdHelp)->transform(session_id_arg())->required();
  update->add_option("--leg", update_leg, "a or b")->required()->check(CLI::IsMember({"a", "b"}));
  update->add_option("--remote", u.remote, "remote IP:PORT[/RTCP]")->required();
  update->add_flag("--no-learn", u.no_learn, "do not latch onto the first source");
  update->add_flag("--no-strict", u.no_strict, "accept media from any source");
  add_latch_option(update, "--latch", u.latch, "");
  update->callback([&g, &exit_code] {
    proto::UpdateLegRequest r{};
    r.session_id = update_id;
    r.leg = update_leg == "a" ? 0 : 1;
    r.mode = mode_of(u);
    if (!parse_remote(u.remote, r.remote_ip, r.remote_port, r.remote_rtcp_port)) {
      return fail(g, exit_code, "--remote " + u.remote + ": expected IP:PORT or IP:PORT/RTCP_PORT", kUsage);
    }
    auto c = connect(g, exit_code);
    if (!c) return;
    auto s = c->update(r);
    if (check(g, s, exit_code)) print_session(g, *s);
  });
}

void add_watch(CLI::App* dp, GlobalOptions& g, int& exit_code) {
  auto* watch = dp->add_subcommand("watch", "print session timeout events as they happen");
  static int watch_seconds = 0;
  watch->add_option("--seconds", watch_seconds, "stop after this long (0 = until interrupted)")->check(CLI::Range(0, 86400));
  watch->callback([&g, &exit_code] {
    auto c = connect(g, exit_code);
    if (!c) return;
    if (!check(g, c->subscribe(proto::kEventTimeouts), exit_code)) return;
    const int step_ms = 200;
    for (int waited = 0; watch_seconds == 0 || waited < watch_seconds * 1000; waited += step_ms) {
      auto e = c->next_event(step_ms);
      if (!e) continue;
      if (g.json) {
        std::cout << nlohmann::json{{"event", "session_timeout"}, {"session", to_json(e->info)}}.dump() << std::endl;
      } else {
        std::cout << "timeout: " << session_line(e->info) << std::endl;
      }
    }
  });
}

}  // namespace

void add_dataplane_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* dp = app.add_subcommand("dataplane", "media sessions and counters of the local tandem-dataplane");
  dp->require_subcommand(1);
  dp->fallthrough();
  add_status(dp, g, exit_code);
  add_sessions(dp, g, exit_code);
  add_show(dp, g, exit_code);
  add_create(dp, g, exit_code);
  add_update(dp, g, exit_code);
  add_delete(dp, g, exit_code);
  add_watch(dp, g, exit_code);
}

}  // namespace tandem::ctl
