#include "sidecar/file_source.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "catalog/json_reader.h"
#include "x509/pem.h"

namespace meshgate::sidecar {

namespace json = boost::json;

namespace {

std::string read_file(const std::filesystem::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto out = std::move(text).str();
  if (out.size() > limit) throw std::runtime_error(path.string() + ": larger than " + std::to_string(limit) + " bytes");
  return out;
}

}  // namespace

file_config load_file_config(const std::filesystem::path& path) {
  try {
    const auto document = catalog::parse_body(read_file(path, 4 << 20));
    if (!document.is_object()) throw catalog::invalid_input("must be a JSON object");
    catalog::json_reader in(document, "");
    const auto base = path.parent_path();
    auto resolve = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? std::filesystem::path(p) : base / p; };

    auto certificate = in.object("certificate");
    if (!certificate) throw catalog::invalid_input("certificate: required (cert_file, key_file, roots_file)");
    std::string files[3];
    const char* names[3] = {"cert_file", "key_file", "roots_file"};
    for (int i = 0; i < 3; ++i) {
      files[i] = certificate->string(names[i]);
      if (files[i].empty()) throw catalog::invalid_input(certificate->at(names[i]) + ": required");
    }
    certificate->done();
    const auto admit_text = in.string("admit", "service");
    inbound_peers admit = inbound_peers::service_identity;
    if (admit_text == "trust-domain") {
      admit = inbound_peers::trust_domain;
    } else if (admit_text != "service") {
      throw catalog::invalid_input("admit: \"" + admit_text + "\" must be \"service\" or \"trust-domain\"");
    }
    const auto* proxy = in.find("proxy");
    if (proxy == nullptr || !proxy->is_object()) throw catalog::invalid_input("proxy: required (the proxy configuration)");
    in.done();

    const auto roots_pem = read_file(resolve(files[2]), 1 << 20);
    std::vector<std::string> roots;
    for (const auto& c : x509::certificates_from_pem(roots_pem)) roots.push_back(x509::to_pem(c.get()));
    json::object snapshot_json = proxy->as_object();
    if (!snapshot_json.contains("roots")) {
      json::array a;
      for (const auto& r : roots) a.emplace_back(r);
      snapshot_json["roots"] = std::move(a);
    }
    if (!snapshot_json.contains("kind")) snapshot_json["kind"] = "connect-proxy";
    file_config out;
    try {
      out.snapshot = proxycfg::parse_proxy_snapshot(json::value(std::move(snapshot_json)), proxycfg::field_check::strict);
    } catch (const catalog::invalid_input& e) {
      throw catalog::invalid_input(std::string("proxy.") + e.what());
    }
    if (!out.snapshot.sidecar) throw catalog::invalid_input("proxy.sidecar: required");
    certificate_chain leaf{read_file(resolve(files[0]), 1 << 20), read_file(resolve(files[1]), 1 << 20)};
    out.tls = std::make_shared<const tls_context>(leaf, out.snapshot.roots, out.snapshot.trust_domain, admit);
    return out;
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

}  // namespace meshgate::sidecar
