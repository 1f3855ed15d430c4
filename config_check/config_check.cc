#include "config_check/config_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace tandem {

namespace {

// 0, or the errno of binding a socket of `type` there.
int try_bind(int type, const std::string& address, uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int on = 1;
  if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  const int err = inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1                      ? EINVAL
                  : ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0
                                                                                : errno;
  ::close(fd);
  return err;
}

}  // namespace

void ConfigCheck::ok(const std::string& what) { std::cout << "ok       " << what << "\n"; }

void ConfigCheck::warning(const std::string& what) { std::cout << "warning  " << what << "\n"; }

void ConfigCheck::error(const std::string& what) {
  ++errors_;
  std::cout << "error    " << what << "\n";
}

void ConfigCheck::bindable(const std::string& what, const std::string& address, uint16_t port, bool udp_too) {
  const std::string where = what + " " + address + ":" + std::to_string(port);
  for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
    if (type == SOCK_DGRAM && !udp_too) continue;
    const std::string proto = type == SOCK_DGRAM ? " (UDP)" : " (TCP)";
    switch (const int err = try_bind(type, address, port)) {
      case 0: ok(where + proto); break;
      case EADDRINUSE: warning(where + proto + ": in use (is the process running already?)"); break;
      case EADDRNOTAVAIL: error(where + proto + ": not an address of this host"); break;
      default: error(where + proto + ": " + std::strerror(err));
    }
  }
}

void ConfigCheck::directory(const std::string& what, const std::string& dir, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string where = what + " " + dir;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return error(where + ": not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return error(where + ": not writable: " + std::strerror(errno));
    return ok(where);
  }
  if (!create) return error(where + ": does not exist");
  fs::path existing = fs::absolute(dir, ec);
  while (!existing.empty() && existing != existing.root_path() && !fs::exists(existing, ec))
    existing = existing.parent_path();
  if (!fs::is_directory(existing, ec)) return error(where + ": cannot be made (" + existing.string() + " is no directory)");
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    return error(where + ": cannot be made (" + existing.string() + " is not writable)");
  ok(where + " (made at the start)");
}

void ConfigCheck::parent_directory(const std::string& what, const std::string& file, bool create) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  directory(what + " " + file + ": its directory", parent.empty() ? "." : parent.string(), create);
}

void ConfigCheck::readable(const std::string& what, const std::string& file) {
  const std::string where = what + " " + file;
  if (::access(file.c_str(), R_OK) != 0) return error(where + ": cannot be read: " + std::strerror(errno));
  ok(where);
}

}  // namespace tandem
