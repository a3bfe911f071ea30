// Sidecars in one datacenter with real processes: a server, `meshgate proxy` for web and
// api, python3's http.server as api, curl as web's application, openssl s_client/s_server
// as peers that are not in the mesh or pretend to be someone else.

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include "e2e/server_fixture.h"
#include "e2e/sidecar_fixture.h"
#include "support/echo_server.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

std::string sidecar_registration(const std::string& service, std::uint16_t port, std::uint16_t local_port,
                                 const std::string& upstreams = "[]") {
  return R"({"ID": ")" + service + R"(-sidecar-proxy", "Name": ")" + service +
         R"(-sidecar-proxy", "Kind": "connect-proxy", "Address": "127.0.0.1", "Port": )" + std::to_string(port) +
         R"(, "Proxy": {"DestinationServiceName": ")" + service + R"(", "DestinationServiceID": ")" + service +
         R"(", "LocalServicePort": )" + std::to_string(local_port) + R"(, "Upstreams": )" + upstreams + "}}";
}

std::string upstream(const std::string& name, std::uint16_t port) {
  return R"({"DestinationName": ")" + name + R"(", "LocalBindPort": )" + std::to_string(port) + "}";
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

class sidecar_e2e : public ::testing::Test {
 protected:
  void put(const std::string& path, const std::string& body) {
    const auto r = curl(dir, "PUT", server->address(), path, body);
    ASSERT_EQ(r.status, 200) << path << " " << body << ": " << r.body;
  }
  void register_service(const std::string& body) { put("/v1/agent/service/register", body); }

  json::value roots() { return curl(dir, "GET", server->address(), "/v1/connect/ca/roots").json(); }
  std::string trust_domain() { return std::string(roots().at("TrustDomain").as_string()); }
  std::string identity(const std::string& service) {
    return "spiffe://" + trust_domain() + "/ns/default/dc/dc1/svc/" + service;
  }
  std::string sni(const std::string& service) { return service + ".default.dc1.internal." + trust_domain(); }

  /// Every trusted root, as a CA file for openssl.
  std::filesystem::path roots_file() {
    std::string pem;
    const auto all = roots();
    for (const auto& r : all.at("Roots").as_array()) pem += std::string(r.at("RootCert").as_string());
    write_text(dir / "roots.pem", pem);
    return dir / "roots.pem";
  }
  /// A leaf for `service` issued by the server, in files: {certificate, key}.
  std::pair<std::filesystem::path, std::filesystem::path> leaf_files(const std::string& service) {
    const auto leaf = curl(dir, "GET", server->address(), "/v1/agent/connect/ca/leaf/" + service).json();
    write_text(dir / (service + ".crt"), std::string(leaf.at("CertPEM").as_string()));
    write_text(dir / (service + ".key"), std::string(leaf.at("PrivateKeyPEM").as_string()));
    return {dir / (service + ".crt"), dir / (service + ".key")};
  }

  temp_dir dir;
  std::unique_ptr<server_process> server = std::make_unique<server_process>(dir, dir / "data");
};

TEST_F(sidecar_e2e, curl_reaches_api_through_webs_upstream_and_apis_inbound_listener) {
  std::filesystem::create_directories(dir / "www");
  write_text(dir / "www" / "hello.txt", "hello from api\n");
  const auto big = random_bytes(4 << 20, 1);
  write_text(dir / "www" / "big.bin", big);
  http_file_server api_app(dir, dir / "www");

  const auto bind_port = unused_port();
  register_service(sidecar_registration("api", unused_port(), api_app.port()));
  register_service(sidecar_registration("web", unused_port(), 1, "[" + upstream("api", bind_port) + "]"));
  proxy_process api(dir, server->address(), "api");
  proxy_process web(dir, server->address(), "web", {"-busy-poll-us", "50"});

  const auto upstream_address = "127.0.0.1:" + std::to_string(bind_port);
  const auto hello = curl(dir, "GET", upstream_address, "/hello.txt");
  ASSERT_EQ(hello.status, 200) << web.process().err() << api.process().err();
  EXPECT_EQ(hello.body, "hello from api\n");
  const auto whole = curl(dir, "GET", upstream_address, "/big.bin");
  ASSERT_EQ(whole.status, 200);
  EXPECT_TRUE(whole.body == big) << "the 4 MiB file came back altered (" << whole.body.size() << " bytes)";

  // Both sidecars saw verified mTLS handshakes; the bytes were counted where they went.
  EXPECT_GE(web.counter("api", "handshakes"), 2u);
  EXPECT_GE(api.counter("inbound", "handshakes"), 2u);
  EXPECT_GE(web.counter("api", "bytes_from_mesh"), big.size());
  EXPECT_GE(api.counter("inbound", "bytes_to_mesh"), big.size());
  EXPECT_EQ(web.admin_json("/certificates").at("identity").as_string(), identity("web"));
  // The application's connections ended normally: no refusal of any kind was counted.
  EXPECT_TRUE(eventually([&] { return web.closed("api", "finished") >= 2; }));
  EXPECT_EQ(web.closed("api", "peer_identity_mismatch") + web.closed("api", "peer_untrusted"), 0u);
  // web busy-polls (-busy-poll-us 50): once its connections are done it polls, finds
  // nothing and sleeps, counted. api does not poll (the default for a sidecar).
  const auto polls = [](const proxy_process& p, const char* outcome) {
    return p.admin_json("/stats").at("busy_polls").at(outcome).to_number<std::uint64_t>();
  };
  EXPECT_TRUE(eventually([&] { return polls(web, "slept") >= 1; }));
  EXPECT_EQ(polls(api, "slept") + polls(api, "found_work"), 0u);
}

TEST_F(sidecar_e2e, inbound_refuses_clients_without_a_certificate_or_with_one_from_another_ca) {
  std::filesystem::create_directories(dir / "www");
  write_text(dir / "www" / "hello.txt", "hello from api\n");
  http_file_server api_app(dir, dir / "www");
  const auto inbound_port = unused_port();
  register_service(sidecar_registration("api", inbound_port, api_app.port()));
  proxy_process api(dir, server->address(), "api");

  s_client_call call{"127.0.0.1:" + std::to_string(inbound_port), sni("api"), roots_file(), {}, {},
                     "GET /hello.txt HTTP/1.0\r\n\r\n"};
  // The control: a mesh certificate for web gets through to the application.
  std::tie(call.cert_file, call.key_file) = leaf_files("web");
  const auto admitted = run_s_client(dir, call);
  EXPECT_NE(admitted.find("hello from api"), std::string::npos) << admitted;
  EXPECT_EQ(first_certificate_serial(admitted), api.serial()) << "the inbound listener presents the sidecar's leaf";

  // No client certificate.
  call.cert_file.clear();
  call.key_file.clear();
  const auto anonymous = run_s_client(dir, call);
  EXPECT_EQ(anonymous.find("hello from api"), std::string::npos) << anonymous;
  EXPECT_TRUE(eventually([&] { return api.closed("inbound", "peer_no_certificate") == 1; }));

  // A certificate for web's very identity, from a CA the mesh does not trust.
  write_text(dir / "leaf.ext", "subjectAltName=URI:" + identity("web") +
                                   "\nextendedKeyUsage=clientAuth,serverAuth\nbasicConstraints=CA:FALSE\n");
  const auto openssl = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "openssl");
    ASSERT_EQ(run_command(argv, dir / "openssl"), 0) << read_text(dir / "openssl.err");
  };
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           (dir / "other-ca.key").string(), "-out", (dir / "other-ca.crt").string(), "-subj", "/CN=other CA",
           "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE"});
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           (dir / "other.key").string(), "-out", (dir / "other.csr").string(), "-subj", "/CN=web"});
  openssl({"x509", "-req", "-in", (dir / "other.csr").string(), "-CA", (dir / "other-ca.crt").string(), "-CAkey",
           (dir / "other-ca.key").string(), "-CAcreateserial", "-days", "1", "-extfile",
           (dir / "leaf.ext").string(), "-out", (dir / "other.crt").string()});
  call.cert_file = dir / "other.crt";
  call.key_file = dir / "other.key";
  const auto foreign = run_s_client(dir, call);
  EXPECT_EQ(foreign.find("hello from api"), std::string::npos) << foreign;
  EXPECT_TRUE(eventually([&] { return api.closed("inbound", "peer_untrusted") == 1; }));
  EXPECT_EQ(api.counter("inbound", "handshakes"), 1u) << "only the mesh client was admitted";
}

