// DataplaneClient's framing and pipelining against a peer on a Unix socket
// that answers as the dataplane does (replies in request order, echoing seq),
// written in pieces to exercise partial reads. The real dataplane is in the
// integration tests; this checks what the client does with the byte stream.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "control/dataplane_client.h"
#include "dataplane_protocol/codec.h"

namespace tandem::control {
namespace {

namespace fs = std::filesystem;

// Accepts one client, reads `requests` frames and answers each with a
// SessionInfo whose session_id is the request's seq; `chunk` bytes per write.
class FakeDataplane {
 public:
  FakeDataplane(int requests, size_t chunk, bool garbage_after = false)
      : path_(fs::temp_directory_path() / ("tandem-dpc-" + std::to_string(::getpid()) + ".sock")) {
    fs::remove(path_);
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    thread_ = std::thread([this, requests, chunk, garbage_after] { serve(requests, chunk, garbage_after); });
  }
  ~FakeDataplane() {
    thread_.join();
    ::close(listen_fd_);
    fs::remove(path_);
  }
  std::string path() const { return path_.string(); }

 private:
  void serve(int requests, size_t chunk, bool garbage_after) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    for (int answered = 0; answered < requests;) {
      uint8_t buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      in.insert(in.end(), buf, buf + n);
      while (in.size() >= sizeof(dp::proto::Header)) {
        dp::proto::Header h;
        std::memcpy(&h, in.data(), sizeof h);
        if (in.size() < h.length) break;
        dp::proto::SessionInfo info{};
        info.session_id = h.seq;
        const auto reply = dp::proto::encode(dp::proto::reply_type(static_cast<dp::proto::MsgType>(h.type)), h.seq, info);
        out.insert(out.end(), reply.begin(), reply.end());
        in.erase(in.begin(), in.begin() + h.length);
        ++answered;
      }
      for (size_t off = 0; off < out.size(); off += chunk) {
        ::send(fd, out.data() + off, std::min(chunk, out.size() - off), MSG_NOSIGNAL);
        std::this_thread::yield();
      }
      out.clear();
    }
    if (garbage_after) {
      const char junk[64] = "this is not a frame of the dataplane protocol at all.........";
      ::send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    }
    // Open until the client goes (it is destroyed before us).
    char c;
    while (::read(fd, &c, 1) > 0) {
    }
    ::close(fd);
  }

  fs::path path_;
  int listen_fd_ = -1;
  std::thread thread_;
};

TEST(DataplaneClient, QueuedRepliesGoToTheHandlerInOrderWhileACallWaits) {
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
    SCOPED_TRACE(chunk);
    FakeDataplane peer(4, chunk);
    DataplaneClient c;
    std::string error;
    ASSERT_TRUE(c.connect(peer.path(), error, 2000)) << error;
    std::vector<uint32_t> seen;
    c.on_queued_reply([&](const proto::Header& h, const uint8_t* body, size_t size) {
      ASSERT_EQ(size, sizeof(proto::SessionInfo));
      proto::SessionInfo info;
      std::memcpy(&info, body, sizeof info);
      EXPECT_EQ(info.session_id, h.seq);
      seen.push_back(h.seq);
    });
    const uint32_t a = c.enqueue(proto::MsgType::delete_session, proto::SessionRequest{1});
    const uint32_t b = c.enqueue(proto::MsgType::update_leg, proto::UpdateLegRequest{});
    const uint32_t d = c.enqueue(proto::MsgType::delete_session, proto::SessionRequest{2});
    EXPECT_TRUE(c.has_queued());
    // The synchronous request takes the queued ones with it and gets its own reply.
    auto reply = c.query(7);
    ASSERT_TRUE(reply) << reply.error;
    EXPECT_FALSE(c.has_queued());
    EXPECT_EQ(seen, (std::vector<uint32_t>{a, b, d}));
    EXPECT_EQ(reply->session_id, d + 1);
  }
}

TEST(DataplaneClient, DrainReadsWhatArrivedWithoutWaiting) {
  FakeDataplane peer(2, 3);
  DataplaneClient c;
  std::string error;
  ASSERT_TRUE(c.connect(peer.path(), error, 2000)) << error;
  int replies = 0;
  c.on_queued_reply([&](const proto::Header&, const uint8_t*, size_t) { ++replies; });
  EXPECT_TRUE(c.drain());  // nothing sent, nothing there: returns at once
  EXPECT_EQ(replies, 0);
  c.enqueue(proto::MsgType::delete_session, proto::SessionRequest{1});
  c.enqueue(proto::MsgType::delete_session, proto::SessionRequest{2});
  ASSERT_TRUE(c.flush());
  for (int i = 0; i < 2000 && replies < 2; ++i) {
    ASSERT_TRUE(c.drain());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(replies, 2);
}

TEST(DataplaneClient, AStreamThatCannotBeFramedBreaksTheConnection) {
  FakeDataplane peer(1, 4096, /*garbage_after=*/true);
  DataplaneClient c;
  std::string error;
  ASSERT_TRUE(c.connect(peer.path(), error, 2000)) << error;
  int replies = 0;
  c.on_queued_reply([&](const proto::Header&, const uint8_t*, size_t) { ++replies; });
  c.enqueue(proto::MsgType::delete_session, proto::SessionRequest{1});
  ASSERT_TRUE(c.flush());
  bool broken = false;
  for (int i = 0; i < 2000 && !broken; ++i) {
    broken = !c.drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(broken);
  EXPECT_EQ(replies, 1);
  EXPECT_FALSE(c.query(1));  // and stays broken, without waiting for the reply timeout
}

}  // namespace
}  // namespace tandem::control
