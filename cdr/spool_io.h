// The spool's file helpers: whole-file reads, writes that retry after
// EINTR, and error text with the errno's meaning.
#pragma once

#include <cstddef>
#include <string>

namespace tandem::cdr::spool_io {

// "what: strerror(err)".
std::string errno_text(const std::string& what, int err);

// The whole file into `out`; false and the errno in `err` when it cannot.
bool read_file(const std::string& path, std::string& out, int& err);

// All n bytes to fd; false and the errno in `err` when a write fails.
bool write_all(int fd, const char* p, size_t n, int& err);

}  // namespace tandem::cdr::spool_io