/// `openssl s_server -www` presenting `cert`/`key`; its port once it listens.
std::unique_ptr<child_process> start_s_server(const temp_dir& dir, const std::string& tag,
                                              const std::filesystem::path& cert, const std::filesystem::path& key,
                                              std::uint16_t& port) {
  auto p = std::make_unique<child_process>(
      std::vector<std::string>{"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert.string(), "-key",
                               key.string(), "-www", "-naccept", "100"},
      dir / tag);
  const bool up = eventually([&] {
    const auto out = read_text(dir / (tag + ".out"));
    const auto at = out.find("ACCEPT 127.0.0.1:");
    if (at == std::string::npos) return false;
    port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 17)));
    return true;
  });
  if (!up) throw std::runtime_error("openssl s_server did not start: " + read_text(dir / (tag + ".err")));
  return p;
}

TEST_F(sidecar_e2e, outbound_refuses_an_upstream_presenting_a_valid_certificate_of_another_service) {
  // payments' only instance is an s_server holding billing's (valid, mesh-issued) leaf.
  const auto [billing_cert, billing_key] = leaf_files("billing");
  std::uint16_t impostor_port = 0;
  auto impostor = start_s_server(dir, "impostor", billing_cert, billing_key, impostor_port);
  register_service(R"({"ID": "payments-1", "Name": "payments-sidecar-proxy", "Kind": "connect-proxy",
    "Address": "127.0.0.1", "Port": )" + std::to_string(impostor_port) +
                   R"(, "Proxy": {"DestinationServiceName": "payments"}})");
  const auto bind_port = unused_port();
  register_service(sidecar_registration("web", unused_port(), 1, "[" + upstream("payments", bind_port) + "]"));
  proxy_process web(dir, server->address(), "web");

  const auto upstream_address = "127.0.0.1:" + std::to_string(bind_port);
  const auto refused = curl(dir, "GET", upstream_address, "/");
  EXPECT_EQ(refused.status, 0) << "curl got an answer from the impostor: " << refused.body;
  EXPECT_TRUE(eventually([&] { return web.closed("payments", "peer_identity_mismatch") == 1; }));
  EXPECT_EQ(web.counter("payments", "handshakes"), 0u);

  // The control: the same s_server with payments' own leaf is let through.
  impostor.reset();
  const auto [payments_cert, payments_key] = leaf_files("payments");
  std::uint16_t genuine_port = 0;
  auto genuine = start_s_server(dir, "genuine", payments_cert, payments_key, genuine_port);
  register_service(R"({"ID": "payments-1", "Name": "payments-sidecar-proxy", "Kind": "connect-proxy",
    "Address": "127.0.0.1", "Port": )" + std::to_string(genuine_port) +
                   R"(, "Proxy": {"DestinationServiceName": "payments"}})");
  curl_result admitted;
  EXPECT_TRUE(eventually([&] {  // until the sidecar has the new endpoint
    admitted = curl(dir, "GET", upstream_address, "/");
    return admitted.status == 200;
  }));
  EXPECT_NE(admitted.body.find("s_server"), std::string::npos) << admitted.body;
  EXPECT_EQ(web.counter("payments", "handshakes"), 1u);
}

