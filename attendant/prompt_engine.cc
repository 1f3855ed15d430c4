#include "attendant/prompt_engine.h"

#include <ortp/ortp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "attendant/dtmf.h"
#include "attendant/media_session.h"
#include "attendant/pacing.h"
#include "attendant/rtp_view.h"

namespace tandem::attendant {

namespace {

// The schedule: a 1 ms tick; a caller is served on one tick in kFrameMs (its
// slot), and callers are spread over the slots so that no tick sends to more
// than its share of them.
constexpr int64_t kTickNs = 1'000'000;
constexpr uint32_t kSlots = kFrameMs;
constexpr uint32_t kSamplesPerTick = kSamplesPerFrame / kFrameMs;
// After a stall (the machine, a debugger) frames up to this late are still
// sent, back to back; older ones are given up: a caller hears a gap, not a burst.
constexpr int64_t kMaxCatchUpTicks = 100;
constexpr size_t kMaxEvents = 1 << 16;
constexpr int kMaxReadsPerWake = 64;  // one caller's flood cannot hold the thread
constexpr size_t kMaxDatagram = 2048;
constexpr uint64_t kTimerKey = 1, kWakeKey = 2, kFirstCaller = 16;  // epoll keys; caller ids above
constexpr uint64_t kRtcpKey = uint64_t{1} << 63;                      // a caller's id | this: its RTCP socket

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int checked(int fd, const char* what) {
  if (fd < 0) throw std::runtime_error(std::string("attendant: ") + what + ": " + std::strerror(errno));
  return fd;
}

struct Caller {
  CallerId id = 0;
  std::unique_ptr<MediaSession> media;
  Codec codec = Codec::pcmu;
  uint8_t telephone_event_pt = 0;
  uint32_t slot = 0;
  size_t slot_index = 0;  // in slots[slot], for removal in O(1)
  // RTP timestamps follow the clock, 8 per ms since the session opened, so a
  // prompt played after a pause continues the timeline instead of restarting it.
  int64_t open_tick = 0;
  uint32_t timestamp_origin = 0;
  std::shared_ptr<const Prompt> prompt;  // null: not playing
  uint32_t next_frame = 0;
  TelephoneEventDetector dtmf;
};

struct OpenCommand {
  CallerMedia media;
  std::promise<OpenResult> result;
};
struct PlayCommand {
  CallerId caller;
  std::shared_ptr<const Prompt> prompt;
};
struct StopCommand {
  CallerId caller;
};
struct CloseCommand {
  CallerId caller;
};
using Command = std::variant<OpenCommand, PlayCommand, StopCommand, CloseCommand>;

}  // namespace

struct PromptEngine::Impl {
  // Shared with the API's threads.
  std::mutex command_mutex;
  std::vector<Command> commands;
  std::mutex event_mutex;
  std::deque<Event> events;  // at most kMaxEvents
  int event_fd = -1;         // readable exactly while `events` is not empty (both changed under event_mutex)
  int wake_fd = -1;          // commands waiting, or stop
  std::atomic<bool> stopping{false};

  struct Counters {
    std::atomic<uint64_t> callers{0}, frames_sent{0}, send_errors{0}, prompts_finished{0}, barge_ins{0};
    std::array<std::atomic<uint64_t>, kDtmfOutcomes> dtmf{};
    std::atomic<uint64_t> foreign_source{0}, not_rtp{0}, other_payload{0}, rtcp_dropped{0}, ticks_skipped{0},
        events_dropped{0};
  } counters;
  std::atomic<bool> realtime{false};
  PacingHistogram pacing;

  // The media thread's alone.
  int epoll_fd = -1;
  int timer_fd = -1;
  int64_t base_ns = 0;     // tick t is due at base_ns + t * kTickNs
  int64_t next_tick = 0;   // the first tick not served yet
  bool timer_armed = false;
  CallerId next_id = kFirstCaller;
  std::unordered_map<CallerId, Caller> callers;  // its nodes do not move: the slots point into it
  std::array<std::vector<Caller*>, kSlots> slots;
  std::thread thread;
  pthread_t thread_handle{};

