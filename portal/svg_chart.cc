#include "portal/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "portal/html.h"

namespace tandem::portal {

namespace {

constexpr double kPlotHeight = 150;
constexpr double kTop = 24;        // the title's line
constexpr double kLeft = 48;       // the axis' labels
constexpr double kBarStep = 18;
constexpr double kBottom = 18;     // the bars' labels

std::string number(double v) {
  // Integers without decimals, others with up to two.
  if (v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.2f}", v);
}

}  // namespace

double nice_ceiling(double value) {
  if (!(value > 0)) return 1;
  const double decade = std::pow(10.0, std::floor(std::log10(value)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * decade >= value) return m * decade;
  }
  return 10 * decade;
}

std::string bar_chart(std::string_view title, const std::vector<Bar>& bars) {
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);
  const double top = nice_ceiling(max);
  const double width = kLeft + kBarStep * static_cast<double>(std::max<size_t>(bars.size(), 1)) + 8;
  const double height = kTop + kPlotHeight + kBottom;
  const double base = kTop + kPlotHeight;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" aria-label=\"{2}\" font-family=\"sans-serif\" font-size=\"10\">"
      "<text x=\"{3:.0f}\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{2}</text>"
      "<line x1=\"{3:.0f}\" y1=\"{4:.0f}\" x2=\"{3:.0f}\" y2=\"{5:.0f}\" stroke=\"#444\"/>"
      "<line x1=\"{3:.0f}\" y1=\"{5:.0f}\" x2=\"{0:.0f}\" y2=\"{5:.0f}\" stroke=\"#444\"/>"
      "<text x=\"{6:.0f}\" y=\"{7:.0f}\" text-anchor=\"end\">{8}</text>"
      "<text x=\"{6:.0f}\" y=\"{5:.0f}\" text-anchor=\"end\">0</text>",
      width, height, escape(title), kLeft, kTop, base, kLeft - 4, kTop + 4, number(top));
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double h = kPlotHeight * std::clamp(b.value / top, 0.0, 1.0);
    const double x = kLeft + 2 + kBarStep * static_cast<double>(i);
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.1f}\" fill=\"#36a\"><title>{}: {}</title></rect>"
        "<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>",
        x, base - h, kBarStep - 4, h, escape(b.label), escape(b.text), x + (kBarStep - 4) / 2, base + 12,
        escape(b.label));
  }
  out += "</svg>";
  return out;
}

}  // namespace tandem::portal
