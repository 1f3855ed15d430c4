#include "control/sip/sip_loop.h"

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <string>

#include "control/sip/own_fds.h"

namespace tandem::control {
namespace {

// This process's epoll descriptors.
std::set<int> epoll_fds() {
  std::set<int> fds;
  for (const int fd : own_fds()) {
    std::error_code ec;
    if (std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string() == "anon_inode:[eventpoll]")
      fds.insert(fd);
  }
  return fds;
}

// The signal handler's only way to the loop: a byte on a pipe (one loop per process).
int signal_pipe[2] = {-1, -1};

void on_signal(int) {
  const char c = 1;
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &c, 1);
}

int on_signal_pipe(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* loop) {
  char c;
  [[maybe_unused]] auto n = ::read(signal_pipe[0], &c, 1);
  spdlog::info("signal received: stopping");
  reinterpret_cast<SipLoop*>(loop)->stop();
  return 0;
}

// Longest sleep without a timer: what su_root_run() would sleep with no timer
// either is "forever"; a bound keeps a lost wake-up from hanging the loop.
constexpr int kMaxSleepMs = 1000;

}  // namespace

void keep_freed_memory_mapped() {
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

SipLoop::SipLoop() {
  const std::set<int> before = epoll_fds();
  root_ = su_root_create(nullptr);
  std::set<int> made;
  for (int fd : epoll_fds())
    if (!before.count(fd)) made.insert(fd);
  if (made.size() == 1) epoll_fd_ = *made.begin();
}

SipLoop::~SipLoop() {
  if (signals_) su_root_unregister(root_, signal_wait_, on_signal_pipe, reinterpret_cast<su_wakeup_arg_t*>(this));
  if (root_) su_root_destroy(root_);
}

bool SipLoop::stop_on_signals() {
  if (signal_pipe[0] < 0 && ::pipe(signal_pipe) != 0) return false;
  su_wait_create(signal_wait_, signal_pipe[0], SU_WAIT_IN);
  if (su_root_register(root_, signal_wait_, on_signal_pipe, reinterpret_cast<su_wakeup_arg_t*>(this), 0) < 0)
    return false;
  signals_ = true;
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}

void SipLoop::run() {
  if (epoll_fd_ < 0) {
    su_root_run(root_);
    return;
  }
  running_ = true;
  while (running_) {
    // Runs the callbacks of what is ready and the timers that are due; returns
    // the milliseconds to the next timer, rounded down (0: under one, or more
    // may be ready), or SU_WAIT_FOREVER.
    const su_duration_t next = su_root_step(root_, 0);
    if (!running_) break;
    const int sleep_ms = next == SU_WAIT_FOREVER || next >= kMaxSleepMs ? kMaxSleepMs : static_cast<int>(next) + 1;
    pollfd p{epoll_fd_, POLLIN, 0};
    if (::poll(&p, 1, sleep_ms) < 0 && errno != EINTR) {
      su_root_run(root_);  // not expected; sofia's own loop is correct, only busier
      return;
    }
  }
}

void SipLoop::stop() {
  running_ = false;
  su_root_break(root_);
}

}  // namespace tandem::control
