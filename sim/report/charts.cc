// Chart primitives of the HTML reports: the page frame with its style and render check, SVG bar
// and x-y charts with nice ticks and legends, all written by hand (no libraries) so pages open
// offline in any browser.
#include "sim/report/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace aimc::sim {
namespace html {
namespace {

constexpr double kCharWidth = 6.6;  // px per character of the 12 px label font (estimate)

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Tick positions covering [lo, hi] with a 1/2/5 x 10^k step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target, bool integer) {
  if (!(hi > lo)) hi = lo + 1;
  double step = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(step)));
  const double r = step / mag;
  step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  if (integer) step = std::max(1.0, std::round(step));
  // From the last tick at or below lo to the first at or above hi.
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (int k = 0; k < 1000; ++k) {
    const double t = first + k * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string tick_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string truncate(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

std::string svg_open(int width, int height, const std::string& title) {
  return "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
         std::to_string(width) + " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" +
         escape(title) + "\">\n<text class=\"title\" x=\"8\" y=\"18\">" + escape(title) +
         "</text>\n";
}

std::string legend_item(double x, double y, const std::string& colour, const std::string& name,
                        bool line, bool dashed) {
  std::string s;
  if (line) {
    s += "<line x1=\"" + px(x) + "\" y1=\"" + px(y - 4) + "\" x2=\"" + px(x + 16) + "\" y2=\"" +
         px(y - 4) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
         (dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
  } else {
    s += "<rect x=\"" + px(x) + "\" y=\"" + px(y - 10) + "\" width=\"12\" height=\"12\" fill=\"" +
         colour + "\"/>";
  }
  s += "<text class=\"legend\" x=\"" + px(x + 20) + "\" y=\"" + px(y) + "\">" + escape(name) +
       "</text>\n";
  return s;
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return buf;
}

std::string colour(int i) {
  static const char* palette[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44",
                                  "#66ccee", "#aa3377", "#888888"};
  return palette[((i % 7) + 7) % 7];
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         escape(title) +
         "</title>\n<style>\n"
         "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
         "margin:24px auto;max-width:1360px;padding:0 16px;color:#222;background:#fff}\n"
         "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
         "border-bottom:1px solid #ddd;padding-bottom:4px}\n"
         ".sub{color:#555;font-size:13px;margin-bottom:12px}\n"
         ".cards{display:flex;flex-wrap:wrap;gap:10px}\n"
         ".card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px}\n"
         ".card .v{font-size:19px;font-weight:600}.card .k{font-size:12px;color:#555}\n"
         ".grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}\n"
         ".panel{border:1px solid #e4e4e4;border-radius:6px;padding:6px}\n"
         "svg.chart{display:block;font-size:12px}\n"
         "svg .title{font-size:14px;font-weight:600;fill:#222}\n"
         "svg .axis{stroke:#444;stroke-width:1}svg .gridline{stroke:#e6e6e6;stroke-width:1}\n"
         "svg text{fill:#333}svg .legend{font-size:12px}svg .small{font-size:11px;fill:#555}\n"
         "table{border-collapse:collapse;font-size:12.5px}\n"
         "td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;white-space:nowrap}\n"
         "th{background:#f4f4f4}td.l,th.l{text-align:left}tr.bad td{background:#fdecec}\n"
         "tr.front td{background:#eef6ee}\n"
         ".note{color:#555;font-size:13px}\n"
         "#render-check{color:#888;font-size:11px;margin-top:24px}\n"
         "</style>\n</head>\n<body>\n" +
         body +
         "<div id=\"render-check\">charts not checked</div>\n"
         "<script>\n"
         "(function(){\n"
         "  function check(){\n"
         "    var svgs=document.querySelectorAll('svg.chart'),ok=0;\n"
         "    for(var i=0;i<svgs.length;i++){var b=svgs[i].getBoundingClientRect();"
         "if(b.width>0&&b.height>0)ok++;}\n"
         "    document.getElementById('render-check').textContent=(ok===svgs.length&&ok>0?"
         "'ok '+ok+' charts':'FAIL '+ok+' of '+svgs.length+' charts rendered');\n"
         "  }\n"
         "  check();\n"
         "  window.addEventListener('load',check);\n"
         "})();\n"
         "</script>\n</body>\n</html>\n";
}

std::string svg_bar_chart(const BarChart& c) {
  size_t longest = 4;
  for (const auto& l : c.labels) longest = std::max(longest, std::min<size_t>(l.size(), 34));
  const double left = 12 + kCharWidth * static_cast<double>(longest);
  const double plot_w = 300, value_room = 120;
  const double bar_h = 11, gap = 7;
  const int ns = static_cast<int>(c.series.size());
  const double row_h = ns * bar_h + gap;
  const double top = 32, plot_h = row_h * static_cast<double>(c.labels.size());
  const int width = static_cast<int>(left + plot_w + value_room);
  const int height = static_cast<int>(top + plot_h + 62);
  double vmax = 0;
  for (const auto& row : c.values)
    for (double v : row) vmax = std::max(vmax, v);
  const std::vector<double> ticks = nice_ticks(0, vmax > 0 ? vmax : 1, 4, false);
  const double xmax = ticks.back();
  auto xs = [&](double v) { return left + plot_w * v / xmax; };

  std::string s = svg_open(width, height, c.title);
  for (double t : ticks) {
    s += "<line class=\"gridline\" x1=\"" + px(xs(t)) + "\" y1=\"" + px(top) + "\" x2=\"" +
         px(xs(t)) + "\" y2=\"" + px(top + plot_h) + "\"/>";
    s += "<text class=\"small\" text-anchor=\"middle\" x=\"" + px(xs(t)) + "\" y=\"" +
         px(top + plot_h + 14) + "\">" + tick_text(t) + "</text>\n";
  }
  for (size_t r = 0; r < c.labels.size(); ++r) {
    const double y0 = top + row_h * static_cast<double>(r) + gap / 2;
    s += "<text text-anchor=\"end\" x=\"" + px(left - 6) + "\" y=\"" + px(y0 + ns * bar_h / 2 + 4) +
         "\">" + escape(truncate(c.labels[r], 34)) + "<title>" + escape(c.labels[r]) +
         "</title></text>\n";
    for (int k = 0; k < ns; ++k) {
      const double v = r < c.values.size() && k < static_cast<int>(c.values[r].size())
                           ? c.values[r][static_cast<size_t>(k)]
                           : 0;
      const double y = y0 + k * bar_h;
      s += "<rect x=\"" + px(left) + "\" y=\"" + px(y) + "\" width=\"" +
           px(std::max(0.0, xs(v) - left)) + "\" height=\"" + px(bar_h - 1) + "\" fill=\"" +
           colour(k) + "\"><title>" + escape(c.labels[r] + ", " + c.series[k] + ": " + num(v)) +
           "</title></rect>";
      s += "<text class=\"small\" x=\"" + px(xs(v) + 4) + "\" y=\"" + px(y + bar_h - 2) + "\">" +
           num(v) + "</text>\n";
    }
  }
  s += "<line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" + px(top) + "\" x2=\"" + px(left) +
       "\" y2=\"" + px(top + plot_h) + "\"/>";
  s += "<line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" + px(top + plot_h) + "\" x2=\"" +
       px(left + plot_w) + "\" y2=\"" + px(top + plot_h) + "\"/>\n";
  s += "<text text-anchor=\"middle\" x=\"" + px(left + plot_w / 2) + "\" y=\"" +
       px(top + plot_h + 32) + "\">" + escape(c.value_label) + "</text>\n";
  double lx = left;
  for (int k = 0; k < ns; ++k) {
    s += legend_item(lx, top + plot_h + 54, colour(k), c.series[static_cast<size_t>(k)], false,
                     false);
    lx += 34 + kCharWidth * static_cast<double>(c.series[static_cast<size_t>(k)].size());
  }
  s += "</svg>\n";
  return s;
}

namespace {

// The plot area of an x-y chart (px) and the data ranges it shows, padded around the data.
struct XyFrame {
  double left = 70, top = 34, plot_w = 0, plot_h = 0;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  double X(double v) const { return left + plot_w * (v - x0) / (x1 - x0); }
  double Y(double v) const { return top + plot_h * (1 - (v - y0) / (y1 - y0)); }
};

XyFrame xy_frame(const XyChart& c) {
  XyFrame f;
  const double right = c.refs.empty() ? 24 : 130, bottom = 50;
  f.plot_w = c.width - f.left - right;
  f.plot_h = c.height - f.top - bottom;
  double &x0 = f.x0, &x1 = f.x1, &y0 = f.y0, &y1 = f.y1;
  for (const XySeries& s : c.series) {
    for (double v : s.x) x0 = std::min(x0, v), x1 = std::max(x1, v);
    for (double v : s.y) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  for (const RefLine& r : c.refs) y0 = std::min(y0, r.y), y1 = std::max(y1, r.y);
  if (x0 > x1) x0 = 0, x1 = 1;
  if (y0 > y1) y0 = 0, y1 = 1;
  if (c.y_from_zero) y0 = std::min(0.0, y0);
  if (x1 - x0 < 1e-12 * std::max(1.0, std::fabs(x1))) {
    const double d = std::max(std::fabs(x0) * 0.1, c.integer_x ? 1.0 : 0.5);
    x0 -= d, x1 += d;
  }
  if (y1 - y0 < 1e-12 * std::max(1.0, std::fabs(y1))) {
    const double d = std::max(std::fabs(y0) * 0.05, 1e-6);
    y0 -= d, y1 += d;
  }
  const double ypad = (y1 - y0) * 0.08;
  y1 += ypad;
  if (!(c.y_from_zero && y0 == 0)) y0 -= ypad;
  const double xpad = c.integer_x ? 0.5 : (x1 - x0) * 0.05;
  x0 -= xpad, x1 += xpad;
  return f;
}

// Where each legend entry (series, then reference lines) goes: x and row; entries wrap onto
// rows of the chart's width.
std::vector<std::pair<double, int>> xy_legend_positions(const XyChart& c, double left) {
  std::vector<std::pair<double, int>> legend_pos;
  double lx = left;
  int row = 0;
  auto place = [&](const std::string& name) {
    const double w = 34 + kCharWidth * static_cast<double>(name.size());
    if (lx + w > c.width && lx > left) lx = left, ++row;
    legend_pos.push_back({lx, row});
    lx += w;
  };
  for (const XySeries& se : c.series) place(se.name);
  for (const RefLine& r : c.refs) place(r.name);
  return legend_pos;
}

// Grid lines with their tick labels, the axes and the axis labels.
std::string xy_axes(const XyChart& c, const XyFrame& f) {
  const std::vector<double> xt = nice_ticks(f.x0, f.x1, 6, c.integer_x);
  const std::vector<double> yt = nice_ticks(f.y0, f.y1, 5, false);
  const double left = f.left, top = f.top, plot_w = f.plot_w, plot_h = f.plot_h;
  std::string s;
  for (double t : yt) {
    if (t < f.y0 || t > f.y1) continue;
    s += "<line class=\"gridline\" x1=\"" + px(left) + "\" y1=\"" + px(f.Y(t)) + "\" x2=\"" +
         px(left + plot_w) + "\" y2=\"" + px(f.Y(t)) + "\"/>";
    s += "<text class=\"small\" text-anchor=\"end\" x=\"" + px(left - 6) + "\" y=\"" +
         px(f.Y(t) + 4) + "\">" + tick_text(t) + "</text>\n";
  }
  for (double t : xt) {
    if (t < f.x0 || t > f.x1) continue;
    s += "<line class=\"gridline\" x1=\"" + px(f.X(t)) + "\" y1=\"" + px(top) + "\" x2=\"" +
         px(f.X(t)) + "\" y2=\"" + px(top + plot_h) + "\"/>";
    s += "<text class=\"small\" text-anchor=\"middle\" x=\"" + px(f.X(t)) + "\" y=\"" +
         px(top + plot_h + 15) + "\">" + tick_text(t) + "</text>\n";
  }
  s += "<line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" + px(top) + "\" x2=\"" + px(left) +
       "\" y2=\"" + px(top + plot_h) + "\"/><line class=\"axis\" x1=\"" + px(left) + "\" y1=\"" +
       px(top + plot_h) + "\" x2=\"" + px(left + plot_w) + "\" y2=\"" + px(top + plot_h) + "\"/>\n";
  s += "<text text-anchor=\"middle\" x=\"" + px(left + plot_w / 2) + "\" y=\"" +
       px(top + plot_h + 36) + "\">" + escape(c.x_label) + "</text>\n";
  s += "<text text-anchor=\"middle\" transform=\"translate(16 " + px(top + plot_h / 2) +
       ") rotate(-90)\">" + escape(c.y_label) + "</text>\n";
  return s;
}

// Reference lines, labelled in the right margin; labels pushed apart to stay readable.
std::string xy_ref_lines(const XyChart& c, const XyFrame& f) {
  std::vector<size_t> by_y(c.refs.size());
  for (size_t i = 0; i < by_y.size(); ++i) by_y[i] = i;
  std::sort(by_y.begin(), by_y.end(),
            [&](size_t a, size_t b) { return c.refs[a].y > c.refs[b].y; });
  std::string s;
  double last_label_y = -1e300;
  for (size_t i : by_y) {
    const RefLine& r = c.refs[i];
    s += "<line x1=\"" + px(f.left) + "\" y1=\"" + px(f.Y(r.y)) + "\" x2=\"" +
         px(f.left + f.plot_w) + "\" y2=\"" + px(f.Y(r.y)) + "\" stroke=\"" + r.colour +
         "\" stroke-width=\"1.5\"" + (r.dashed ? " stroke-dasharray=\"6 4\"" : "") + "><title>" +
         escape(r.name + ": " + num(r.y)) + "</title></line>";
    const double ly = std::max(f.Y(r.y) + 4, last_label_y + 13);
    last_label_y = ly;
    s += "<text class=\"small\" x=\"" + px(f.left + f.plot_w + 6) + "\" y=\"" + px(ly) +
         "\" fill=\"" + r.colour + "\">" + escape(r.name + " " + num(r.y)) + "</text>\n";
  }
  return s;
}

// Each series: its line, its markers with tooltips, and point labels that do not overlap an
// earlier one (the tooltip still names a point left unlabelled).
std::string xy_series(const XyChart& c, const XyFrame& f) {
  std::string s;
  std::vector<std::pair<double, double>> labelled;
  auto label_free = [&labelled](double x, double y) {
    for (const auto& [lx, ly] : labelled)
      if (std::fabs(lx - x) < 26 && std::fabs(ly - y) < 12) return false;
    labelled.push_back({x, y});
    return true;
  };
  for (const XySeries& se : c.series) {
    const size_t n = std::min(se.x.size(), se.y.size());
    if (se.line && n > 1) {
      s += "<polyline fill=\"none\" stroke=\"" + se.colour + "\" stroke-width=\"2\"" +
           (se.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"";
      for (size_t i = 0; i < n; ++i) s += px(f.X(se.x[i])) + "," + px(f.Y(se.y[i])) + " ";
      s += "\"/>\n";
    }
    if (!se.markers) continue;
    for (size_t i = 0; i < n; ++i) {
      s += "<circle cx=\"" + px(f.X(se.x[i])) + "\" cy=\"" + px(f.Y(se.y[i])) + "\" r=\"4\" " +
           (se.hollow ? "fill=\"#fff\" stroke=\"" + se.colour + "\" stroke-width=\"1.5\""
                      : "fill=\"" + se.colour + "\"") +
           "><title>" +
           escape(i < se.tooltips.size() ? se.tooltips[i]
                                         : se.name + ": " + num(se.x[i]) + ", " + num(se.y[i])) +
           "</title></circle>";
      if (i < se.point_labels.size() && !se.point_labels[i].empty() &&
          label_free(f.X(se.x[i]), f.Y(se.y[i]))) {
        s += "<text class=\"small\" x=\"" + px(f.X(se.x[i]) + 6) + "\" y=\"" +
             px(f.Y(se.y[i]) - 5) + "\">" + escape(se.point_labels[i]) + "</text>";
      }
      s += "\n";
    }
  }
  return s;
}

}  // namespace

std::string svg_xy_chart(const XyChart& c) {
  const XyFrame f = xy_frame(c);
  const std::vector<std::pair<double, int>> legend_pos = xy_legend_positions(c, f.left);
  const int legend_rows = legend_pos.empty() ? 0 : legend_pos.back().second + 1;
  const int height = c.height + legend_rows * 20;

  std::string s = svg_open(c.width, height, c.title);
  s += xy_axes(c, f);
  s += xy_ref_lines(c, f);
  s += xy_series(c, f);
  size_t entry = 0;
  const double ly = f.top + f.plot_h + 58;
  for (const XySeries& se : c.series) {
    const auto [lx, row] = legend_pos[entry++];
    s += legend_item(lx, ly + 20 * row, se.colour, se.name, se.line && !se.markers, se.dashed);
  }
  for (const RefLine& r : c.refs) {
    const auto [lx, row] = legend_pos[entry++];
    s += legend_item(lx, ly + 20 * row, r.colour, r.name, true, r.dashed);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace html
}  // namespace aimc::sim
