// The parts of HTTP that cpp-httplib leaves to us: reading a cookie from the
// Cookie header, writing Set-Cookie with the attributes a session needs.
#pragma once

#include <string>
#include <string_view>

namespace tandem::portal {

inline constexpr std::string_view kSessionCookie = "tandem_session";
// The login form's CSRF token, before there is a session (double submit).
inline constexpr std::string_view kLoginCsrfCookie = "tandem_login_csrf";

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string cookie_value(std::string_view header, std::string_view name);
// Set-Cookie for `name`: HttpOnly (no script may read it), SameSite=Strict
// (no other site's page sends it), Path=/, and Secure under TLS. `max_age_s`
// 0 deletes the cookie; negative: a cookie for the browser's session.
std::string set_cookie(std::string_view name, std::string_view value, bool secure, int64_t max_age_s = -1);

}  // namespace tandem::portal
