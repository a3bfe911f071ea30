// What the server acknowledged survives: a restart, and kill -9 in the middle of a stream
// of registrations.

#include <signal.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "e2e/server_fixture.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

TEST(server_durability, loses_no_acknowledged_registration_when_killed) {
  temp_dir dir;
  std::set<std::string> acknowledged;
  {
    server_process server(dir, dir / "data");
    // Register as fast as one client can; SIGKILL lands in the middle of the stream.
    for (int i = 0; i < 2000; ++i) {
      const auto id = "svc-" + std::to_string(i);
      if (i == 150) server.process().signal(SIGKILL);
      const auto r = http_request(server.address(), "PUT", "/v1/agent/service/register",
                                  R"({"Name": "load", "ID": ")" + id + R"(", "Port": 1})");
      if (!r) break;  // the server is gone
      ASSERT_EQ(r->status, 200) << r->body;
      acknowledged.insert(id);
    }
    ASSERT_TRUE(server.process().wait_for_exit(std::chrono::seconds(10)));
  }
  ASSERT_GE(acknowledged.size(), 150u);
  server_process again(dir, dir / "data");
  const auto services = curl(dir, "GET", again.address(), "/v1/agent/services").json().as_object();
  for (const auto& id : acknowledged) EXPECT_TRUE(services.contains(id)) << id << " was acknowledged, then lost";
}

TEST(server_durability, comes_back_after_a_restart_with_its_state_and_indexes) {
  temp_dir dir;
  std::string index;
  std::string node_id;
  {
    server_process server(dir, dir / "data");
    curl(dir, "PUT", server.address(), "/v1/agent/service/register", R"({"Name": "web", "Port": 80, "Check": {"TTL": "1h"}})");
    curl(dir, "PUT", server.address(), "/v1/config", R"({"Kind": "service-defaults", "Name": "web", "Protocol": "http"})");
    index = curl(dir, "GET", server.address(), "/v1/health/service/web").index;
    node_id = curl(dir, "GET", server.address(), "/v1/agent/self").json().at("Config").at("NodeID").as_string();
    server.process().signal(SIGTERM);
    ASSERT_TRUE(server.process().wait_for_exit(std::chrono::seconds(10)));
  }
  server_process again(dir, dir / "data");
  const auto health = curl(dir, "GET", again.address(), "/v1/health/service/web");
  ASSERT_EQ(health.json().as_array().size(), 1u);
  EXPECT_GE(std::stoull(health.index), std::stoull(index));
  EXPECT_EQ(curl(dir, "GET", again.address(), "/v1/config/service-defaults/web").json().at("Protocol").as_string(), "http");
  EXPECT_EQ(curl(dir, "GET", again.address(), "/v1/agent/self").json().at("Config").at("NodeID").as_string(), node_id);
}

}  // namespace
}  // namespace meshgate::test
