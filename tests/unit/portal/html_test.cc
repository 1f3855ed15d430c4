// What the pages are made of: escaping, links, the frame, the charts, the
// cookies, the calls filter. Pure: no server, no DB.
#include <gtest/gtest.h>

#include "portal/call_filter.h"
#include "portal/html.h"
#include "portal/http_parts.h"
#include "portal/svg_chart.h"

namespace tandem::portal {
namespace {

TEST(Html, EscapesEverythingThatCouldEndText) {
  EXPECT_EQ(escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(escape("Zürich"), "Zürich");
}

TEST(Html, LinksEncodeTheirValuesAndLeaveOutEmptyOnes) {
  EXPECT_EQ(link("/calls", {{"customer", "A&B \"x\""}, {"from", ""}, {"number", "+49 30"}}),
            "/calls?customer=A%26B%20%22x%22&amp;number=%2B49%2030");
  EXPECT_EQ(link("/month", {}), "/month");
  EXPECT_EQ(url_encode("ü"), "%C3%BC");
}

TEST(Html, PageHasNoScriptAndEscapesTheViewer) {
  const std::string p = page("Calls <1>", Viewer{"eve<", "Acme \"&\"", false, "tok\"en"}, "<p>body</p>");
  EXPECT_EQ(p.find("<script"), std::string::npos);
  EXPECT_NE(p.find("<title>Calls &lt;1&gt; - Tandem</title>"), std::string::npos);
  EXPECT_NE(p.find("eve&lt; (Acme &quot;&amp;&quot;)"), std::string::npos);
  EXPECT_NE(p.find("name=\"csrf\" value=\"tok&quot;en\""), std::string::npos);   // the logout form's token
  EXPECT_NE(p.find("<p>body</p>"), std::string::npos);
  // Nobody logged in: no navigation, no logout form.
  const std::string login = page("Log in", Viewer{}, "");
  EXPECT_EQ(login.find("/logout"), std::string::npos);
  EXPECT_NE(error_page(404, "No <such> page.", Viewer{}).find("No &lt;such&gt; page."), std::string::npos);
}

TEST(SvgChart, NiceCeiling) {
  EXPECT_EQ(nice_ceiling(0), 1);
  EXPECT_EQ(nice_ceiling(1), 1);
  EXPECT_EQ(nice_ceiling(1.5), 2);
  EXPECT_EQ(nice_ceiling(3), 5);
  EXPECT_EQ(nice_ceiling(7), 10);
  EXPECT_EQ(nice_ceiling(101), 200);
  EXPECT_EQ(nice_ceiling(0.3), 0.5);
}

TEST(SvgChart, BarsScaledToTheAxisAndEscaped) {
  const std::string svg = bar_chart("Calls <per> day", {{"1", 10, "10 calls"}, {"2", 5, "5 <calls>"}, {"3", 0, "0"}});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("aria-label=\"Calls &lt;per&gt; day\""), std::string::npos);
  // The top of the axis is 10: the first bar is the whole plot (150), the second half of it.
  EXPECT_NE(svg.find("height=\"150.0\" fill=\"#36a\"><title>1: 10 calls</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("height=\"75.0\" fill=\"#36a\"><title>2: 5 &lt;calls&gt;</title>"), std::string::npos);
  EXPECT_NE(svg.find("height=\"0.0\""), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_EQ(svg.find("<script"), std::string::npos);
}

TEST(HttpParts, CookieValue) {
  EXPECT_EQ(cookie_value("a=1; tandem_session=abc; b=2", "tandem_session"), "abc");
  EXPECT_EQ(cookie_value("tandem_session=abc", "tandem_session"), "abc");
  EXPECT_EQ(cookie_value("xtandem_session=abc; b=2", "tandem_session"), "");
  EXPECT_EQ(cookie_value("", "tandem_session"), "");
  EXPECT_EQ(cookie_value(";;; =; tandem_session", "tandem_session"), "");
}

TEST(HttpParts, SetCookieAttributes) {
  EXPECT_EQ(set_cookie("s", "v", false), "s=v; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(set_cookie("s", "v", true), "s=v; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(set_cookie("s", "", false, 0), "s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(CallFilter, EveryParameter) {
  cdr::QueryFilter f;
  uint32_t page = 0;
  std::string e;
  ASSERT_TRUE(parse_call_params({"2026-11-01", "2026-11-30", "+4930100001", "outbound", "busy", "3"}, f, page, e))
      << e;
  EXPECT_EQ(cdr::format_utc_ms(*f.from_ms), "2026-11-01 00:00:00.000");
  EXPECT_EQ(cdr::format_utc_ms(*f.to_ms), "2026-12-01 00:00:00.000");   // the whole last day
  EXPECT_EQ(f.number, "+4930100001");
  EXPECT_EQ(f.direction, cdr::Direction::outbound);
  EXPECT_EQ(f.disposition, cdr::Disposition::busy);
  EXPECT_EQ(page, 3u);
  EXPECT_EQ(f.limit, kPageSize + 1);
  EXPECT_EQ(f.offset, 2u * kPageSize);
  cdr::QueryFilter none;
  ASSERT_TRUE(parse_call_params({}, none, page, e));
  EXPECT_EQ(page, 1u);
  EXPECT_FALSE(none.from_ms || none.to_ms || none.direction || none.disposition);
  EXPECT_EQ(none.offset, 0u);
}

TEST(CallFilter, RefusesWhatTheFormDoesNotOffer) {
  const std::string sqlish = "1' OR '1'='1";
  const std::string big(10 * 1024, 'x');
  const std::vector<CallParams> bad = {
      {"2026-11-31", "", "", "", "", ""}, {"2026-11-01 10:00", "", "", "", "", ""}, {sqlish, "", "", "", "", ""},
      {"", big, "", "", "", ""},          {"", "", big, "", "", ""},                 {"", "", "", sqlish, "", ""},
      {"", "", "", "", "ANSWERED", ""},   {"", "", "", "", "", "0"},                 {"", "", "", "", "", "-1"},
      {"", "", "", "", "", "100001"},     {"", "", "", "", "", "1e3"},               {"", "", "", "", "", big},
  };
  for (const auto& p : bad) {
    cdr::QueryFilter f;
    uint32_t page = 0;
    std::string e;
    EXPECT_FALSE(parse_call_params(p, f, page, e)) << p.from << p.to << p.direction << p.page.substr(0, 10);
    EXPECT_FALSE(e.empty());
  }
  // A number is matched exactly as a bound value: SQL in it is just a number that matches nothing.
  cdr::QueryFilter f;
  uint32_t page = 0;
  std::string e;
  EXPECT_TRUE(parse_call_params({"", "", sqlish, "", "", ""}, f, page, e));
}

}  // namespace
}  // namespace tandem::portal
