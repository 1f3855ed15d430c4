#include "portal/tokens.h"

#include <sodium.h>

namespace tandem::portal {

std::string random_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

bool same_token(std::string_view expected, std::string_view given) {
  // The length is no secret: every token has the same one.
  if (expected.empty() || expected.size() != given.size()) return false;
  return sodium_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

}  // namespace tandem::portal
