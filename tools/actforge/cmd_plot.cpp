// actforge plot: activation curves (and their derivatives) as a self-contained SVG file.
#include "cli.hpp"

#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/simplify.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge plot NAME|EXPR [NAME|EXPR...] --out FILE.svg [--range A:B] [--derivative]

Draws activations of one input as an SVG (axes with ticks, grid, legend, title; no plotting
library): one solid curve per activation, one colour each.

  --out FILE     where to write the SVG (required; '-' for stdout)
  --range A:B    the x range (default -6:6)
  --derivative   also draw each derivative f'(x), dashed, in its curve's colour

The y range is chosen from the finite values drawn (5 % margin); curves break at non-finite
values and are clipped to the plot area.
)";

constexpr int kWidth = 820, kHeight = 520;
constexpr double kLeft = 70, kRight = 170, kTop = 50, kBottom = 60; // margins; legend at right
constexpr int kPoints = 961;
constexpr const char *kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

struct Curve {
  std::string label;
  std::string colour;
  bool dashed = false;
  std::vector<double> y;
};

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s)
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default:
      if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  return out;
}

std::pair<double, double> read_range(const std::string &text) {
  const auto colon = text.find(':', 1); // "-6:6": a leading '-' belongs to the number
  auto number = [&](const std::string &s, double &v) {
    char *end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return !s.empty() && *end == '\0' && std::isfinite(v);
  };
  double a = 0, b = 0;
  if (colon == std::string::npos || !number(text.substr(0, colon), a) ||
      !number(text.substr(colon + 1), b) || !(a < b))
    throw UsageError{"--range must be A:B with finite numbers A < B, got '" + text + "'"};
  return {a, b};
}

// A tick step of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`.
double tick_step(double span, int count) {
  const double raw = span / count, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string fmt(double v) {
  if (std::fabs(v) < 1e-12) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string svg(const std::vector<Curve> &curves, double x0, double x1, bool derivative,
                const std::string &title) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto &c : curves)
    for (double v : c.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo <= hi)) lo = -1, hi = 1;
  if (hi - lo < 1e-12) lo -= 1, hi += 1;
  const double pad = 0.05 * (hi - lo);
  const double y0 = lo - pad, y1 = hi + pad;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (y1 - y) / (y1 - y0) * ph; };
  std::ostringstream o;
  o.precision(6);
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
    << "\" viewBox=\"0 0 " << kWidth << " " << kHeight
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<title>" << escape(title) << "</title>\n"
    << "<defs><clipPath id=\"plot\"><rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw
    << "\" height=\"" << ph << "\"/></clipPath></defs>\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << kLeft + pw / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">"
    << escape(title) << "</text>\n";
  // Grid, ticks and numbers.
  o << "<g class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
  const double sx = tick_step(x1 - x0, 10), sy = tick_step(y1 - y0, 8);
  std::ostringstream labels;
  labels.precision(6);
  for (double t = std::ceil(x0 / sx) * sx; t <= x1 + 1e-9 * sx; t += sx) {
    o << "<line x1=\"" << px(t) << "\" y1=\"" << kTop << "\" x2=\"" << px(t) << "\" y2=\""
      << kTop + ph << "\"/>\n";
    labels << "<text x=\"" << px(t) << "\" y=\"" << kTop + ph + 18 << "\" text-anchor=\"middle\">"
           << fmt(t) << "</text>\n";
  }
  for (double t = std::ceil(y0 / sy) * sy; t <= y1 + 1e-9 * sy; t += sy) {
    o << "<line x1=\"" << kLeft << "\" y1=\"" << py(t) << "\" x2=\"" << kLeft + pw << "\" y2=\""
      << py(t) << "\"/>\n";
    labels << "<text x=\"" << kLeft - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">"
           << fmt(t) << "</text>\n";
  }
  o << "</g>\n<g class=\"ticks\" fill=\"#333\">\n" << labels.str() << "</g>\n";
  // Axes: the frame, and the lines x = 0, y = 0 where they are inside.
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  if (x0 < 0 && x1 > 0)
    o << "<line x1=\"" << px(0) << "\" y1=\"" << kTop << "\" x2=\"" << px(0) << "\" y2=\""
      << kTop + ph << "\" stroke=\"#888\"/>\n";
  if (y0 < 0 && y1 > 0)
    o << "<line x1=\"" << kLeft << "\" y1=\"" << py(0) << "\" x2=\"" << kLeft + pw << "\" y2=\""
      << py(0) << "\" stroke=\"#888\"/>\n";
  o << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kHeight - 15
    << "\" text-anchor=\"middle\">x</text>\n"
    << "<text transform=\"translate(18," << kTop + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << (derivative ? "f(x), f'(x) dashed" : "f(x)")
    << "</text>\n";
  // Curves: one path each, a new sub-path after every non-finite value.
  o << "<g clip-path=\"url(#plot)\" fill=\"none\" stroke-width=\"2\">\n";
  for (const auto &c : curves) {
    std::ostringstream d;
    d.precision(7);
    bool pen = false;
    for (std::size_t i = 0; i < c.y.size(); ++i) {
      if (!std::isfinite(c.y[i])) {
        pen = false;
        continue;
      }
      const double x = x0 + (x1 - x0) * static_cast<double>(i) / (kPoints - 1);
      const double y = std::clamp(py(c.y[i]), kTop - ph, kTop + 2 * ph); // clipped anyway
      d << (pen ? " L" : (d.tellp() > 0 ? " M" : "M")) << px(x) << "," << y;
      pen = true;
    }
    o << "<path class=\"curve\" data-name=\"" << escape(c.label) << "\" stroke=\"" << c.colour
      << "\"" << (c.dashed ? " stroke-dasharray=\"6,4\"" : "") << " d=\"" << d.str() << "\"/>\n";
  }
  o << "</g>\n<g class=\"legend\">\n";
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const double ly = kTop + 10 + 20 * static_cast<double>(i), lx = kLeft + pw + 15;
    o << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 28 << "\" y2=\"" << ly
      << "\" stroke=\"" << curves[i].colour << "\" stroke-width=\"2\""
      << (curves[i].dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n"
      << "<text x=\"" << lx + 34 << "\" y=\"" << ly + 4 << "\">" << escape(curves[i].label)
      << "</text>\n";
  }
  o << "</g>\n</svg>\n";
  return o.str();
}
} // namespace

