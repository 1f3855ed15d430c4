// How long a worker of --poll-mode adaptive sleeps before its next poll, from
// what its polls brought. Pure: the worker asks after every poll and sleeps
// what it is told (worker.cc, worker_main).
//
// Why: at a partial load (200k pps, one packet every 5 us) nearly every poll
// finds a packet or two, so a policy that sleeps only when idle never sleeps,
// and each packet costs a whole poll (issue 16: 26 % of a core for 200k pps).
// A wake costs a fixed few microseconds (the sleep's syscall and context
// switches; more in a VM), so with media coming the worker wakes once per
// latency budget (--idle-max-delay-us, well under a 20 ms RTP packetization
// interval) and takes all that waits: the CPU then goes with the packets.
//
// - A full burst: more may wait, poll again now (the same wake).
// - A wake that took packets: the wait doubles (from kMinSleepUs) up to the
//   budget, unless it took more than a quarter of the RX ring: then the wait
//   halves (down to none: busy polling), so that a ring never fills while the
//   worker sleeps, whatever the budget.
// - A wake that took none: the same up to the budget; after
//   kEmptyWakesBeforeIdle of them in a row the port is idle, and the wait
//   doubles on up to kIdleMaxSleepUs, which only the first packet after a
//   silence sees. The next wake with packets brings the wait back within the
//   budget.
//
// A sleep ends later than asked (timer and wake-up latency: ~50 us on a VM,
// whatever the timer slack); the worker reports each, and the policy asks that
// much less, so that the budget is what packets wait.
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
  static constexpr uint32_t kEmptyWakesBeforeIdle = 8;
  static constexpr uint32_t kSpinsBeforeSleep = 256;
  static constexpr uint32_t kMaxDelayLimitUs = 20000;  // one 20 ms packetization interval

  // `ring`: RX descriptors per queue.
  IdlePolicy(uint32_t ring, uint32_t max_delay_us)
      : wake_limit_(std::max<uint32_t>(1, ring / 4)),
        max_delay_us_(std::min(max_delay_us, kMaxDelayLimitUs)),
        idle_max_us_(std::max(kIdleMaxSleepUs, max_delay_us_)) {}

  // `received`: packets the poll brought (all its queues); `full`: a queue
  // gave a whole burst. Returns the microseconds to sleep, 0 = poll now.
  uint32_t after_poll(uint32_t received, bool full) {
    if (max_delay_us_ == 0) return legacy(received);
    wake_packets_ += received;
    if (full) return 0;
    const uint32_t took = wake_packets_;
    wake_packets_ = 0;
    if (took == 0) {
      if (empty_wakes_ <= kEmptyWakesBeforeIdle) ++empty_wakes_;
      sleep_us_ = grow(empty_wakes_ > kEmptyWakesBeforeIdle ? idle_max_us_ : max_delay_us_);
    } else if (took > wake_limit_) {
      empty_wakes_ = 0;
      sleep_us_ = std::min(sleep_us_, max_delay_us_) / 2;
      if (sleep_us_ < kMinSleepUs) sleep_us_ = 0;
    } else {
      empty_wakes_ = 0;
      sleep_us_ = grow(max_delay_us_);
    }
    return sleep_us_ ? ask(sleep_us_) : 0;
  }

  // A sleep asked for `asked_us` took `slept_us`.
  void slept(uint32_t asked_us, uint32_t slept_us) {
    if (max_delay_us_ == 0) return;
    const uint32_t late = slept_us > asked_us ? slept_us - asked_us : 0;
    late8_ = late8_ - late8_ / 8 + std::min(late, max_delay_us_);
  }

  uint32_t max_delay_us() const { return max_delay_us_; }

 private:
  uint32_t grow(uint32_t cap) const { return std::min(cap, std::max(kMinSleepUs, sleep_us_ * 2)); }
  uint32_t ask(uint32_t wait_us) const {
    const uint32_t late = late8_ / 8;
    return std::max(kMinSleepUs, wait_us > late ? wait_us - late : 0);
  }

  uint32_t legacy(uint32_t received) {
    if (received) {
      empty_wakes_ = 0;
      sleep_us_ = kMinSleepUs;
      return 0;
    }
    if (++empty_wakes_ <= kSpinsBeforeSleep) return 0;
    const uint32_t now = std::max(sleep_us_, kMinSleepUs);
    sleep_us_ = std::min(now * 2, kIdleMaxSleepUs);
    return now;
  }

  uint32_t wake_limit_;
  uint32_t max_delay_us_;
  uint32_t idle_max_us_;
  uint32_t sleep_us_ = 0;
  uint32_t empty_wakes_ = 0;   // the legacy policy: empty polls
  uint32_t wake_packets_ = 0;  // taken so far in this wake
  uint32_t late8_ = 0;         // 8 x how much later than asked sleeps end (a moving average)
};

}  // namespace tandem::dp
