#include "control/sip/sip_loop.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <string>

namespace tandem::control {
namespace {

// This process's epoll descriptors, from /proc/self/fd.
std::set<int> epoll_fds() {
  std::set<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string() == "anon_inode:[eventpoll]")
      fds.insert(std::stoi(entry.path().filename().string()));
  }
  return fds;
}

// Longest sleep without a timer: what su_root_run() would sleep with no timer
// either is "forever"; a bound keeps a lost wake-up from hanging the loop.
constexpr int kMaxSleepMs = 1000;

}  // namespace

SipLoop::SipLoop() {
  const std::set<int> before = epoll_fds();
  root_ = su_root_create(nullptr);
  std::set<int> made;
  for (int fd : epoll_fds())
    if (!before.count(fd)) made.insert(fd);
  if (made.size() == 1) epoll_fd_ = *made.begin();
}

SipLoop::~SipLoop() {
  if (root_) su_root_destroy(root_);
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
