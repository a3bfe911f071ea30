// Subset filters: each form selects what Consul's would, and every malformed or
// unsupported expression is refused with the position and the reason.

#include "catalog/filter_expression.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "catalog/json_reader.h"

namespace meshgate::catalog {
namespace {

namespace json = boost::json;

const json::object& instance() {
  static const json::object entry = json::parse(R"({
    "Node": {"Node": "node-1", "Address": "10.0.0.5", "Datacenter": "dc2", "Meta": {"zone": "eu-1"}},
    "Service": {"ID": "api-v2-sidecar", "Service": "api-sidecar-proxy", "Kind": "connect-proxy",
                "Address": "10.0.0.5", "Port": 21000, "Tags": ["canary", "blue"],
                "Meta": {"version": "v2", "team name": "payments", "empty": ""},
                "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api-v2"}}
  })").as_object();
  return entry;
}

bool selects(const std::string& text) { return filter_expression::parse(text).matches(instance()); }

std::string error_of(const std::string& text) {
  try {
    filter_expression::parse(text);
  } catch (const invalid_input& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(filter_expression, compares_strings_numbers_and_map_entries) {
  EXPECT_TRUE(selects("Service.Meta.version == v2"));
  EXPECT_FALSE(selects("Service.Meta.version == v1"));
  EXPECT_TRUE(selects("Service.Meta.version != v1"));
  EXPECT_TRUE(selects(R"(Service.Meta["team name"] == "payments")"));
  EXPECT_TRUE(selects("Service.Port == 21000"));
  EXPECT_FALSE(selects("Service.Port != 21000"));
  EXPECT_TRUE(selects("Node.Meta.zone == `eu-1`"));
  EXPECT_TRUE(selects("Node.Datacenter == dc2 and Service.Proxy.DestinationServiceName == api"));
  EXPECT_TRUE(selects(R"(Service.ID == "api-v2-sidecar")"));
}

TEST(filter_expression, an_absent_key_is_unequal_and_empty) {
  EXPECT_FALSE(selects("Service.Meta.missing == v2"));
  EXPECT_TRUE(selects("Service.Meta.missing != v2"));
  EXPECT_TRUE(selects("Service.Meta.missing is empty"));
  EXPECT_TRUE(selects("Service.Meta.empty is empty"));
  EXPECT_TRUE(selects("Service.Meta.version is not empty"));
}

TEST(filter_expression, contains_and_in_look_into_lists_maps_and_strings) {
  EXPECT_TRUE(selects("Service.Tags contains canary"));
  EXPECT_FALSE(selects("Service.Tags contains green"));
  EXPECT_TRUE(selects("Service.Tags not contains green"));
  EXPECT_TRUE(selects("blue in Service.Tags"));
  EXPECT_TRUE(selects(R"("green" not in Service.Tags)"));
  EXPECT_TRUE(selects("Service.Meta contains version"));  // a map: its keys
  EXPECT_FALSE(selects("Service.Meta contains v2"));
  EXPECT_TRUE(selects("Service.Address contains 10.0."));  // a string: a substring
  EXPECT_FALSE(selects("Service.Tags is empty"));
  EXPECT_TRUE(selects("Node.Meta is not empty"));
}

TEST(filter_expression, and_binds_tighter_than_or_and_parentheses_and_not_group) {
  EXPECT_TRUE(selects("Service.Meta.version == v1 or Service.Meta.version == v2 and Service.Tags contains canary"));
  EXPECT_FALSE(selects("(Service.Meta.version == v1 or Service.Meta.version == v2) and Service.Tags contains green"));
  EXPECT_TRUE(selects("not Service.Meta.version == v1"));
  EXPECT_FALSE(selects("not (Service.Meta.version == v2)"));
  EXPECT_TRUE(selects("not not Service.Meta.version == v2"));
  EXPECT_TRUE(selects("Service.Meta.version == v2 and\n\tService.Tags contains blue"));
}

TEST(filter_expression, an_instance_with_odd_types_selects_nothing_and_does_not_throw) {
  const auto f = filter_expression::parse("Service.Tags contains x or Service.Meta.version == v1 or Service.Port == 1");
  EXPECT_FALSE(f.matches(json::parse(R"({"Service": {"Tags": [1, null], "Meta": [], "Port": {}}})").as_object()));
  EXPECT_FALSE(f.matches(json::object{}));
}

struct bad_case {
  std::string text;
  std::string error;
};

class filter_expression_refuses : public testing::TestWithParam<bad_case> {};

TEST_P(filter_expression_refuses, naming_the_position_and_the_problem) {
  EXPECT_EQ(error_of(GetParam().text), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    cases, filter_expression_refuses,
    testing::Values(
        bad_case{"", "at byte 0: expected a selector such as Service.Meta.version, got the end of the expression"},
        bad_case{"Service.Meta.version = v1", "at byte 21: '=' is not an operator; use =="},
        bad_case{"Service.Meta.version ==", "at byte 23: expected a value after ==, got the end of the expression"},
        bad_case{"Service.Version == v1", R"(at byte 0: unknown selector "Service.Version" (known: Service.ID, Service.Service, Service.Address, Service.Port, Service.Kind, Service.Tags, Service.Meta[.key], Service.Proxy.DestinationServiceName, Service.Proxy.DestinationServiceID, Node.Node, Node.Address, Node.Datacenter, Node.Meta[.key]))"},
        bad_case{"Service.Meta.a.b == v1", R"(at byte 0: unknown selector "Service.Meta.a.b" (known: Service.ID, Service.Service, Service.Address, Service.Port, Service.Kind, Service.Tags, Service.Meta[.key], Service.Proxy.DestinationServiceName, Service.Proxy.DestinationServiceID, Node.Node, Node.Address, Node.Datacenter, Node.Meta[.key]))"},
        bad_case{"Service..Meta == v1", R"(at byte 0: "Service..Meta" has an empty part)"},
        bad_case{"Service.Tags == v1", "at byte 0: Service.Tags is a list; use contains, in or is empty"},
        bad_case{"Service.Port contains 1", "at byte 0: Service.Port is a number; use == or !="},
        bad_case{"v1 in Service.Port", "at byte 0: Service.Port is a number; use == or !="},
        bad_case{"Service.Meta == v1", "at byte 0: Service.Meta is a map; use contains, in or is empty"},
        bad_case{"Service.ID matches \"^api\"", "at byte 11: matches (regular expressions) is not supported; use ==, contains or in"},
        bad_case{"Service.ID is full", R"(at byte 14: expected empty after is, got "full")"},
        bad_case{"Service.ID == \"v1", "at byte 14: the quoted value is not closed"},
        bad_case{"Service.ID == \"a\\nb\"", "at byte 16: only \\\" and \\\\ are escapes in a quoted value"},
        bad_case{"Service.ID == `v1", "at byte 14: the `raw` value is not closed"},
        bad_case{"(Service.ID == a", "at byte 16: expected ')', got the end of the expression"},
        bad_case{"Service.ID == a b", R"(at byte 16: expected and, or or the end, got "b")"},
        bad_case{"Service.ID == a; rm", R"(at byte 15: unexpected character ";")"},
        bad_case{"Service.Meta[version] == a", R"(at byte 13: expected a quoted key inside [ ], got "version")"},
        bad_case{std::string(33, '(') + "Service.ID == a" + std::string(33, ')'), "at byte 33: nested deeper than 32 levels"},
        bad_case{std::string(4097, ' '), "longer than 4096 bytes"}));

TEST(filter_expression, deep_but_allowed_nesting_and_long_chains_parse_and_evaluate) {
  EXPECT_TRUE(selects(std::string(32, '(') + "Service.ID == api-v2-sidecar" + std::string(32, ')')));
  std::string chain = "Service.ID == x0";
  for (int i = 1; i < 150; ++i) chain += " or Service.ID == x" + std::to_string(i);
  EXPECT_FALSE(selects(chain));
  EXPECT_TRUE(selects(chain + " or Service.Tags contains blue"));
}

}  // namespace
}  // namespace meshgate::catalog
