// This process's open file descriptors (/proc/self/fd). sofia-sip does not
// hand out the descriptors it makes (its epoll set, its UDP sockets): the loop
// and the backlog gauge find theirs among these.
#pragma once

#include <vector>

namespace tandem::control {

std::vector<int> own_fds();

}  // namespace tandem::control
