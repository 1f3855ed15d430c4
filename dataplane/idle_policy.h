// How long a worker of --poll-mode adaptive sleeps before its next poll, from
// what its last poll brought. Pure: the worker asks after every poll and
// sleeps what it is told (worker.cc, worker_main).
//
// Why: at a partial load (200k pps, one packet every 5 us) nearly every poll
// finds a packet or two, so a policy that sleeps only when idle never sleeps,
// and each packet costs a whole poll and flush (issue 16: 26 % of a core for
// 200k pps). Batching instead waits until a poll brings a useful burst: the
// CPU then goes with the packets, and each packet waits at most the budget
// (--idle-max-delay-us, well under a 20 ms RTP packetization interval).
//
// - A full burst: packets may be waiting, poll again now and halve the wait.
// - Half a burst or more: the wait is right, keep it.
// - Fewer: double the wait (from kMinSleepUs), up to the budget.
// - None: the same up to the budget; after kEmptyPollsBeforeIdle empty polls
//   in a row the port is idle, and the wait doubles on up to kIdleMaxSleepUs,
//   which only the first packet after a silence sees. The first packet after
//   that brings the wait back within the budget.
//
// A budget of 0 is the policy of before (kept to compare): spin
// kSpinsBeforeSleep empty polls, then sleep 16 us doubling to 1 ms; any packet
// resets it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace tandem::dp {

class IdlePolicy {
 public:
  static constexpr uint32_t kMinSleepUs = 16;
  static constexpr uint32_t kIdleMaxSleepUs = 1000;
  static constexpr uint32_t kEmptyPollsBeforeIdle = 8;
  static constexpr uint32_t kSpinsBeforeSleep = 256;
  static constexpr uint32_t kMaxDelayLimitUs = 20000;  // one 20 ms packetization interval

  IdlePolicy(uint32_t burst, uint32_t max_delay_us)
      : target_(std::max<uint32_t>(1, burst / 2)),
        max_delay_us_(std::min(max_delay_us, kMaxDelayLimitUs)),
        idle_max_us_(std::max(kIdleMaxSleepUs, max_delay_us_)) {}

  // `received`: packets the poll brought (all its queues); `full`: a queue
  // gave a whole burst. Returns the microseconds to sleep, 0 = poll now.
  uint32_t after_poll(uint32_t received, bool full) {
    if (max_delay_us_ == 0) return legacy(received);
    if (received == 0) {
      if (empty_polls_ <= kEmptyPollsBeforeIdle) ++empty_polls_;
      sleep_us_ = grow(empty_polls_ > kEmptyPollsBeforeIdle ? idle_max_us_ : max_delay_us_);
      return sleep_us_;
    }
    empty_polls_ = 0;
    if (full) {
      sleep_us_ = std::min(sleep_us_, max_delay_us_) / 2;
      if (sleep_us_ < kMinSleepUs) sleep_us_ = 0;
      return 0;
    }
    sleep_us_ = received >= target_ ? std::min(sleep_us_, max_delay_us_) : grow(max_delay_us_);
    return sleep_us_;
  }

  uint32_t max_delay_us() const { return max_delay_us_; }

 private:
  uint32_t grow(uint32_t cap) const { return std::min(cap, std::max(kMinSleepUs, sleep_us_ * 2)); }

  uint32_t legacy(uint32_t received) {
    if (received) {
      empty_polls_ = 0;
      sleep_us_ = kMinSleepUs;
      return 0;
    }
    if (++empty_polls_ <= kSpinsBeforeSleep) return 0;
    const uint32_t now = std::max(sleep_us_, kMinSleepUs);
    sleep_us_ = std::min(now * 2, kIdleMaxSleepUs);
    return now;
  }

  uint32_t target_;
  uint32_t max_delay_us_;
  uint32_t idle_max_us_;
  uint32_t sleep_us_ = 0;
  uint32_t empty_polls_ = 0;
};

}  // namespace tandem::dp