/// Sends `chunk` on `fd` and expects it echoed back whole.
::testing::AssertionResult echoes(int fd, const std::string& chunk) {
  if (!send_all(fd, chunk)) return ::testing::AssertionFailure() << "send failed";
  const auto back = recv_exactly(fd, chunk.size());
  if (back != chunk) return ::testing::AssertionFailure() << "got " << back.size() << " bytes back, not the same";
  return ::testing::AssertionSuccess();
}

TEST_F(sidecar_e2e, a_root_rotation_during_a_long_transfer_keeps_it_and_new_connections_get_the_new_certificate) {
  echo_server api_app;
  const auto inbound_port = unused_port();
  const auto bind_port = unused_port();
  register_service(sidecar_registration("api", inbound_port, api_app.port()));
  register_service(sidecar_registration("web", unused_port(), 1, "[" + upstream("api", bind_port) + "]"));
  proxy_process api(dir, server->address(), "api");
  proxy_process web(dir, server->address(), "web");
  const auto old_root = std::string(roots().at("ActiveRootID").as_string());
  const auto old_api_serial = api.serial();
  const auto old_web_serial = web.serial();

  // One long transfer: chunks go back and forth before, during and after the rotation.
  auto long_lived = connect_tcp("127.0.0.1:" + std::to_string(bind_port));
  ASSERT_TRUE(long_lived);
  int chunk_number = 0;
  const auto next_chunk = [&] { return random_bytes(64 << 10, static_cast<unsigned>(++chunk_number)); };
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(echoes(long_lived.get(), next_chunk()));

  ASSERT_EQ(run_command({MESHGATE_BINARY, "ca", "rotate", "-http-addr", server->address()}, dir / "rotate"), 0)
      << read_text(dir / "rotate.err");
  const auto new_root = std::string(roots().at("ActiveRootID").as_string());
  ASSERT_NE(new_root, old_root);
  const auto renewed_under_new_root = [&](const proxy_process& p) {
    const auto c = p.admin_json("/certificates");
    const auto* root = c.as_object().if_contains("issued_under_root");
    return root && root->as_string() == new_root;
  };
  ASSERT_TRUE(eventually(
      [&] {
        if (!echoes(long_lived.get(), next_chunk())) return true;  // fails below
        return renewed_under_new_root(api) && renewed_under_new_root(web);
      },
      30s));
  EXPECT_NE(api.serial(), old_api_serial);
  EXPECT_NE(web.serial(), old_web_serial);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(echoes(long_lived.get(), next_chunk())) << "after the rotation";
  EXPECT_EQ(api.counter("inbound", "active"), 1u);

  // New connections: through web's upstream, and straight at api's listener, which now
  // presents the leaf signed by the new root.
  auto fresh = connect_tcp("127.0.0.1:" + std::to_string(bind_port));
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(echoes(fresh.get(), next_chunk()));
  const auto [web_cert, web_key] = leaf_files("web");
  const auto seen = run_s_client(dir, {"127.0.0.1:" + std::to_string(inbound_port), sni("api"), roots_file(),
                                       web_cert, web_key, "ping\n", "ping"});
  EXPECT_NE(seen.find("ping"), std::string::npos) << seen;
  EXPECT_EQ(first_certificate_serial(seen), api.serial());
  EXPECT_NE(first_certificate_serial(seen), old_api_serial);
  EXPECT_NE(seen.find("Verify return code: 0 (ok)"), std::string::npos) << seen;
}

