// Secrets the portal hands out (session tokens, CSRF tokens) and how they are
// compared: libsodium's CSPRNG, and a comparison whose time does not depend on
// where the strings differ, so that a guess cannot be refined byte by byte.
#pragma once

#include <string>
#include <string_view>

namespace tandem::portal {

// 32 random bytes as 64 lowercase hex digits. Call sodium_init() first (main).
std::string random_token();
// Equal and not empty, in time independent of the content.
bool same_token(std::string_view expected, std::string_view given);

}  // namespace tandem::portal
