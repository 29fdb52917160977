// The runtime catalog: reflects every entry of dsl::library and instantiates its compile-time
// references (f, f', f'', ∂f/∂g, dual-number f') once, here.
#include "actforge/dsl/catalog.hpp"

#include "actforge/dsl/derivative.hpp"
#include "actforge/dsl/eval.hpp"
#include "actforge/dsl/reflect.hpp"
#include "actforge/ir/interpret.hpp"

#include <boost/hana/core/to.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/string.hpp>

#include <memory>

namespace actforge::dsl {
namespace {

// The value of the parameter named by the hana::string `key`.
template <class Key> long double param_value(const ParamValues &p, Key key) {
  const char *name = hana::to<const char *>(key);
  auto it = p.find(std::string_view(name));
  if (it == p.end()) throw Error(std::string("no value for parameter '") + name + "'");
  return it->second;
}

// eval(e, x, g) with every parameter of e bound from `p`, on scalar type T.
template <class T, class E> T eval_with(const E &e, const T &x, const T &g, const ParamValues &p) {
  auto names = hana::to_tuple(param_names(e));
  return hana::unpack(names, [&](auto... key) {
    return eval(e, x, g, binding<decltype(key), T>{T(param_value(p, key))}...);
  });
}

template <std::size_t I> constexpr const auto &item() { return library[hana::size_c<I>]; }

template <std::size_t I> long double ct_f(long double x, long double g, const ParamValues &p) {
  return eval_with<long double>(item<I>().expr, x, g, p);
}
template <std::size_t I> long double ct_dx(long double x, long double g, const ParamValues &p) {
  return eval_with<long double>(d(item<I>().expr, dsl::x), x, g, p);
}
template <std::size_t I> long double ct_dx2(long double x, long double g, const ParamValues &p) {
  return eval_with<long double>(d(d(item<I>().expr, dsl::x), dsl::x), x, g, p);
}
template <std::size_t I> long double ct_dg(long double x, long double g, const ParamValues &p) {
  return eval_with<long double>(d(item<I>().expr, dsl::g), x, g, p);
}
template <std::size_t I> long double ct_dual(long double x, long double g, const ParamValues &p) {
  // The same expression evaluated on dual numbers: the chain rule on values, not d().
  using D = dual<long double>;
  return eval_with(item<I>().expr, D(x, 1), D(g), p).d;
}

std::vector<Entry> build_catalog() {
  std::vector<Entry> out;
  constexpr std::size_t n = decltype(hana::length(library))::value;
  hana::for_each(hana::make_range(hana::size_c<0>, hana::size_c<n>), [&](auto i) {
    constexpr std::size_t I = decltype(i)::value;
    const auto &a = item<I>();
    using E = std::remove_cvref_t<decltype(a.expr)>;
    Entry e;
    e.name = std::string(a.name.view());
    e.shape = input_count<E> > 1 ? Shape::Gated : Shape::Unary;
    e.expr = reflect(a.expr);
    e.info = a.info;
    e.f = &ct_f<I>;
    e.df_dx = &ct_dx<I>;
    e.d2f_dx2 = &ct_dx2<I>;
    e.df_dx_dual = &ct_dual<I>;
    if (e.shape == Shape::Gated) e.df_dg = &ct_dg<I>;
    out.push_back(std::move(e));
  });
  Entry maxout;
  maxout.name = "maxout";
  maxout.shape = Shape::Maxout;
  maxout.info = Info{Family::PiecewiseLinear, "max over each group of k consecutive channels", ""};
  out.push_back(std::move(maxout));
  return out;
}
} // namespace

ParamValues Entry::sample_params() const {
  ParamValues p;
  if (expr.defined())
    for (const auto &info_param : ir::collect_params(expr))
      if (info_param.default_value) p[info_param.name] = *info_param.default_value;
  for (int i = 0; i < info.n_samples; ++i)
    p[info.samples[static_cast<std::size_t>(i)].name] =
        info.samples[static_cast<std::size_t>(i)].value;
  return p;
}

const std::vector<Entry> &catalog() {
  static const std::vector<Entry> entries = build_catalog();
  return entries;
}

const Entry *find_activation(std::string_view name) {
  for (const Entry &e : catalog())
    if (e.name == name) return &e;
  return nullptr;
}

ir::MacroLookup library_macros() {
  return [](std::string_view name) -> const ir::Macro * {
    static const std::map<std::string, ir::Macro, std::less<>> macros = [] {
      std::map<std::string, ir::Macro, std::less<>> m;
      for (const Entry &e : catalog())
        if (e.expr.defined()) m.emplace(e.name, ir::Macro{e.shape == Shape::Gated ? 2 : 1, e.expr});
      return m;
    }();
    auto it = macros.find(name);
    return it == macros.end() ? nullptr : &it->second;
  };
}

ir::Expr parse_with_library(std::string_view text) {
  ir::ParseOptions options;
  options.macros = library_macros();
  return ir::parse(text, options);
}

} // namespace actforge::dsl
