#include "e2e/gateway_fixture.h"

#include <signal.h>

#include <boost/json.hpp>
#include <mutex>
#include <regex>
#include <stdexcept>

#include "support/sockets.h"

namespace meshgate::test {

namespace json = boost::json;

const test_pki& test_pki::get() {
  static temp_dir dir;
  static test_pki pki = [] {
    test_pki p;
    p.dir = dir.path();
    p.ca = dir / "ca.pem";
    auto run = [&](std::vector<std::string> argv, const std::string& tag) {
      if (run_command(std::move(argv), dir / tag) != 0) {
        throw std::runtime_error("openssl failed: " + read_text(dir / (tag + ".err")));
      }
    };
    run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", (dir / "ca.key").string(), "-out", p.ca.string(), "-days", "2",
         "-subj", "/CN=meshgate test CA"},
        "ca");
    for (const auto& [name, san] :
         std::vector<std::pair<std::string, std::string>>{
             {api_sni, "DNS:" + api_sni},
             {web_sni, "DNS:" + web_sni},
             {dc2_name, "DNS:*.default.dc2.internal.example.consul"}}) {
      const auto base = dir / name;
      run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", base.string() + ".key", "-out", base.string() + ".csr", "-subj",
           "/CN=" + name},
          name + "-csr");
      write_text(base.string() + ".ext", "subjectAltName=" + san + "\n");
      run({"openssl", "x509", "-req", "-in", base.string() + ".csr", "-CA", p.ca.string(),
           "-CAkey", (dir / "ca.key").string(), "-CAcreateserial", "-days", "2", "-extfile",
           base.string() + ".ext", "-out", base.string() + ".pem"},
          name + "-sign");
    }
    return p;
  }();
  return pki;
}

std::filesystem::path test_pki::cert(const std::string& name) const { return dir / (name + ".pem"); }
std::filesystem::path test_pki::key(const std::string& name) const { return dir / (name + ".key"); }

tls_backend::tls_backend(const temp_dir& dir, const std::string& name) {
  const auto& pki = test_pki::get();
  const auto log = dir / ("s_server-" + name);
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                               pki.cert(name).string(), "-key", pki.key(name).string(), "-www",
                               "-naccept", "1000"},
      log);
  const std::regex accept_line(R"(ACCEPT 127\.0\.0\.1:(\d+))");
  if (!eventually([&] {
        std::smatch m;
        const auto out = read_text(log.string() + ".out");
        if (!std::regex_search(out, m, accept_line)) return false;
        port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
        return true;
      })) {
    throw std::runtime_error("openssl s_server did not start: " + read_text(log.string() + ".err"));
  }
}

gateway_process::gateway_process(const temp_dir& dir, const std::string& routes_json,
                                  std::vector<std::string> flags)
    : routes_file_(dir / "routes.json") {
  write_text(routes_file_, routes_json);
  const auto address_file = dir / "admin.addr";
  std::vector<std::string> argv = {MESHGATE_BINARY, "gateway", "-routes-file",
                                   routes_file_.string(), "-admin-addr", "127.0.0.1:0",
                                   "-admin-addr-file", address_file.string()};
  const bool workers_given =
      std::find(flags.begin(), flags.end(), "-workers") != flags.end();
  if (!workers_given) flags.insert(flags.end(), {"-workers", "1"});
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<child_process>(argv, dir / "gateway");
  if (!eventually([&] {
        if (!process_->running()) return true;
        admin_ = read_text(address_file);
        if (admin_.empty()) return false;
        admin_.pop_back();  // the newline
        const auto ready = http_get(admin_, "/ready");
        return ready && ready->status == 200;
      }) ||
      !process_->running()) {
    throw std::runtime_error("the gateway did not become ready: " + process_->err());
  }
}

std::string gateway_process::listener(const std::string& name) const {
  const auto reply = http_get(admin_, "/listeners");
  if (!reply) throw std::runtime_error("admin endpoint unreachable");
  const auto listeners = json::parse(reply->body);
  for (const auto& l : listeners.as_array()) {
    if (l.at("name").as_string() == name) return std::string(l.at("address").as_string());
  }
  throw std::runtime_error("no listener " + name);
}

json::value gateway_process::stats() const {
  const auto reply = http_get(admin_, "/stats");
  if (!reply || reply->status != 200) throw std::runtime_error("admin /stats unreachable");
  return json::parse(reply->body);
}

std::uint64_t gateway_process::closed(const std::string& reason) const {
  return stats().at("connections").at("closed").at(reason).to_number<std::uint64_t>();
}

std::int64_t gateway_process::active() const {
  return stats().at("connections").at("active").to_number<std::int64_t>();
}

std::uint64_t gateway_process::route_stat(const std::string& route, const std::string& field) const {
  const auto all = stats();
  for (const auto& r : all.at("routes").as_array()) {
    if (r.at("route").as_string() == route) return r.at(field).to_number<std::uint64_t>();
  }
  return 0;
}

void gateway_process::reload(const std::string& routes_json) {
  const auto before = stats().at("config");
  const auto attempts = before.at("reloads_ok").to_number<std::uint64_t>() +
                        before.at("reloads_failed").to_number<std::uint64_t>();
  write_text(routes_file_, routes_json);
  process_->signal(SIGHUP);
  if (!eventually([&] {
        const auto now = stats().at("config");
        return now.at("reloads_ok").to_number<std::uint64_t>() +
                   now.at("reloads_failed").to_number<std::uint64_t>() >
               attempts;
      })) {
    throw std::runtime_error("the reload was not counted");
  }
}

std::string routes_json(const std::vector<std::pair<std::string, std::string>>& routes,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& clusters,
                        int connect_timeout_ms) {
  json::array r;
  for (const auto& [sni, cluster] : routes) r.push_back({{"sni", sni}, {"cluster", cluster}});
  json::object c;
  for (const auto& [name, endpoints] : clusters) {
    json::array e;
    for (const auto& ep : endpoints) e.push_back(json::string(ep));
    c[name] = {{"endpoints", e}, {"connect_timeout_ms", connect_timeout_ms}};
  }
  json::object listener;
  listener["name"] = "wan";
  listener["address"] = "127.0.0.1";
  listener["port"] = 0;
  json::object document;
  document["listeners"] = json::array{listener};
  document["routes"] = std::move(r);
  document["clusters"] = std::move(c);
  return json::serialize(document);
}

int curl_through(const temp_dir& dir, const std::string& tag, const std::string& name,
                 const std::string& gateway_address) {
  const auto port = gateway_address.substr(gateway_address.rfind(':') + 1);
  return run_command({"curl", "--silent", "--show-error", "--max-time", "20", "--cacert",
                      test_pki::get().ca.string(), "--resolve",
                      name + ":" + port + ":127.0.0.1", "https://" + name + ":" + port + "/"},
                     dir / tag, std::chrono::seconds(30));
}

}  // namespace meshgate::test
