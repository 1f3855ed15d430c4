// Bar charts as inline SVG, drawn by the server: the month page's calls and
// minutes per day. No script, no fonts or images fetched: the page works
// offline and under a Content-Security-Policy that allows nothing else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::portal {

struct Bar {
  std::string label;   // under the bar ("5" for the 5th)
  double value = 0;
  std::string text;    // the value as the page shows it (its tooltip)
};

// The smallest of 1, 2, 5 x 10^n that is >= value (1 for 0): the top of the axis.
double nice_ceiling(double value);
// One chart: `title` above, the bars scaled to nice_ceiling(max), the top
// value on the axis. Every text is escaped.
std::string bar_chart(std::string_view title, const std::vector<Bar>& bars);

}  // namespace tandem::portal
