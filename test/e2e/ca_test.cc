// The CA through the API of real servers, a primary and a secondary pointed at it, checked
// with openssl (a verifier nobody here wrote): chains, CSRs made by openssl, rotation.

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <regex>

#include "e2e/server_fixture.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

/// Splits a PEM bundle into its certificates, each written to <dir>/<prefix><n>.pem.
std::vector<std::filesystem::path> split_pem(const temp_dir& dir, const std::string& bundle, const std::string& prefix) {
  std::vector<std::filesystem::path> out;
  const std::regex block("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?");
  for (auto it = std::sregex_iterator(bundle.begin(), bundle.end(), block); it != std::sregex_iterator(); ++it) {
    out.push_back(dir / (prefix + std::to_string(out.size()) + ".pem"));
    write_text(out.back(), it->str());
  }
  return out;
}

class ca_e2e : public ::testing::Test {
 protected:
  curl_result call(const std::string& address, const std::string& method, const std::string& path,
                   const std::string& body = {}) {
    return curl(dir, method, address, path, body);
  }
  /// openssl verify of `leaf_pem` (a leaf and its chain, as the CA returns it) trusting only `root_pem`.
  bool openssl_verifies(const std::string& root_pem, const std::string& leaf_pem, const std::string& tag) {
    write_text(dir / (tag + "-root.pem"), root_pem);
    const auto parts = split_pem(dir, leaf_pem, tag + "-part");
    std::vector<std::string> argv = {"openssl", "verify", "-CAfile", (dir / (tag + "-root.pem")).string()};
    if (parts.size() > 1) {
      std::string chain;
      for (std::size_t i = 1; i < parts.size(); ++i) chain += read_text(parts[i]);
      write_text(dir / (tag + "-chain.pem"), chain);
      argv.insert(argv.end(), {"-untrusted", (dir / (tag + "-chain.pem")).string()});
    }
    argv.push_back(parts.at(0).string());
    const bool ok = run_command(argv, dir / (tag + "-verify")) == 0;
    if (!ok) ADD_FAILURE() << read_text(dir / (tag + "-verify.out")) << read_text(dir / (tag + "-verify.err"));
    return ok;
  }
  std::string active_root(const std::string& address) {
    const auto roots = call(address, "GET", "/v1/connect/ca/roots").json();
    for (const auto& r : roots.at("Roots").as_array()) {
      if (r.at("Active").as_bool()) return std::string(r.at("RootCert").as_string());
    }
    return "";
  }
  temp_dir dir;
  server_process primary{dir, dir / "dc1"};
};

