#pragma once
// The filter language of Consul's service-resolver subsets (the go-bexpr forms Consul
// documents for `Filter`), over one instance as the health API shows it:
//   {"Node": {"Node", "Address", "Datacenter", "Meta"}, "Service": {"ID", "Service", ...}}
//
//   Service.Meta.version == v1
//   Service.Tags contains canary and not (Node.Meta.zone == "eu-1")
//   "primary" in Service.Tags or Service.Meta is empty
//
// Forms: `S == V`, `S != V`, `S [not] contains V`, `V [not] in S`, `S is [not] empty`;
// `and`, `or`, `not`, parentheses. Values are bare words, "quoted" (\" and \\ escape) or
// `raw`. Map entries are `S.key` or `S["any key"]`. Unknown selectors, an operator that
// does not fit the selector's type, and `matches` (regular expressions: not supported) are
// refused when the expression is parsed, that is when the config entry is written, never
// when traffic is routed.
//
// A filter comes from a config entry, which anyone holding a write token can send: the
// text is bounded (max_text_bytes), nesting is bounded (max_depth), and evaluation does
// no allocation-heavy or recursive work beyond that depth.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace meshgate::catalog {

class filter_expression {
 public:
  static constexpr std::size_t max_text_bytes = 4096;
  static constexpr int max_depth = 32;

  /// Parses `text`; throws invalid_input naming the position and the problem.
  static filter_expression parse(std::string_view text);

  /// Whether the instance `entry` (the shape above) is selected. Missing fields read as
  /// empty: `Service.Meta.v == x` is false and `!=` true when the key is absent.
  bool matches(const boost::json::object& entry) const;
  /// The same, with the entry's two parts held apart (nothing is copied to join them).
  bool matches(const boost::json::value& node_part, const boost::json::value& service_part) const;

  const std::string& text() const noexcept { return text_; }

  struct node;

 private:
  std::string text_;
  std::shared_ptr<const node> root_;
};

}  // namespace meshgate::catalog