TEST_F(sidecar_e2e, keeps_serving_while_the_server_is_gone_and_picks_up_again_when_it_returns) {
  echo_server api_app;
  const auto bind_port = unused_port();
  const auto web_port = unused_port();
  register_service(sidecar_registration("api", unused_port(), api_app.port()));
  register_service(sidecar_registration("web", web_port, 1, "[" + upstream("api", bind_port) + "]"));
  proxy_process api(dir, server->address(), "api");
  proxy_process web(dir, server->address(), "web");
  const auto upstream_address = "127.0.0.1:" + std::to_string(bind_port);
  auto established = connect_tcp(upstream_address);
  ASSERT_TRUE(established);
  ASSERT_TRUE(echoes(established.get(), "before"));

  const auto address = server->address();
  server->process().signal(SIGKILL);
  ASSERT_TRUE(server->process().wait_for_exit(10s));
  const auto reachable = [](const proxy_process& p) {
    return p.admin_json("/certificates").at("server_reachable").as_bool();
  };
  EXPECT_TRUE(eventually([&] { return !reachable(web) && !reachable(api); }, 20s));

  // Established and new connections keep working on the last configuration and certificates.
  EXPECT_TRUE(echoes(established.get(), "while the server is gone"));
  for (int i = 0; i < 3; ++i) {
    auto fresh = connect_tcp(upstream_address);
    ASSERT_TRUE(fresh);
    EXPECT_TRUE(echoes(fresh.get(), "new connection " + std::to_string(i)));
  }
  EXPECT_EQ(http_get(web.admin_address(), "/ready")->status, 200);

  // The server returns where it was; a change made there reaches the sidecar.
  server = std::make_unique<server_process>(dir, dir / "data", std::vector<std::string>{"-http-addr", address});
  EXPECT_TRUE(eventually([&] { return reachable(web) && reachable(api); }, 40s));
  const auto cache_port = unused_port();
  register_service(sidecar_registration(
      "web", web_port, 1, "[" + upstream("api", bind_port) + "," + upstream("cache", cache_port) + "]"));
  EXPECT_TRUE(eventually([&] {
    const auto listeners = web.admin_json("/listeners");
    return json::serialize(listeners).find(":" + std::to_string(cache_port)) != std::string::npos;
  }));
  EXPECT_TRUE(echoes(established.get(), "after"));
}

