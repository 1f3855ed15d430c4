// A real MariaDB for the tests and benchmarks of everything that talks to a
// DB (cdr/, rules/, tandemctl): a plain process on a free 127.0.0.1 port with
// a temporary data dir, installed by mariadb-install-db.
// It dies with the test (PR_SET_PDEATHSIG) and its dir is removed at the end.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <cppconn/connection.h>

#include "db/connection.h"

namespace tandem::testing {

inline std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// fork + exec with stdout/stderr to `log`; the child is killed if we die.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// Waits for `pid` up to `timeout`; its exit status, or -1 if still running.
inline int wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

inline std::string tail_of(const std::string& path, size_t bytes = 2000) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

class MariaDb {
 public:
  MariaDb() = default;
  MariaDb(const MariaDb&) = delete;
  MariaDb& operator=(const MariaDb&) = delete;
  ~MariaDb() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_for(pid_, std::chrono::seconds(10));
    }
    if (dir_.empty() || std::getenv("TANDEM_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    for (int attempt = 0; attempt < 5; ++attempt) {
      std::filesystem::remove_all(dir_, ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::fprintf(stderr, "warning: cannot remove %s: %s\n", dir_.c_str(), ec.message().c_str());
  }

  // Empty on success, else why MariaDB cannot run here (the test skips).
  std::string install() {
    server_ = find_program("mariadbd");
    install_ = find_program("mariadb-install-db");
    if (server_.empty() || install_.empty()) {
      return "mariadbd or mariadb-install-db not found (apt-get install mariadb-server)";
    }
    char tmpl[] = "/tmp/tandem-cdr-mariadb-XXXXXX";
    if (!::mkdtemp(tmpl)) return "cannot create a temporary dir";
    dir_ = tmpl;
    std::vector<std::string> argv{install_, "--no-defaults", "--datadir=" + dir_ + "/data",
                                  "--auth-root-authentication-method=normal", "--skip-test-db"};
    if (::geteuid() == 0) argv.push_back("--user=root");
    const pid_t pid = spawn(argv, dir_ + "/install.log");
    const int status = wait_for(pid, std::chrono::seconds(120));
    if (status == -1) {
      ::kill(pid, SIGKILL);
      wait_for(pid, std::chrono::seconds(5));
      return "mariadb-install-db did not finish in 120 s";
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return "mariadb-install-db failed: " + tail_of(dir_ + "/install.log");
    }
    port_ = free_port();
    return {};
  }

  // Starts the server on the same data dir and port; waits until it answers.
  bool start(std::string& error, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::vector<std::string> argv{server_, "--no-defaults", "--datadir=" + dir_ + "/data",
                                  "--socket=" + dir_ + "/sock", "--port=" + std::to_string(port_),
                                  "--bind-address=127.0.0.1", "--skip-networking=0",
                                  "--pid-file=" + dir_ + "/mariadbd.pid",
                                  "--log-error=" + dir_ + "/error.log",
                                  "--innodb-buffer-pool-size=128M", "--skip-name-resolve"};
    if (::geteuid() == 0) argv.push_back("--user=root");
    argv.insert(argv.end(), server_args_.begin(), server_args_.end());
    pid_ = spawn(argv, dir_ + "/mariadbd.out");
    const auto until = std::chrono::steady_clock::now() + timeout;
    db::Config probe = config("");
    probe.connect_timeout_s = 1;
    for (;;) {
      std::string e;
      if (db::connect(probe, false, e)) return true;
      if (wait_for(pid_, std::chrono::milliseconds(0)) != -1) {
        pid_ = -1;
        error = "mariadbd exited: " + tail_of(dir_ + "/error.log");
        return false;
      }
      if (std::chrono::steady_clock::now() >= until) {
        error = "mariadbd did not answer within the timeout: " + e;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // SIGTERM (a clean shutdown, bounded) or SIGKILL (a crash).
  void stop(bool crash) {
    if (pid_ <= 0) return;
    ::kill(pid_, crash ? SIGKILL : SIGTERM);
    if (wait_for(pid_, std::chrono::seconds(60)) == -1) {
      ::kill(pid_, SIGKILL);
      wait_for(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
  }

  db::Config config(const std::string& database) const {
    db::Config c;
    c.addresses = {address()};
    c.user = "root";
    c.database = database;
    c.connect_timeout_s = 2;
    c.io_timeout_s = 10;
    return c;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // More mariadbd options for the next start(), after ours (a later one wins):
  // the benchmark's --server-arg, to try settings.
  void add_server_args(const std::vector<std::string>& args) {
    server_args_.insert(server_args_.end(), args.begin(), args.end());
  }

 private:
  std::string server_, install_, dir_;
  std::vector<std::string> server_args_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// For a test program's main(): installs and starts `db`, or says why this
// machine cannot and gives the exit code that marks the program skipped (77).
inline bool start_or_skip(MariaDb& db, int& exit_code) {
  std::string error = db.install();
  if (error.empty() && !db.start(error)) error = "cannot start MariaDB: " + error;
  if (error.empty()) return true;
  std::printf("SKIP: %s\n", error.c_str());
  exit_code = 77;
  return false;
}

}  // namespace tandem::testing
