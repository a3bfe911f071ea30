// The transactions that change the catalog, against a real store: what they write, what
// they delete, and which blocking queries they wake.

#include "server/catalog_state.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>

#include "catalog/json_reader.h"
#include "store/sqlite_record_store.h"
#include "support/process.h"

namespace meshgate::server {
namespace {

namespace json = boost::json;

class catalog_state_test : public ::testing::Test {
 protected:
  store::commit_result apply(store::transaction txn) {
    std::promise<store::commit_result> p;
    store.commit(std::move(txn), [&](store::commit_result r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  void register_body(const std::string& body) {
    const auto reg = catalog::decode_registration(catalog::parse_body(body));
    store::transaction txn;
    store.read([&](const store::state_view& v) { txn = register_transaction(v, reg, node); });
    ASSERT_TRUE(apply(std::move(txn)).applied);
  }
  std::vector<std::string> check_ids() {
    std::vector<std::string> ids;
    store.read([&](const store::state_view& v) {
      for (const auto& [id, r] : v.table(checks_table)) ids.push_back(id);
    });
    return ids;
  }
  test::temp_dir dir;
  store::sqlite_record_store store{dir.path(), catalog_indexes()};
  node_info node{"id", "node1", "127.0.0.1", "dc1"};
};

TEST_F(catalog_state_test, replaces_the_checks_of_a_reregistered_service_and_keeps_their_status) {
  register_body(R"({"Name": "web", "Checks": [{"CheckID": "a", "TTL": "1m"}, {"CheckID": "b", "TTL": "1m"}]})");
  std::optional<store::transaction> pass;
  store.read([&](const store::state_view& v) { pass = check_update_transaction(v, "a", catalog::check_status::passing, "ok"); });
  ASSERT_TRUE(pass);
  ASSERT_TRUE(apply(std::move(*pass)).applied);
  register_body(R"({"Name": "web", "Checks": [{"CheckID": "a", "TTL": "1m"}, {"CheckID": "c", "TTL": "1m"}]})");
  EXPECT_EQ(check_ids(), (std::vector<std::string>{"a", "c"}));
  store.read([&](const store::state_view& v) {
    EXPECT_EQ(v.get(checks_table, "a")->value.at("Status").as_string(), "passing");  // kept
    EXPECT_EQ(v.get(checks_table, "c")->value.at("Status").as_string(), "critical");  // new
  });
}

TEST_F(catalog_state_test, writes_nothing_when_a_check_result_changes_nothing) {
  register_body(R"({"Name": "web", "Check": {"TTL": "1m"}})");
  store.read([&](const store::state_view& v) {
    EXPECT_FALSE(check_update_transaction(v, "service:web", catalog::check_status::critical, ""));
    EXPECT_TRUE(check_update_transaction(v, "service:web", catalog::check_status::critical, "new output"));
    EXPECT_FALSE(check_update_transaction(v, "nope", catalog::check_status::passing, ""));
  });
}

TEST_F(catalog_state_test, deregisters_a_service_with_its_checks) {
  register_body(R"({"Name": "web", "Checks": [{"TTL": "1m"}, {"TTL": "2m"}]})");
  register_body(R"({"Name": "db", "Check": {"TTL": "1m"}})");
  std::optional<store::transaction> txn;
  store.read([&](const store::state_view& v) { txn = deregister_transaction(v, "web"); });
  ASSERT_TRUE(txn);
  ASSERT_TRUE(apply(std::move(*txn)).applied);
  EXPECT_EQ(check_ids(), (std::vector<std::string>{"service:db"}));
  store.read([&](const store::state_view& v) { EXPECT_FALSE(deregister_transaction(v, "web")); });
}

// A change wakes the watchers of the service's name, of what a proxy fronts, and of the
// name a re-registration took the instance away from.
TEST_F(catalog_state_test, touches_the_topics_of_old_and_new_names_and_proxied_services) {
  register_body(R"({"Name": "web-proxy", "ID": "p1", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web"}})");
  EXPECT_GT(store.watches().index_of({connect_topic("web")}), 0u);
  const auto before_api = store.watches().index_of({service_topic("api")});
  const auto before_web_proxy = store.watches().index_of({service_topic("web-proxy")});
  register_body(R"({"Name": "api", "ID": "p1", "Port": 2})");  // same ID, new name
  EXPECT_GT(store.watches().index_of({service_topic("api")}), before_api);
  EXPECT_GT(store.watches().index_of({service_topic("web-proxy")}), before_web_proxy);
  EXPECT_EQ(store.watches().index_of({service_topic("unrelated")}), 0u);
}

}  // namespace
}  // namespace meshgate::server
