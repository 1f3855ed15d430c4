// The operator socket of tandem-control and tandem-sbc: one JSON request per
// connection ({"cmd": NAME, ...} and a newline), one JSON reply, on the SIP
// thread's loop, so that a command reads the process's state without locks.
// A slow command (a rules reload) runs on a thread of its own and answers
// from there: the SIP thread never waits for it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sofia-sip/su_wait.h>

namespace tandem::control {

class OperatorSocket {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  explicit OperatorSocket(su_root_t* root);
  ~OperatorSocket();
  OperatorSocket(const OperatorSocket&) = delete;
  OperatorSocket& operator=(const OperatorSocket&) = delete;

  // Before open(). `on` runs on the loop's thread; `on_slow` on a thread of its own.
  void on(const std::string& cmd, Handler handler);
  void on_slow(const std::string& cmd, Handler handler);
  bool open(const std::string& path, std::string& error);

  // What a request gets (a slow command too, run here); public for the tests.
  nlohmann::json handle(const nlohmann::json& request);
  uint64_t bad_requests() const { return bad_requests_; }

 private:
  struct Client;
  static int on_accept(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  static int on_readable(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  void serve(Client& c);
  void close_client(Client* c);
  nlohmann::json refuse(const std::string& why);

  su_root_t* root_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, Handler> slow_;
  std::string path_;
  int listen_fd_ = -1;
  su_wait_t listen_wait_[1] = {};
  int listen_index_ = -1;
  uint64_t bad_requests_ = 0;
  std::vector<std::thread> slow_threads_;  // joined at close
};

}  // namespace tandem::control