int cmd_plot(const std::vector<std::string> &argv) {
  const Args args(argv, {"--derivative", "--help"}, {"--out", "--range"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (args.positional().empty()) throw UsageError{"name an activation or give an expression"};
  const auto out = args.option("--out");
  if (!out) throw UsageError{"--out FILE.svg is required ('-' writes to stdout)"};
  const auto [x0, x1] = read_range(args.option("--range").value_or("-6:6"));
  const bool derivative = args.flag("--derivative");
  std::vector<Curve> curves;
  std::string title;
  for (const auto &text : args.positional()) {
    const check::Subject s = resolve_subject(text);
    if (!s.expr.defined() || ir::count_inputs(s.expr) > 1)
      throw UsageError{
          s.name + (s.expr.defined() ? " is gated (two inputs, x and g)" : " is not elementwise") +
          ": plot draws activations of one input x"};
    const std::string colour = kColours[curves.size() / (derivative ? 2 : 1) % std::size(kColours)];
    std::vector<ir::Expr> exprs{s.expr};
    if (derivative) exprs.push_back(ir::simplify(ir::differentiate(s.expr, ir::input(0))));
    for (std::size_t k = 0; k < exprs.size(); ++k) {
      const ir::Program p(exprs[k]);
      std::vector<long double> params;
      for (const auto &info : p.params())
        params.push_back(s.params.at(info.name));
      Curve c{k ? s.name + "'" : s.name, colour, k > 0, {}};
      for (int i = 0; i < kPoints; ++i) {
        const long double in[] = {x0 + (x1 - x0) * static_cast<long double>(i) / (kPoints - 1)};
        c.y.push_back(static_cast<double>(p.eval<long double>(in, params)));
      }
      curves.push_back(std::move(c));
    }
    title += (title.empty() ? "" : ", ") + s.name;
  }
  const std::string doc = svg(curves, x0, x1, derivative, title);
  if (*out == "-") {
    std::fputs(doc.c_str(), stdout);
    return kOk;
  }
  std::ofstream f(*out, std::ios::binary);
  f << doc;
  f.close();
  if (!f) throw Error("cannot write " + *out);
  std::fprintf(stderr, "wrote %s (%zu curves)\n", out->c_str(), curves.size());
  return kOk;
}

} // namespace actforge::cli