  explicit Impl(const EngineOptions& options);
  ~Impl();
  void post(Command c);
  void push_event(const Event& e);
  void run();
  void drain_commands();
  void handle(OpenCommand& c);
  void handle(PlayCommand& c);
  void handle(StopCommand& c);
  void handle(CloseCommand& c);
  void arm_timer(bool on);
  void serve_ticks();
  void serve(Caller& c, int64_t tick);
  void receive(Caller& c);
  void drain_rtcp(Caller& c);
  Caller* find(CallerId id);
};

PromptEngine::Impl::Impl(const EngineOptions& options) {
  event_fd = checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
  wake_fd = checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
  epoll_fd = checked(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
  timer_fd = checked(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create");
  for (auto [fd, key] : {std::pair{timer_fd, kTimerKey}, std::pair{wake_fd, kWakeKey}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    checked(epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev), "epoll_ctl");
  }
  base_ns = now_ns();
  ortp_init();  // reference-counted by oRTP: one per engine is fine
  thread = std::thread([this, priority = options.realtime_priority] {
    if (priority > 0) {
      sched_param param{};
      param.sched_priority = priority;
      realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
    }
    run();
  });
  thread_handle = thread.native_handle();
}

PromptEngine::Impl::~Impl() {
  stopping = true;
  const uint64_t one = 1;
  (void)!write(wake_fd, &one, sizeof one);
  thread.join();
  callers.clear();  // closes the sessions before oRTP goes
  ortp_exit();
  for (int fd : {timer_fd, epoll_fd, wake_fd, event_fd}) ::close(fd);
}

void PromptEngine::Impl::post(Command c) {
  {
    std::lock_guard lock(command_mutex);
    commands.push_back(std::move(c));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd, &one, sizeof one);  // an eventfd write fails only when the counter is full: still readable
}

void PromptEngine::Impl::push_event(const Event& e) {
  std::lock_guard lock(event_mutex);
  if (events.size() >= kMaxEvents) {
    counters.events_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  events.push_back(e);
  if (events.size() == 1) {
    const uint64_t one = 1;
    (void)!write(event_fd, &one, sizeof one);
  }
}

void PromptEngine::Impl::run() {
  std::array<epoll_event, 64> ready{};
  while (!stopping.load()) {
    const int n = epoll_wait(epoll_fd, ready.data(), static_cast<int>(ready.size()), -1);
    for (int i = 0; i < n; ++i) {
      const uint64_t key = ready[static_cast<size_t>(i)].data.u64;
      if (key == kTimerKey) {
        uint64_t expirations = 0;
        (void)!read(timer_fd, &expirations, sizeof expirations);  // the clock says which ticks are due
        serve_ticks();
      } else if (key == kWakeKey) {
        uint64_t count = 0;
        (void)!read(wake_fd, &count, sizeof count);
        drain_commands();
      } else if (Caller* c = find(key & ~kRtcpKey)) {  // not found: closed earlier in this batch
        if (key & kRtcpKey) {
          drain_rtcp(*c);
        } else {
          receive(*c);
        }
      }
    }
  }
}

void PromptEngine::Impl::drain_commands() {
  std::vector<Command> batch;
  {
    std::lock_guard lock(command_mutex);
    batch.swap(commands);
  }
  for (Command& c : batch) std::visit([this](auto& cmd) { handle(cmd); }, c);
  arm_timer(!callers.empty());
}

Caller* PromptEngine::Impl::find(CallerId id) {
  const auto it = callers.find(id);
  return it == callers.end() ? nullptr : &it->second;
}

void PromptEngine::Impl::handle(OpenCommand& cmd) {
  OpenResult r;
  auto media = MediaSession::open(cmd.media, r.error);
  if (!media) {
    cmd.result.set_value(std::move(r));
    return;
  }
  const CallerId id = next_id++;
  for (auto [fd, key] : {std::pair{media->fd(), id}, std::pair{media->rtcp_fd(), id | kRtcpKey}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      r.error = std::string("epoll_ctl: ") + std::strerror(errno);
      cmd.result.set_value(std::move(r));
      return;  // closing the session's sockets takes them out of the epoll set
    }
  }
  // The least loaded slot: callers who arrive together are spread over the 20 ms.
  uint32_t slot = 0;
  for (uint32_t s = 1; s < kSlots; ++s) {
    if (slots[s].size() < slots[slot].size()) slot = s;
  }
  Caller c;
  c.id = id;
  c.codec = cmd.media.codec;
  c.telephone_event_pt = cmd.media.telephone_event_pt;
  c.slot = slot;
  c.slot_index = slots[slot].size();
  c.open_tick = next_tick;
  c.timestamp_origin = random_rtp_start();
  r.id = id;
  r.local_port = media->local_port();
  c.media = std::move(media);
  slots[slot].push_back(&callers.emplace(id, std::move(c)).first->second);
  counters.callers.store(callers.size(), std::memory_order_relaxed);
  cmd.result.set_value(std::move(r));
}

void PromptEngine::Impl::handle(PlayCommand& cmd) {
  Caller* c = find(cmd.caller);
  if (c == nullptr) return;
  if (!cmd.prompt || cmd.prompt->frames() == 0) {  // nothing to send: finished as soon as started
    c->prompt.reset();
    push_event({c->id, EventKind::prompt_finished});
    return;
  }
  c->prompt = std::move(cmd.prompt);
  c->next_frame = 0;
}

void PromptEngine::Impl::handle(StopCommand& cmd) {
  if (Caller* c = find(cmd.caller)) c->prompt.reset();
}

void PromptEngine::Impl::handle(CloseCommand& cmd) {
  const auto it = callers.find(cmd.caller);
  if (it == callers.end()) return;
  Caller& c = it->second;
  std::vector<Caller*>& slot = slots[c.slot];
  slot[c.slot_index] = slot.back();  // swap-remove, fixing the moved caller's index
  slot[c.slot_index]->slot_index = c.slot_index;
  slot.pop_back();
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.media->fd(), nullptr);
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.media->rtcp_fd(), nullptr);
  callers.erase(it);  // the session and its sockets go now: nothing more is sent
  counters.callers.store(callers.size(), std::memory_order_relaxed);
}

void PromptEngine::Impl::arm_timer(bool on) {
  if (on == timer_armed) return;
  itimerspec spec{};
  if (on) {
    // Ticks keep their place on the grid from base_ns; a tick missed while
    // idle is not owed to anyone.
    next_tick = (now_ns() - base_ns) / kTickNs + 1;
    const int64_t first = base_ns + next_tick * kTickNs;
    spec.it_value = {static_cast<time_t>(first / 1'000'000'000), static_cast<long>(first % 1'000'000'000)};
    spec.it_interval = {0, static_cast<long>(kTickNs)};
  }
  timerfd_settime(timer_fd, on ? TFD_TIMER_ABSTIME : 0, &spec, nullptr);
  timer_armed = on;
}

void PromptEngine::Impl::serve_ticks() {
  const int64_t due = (now_ns() - base_ns) / kTickNs;
  if (due - next_tick >= kMaxCatchUpTicks) {
    counters.ticks_skipped.fetch_add(static_cast<uint64_t>(due - next_tick - kMaxCatchUpTicks + 1),
                                     std::memory_order_relaxed);
    next_tick = due - kMaxCatchUpTicks + 1;
  }
  for (; next_tick <= due; ++next_tick) {
    // The slot's list changes only in handle(Open/Close), on this thread, never while it is served.
    for (Caller* c : slots[static_cast<size_t>(next_tick % kSlots)]) serve(*c, next_tick);
  }
}

void PromptEngine::Impl::serve(Caller& c, int64_t tick) {
  if (!c.prompt) return;
  const auto timestamp =
      static_cast<uint32_t>(c.timestamp_origin + static_cast<uint64_t>(tick - c.open_tick) * kSamplesPerTick);
  const bool first = c.next_frame == 0;  // the marker: a talkspurt starts (RFC 3551 4.1)
  if (!c.media->send(c.prompt->frame(c.codec, c.next_frame), timestamp, first)) {
    counters.send_errors.fetch_add(1, std::memory_order_relaxed);
  }
  pacing.record(now_ns() - (base_ns + tick * kTickNs));
  counters.frames_sent.fetch_add(1, std::memory_order_relaxed);
  if (++c.next_frame == c.prompt->frames()) {
    c.prompt.reset();
    counters.prompts_finished.fetch_add(1, std::memory_order_relaxed);
    push_event({c.id, EventKind::prompt_finished});
  }
}

void PromptEngine::Impl::receive(Caller& c) {
  std::array<uint8_t, kMaxDatagram> buf;
  for (int i = 0; i < kMaxReadsPerWake; ++i) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = recvfrom(c.media->fd(), buf.data(), buf.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;  // EAGAIN: read them all; a socket error: the next one will tell again
    if (!c.media->from_caller(from)) {
      counters.foreign_source.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    RtpView rtp;
    if (!parse_rtp({buf.data(), static_cast<size_t>(n)}, rtp)) {
      counters.not_rtp.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (rtp.payload_type != c.telephone_event_pt) {
      counters.other_payload.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const DtmfResult r = c.dtmf.on_packet(rtp.timestamp, rtp.payload);
    counters.dtmf[static_cast<size_t>(r.outcome)].fetch_add(1, std::memory_order_relaxed);
    if (r.outcome != DtmfOutcome::digit) continue;
    const bool barge_in = c.prompt != nullptr;
    if (barge_in) {
      c.prompt.reset();
      counters.barge_ins.fetch_add(1, std::memory_order_relaxed);
    }
    push_event({c.id, EventKind::digit, r.digit, barge_in});
  }
}

void PromptEngine::Impl::drain_rtcp(Caller& c) {
  std::array<uint8_t, kMaxDatagram> buf;
  for (int i = 0; i < kMaxReadsPerWake && recv(c.media->rtcp_fd(), buf.data(), buf.size(), MSG_DONTWAIT) >= 0; ++i) {
    counters.rtcp_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

PromptEngine::PromptEngine(const EngineOptions& options) : impl_(std::make_unique<Impl>(options)) {}
PromptEngine::~PromptEngine() = default;

OpenResult PromptEngine::open(const CallerMedia& media) {
  std::promise<OpenResult> promise;
  std::future<OpenResult> result = promise.get_future();
  impl_->post(OpenCommand{media, std::move(promise)});
  return result.get();
}

void PromptEngine::play(CallerId caller, std::shared_ptr<const Prompt> prompt) {
  impl_->post(PlayCommand{caller, std::move(prompt)});
}
void PromptEngine::stop(CallerId caller) { impl_->post(StopCommand{caller}); }
void PromptEngine::close(CallerId caller) { impl_->post(CloseCommand{caller}); }

std::optional<Event> PromptEngine::next_event() {
  std::lock_guard lock(impl_->event_mutex);
  if (impl_->events.empty()) return std::nullopt;
  const Event e = impl_->events.front();
  impl_->events.pop_front();
  if (impl_->events.empty()) {
    uint64_t count = 0;
    (void)!read(impl_->event_fd, &count, sizeof count);
  }
  return e;
}

int PromptEngine::event_fd() const { return impl_->event_fd; }

EngineStats PromptEngine::stats() const {
  const Impl::Counters& c = impl_->counters;
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  const auto dtmf = [&](DtmfOutcome o) { return get(c.dtmf[static_cast<size_t>(o)]); };
  EngineStats s;
  s.callers = get(c.callers);
  s.frames_sent = get(c.frames_sent);
  s.send_errors = get(c.send_errors);
  s.prompts_finished = get(c.prompts_finished);
  s.barge_ins = get(c.barge_ins);
  s.digits = dtmf(DtmfOutcome::digit);
  s.dtmf_repeats = dtmf(DtmfOutcome::repeat);
  s.dtmf_stale = dtmf(DtmfOutcome::stale);
  s.dtmf_bad_length = dtmf(DtmfOutcome::bad_length);
  s.dtmf_unknown_event = dtmf(DtmfOutcome::unknown_event);
  s.foreign_source = get(c.foreign_source);
  s.not_rtp = get(c.not_rtp);
  s.other_payload = get(c.other_payload);
  s.rtcp_dropped = get(c.rtcp_dropped);
  s.ticks_skipped = get(c.ticks_skipped);
  s.events_dropped = get(c.events_dropped);
  s.pacing_p50_us = impl_->pacing.quantile_us(0.50);
  s.pacing_p99_us = impl_->pacing.quantile_us(0.99);
  s.pacing_max_us = impl_->pacing.quantile_us(1.0);
  s.realtime = impl_->realtime.load();
  clockid_t cpu_clock{};
  timespec cpu{};
  if (pthread_getcpuclockid(impl_->thread_handle, &cpu_clock) == 0 && clock_gettime(cpu_clock, &cpu) == 0) {
    s.thread_cpu_ns = static_cast<uint64_t>(cpu.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(cpu.tv_nsec);
  }
  return s;
}

}  // namespace tandem::attendant
