// --check-config: what a process can check of its configuration without
// serving, one line each ("ok", "warning", "error" and what), so that an
// operator (or a package's postinst, or a unit's ExecStartPre) learns of a
// mistake before the start. Every process (dataplane, call server, SBC,
// portal) prints through this class, so that each says it the same way; each
// adds what only it knows (the DBs, the EAL's devices). Exit 0 when nothing is
// an error, else 2.
#pragma once

#include <cstdint>
#include <string>

namespace tandem {

class ConfigCheck {
 public:
  void ok(const std::string& what);
  void warning(const std::string& what);
  void error(const std::string& what);

  // TCP (and UDP) on address:port: not an address of this host is an error,
  // a port in use a warning (the process itself may be running).
  void bindable(const std::string& what, const std::string& address, uint16_t port, bool udp_too);
  // A directory that exists and is writable, or that can be made (`create`).
  void directory(const std::string& what, const std::string& dir, bool create);
  // A file's directory: where a socket or a file will be written.
  void parent_directory(const std::string& what, const std::string& file, bool create);
  // A file this process will read.
  void readable(const std::string& what, const std::string& file);

  int exit_code() const { return errors_ ? 2 : 0; }

 private:
  int errors_ = 0;
};

}  // namespace tandem
