// The SIP thread's loop around sofia-sip's su_root.
//
// su_root_run() waits in whole milliseconds rounded down, so in the last
// millisecond before a timer it polls without sleeping. Under load nta always
// has a timer that close: at 1,000 calls/s the SIP thread made 146
// epoll_wait(0) calls per SIP call, a third of its CPU. This loop does sofia's
// work with su_root_step(root, 0) and sleeps on sofia's own epoll descriptor
// in between, its wait rounded up: a timer runs up to 1 ms late, as sofia's
// millisecond timers may anyway.
#pragma once

#include <sofia-sip/su_wait.h>

namespace tandem::control {

// sofia-sip allocates and frees every message's memory: with glibc's defaults
// the heap's top went back to the kernel and was faulted in again (page faults
// were 4 % of the call server's SIP thread at 1,000 calls/s, 10 % of the
// SBC's at 3,000). Keeps freed memory mapped; call once at start.
void keep_freed_memory_mapped();

class SipLoop {
 public:
  // Creates the root and finds the epoll descriptor it made. Without one (a
  // sofia-sip built for another poller) run() is su_root_run().
  SipLoop();
  ~SipLoop();
  SipLoop(const SipLoop&) = delete;
  SipLoop& operator=(const SipLoop&) = delete;

  su_root_t* root() const { return root_; }
  bool sleeps_on_epoll() const { return epoll_fd_ >= 0; }
  // Until stop(), which a callback of this root may call, or until SIGINT or
  // SIGTERM after stop_on_signals() (SIGPIPE ignored too: a peer that closes
  // a socket is an error to handle, not a reason to die).
  void run();
  void stop();
  bool stop_on_signals();

 private:
  su_root_t* root_ = nullptr;
  int epoll_fd_ = -1;
  bool running_ = false;
  su_wait_t signal_wait_[1] = {};
  bool signals_ = false;
};

}  // namespace tandem::control
