// The command line against a running server: services, config entries, the catalog, and
// a clear error when no server answers.

#include <gtest/gtest.h>

#include "e2e/server_fixture.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

class server_cli : public ::testing::Test {
 protected:
  int meshgate(std::vector<std::string> args, const std::string& tag) {
    args.insert(args.begin(), MESHGATE_BINARY);
    args.insert(args.end(), {"-http-addr", server.address()});
    return run_command(args, dir / tag);
  }
  std::string out(const std::string& tag) { return read_text(dir / (tag + ".out")); }
  std::string err(const std::string& tag) { return read_text(dir / (tag + ".err")); }
  temp_dir dir;
  server_process server{dir, dir / "data"};
};

TEST_F(server_cli, registers_lists_and_deregisters_services) {
  write_text(dir / "web.json", R"({"service": {"name": "web", "port": 80, "tags": ["v1"]}})");
  ASSERT_EQ(meshgate({"services", "register", (dir / "web.json").string()}, "reg"), 0) << err("reg");
  EXPECT_EQ(out("reg"), "Registered service: web\n");
  ASSERT_EQ(meshgate({"catalog", "services", "-tags"}, "list"), 0);
  EXPECT_EQ(out("list"), "web  v1\n");
  ASSERT_EQ(meshgate({"catalog", "datacenters"}, "dcs"), 0);
  EXPECT_EQ(out("dcs"), "dc1\n");
  ASSERT_EQ(meshgate({"services", "deregister", "web"}, "dereg"), 0);
  EXPECT_EQ(out("dereg"), "Deregistered service: web\n");
  EXPECT_EQ(meshgate({"services", "deregister", "web"}, "again"), 1);
  EXPECT_NE(err("again").find("Unknown service ID"), std::string::npos);
}

TEST_F(server_cli, writes_reads_and_deletes_config_entries) {
  write_text(dir / "sd.json", R"({"Kind": "service-defaults", "Name": "web", "MeshGateway": {"Mode": "local"}})");
  ASSERT_EQ(meshgate({"config", "write", (dir / "sd.json").string()}, "w"), 0) << err("w");
  EXPECT_EQ(out("w"), "Config entry written: service-defaults/web\n");
  ASSERT_EQ(meshgate({"config", "read", "-kind", "service-defaults", "-name", "web"}, "r"), 0);
  EXPECT_NE(out("r").find("\"Mode\": \"local\""), std::string::npos) << out("r");
  ASSERT_EQ(meshgate({"config", "list", "-kind", "service-defaults"}, "l"), 0);
  EXPECT_EQ(out("l"), "web\n");
  ASSERT_EQ(meshgate({"config", "delete", "-kind", "service-defaults", "-name", "web"}, "d"), 0);
  EXPECT_EQ(meshgate({"config", "read", "-kind", "service-defaults", "-name", "web"}, "gone"), 1);
  EXPECT_NE(err("gone").find("Config entry not found"), std::string::npos);
  write_text(dir / "bad.json", R"({"Kind": "service-defaults", "Name": "web", "Protocol": "smtp"})");
  EXPECT_EQ(meshgate({"config", "write", (dir / "bad.json").string()}, "bad"), 1);
  EXPECT_NE(err("bad").find("Protocol: \"smtp\" must be tcp, http, http2 or grpc"), std::string::npos) << err("bad");
}

TEST_F(server_cli, says_clearly_when_no_server_answers) {
  std::uint16_t dead = 0;
  { auto closed = listen_tcp(dead); }
  const int rc = run_command({MESHGATE_BINARY, "catalog", "services", "-http-addr", "127.0.0.1:" + std::to_string(dead)},
                             dir / "nobody");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(read_text(dir / "nobody.err").find("cannot reach the meshgate server at 127.0.0.1:"), std::string::npos);
}

TEST_F(server_cli, refuses_to_start_a_server_without_a_data_dir) {
  EXPECT_EQ(run_command({MESHGATE_BINARY, "server", "-http-addr", "127.0.0.1:0"}, dir / "nodata"), 2);
  EXPECT_NE(read_text(dir / "nodata.err").find("-data-dir: required"), std::string::npos);
  // The address is taken by the running server.
  EXPECT_EQ(run_command({MESHGATE_BINARY, "server", "-data-dir", (dir / "d2").string(), "-http-addr", server.address()},
                        dir / "taken"),
            1);
  EXPECT_NE(read_text(dir / "taken.err").find("http: bind"), std::string::npos) << read_text(dir / "taken.err");
}

}  // namespace
}  // namespace meshgate::test

namespace meshgate::test {
namespace {

// Consul-style config file: the datacenter, node and data dir come from it; a flag
// given on the command line wins over it.
TEST(server_config_file, sets_what_flags_do_and_flags_override_it) {
  temp_dir dir;
  // A secondary (its primary, "west", is nowhere: it keeps trying and serves meanwhile).
  write_text(dir / "server.json", R"({"datacenter": "east", "node_name": "from-file", "data_dir": ")" +
                                      (dir / "data").string() +
                                      R"(", "primary_datacenter": "west", "primary_addr": "127.0.0.1:1"})");
  const auto address_file = dir / "addr";
  child_process server({MESHGATE_BINARY, "server", "-config-file", (dir / "server.json").string(), "-node", "from-flag",
                        "-http-addr", "127.0.0.1:0", "-http-addr-file", address_file.string()},
                       dir / "server");
  std::string address;
  ASSERT_TRUE(eventually([&] {
    address = read_text(address_file);
    return !address.empty();
  }));
  address.pop_back();
  const auto self = curl(dir, "GET", address, "/v1/agent/self").json().at("Config");
  EXPECT_EQ(self.at("Datacenter").as_string(), "east");
  EXPECT_EQ(self.at("PrimaryDatacenter").as_string(), "west");
  EXPECT_EQ(self.at("NodeName").as_string(), "from-flag");
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "state.db"));
  EXPECT_EQ(curl(dir, "GET", address, "/v1/catalog/datacenters").body, R"(["east"])");
  const auto leaf = curl(dir, "GET", address, "/v1/agent/connect/ca/leaf/web");
  EXPECT_EQ(leaf.status, 503);  // no intermediate from the primary yet
  EXPECT_NE(leaf.body.find("waits for the primary"), std::string::npos) << leaf.body;
  EXPECT_TRUE(eventually([&] { return server.err().find("cannot sync with the primary at 127.0.0.1:1") != std::string::npos; }));

  EXPECT_EQ(run_command({MESHGATE_BINARY, "server", "-datacenter", "east", "-primary-datacenter", "west", "-data-dir",
                         (dir / "d3").string()},
                        dir / "noprimary"),
            2);
  EXPECT_NE(read_text(dir / "noprimary.err").find("-primary-addr: required in a secondary datacenter"), std::string::npos);
  write_text(dir / "bad.json", R"({"datacenter": "east", "colour": "blue"})");
  EXPECT_EQ(run_command({MESHGATE_BINARY, "server", "-config-file", (dir / "bad.json").string()}, dir / "bad"), 2);
  EXPECT_NE(read_text(dir / "bad.err").find("colour: unknown field"), std::string::npos) << read_text(dir / "bad.err");
}

}  // namespace
}  // namespace meshgate::test