TEST_F(sidecar_e2e, drains_on_sigterm_finishing_open_connections_and_taking_no_new_ones) {
  echo_server api_app;
  const auto bind_port = unused_port();
  register_service(sidecar_registration("api", unused_port(), api_app.port()));
  register_service(sidecar_registration("web", unused_port(), 1, "[" + upstream("api", bind_port) + "]"));
  proxy_process api(dir, server->address(), "api");
  proxy_process web(dir, server->address(), "web");
  const auto upstream_address = "127.0.0.1:" + std::to_string(bind_port);
  auto open = connect_tcp(upstream_address);
  ASSERT_TRUE(open);
  ASSERT_TRUE(echoes(open.get(), "before the drain"));

  web.process().signal(SIGTERM);
  EXPECT_TRUE(eventually([&] {
    const auto ready = http_get(web.admin_address(), "/ready");
    return ready && ready->status == 503;
  }));
  EXPECT_FALSE(connect_tcp(upstream_address)) << "the upstream listener still accepts while draining";
  EXPECT_TRUE(echoes(open.get(), "during the drain"));
  open.reset();  // the last connection ends: the drain is over
  const auto status = web.process().wait_for_exit(10s);
  ASSERT_TRUE(status) << "still running after its last connection closed";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << web.process().err();
  EXPECT_NE(web.process().err().find("drained: no connection left open"), std::string::npos) << web.process().err();
}

TEST_F(sidecar_e2e, fails_over_past_a_dead_endpoint_carries_half_close_and_closes_idle_connections) {
  echo_server api_app;
  const auto bind_port = unused_port();
  // api has two sidecars: one registered where nothing listens, and the real one.
  register_service(R"({"ID": "api-dead", "Name": "api-sidecar-proxy", "Kind": "connect-proxy",
    "Address": "127.0.0.1", "Port": )" + std::to_string(unused_port()) +
                   R"(, "Proxy": {"DestinationServiceName": "api"}})");
  register_service(sidecar_registration("api", unused_port(), api_app.port()));
  register_service(sidecar_registration("web", unused_port(), 1, "[" + upstream("api", bind_port) + "]"));
  proxy_process api(dir, server->address(), "api");
  proxy_process web(dir, server->address(), "web", {"-idle-timeout", "1s"});
  const auto upstream_address = "127.0.0.1:" + std::to_string(bind_port);

  // Round robin starts half of these at the dead endpoint; every one gets through.
  for (int i = 0; i < 4; ++i) {
    auto fd = connect_tcp(upstream_address);
    ASSERT_TRUE(fd);
    EXPECT_TRUE(echoes(fd.get(), "connection " + std::to_string(i)));
  }
  EXPECT_GE(web.counter("api", "connect_failures"), 2u);
  EXPECT_EQ(web.closed("api", "upstream_unavailable"), 0u);

  // Half-close: our FIN crosses both sidecars (as close_notify between them), and the
  // service's answer still comes back whole before its own FIN does.
  const auto data = random_bytes(1 << 20, 7);
  auto half = connect_tcp(upstream_address);
  ASSERT_TRUE(half);
  ASSERT_TRUE(send_all(half.get(), data));
  ASSERT_EQ(::shutdown(half.get(), SHUT_WR), 0);
  bool closed = false;
  const auto back = recv_until_close(half.get(), closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(back == data) << back.size() << " of " << data.size() << " bytes came back";

  // Idle: nothing either way for -idle-timeout closes the connection and says why.
  auto idle = connect_tcp(upstream_address);
  ASSERT_TRUE(idle);
  ASSERT_TRUE(echoes(idle.get(), "then silence"));
  EXPECT_TRUE(peer_closes(idle.get(), 10s));
  EXPECT_TRUE(eventually([&] { return web.closed("api", "idle_timeout") == 1; }));
}

}  // namespace
}  // namespace meshgate::test
