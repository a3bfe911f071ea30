#include "e2e/sidecar_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/json.hpp>
#include <regex>
#include <stdexcept>

#include "support/sockets.h"
#include "x509/certificate_info.h"
#include "x509/pem.h"

namespace meshgate::test {

namespace json = boost::json;

std::uint16_t unused_port() {
  std::uint16_t port = 0;
  const auto fd = listen_tcp(port);
  if (!fd) throw std::runtime_error("cannot bind a port on 127.0.0.1");
  return port;  // closed here; free again for the process that will bind it
}

proxy_process::proxy_process(const temp_dir& dir, const std::string& server_address, const std::string& service,
                             std::vector<std::string> flags) {
  static std::atomic<int> started{0};
  const auto tag = "proxy-" + service + "-" + std::to_string(started++);
  const auto address_file = dir / (tag + ".admin");
  std::vector<std::string> argv = {MESHGATE_BINARY, "proxy", "-sidecar-for", service, "-http-addr",
                                   server_address, "-admin-addr", "127.0.0.1:0", "-admin-addr-file",
                                   address_file.string(), "-log-level", "debug"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<child_process>(argv, dir / tag);
  admin_ = wait_until_ready(*process_, address_file, "the sidecar");
}

std::string wait_until_ready(child_process& process, const std::filesystem::path& admin_file, const std::string& what,
                             std::chrono::milliseconds timeout) {
  std::string admin;
  const bool ready = eventually(
      [&] {
        if (!process.running()) return true;
        admin = read_text(admin_file);
        if (admin.empty()) return false;
        if (admin.back() == '\n') admin.pop_back();
        const auto r = http_get(admin, "/ready");
        return r && r->status == 200;
      },
      timeout);
  if (!ready || !process.running()) throw std::runtime_error(what + " did not become ready: " + process.err());
  return admin;
}

json::value proxy_process::admin_json(const std::string& path) const {
  const auto r = http_get(admin_, path);
  if (!r || r->status != 200) throw std::runtime_error("admin " + path + " did not answer 200");
  return json::parse(r->body);
}

std::uint64_t proxy_process::counter(const std::string& listener, const std::string& name) const {
  const auto stats = admin_json("/stats");
  const auto& o = listener == "inbound" ? stats.at("inbound") : stats.at("upstreams").at(listener);
  const auto* v = o.as_object().if_contains(name);
  return v ? v->to_number<std::uint64_t>() : 0;
}

std::uint64_t proxy_process::closed(const std::string& listener, const std::string& reason) const {
  const auto stats = admin_json("/stats");
  const auto& o = listener == "inbound" ? stats.at("inbound") : stats.at("upstreams").at(listener);
  const auto* v = o.at("closed").as_object().if_contains(reason);
  return v ? v->to_number<std::uint64_t>() : 0;
}

std::string proxy_process::serial() const {
  const auto c = admin_json("/certificates");
  const auto* s = c.as_object().if_contains("serial");
  return s ? std::string(s->as_string()) : std::string();
}

http_file_server::http_file_server(const temp_dir& dir, const std::filesystem::path& root) {
  static std::atomic<int> started{0};
  const auto log = dir / ("http-server-" + std::to_string(started++));
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{"python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                               root.string()},
      log);
  const std::regex serving(R"(port (\d+))");
  if (!eventually([&] {
        std::smatch m;
        const auto out = read_text(log.string() + ".out");
        if (!std::regex_search(out, m, serving)) return false;
        port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
        return true;
      })) {
    throw std::runtime_error("python3 -m http.server did not start: " + read_text(log.string() + ".err"));
  }
}

std::string run_s_client(const temp_dir& dir, const s_client_call& call) {
  static std::atomic<int> calls{0};
  const auto tag = "s_client-" + std::to_string(calls++);
  write_text(dir / (tag + ".in"), call.request);
  std::vector<std::string> argv = {"openssl", "s_client", "-connect", call.address, "-servername",
                                   call.server_name, "-CAfile", call.roots_file.string(), "-ign_eof",
                                   "-showcerts"};
  if (!call.cert_file.empty()) {
    argv.insert(argv.end(), {"-cert", call.cert_file.string(), "-key", call.key_file.string()});
  }
  child_process client(argv, dir / tag, dir / (tag + ".in"));
  if (!call.until_seen.empty()) {
    // Stopped by its PID once the answer is in (the destructor kills it).
    if (!eventually([&] { return client.out().find(call.until_seen) != std::string::npos; }, 20s)) return {};
    return client.out();
  }
  if (!client.wait_for_exit(20s)) return {};
  return client.out();
}

std::string first_certificate_serial(const std::string& text) {
  const auto begin = text.find("-----BEGIN CERTIFICATE-----");
  const std::string end_marker = "-----END CERTIFICATE-----";
  const auto end = text.find(end_marker, begin);
  if (begin == std::string::npos || end == std::string::npos) return {};
  const auto cert = x509::certificate_from_pem(text.substr(begin, end + end_marker.size() - begin));
  return x509::serial_of(cert.get());
}

}  // namespace meshgate::test
