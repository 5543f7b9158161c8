// Chart primitives of the self-contained HTML reports (the run's report.html, the sweep's
// sweep.html, the datasheet): the page with the shared style, escaping, numbers, the palette,
// and hand-written SVG bar and x-y charts. Pages load nothing: no network, no external fonts or
// scripts; one inline script checks after load that every chart rendered with a non-empty box
// and writes "ok N charts" into #render-check (the e2e test reads it).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace aimc::sim {

namespace html {

/// Text with &, <, >, " escaped.
std::string escape(const std::string& text);

/// A number with 4 significant digits ("13.77", "1.538e+04").
std::string num(double value);

/// A whole page: <head> with the shared style, `title`, `body`, then the render check.
std::string page(const std::string& title, const std::string& body);

/// The i-th colour of the palette (colour-blind safe, 7 colours, cycled).
std::string colour(int i);

/// Horizontal grouped bar chart: one row per label, one bar per series, value labels at the
/// bar ends. `values[row][series]`.
struct BarChart {
  std::string title;
  std::string value_label;  ///< axis label with unit, e.g. "energy per token (nJ)"
  std::vector<std::string> series;
  std::vector<std::string> labels;
  std::vector<std::vector<double>> values;
};
std::string svg_bar_chart(const BarChart& chart);

/// One series of an x-y chart: markers and/or a polyline.
struct XySeries {
  std::string name;
  std::string colour;
  std::vector<double> x, y;
  std::vector<std::string> point_labels;  ///< text next to each marker (optional)
  std::vector<std::string> tooltips;      ///< <title> of each marker (optional)
  bool markers = true;
  bool line = false;
  bool dashed = false;
  bool hollow = false;  ///< open markers
};

/// A series with its name, colour and points; the other fields keep their defaults.
inline XySeries series(std::string name, std::string colour, std::vector<double> x = {},
                       std::vector<double> y = {}) {
  XySeries s;
  s.name = std::move(name);
  s.colour = std::move(colour);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

/// A labelled horizontal reference line (e.g. FP32 perplexity).
struct RefLine {
  std::string name;
  double y = 0;
  std::string colour;
  bool dashed = true;
};

/// Scatter / line chart with linear axes, nice ticks, a legend under the plot.
struct XyChart {
  std::string title;
  std::string x_label;  ///< with unit
  std::string y_label;  ///< with unit
  std::vector<XySeries> series;
  std::vector<RefLine> refs;
  bool integer_x = false;  ///< x ticks at integers only
  bool y_from_zero = false;
  int width = 640;
  int height = 300;
};
std::string svg_xy_chart(const XyChart& chart);

}  // namespace html

}  // namespace aimc::sim
