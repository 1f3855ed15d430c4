#include "tools/tandemctl/call_commands.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace tandem::ctl {

namespace {

std::string text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void print_calls(const GlobalOptions& g, const nlohmann::json& calls) {
  if (g.json) {
    std::cout << calls.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:>6}  {:<9} {:<8} {:<16} {:<16} {:<12} {:<20} {:<10} {:>6} {:>8}\n", "ID", "STATE",
                           "DIR", "CALLER", "CALLED", "CUSTOMER", "TARGET", "PROVIDER", "AGE_S", "TALK_S");
  for (const auto& c : calls)
    std::cout << fmt::format("{:>6}  {:<9} {:<8} {:<16} {:<16} {:<12} {:<20} {:<10} {:>6} {:>8}\n", text(c["id"]),
                             text(c["state"]), text(c["direction"]), text(c["caller"]), text(c["called"]),
                             text(c["customer"]), text(c.value("target", nlohmann::json(""))),
                             text(c.value("provider", nlohmann::json(""))), text(c["age_s"]),
                             text(c["answered_s"]));
  std::cout << calls.size() << " calls\n";
}

}  // namespace

void print_object(const GlobalOptions& g, const nlohmann::json& j) {
  if (g.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const auto& [k, v] : j.items()) {
    if (v.is_object()) {
      std::cout << k << ":\n";
      for (const auto& [k2, v2] : v.items()) std::cout << fmt::format("  {:<30} {}\n", k2, text(v2));
    } else {
      std::cout << fmt::format("{:<32} {}\n", k, text(v));
    }
  }
}

std::optional<nlohmann::json> control_request(const std::string& socket_path, const nlohmann::json& request,
                                              std::string& error, int timeout_ms) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = socket_path + ": path too long";
    return std::nullopt;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    error = "no answer at " + socket_path + ": " + std::strerror(errno) +
            " (is tandem-control or tandem-sbc running? --control-socket, --sbc-socket)";
    if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  const std::string line = request.dump() + "\n";
  std::string reply;
  bool ok = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  while (ok && (reply.empty() || reply.back() != '\n')) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      error = socket_path + " did not answer within " + std::to_string(timeout_ms / 1000) + " s";
      ::close(fd);
      return std::nullopt;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = socket_path + ": the answer is not JSON";
    return std::nullopt;
  }
  if (j.contains("error") && j["error"].is_string() && !j.value("ok", true)) {
    error = j["error"].get<std::string>();
    return std::nullopt;
  }
  return j;
}

void add_call_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  app.add_subcommand("calls", "the live calls on tandem-control")->callback([&g, &exit_code] {
    std::string e;
    auto r = control_request(g.control_socket, {{"cmd", "calls"}}, e);
    if (!r) return (void)fail(g, exit_code, e);
    print_calls(g, (*r)["calls"]);
  });

  static std::string call_id;
  auto* call = app.add_subcommand("call", "one live call: its routing decision, targets and media");
  call->add_option("ID", call_id, "the id tandemctl calls lists, or the caller's SIP Call-ID")->required();
  call->callback([&g, &exit_code] {
    std::string e;
    auto r = control_request(g.control_socket, {{"cmd", "call"}, {"id", call_id}}, e);
    if (!r) return (void)fail(g, exit_code, e);
    std::cout << r->dump(2) << "\n";  // nested (targets, media): JSON either way
  });

  app.add_subcommand("stats", "tandem-control's load and counters (calls, SIP, rules, CDR writer, attendant)")
      ->callback([&g, &exit_code] {
        std::string e;
        auto r = control_request(g.control_socket, {{"cmd", "stats"}}, e);
        if (!r) return (void)fail(g, exit_code, e);
        print_object(g, *r);
      });
}

}  // namespace tandem::ctl
