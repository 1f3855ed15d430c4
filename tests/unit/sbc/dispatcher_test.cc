// The SBC's choice of call server, its flags' server lists and the rate limit.
#include "control/sbc/dispatcher.h"
#include "control/sbc/rate_limit.h"

#include <gtest/gtest.h>

#include <map>

namespace tandem::control::sbc {
namespace {

ServerSpec server(const std::string& name, Dc dc = Dc::local, uint32_t capacity = 0) {
  ServerSpec s;
  s.name = name;
  s.host = "198.18.3.1";
  s.dc = dc;
  s.capacity = capacity;
  return s;
}

// Every server answers a probe with `calls`/`capacity`, as if it had just left.
void probe_all(Dispatcher& d, uint32_t calls, uint32_t capacity) {
  for (size_t i = 0; i < d.servers().size(); ++i) {
    uint64_t mark = 0;
    d.probe_sent(i, mark);
    d.probe_answered(i, calls, capacity, false, 1.0, mark);
  }
}

TEST(ParseServer, NameAddressAndOptions) {
  ServerSpec s;
  std::string e;
  ASSERT_TRUE(parse_server("cs1=198.18.3.1", s, e)) << e;
  EXPECT_EQ(s.name, "cs1");
  EXPECT_EQ(s.host, "198.18.3.1");
  EXPECT_EQ(s.port, 5060);
  EXPECT_EQ(s.dc, Dc::local);
  EXPECT_EQ(s.capacity, 0u);
  ASSERT_TRUE(parse_server("cs9=198.18.4.1:5070,dc=remote,capacity=300", s, e)) << e;
  EXPECT_EQ(s.port, 5070);
  EXPECT_EQ(s.dc, Dc::remote);
  EXPECT_EQ(s.capacity, 300u);
  EXPECT_FALSE(s.tcp);
  EXPECT_EQ(s.url(), "sip:198.18.4.1:5070");
  ASSERT_TRUE(parse_server("cs5=198.18.4.5,transport=tcp", s, e)) << e;
  EXPECT_TRUE(s.tcp);
  EXPECT_EQ(s.url(), "sip:198.18.4.5:5060;transport=tcp");
  for (const char* bad : {"198.18.3.1", "=198.18.3.1", "cs1=host.example", "cs1=198.18.3.1:0", "cs1=198.18.3.1:70000",
                          "cs1=198.18.3.1,dc=elsewhere", "cs1=198.18.3.1,capacity=0", "cs1=198.18.3.1,weight=2", "cs1=198.18.3.1,transport=tls",
                          "cs1=0.0.0.0"}) {
    EXPECT_FALSE(parse_server(bad, s, e)) << bad;
    EXPECT_FALSE(e.empty()) << bad;
  }
}

TEST(Dispatcher, EqualIdleServersTakeCallsInTurn) {
  Dispatcher d({server("a"), server("b"), server("c"), server("d")}, 2);
  std::vector<std::string> order;
  for (int call = 0; call < 8; ++call) {
    probe_all(d, 0, 500);  // every call ends before the next: all idle again
    auto i = d.choose({});
    ASSERT_TRUE(i);
    d.sent(*i);
    d.answered(*i);
    order.push_back(d.servers()[*i].spec.name);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d", "a", "b", "c", "d"}));
}

TEST(Dispatcher, TheLeastLoadedGetsTheNextCall) {
  Dispatcher d({server("a"), server("b"), server("c")}, 2);
  uint64_t mark = 0;
  for (auto [i, calls] : {std::pair<size_t, uint32_t>{0, 30}, {1, 10}, {2, 20}}) {
    d.probe_sent(i, mark);
    d.probe_answered(i, calls, 500, false, 1.0, mark);
  }
  EXPECT_EQ(d.servers()[*d.choose({})].spec.name, "b");
}

TEST(Dispatcher, LoadIsAShareOfCapacity) {
  Dispatcher d({server("small", Dc::local, 100), server("big", Dc::local, 1000)}, 2);
  probe_all(d, 50, 0);  // 50 % of small, 5 % of big
  EXPECT_EQ(d.servers()[*d.choose({})].spec.name, "big");
}

TEST(Dispatcher, ABurstBetweenTwoProbesSpreadsOverEveryServer) {
  Dispatcher d({server("a"), server("b"), server("c"), server("d")}, 2);
  probe_all(d, 0, 500);
  std::map<std::string, int> got;
  for (int call = 0; call < 40; ++call) {  // none answered yet: all in flight
    auto i = d.choose({});
    ASSERT_TRUE(i);
    d.sent(*i);
    ++got[d.servers()[*i].spec.name];
  }
  for (const auto& [name, n] : got) EXPECT_EQ(n, 10) << name;
}

TEST(Dispatcher, TheProbeCountsWhatWasSentBeforeItLeft) {
  Dispatcher d({server("a")}, 2);
  d.sent(0);
  d.sent(0);
  uint64_t mark = 0;
  d.probe_sent(0, mark);
  d.sent(0);  // after the probe left: not in its count
  d.probe_answered(0, 2, 500, false, 1.0, mark);
  EXPECT_EQ(d.servers()[0].load(), 3u);
}

TEST(Dispatcher, RemoteOnlyWhenNoLocalServerCanTakeTheCall) {
  Dispatcher d({server("l1", Dc::local, 2), server("r1", Dc::remote), server("l2", Dc::local, 2)}, 2);
  probe_all(d, 0, 0);
  for (int call = 0; call < 4; ++call) {
    auto i = d.choose({});
    ASSERT_TRUE(i);
    EXPECT_EQ(d.servers()[*i].spec.dc, Dc::local) << call;
    d.sent(*i);
  }
  auto i = d.choose({});  // both local servers at capacity
  ASSERT_TRUE(i);
  EXPECT_EQ(d.servers()[*i].spec.name, "r1");
  probe_all(d, 0, 0);
  ASSERT_TRUE(d.set_draining("l1", true));
  ASSERT_TRUE(d.set_draining("l2", true));
  EXPECT_EQ(d.servers()[*d.choose({})].spec.name, "r1");
  EXPECT_FALSE(d.set_draining("nobody", true));
}

TEST(Dispatcher, DownSuspectAndDrainingServersAreSkipped) {
  Dispatcher d({server("a"), server("b"), server("c")}, 2);
  probe_all(d, 0, 500);
  d.probe_missed(0);
  EXPECT_EQ(d.servers()[0].state(2), State::up) << "one miss of two";
  d.probe_missed(0);
  EXPECT_EQ(d.servers()[0].state(2), State::down);
  d.sent(1);
  d.failed(1);
  EXPECT_EQ(d.servers()[1].state(2), State::suspect);
  d.set_draining("c", true);
  EXPECT_EQ(d.servers()[2].state(2), State::draining);
  EXPECT_FALSE(d.choose({}));
  EXPECT_FALSE(d.any_available());
  // One good answer brings each back.
  uint64_t mark = 0;
  d.probe_sent(0, mark);
  d.probe_answered(0, 0, 500, false, 1.0, mark);
  d.probe_sent(1, mark);
  d.probe_answered(1, 0, 500, false, 1.0, mark);
  EXPECT_EQ(d.servers()[0].state(2), State::up);
  EXPECT_EQ(d.servers()[1].state(2), State::up);
  // A server that says it drains is draining until it says otherwise.
  d.probe_sent(0, mark);
  d.probe_answered(0, 0, 500, true, 1.0, mark);
  EXPECT_EQ(d.servers()[0].state(2), State::draining);
}

TEST(Dispatcher, AFailedServerIsNotTriedAgainForTheSameCall) {
  Dispatcher d({server("a"), server("b")}, 2);
  probe_all(d, 0, 500);
  auto first = d.choose({});
  ASSERT_TRUE(first);
  d.sent(*first);
  auto second = d.choose({*first});
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  EXPECT_FALSE(d.choose({*first, *second}));
}

TEST(Dispatcher, RttIsAnAverage) {
  Dispatcher d({server("a")}, 2);
  uint64_t mark = 0;
  d.probe_answered(0, 0, 500, false, 10.0, mark);
  EXPECT_DOUBLE_EQ(d.servers()[0].rtt_ms, 10.0);
  d.probe_answered(0, 0, 500, false, 20.0, mark);
  EXPECT_DOUBLE_EQ(d.servers()[0].rtt_ms, 12.0);
}

TEST(RateLimit, ASourceOverItsRateIsRefusedOthersAreNot) {
  RateLimit r(10, 10);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += r.allow(1, 1000);  // 100 at one instant
  EXPECT_EQ(allowed, 10);
  EXPECT_TRUE(r.allow(2, 1000)) << "another source has its own bucket";
  EXPECT_FALSE(r.allow(1, 1050));
  EXPECT_TRUE(r.allow(1, 1100)) << "a token every 100 ms";
  EXPECT_EQ(r.sources(), 2u);
  r.forget_idle(1000 + 61'000);
  EXPECT_EQ(r.sources(), 0u);
  RateLimit unlimited(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.allow(1, 0));
}

}  // namespace
}  // namespace tandem::control::sbc
