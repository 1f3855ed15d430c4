#include "control/sip/own_fds.h"

#include <charconv>
#include <filesystem>
#include <string>

namespace tandem::control {

std::vector<int> own_fds() {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec == std::errc()) fds.push_back(fd);
  }
  return fds;
}

}  // namespace tandem::control
