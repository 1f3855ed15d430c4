// tandem-control's operator socket: one JSON request per connection, one JSON
// reply, on the SIP thread's loop (so it reads the calls without locks).
//   {"cmd":"stats"}                 counters, load, rules and CDR writer state
//   {"cmd":"calls"}                 the live calls
//   {"cmd":"call","id":"SERIAL|CALL-ID"}
//   {"cmd":"rules-reload"}          load the Rules DB now (on a thread of its own)
//   {"cmd":"cdr-stats"}             the CDR writer's counters
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sofia-sip/su_wait.h>

#include "cdr/writer.h"
#include "control/server/call_server.h"
#include "rules/reloader.h"

namespace tandem::control {

class ControlSocket {
 public:
  ControlSocket(su_root_t* root, CallServer& server, rules::Reloader& rules, cdr::Writer& cdrs);
  ~ControlSocket();
  bool open(const std::string& path, std::string& error);

  // What a request gets; public for the tests.
  nlohmann::json handle(const nlohmann::json& request);

 private:
  struct Client;
  static int on_accept(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  static int on_readable(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  void serve(Client& c);
  void close_client(Client* c);

  su_root_t* root_;
  CallServer& server_;
  rules::Reloader& rules_;
  cdr::Writer& cdrs_;
  std::string path_;
  int listen_fd_ = -1;
  su_wait_t listen_wait_[1] = {};
  int listen_index_ = -1;
  uint64_t bad_requests_ = 0;
  std::vector<std::thread> reloads_;  // joined at close
};

nlohmann::json call_json(const Call& call, bool detail);

}  // namespace tandem::control