TEST_F(ca_e2e, issues_leaves_openssl_verifies_in_the_primary_and_a_secondary) {
  server_process secondary(dir, dir / "dc2", {"-datacenter", "dc2", "-primary-datacenter", "dc1", "-primary-addr", primary.address()});
  const auto roots = call(primary.address(), "GET", "/v1/connect/ca/roots").json();
  const std::string td(roots.at("TrustDomain").as_string());
  EXPECT_TRUE(std::regex_match(td, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.consul")));
  const auto root = active_root(primary.address());

  const auto web = call(primary.address(), "GET", "/v1/agent/connect/ca/leaf/web").json();
  EXPECT_EQ(web.at("ServiceURI").as_string(), "spiffe://" + td + "/ns/default/dc/dc1/svc/web");
  EXPECT_TRUE(openssl_verifies(root, std::string(web.at("CertPEM").as_string()), "dc1"));

  // The secondary needs the primary to sign its intermediate first.
  curl_result api;
  ASSERT_TRUE(eventually([&] {
    api = call(secondary.address(), "GET", "/v1/agent/connect/ca/leaf/api");
    return api.status == 200;
  }));
  const auto leaf = api.json();
  EXPECT_EQ(leaf.at("ServiceURI").as_string(), "spiffe://" + td + "/ns/default/dc/dc2/svc/api");
  EXPECT_TRUE(openssl_verifies(root, std::string(leaf.at("CertPEM").as_string()), "dc2"));

  const auto parts = split_pem(dir, std::string(leaf.at("CertPEM").as_string()), "show");
  ASSERT_EQ(parts.size(), 2u);  // the leaf and the secondary's intermediate
  run_command({"openssl", "x509", "-in", parts[0].string(), "-noout", "-text"}, dir / "leaf-text");
  const auto text = read_text(dir / "leaf-text.out");
  EXPECT_NE(text.find("URI:spiffe://" + td + "/ns/default/dc/dc2/svc/api"), std::string::npos) << text;
  EXPECT_NE(text.find("DNS:api"), std::string::npos);
  EXPECT_NE(text.find("TLS Web Server Authentication, TLS Web Client Authentication"), std::string::npos);
  EXPECT_NE(text.find("Not After"), std::string::npos);
  run_command({"openssl", "x509", "-in", parts[1].string(), "-noout", "-text"}, dir / "intermediate-text");
  EXPECT_NE(read_text(dir / "intermediate-text.out").find("CA:TRUE, pathlen:0"), std::string::npos);
}

TEST_F(ca_e2e, signs_a_csr_made_by_openssl_and_refuses_the_wrong_ones) {
  const std::string td(call(primary.address(), "GET", "/v1/connect/ca/roots").json().at("TrustDomain").as_string());
  auto csr = [&](const std::string& tag, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"openssl", "req", "-new", "-nodes", "-keyout", (dir / (tag + ".key")).string(),
                                     "-out", (dir / (tag + ".csr")).string(), "-subj", "/CN=" + tag};
    argv.insert(argv.end(), extra.begin(), extra.end());
    EXPECT_EQ(run_command(argv, dir / (tag + "-req")), 0) << read_text(dir / (tag + "-req.err"));
    return read_text(dir / (tag + ".csr"));
  };
  auto sign = [&](const std::string& pem, const std::string& service) {
    return call(primary.address(), "POST", "/v1/connect/ca/sign",
                json::serialize(json::object{{"CSR", pem}, {"Service", service}}));
  };
  const auto ec = std::vector<std::string>{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"};
  auto with = [&](std::vector<std::string> v, const std::string& ext) {
    v.insert(v.end(), {"-addext", ext});
    return v;
  };
  const auto uri = "URI:spiffe://" + td + "/ns/default/dc/dc1/svc/web";

  const auto good = sign(csr("good", with(ec, "subjectAltName=" + uri)), "web");
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_FALSE(good.json().as_object().contains("PrivateKeyPEM"));  // the key never left openssl
  EXPECT_TRUE(openssl_verifies(active_root(primary.address()), std::string(good.json().at("CertPEM").as_string()), "csr"));

  const auto other = sign(csr("other", with(ec, "subjectAltName=" + uri)), "db");
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(other.body.find("is not spiffe://"), std::string::npos) << other.body;
  auto ca_ext = with(ec, "subjectAltName=" + uri);
  ca_ext.insert(ca_ext.end(), {"-addext", "basicConstraints=critical,CA:TRUE"});
  const auto ca = sign(csr("ca", ca_ext), "web");
  EXPECT_EQ(ca.status, 400);
  EXPECT_NE(ca.body.find("asks for CA rights"), std::string::npos) << ca.body;
  const auto rsa = sign(csr("rsa", {"-newkey", "rsa:2048", "-addext", "subjectAltName=" + uri}), "web");
  EXPECT_EQ(rsa.status, 400);
  EXPECT_NE(rsa.body.find("not an EC P-256 key"), std::string::npos) << rsa.body;
  EXPECT_EQ(sign("not a csr", "web").status, 400);
}

// A rotation: the old root cross-signs the new one, leaves signed after it verify for a
// peer that trusts only the old root, a leaf watcher is answered, the secondary follows.
TEST_F(ca_e2e, rotates_the_root_and_keeps_old_trust_working) {
  server_process secondary(dir, dir / "dc2", {"-datacenter", "dc2", "-primary-datacenter", "dc1", "-primary-addr", primary.address()});
  const auto old_root = active_root(primary.address());
  const auto first = call(primary.address(), "GET", "/v1/agent/connect/ca/leaf/web");
  ASSERT_FALSE(first.index.empty());
  auto watcher = std::async(std::launch::async, [&] {
    return call(primary.address(), "GET", "/v1/agent/connect/ca/leaf/web?index=" + first.index + "&wait=60s");
  });
  ASSERT_EQ(run_command({MESHGATE_BINARY, "ca", "rotate", "-http-addr", primary.address()}, dir / "rotate"), 0)
      << read_text(dir / "rotate.err");
  EXPECT_NE(read_text(dir / "rotate.out").find("Rotated the root CA"), std::string::npos);
  ASSERT_EQ(watcher.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const auto renewed = watcher.get().json();
  EXPECT_NE(renewed.at("SerialNumber"), first.json().at("SerialNumber"));

  const auto roots = call(primary.address(), "GET", "/v1/connect/ca/roots").json();
  ASSERT_EQ(roots.at("Roots").as_array().size(), 2u);
  const auto new_root = active_root(primary.address());
  EXPECT_NE(new_root, old_root);
  const std::string leaf(renewed.at("CertPEM").as_string());
  EXPECT_TRUE(openssl_verifies(old_root, leaf, "old-only"));
  EXPECT_TRUE(openssl_verifies(new_root, leaf, "new-only"));
  // The secondary gets an intermediate from the new root; its leaves verify with either.
  ASSERT_TRUE(eventually([&] {
    const auto r = call(secondary.address(), "GET", "/v1/agent/connect/ca/leaf/api");
    if (r.status != 200) return false;
    const auto parts = split_pem(dir, std::string(r.json().at("CertPEM").as_string()), "probe");
    run_command({"openssl", "verify", "-CAfile", (dir / "probe-new.pem").string(), parts[0].string()}, dir / "x");
    write_text(dir / "probe-new.pem", new_root);
    std::string chain;
    for (std::size_t i = 1; i < parts.size(); ++i) chain += read_text(parts[i]);
    write_text(dir / "probe-chain.pem", chain);
    return run_command({"openssl", "verify", "-CAfile", (dir / "probe-new.pem").string(), "-untrusted",
                        (dir / "probe-chain.pem").string(), parts[0].string()},
                       dir / "probe") == 0;
  }, std::chrono::seconds(20)));
  const auto dc2 = call(secondary.address(), "GET", "/v1/agent/connect/ca/leaf/api").json();
  EXPECT_TRUE(openssl_verifies(old_root, std::string(dc2.at("CertPEM").as_string()), "dc2-old-only"));
  ASSERT_EQ(run_command({MESHGATE_BINARY, "ca", "roots", "-http-addr", secondary.address()}, dir / "roots"), 0);
  EXPECT_NE(read_text(dir / "roots.out").find("kept until its leaves expire"), std::string::npos);
}

TEST_F(ca_e2e, keeps_private_keys_to_itself) {
  const auto roots = call(primary.address(), "GET", "/v1/connect/ca/roots");
  EXPECT_EQ(roots.body.find("PRIVATE KEY"), std::string::npos);
  const auto bundle = call(primary.address(), "GET", "/v1/connect/ca/roots?pem=true");
  EXPECT_EQ(split_pem(dir, bundle.body, "bundle").size(), 1u);
  EXPECT_EQ(bundle.body.find("PRIVATE KEY"), std::string::npos);
  std::size_t keys = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "dc1" / "ca")) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
    ++keys;
  }
  EXPECT_EQ(keys, 1u);
  EXPECT_EQ(primary.process().err().find("PRIVATE KEY"), std::string::npos);  // never logged
  const auto config = call(primary.address(), "GET", "/v1/connect/ca/configuration").json();
  EXPECT_EQ(config.at("Config").at("LeafCertTTL").as_string(), "72h");
  EXPECT_EQ(call(primary.address(), "PUT", "/v1/connect/ca/configuration", R"({"Config": {"LeafCertTTL": "10m"}})").status, 400);
}

}  // namespace
}  // namespace meshgate::test
