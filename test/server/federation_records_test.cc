// What a server keeps of another datacenter's /v1/health/connect answer (the instances
// mode none dials): the addresses, and the fields a subset filter selects on, copied only
// with the right type and within bounds; and the filter applied to what was kept.

#include "server/federation_records.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>

#include "catalog/filter_expression.h"
#include "catalog/json_reader.h"
#include "server/federation_state.h"
#include "store/sqlite_record_store.h"
#include "support/process.h"

namespace meshgate::server {
namespace {

namespace json = boost::json;

const char* const health_answer = R"([
  {"Node": {"Node": "n2", "Address": "10.2.0.1", "Datacenter": "dc2", "Meta": {"zone": "b"}},
   "Service": {"ID": "api-v1-sidecar", "Service": "api-sidecar-proxy", "Kind": "connect-proxy", "Address": "10.2.0.5",
               "Port": 21000, "Tags": ["blue"], "Meta": {"version": "v1"},
               "TaggedAddresses": {"wan": {"Address": "192.0.2.5", "Port": 443}},
               "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api-v1", "Upstreams": []}}},
  {"Node": {"Node": "n2", "Address": "10.2.0.1"},
   "Service": {"ID": "api-v2-sidecar", "Address": "10.2.0.6", "Port": 21000, "Meta": {"version": "v2", "n": 7},
               "Tags": ["green", 3]}}
])";

TEST(remote_sidecars_record, keeps_addresses_and_the_selectable_fields_of_the_right_type) {
  const auto record = remote_sidecars_record(json::parse(health_answer));
  const auto& instances = record.at("Instances").as_array();
  ASSERT_EQ(instances.size(), 2u);
  EXPECT_EQ(instances[0].at("LAN").as_string(), "10.2.0.5:21000");
  EXPECT_EQ(instances[0].at("WAN").as_string(), "192.0.2.5:443");
  const auto& first = instances[0].at("Entry");
  EXPECT_EQ(first.at("Service").at("Meta").at("version").as_string(), "v1");
  EXPECT_EQ(first.at("Service").at("Proxy").at("DestinationServiceID").as_string(), "api-v1");
  EXPECT_FALSE(first.at("Service").at("Proxy").as_object().contains("Upstreams")) << "only what a filter can select";
  EXPECT_FALSE(first.at("Service").as_object().contains("TaggedAddresses"));
  EXPECT_EQ(first.at("Node").at("Meta").at("zone").as_string(), "b");
  const auto& second = instances[1].at("Entry").at("Service");
  EXPECT_EQ(json::serialize(second.at("Meta")), R"({"version":"v2"})") << "a number is not a Meta value";
  EXPECT_EQ(json::serialize(second.at("Tags")), R"(["green"])");
}

TEST(remote_sidecars_record, bounds_what_it_copies) {
  json::object meta;
  json::array tags;
  for (int i = 0; i < 100; ++i) {
    meta["k" + std::to_string(i)] = "v";
    tags.emplace_back("t" + std::to_string(i));
  }
  meta["long"] = std::string(10'000, 'x');
  const json::array answer{json::object{
      {"Service", {{"ID", std::string(10'000, 'i')}, {"Address", "10.0.0.1"}, {"Port", 1}, {"Meta", meta}, {"Tags", tags}}}}};
  const auto record = remote_sidecars_record(answer);
  const auto& service = record.at("Instances").at(0).at("Entry").at("Service").as_object();
  EXPECT_FALSE(service.contains("ID"));
  EXPECT_LE(service.at("Meta").as_object().size(), 64u);
  EXPECT_FALSE(service.at("Meta").as_object().contains("long"));
  EXPECT_LE(service.at("Tags").as_array().size(), 64u);
}

TEST(remote_sidecars, a_subset_filter_selects_among_what_was_kept) {
  test::temp_dir dir;
  store::sqlite_record_store store{dir.path(), catalog_indexes()};
  store::transaction txn;
  txn.ops.push_back({std::string(remote_sidecars_table), "dc2/api",
                     json::value(remote_sidecars_record(json::parse(health_answer))), std::nullopt});
  std::promise<store::commit_result> done;
  store.commit(std::move(txn), [&](store::commit_result r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(done.get_future().get().applied);

  const auto v2 = catalog::filter_expression::parse("Service.Meta.version == v2");
  const auto blue = catalog::filter_expression::parse("Service.Tags contains blue and Node.Meta.zone == b");
  store.read([&](const store::state_view& state) {
    EXPECT_EQ(remote_sidecars(state, "dc2", "api").size(), 2u);
    const auto only_v2 = remote_sidecars(state, "dc2", "api", &v2);
    ASSERT_EQ(only_v2.size(), 1u);
    EXPECT_EQ(only_v2[0].addresses.service_address, "10.2.0.6");
    const auto only_blue = remote_sidecars(state, "dc2", "api", &blue);
    ASSERT_EQ(only_blue.size(), 1u);
    EXPECT_EQ(only_blue[0].addresses.tagged_wan_address, "192.0.2.5");
  });
}

}  // namespace
}  // namespace meshgate::server
