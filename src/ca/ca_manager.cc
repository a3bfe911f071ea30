#include "ca/ca_manager.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <iomanip>
#include <set>
#include <sstream>

#include "catalog/json_reader.h"
#include "common/duration.h"
#include "common/logging.h"
#include "x509/pem.h"
#include "common/timestamp.h"

namespace meshgate::ca {

namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("ca");
  return logger;
}

const std::string meta_key = "meta";
std::string root_key(const std::string& id) { return "root/" + id; }
std::string signer_key(const std::string& dc) { return "signer/" + dc; }

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw x509::crypto_error("no randomness");
  std::string out;
  char two[3];
  for (auto c : b) {
    std::snprintf(two, sizeof two, "%02x", c);
    out += two;
  }
  return out;
}

std::string uuid() {
  auto h = random_hex(16);
  h[12] = '4';  // version 4
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

system_time from_rfc3339(std::string_view text) {
  std::tm tm{};
  std::istringstream in{std::string(text)};
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string text(const json::value& v, const char* field) { return std::string(v.at(field).as_string()); }

/// The highest ModifyIndex in the CA's table (a handful of records): its version.
std::uint64_t version_of(const store::state_view& v) {
  std::uint64_t highest = 0;
  for (const auto& [key, r] : v.table(ca_table)) highest = std::max(highest, r.modify_index);
  return highest;
}

}  // namespace

struct ca_manager::signer {
  std::uint64_t version = 0;  // the CA table's state it was loaded from
  x509::cert_ptr cert;
  x509::pkey_ptr key;
  std::vector<std::string> chain;  // PEMs after the leaf: intermediate (secondary), cross-signed roots
  std::string root_id;
  std::string cluster_id;
  std::string trust_domain;
  ca_config config;
  system_time intermediate_not_before{};
  system_time intermediate_not_after{};
  bool is_intermediate = false;
};

ca_config parse_ca_config(const json::value& config, const ca_config& current) {
  catalog::json_reader in(config, "Config");
  ca_config out = current;
  auto read = [&](const char* field, std::chrono::seconds& into, std::chrono::seconds low, std::chrono::seconds high) {
    const auto d = in.duration(field, std::chrono::duration_cast<std::chrono::milliseconds>(high));
    if (!d) return;
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (s < low || s > high) {
      throw catalog::invalid_input(in.at(field) + ": must be between " +
                                   format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(low)) + " and " +
                                   format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(high)));
    }
    into = s;
  };
  read("LeafCertTTL", out.leaf_ttl, min_leaf_ttl, max_leaf_ttl);
  read("IntermediateCertTTL", out.intermediate_ttl, std::chrono::hours(24), std::chrono::hours(24 * 365 * 5));
  read("RootCertTTL", out.root_ttl, std::chrono::hours(24 * 30), std::chrono::hours(24 * 365 * 20));
  in.done();
  if (out.leaf_ttl > out.intermediate_ttl) {
    throw catalog::invalid_input("Config.LeafCertTTL: must not be longer than IntermediateCertTTL");
  }
  return out;
}

json::object to_json(const ca_config& c) {
  auto d = [](std::chrono::seconds s) { return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(s)); };
  return {{"LeafCertTTL", d(c.leaf_ttl)}, {"IntermediateCertTTL", d(c.intermediate_ttl)}, {"RootCertTTL", d(c.root_ttl)}};
}

ca_manager::ca_manager(store::record_store& store, std::filesystem::path key_dir, std::string datacenter,
                       clock_fn clock)
    : store_(store), key_dir_(std::move(key_dir)), datacenter_(std::move(datacenter)), clock_(std::move(clock)) {
  std::error_code ec;
  std::filesystem::create_directories(key_dir_, ec);
  if (ec) throw x509::crypto_error(key_dir_.string() + ": cannot create the key directory: " + ec.message());
  ::chmod(key_dir_.c_str(), 0700);
  load_signer();
}

store::commit_result ca_manager::commit(store::transaction txn) {
  std::promise<store::commit_result> done;
  store_.commit(std::move(txn), [&](store::commit_result r) { done.set_value(std::move(r)); });
  auto result = done.get_future().get();
  if (!result.error.empty()) throw x509::crypto_error("storing the CA's state: " + result.error);
  return result;
}

std::string ca_manager::store_key(EVP_PKEY* key) {
  // Written to its own file, 0600 from the start, synced before any record names it: a
  // crash never leaves a record pointing at a key that is not on disk.
  const auto id = random_hex(16);
  const auto path = key_dir_ / (id + ".key");
  const auto pem = x509::private_key_to_pem(key);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw x509::crypto_error(path.string() + ": cannot create the key file");
  const bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw x509::crypto_error(path.string() + ": cannot write the key file");
  if (const int dir = ::open(key_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return id;
}

x509::pkey_ptr ca_manager::load_key(const std::string& key_id) const {
  const auto path = key_dir_ / (key_id + ".key");
  std::ifstream in(path);
  if (!in) throw x509::crypto_error(path.string() + ": the CA key is missing");
  std::stringstream pem;
  pem << in.rdbuf();
  return x509::private_key_from_pem(pem.str());
}

json::object ca_manager::root_record(X509* cert, const std::string& name, std::vector<std::string> intermediates,
                                     bool active) const {
  json::array inter;
  for (auto& p : intermediates) inter.emplace_back(p);
  std::string skid;
  if (const auto* id = X509_get0_subject_key_id(cert)) {
    char two[4];
    for (int i = 0; i < ASN1_STRING_length(id); ++i) {
      std::snprintf(two, sizeof two, i == 0 ? "%02x" : ":%02x", ASN1_STRING_get0_data(id)[i]);
      skid += two;
    }
  }
  return {{"ID", fingerprint_of(cert)},
          {"Name", name},
          {"SerialNumber", serial_of(cert)},
          {"SigningKeyID", skid},
          {"NotBefore", rfc3339(not_before_of(cert))},
          {"NotAfter", rfc3339(not_after_of(cert))},
          {"RootCert", x509::to_pem(cert)},
          {"IntermediateCerts", std::move(inter)},
          {"Active", active},
          {"PrivateKeyType", "ec"},
          {"PrivateKeyBits", 256}};
}

void ca_manager::initialize_primary() {
  bool have = false;
  store_.read([&](const store::state_view& v) { have = v.get(ca_table, meta_key) != nullptr; });
  if (have) {
    load_signer();
    if (ready()) return;
  }
  const auto cluster = uuid();
  const auto td = cluster + ".consul";
  const ca_config config;
  auto key = make_key();
  // A distinct subject per root: chains are built by name first, and two roots of one name
  // would only be told apart by their key identifiers.
  auto root = make_root(key.get(), td, "meshgate CA " + random_hex(4), config.root_ttl, clock_());
  const auto key_id = store_key(key.get());
  const auto id = fingerprint_of(root.get());
  auto meta = to_json(config);
  meta["ClusterID"] = cluster;
  meta["TrustDomain"] = td;
  auto record = root_record(root.get(), "meshgate CA Primary Cert", {}, true);
  record["KeyID"] = key_id;
  store::transaction txn;
  txn.ops.push_back({std::string(ca_table), meta_key, json::value(meta), 0});  // only if nobody made one
  txn.ops.push_back({std::string(ca_table), root_key(id), json::value(record), std::nullopt});
  txn.ops.push_back({std::string(ca_table), signer_key(datacenter_),
                     json::object{{"RootID", id}, {"Cert", x509::to_pem(root.get())}, {"Chain", json::array{}}, {"KeyID", key_id}},
                     std::nullopt});
  txn.topics = {roots_topic};
  if (!commit(std::move(txn)).applied) throw x509::crypto_error("another CA was initialised at the same time");
  log()->info("made the mesh CA: cluster id {}, trust domain {}, root {}", cluster, td, id);
  load_signer();
}

void ca_manager::load_signer() const {
  auto s = std::make_shared<signer>();
  bool found = false;
  store_.read([&](const store::state_view& v) {
    const auto* meta = v.get(ca_table, meta_key);
    const auto* sig = v.get(ca_table, signer_key(datacenter_));
    if (!meta || !sig) return;
    s->cluster_id = text(meta->value, "ClusterID");
    s->trust_domain = text(meta->value, "TrustDomain");
    s->config = parse_ca_config(json::object{{"LeafCertTTL", meta->value.at("LeafCertTTL")},
                                             {"IntermediateCertTTL", meta->value.at("IntermediateCertTTL")},
                                             {"RootCertTTL", meta->value.at("RootCertTTL")}},
                                ca_config{});
    s->root_id = text(sig->value, "RootID");
    s->cert = x509::certificate_from_pem(text(sig->value, "Cert"));
    s->key = load_key(text(sig->value, "KeyID"));
    for (const auto& c : sig->value.at("Chain").as_array()) s->chain.emplace_back(c.as_string());
    // Peers that trust only an older root reach it through the cross-signed certificates
    // the active root carries.
    if (const auto* root = v.get(ca_table, root_key(s->root_id))) {
      for (const auto& c : root->value.at("IntermediateCerts").as_array()) s->chain.emplace_back(c.as_string());
    }
    s->is_intermediate = !sig->value.at("Chain").as_array().empty() || X509_check_issued(s->cert.get(), s->cert.get()) != X509_V_OK;
    s->intermediate_not_before = not_before_of(s->cert.get());
    s->intermediate_not_after = not_after_of(s->cert.get());
    s->version = version_of(v);
    found = true;
  });
  std::lock_guard lock(mutex_);
  if (found) signer_ = std::move(s);
}

std::shared_ptr<const ca_manager::signer> ca_manager::current_signer() const {
  // The store is the truth: blocking queries wake as soon as it changes, before whoever
  // changed it has returned, so a reader checks that what it holds is still current.
  std::uint64_t version = 0;
  store_.read([&](const store::state_view& v) { version = version_of(v); });
  {
    std::lock_guard lock(mutex_);
    if (signer_ && signer_->version == version) return signer_;
  }
  load_signer();
  std::lock_guard lock(mutex_);
  if (!signer_) throw ca_not_ready("the CA is not ready: this datacenter has no signing certificate yet (a secondary waits for the primary)");
  return signer_;
}

bool ca_manager::ready() const {
  try {
    current_signer();
    return true;
  } catch (const ca_not_ready&) {
    return false;
  }
}
std::string ca_manager::cluster_id() const { return current_signer()->cluster_id; }
std::string ca_manager::trust_domain() const { return current_signer()->trust_domain; }
std::string ca_manager::active_root_id() const { return current_signer()->root_id; }
ca_config ca_manager::config() const { return current_signer()->config; }

issued_cert ca_manager::sign(X509_REQ* csr, const std::string& service) const {
  const auto s = current_signer();
  const auto identity = x509::service_identity(s->trust_domain, "default", datacenter_, service);
  const auto leaf = sign_leaf({s->cert.get(), s->key.get()}, csr, {identity, service, s->config.leaf_ttl}, clock_());
  issued_cert out;
  out.serial = leaf.serial;
  out.cert_pem = leaf.pem;
  for (const auto& c : s->chain) out.cert_pem += c;
  out.service = service;
  out.service_uri = identity.to_string();
  out.valid_after = leaf.not_before;
  out.valid_before = leaf.not_after;
  out.root_id = s->root_id;
  return out;
}

issued_cert ca_manager::make_leaf(const std::string& service) const {
  const auto trust_domain_now = trust_domain();
  auto key = make_key();
  const auto identity = x509::service_identity(trust_domain_now, "default", datacenter_, service);
  auto csr = make_csr(key.get(), service, identity.to_string(), service, false);
  auto out = sign(csr.get(), service);
  out.private_key_pem = x509::private_key_to_pem(key.get());
  return out;
}

std::string ca_manager::sign_intermediate(X509_REQ* csr) const {
  const auto s = current_signer();
  if (s->is_intermediate) throw signing_refused("only the primary datacenter signs intermediates");
  auto cert = ca::sign_intermediate({s->cert.get(), s->key.get()}, csr, s->trust_domain, s->config.intermediate_ttl, clock_());
  return x509::to_pem(cert.get());
}

std::string ca_manager::rotate(const ca_config& new_config) {
  const auto old = current_signer();
  if (old->is_intermediate) throw signing_refused("roots are rotated in the primary datacenter");
  const auto now = clock_();
  auto key = make_key();
  auto root = make_root(key.get(), old->trust_domain, "meshgate CA " + random_hex(4), new_config.root_ttl, now);
  auto cross = cross_sign({old->cert.get(), old->key.get()}, root.get(), now);
  const auto key_id = store_key(key.get());
  const auto id = fingerprint_of(root.get());
  auto record = root_record(root.get(), "meshgate CA Primary Cert", {x509::to_pem(cross.get())}, true);
  record["KeyID"] = key_id;
  store::transaction txn;
  store_.read([&](const store::state_view& v) {
    auto meta = v.get(ca_table, meta_key)->value.as_object();
    for (auto& [k, val] : to_json(new_config)) meta[k] = val;
    txn.ops.push_back({std::string(ca_table), meta_key, json::value(meta), std::nullopt});
    // Every active root steps down; it stays listed until the last leaf it (or an
    // intermediate under it) may have signed has expired.
    const auto& table = v.table(ca_table);
    for (auto it = table.lower_bound("root/"); it != table.end() && it->first.starts_with("root/"); ++it) {
      if (!it->second.value.at("Active").as_bool()) continue;
      auto stepped_down = it->second.value.as_object();
      stepped_down["Active"] = false;
      stepped_down["RemoveAfter"] = rfc3339(now + std::max(old->config.leaf_ttl, new_config.leaf_ttl) + backdate);
      txn.ops.push_back({std::string(ca_table), it->first, json::value(stepped_down), it->second.modify_index});
    }
  });
  txn.ops.push_back({std::string(ca_table), root_key(id), json::value(record), 0});
  txn.ops.push_back({std::string(ca_table), signer_key(datacenter_),
                     json::object{{"RootID", id}, {"Cert", x509::to_pem(root.get())}, {"Chain", json::array{}}, {"KeyID", key_id}},
                     std::nullopt});
  txn.topics = {roots_topic};
  if (!commit(std::move(txn)).applied) throw x509::crypto_error("the roots changed during the rotation; try again");
  log()->info("rotated the root CA: {} replaces {} (cross-signed by it)", id, old->root_id);
  load_signer();
  return id;
}

std::size_t ca_manager::prune_roots() {
  const auto now = clock_();
  store::transaction txn;
  store_.read([&](const store::state_view& v) {
    const auto& table = v.table(ca_table);
    for (auto it = table.lower_bound("root/"); it != table.end() && it->first.starts_with("root/"); ++it) {
      const auto& r = it->second.value.as_object();
      const auto* after = r.if_contains("RemoveAfter");
      if (r.at("Active").as_bool() || after == nullptr || from_rfc3339(after->as_string()) > now) continue;
      txn.ops.push_back({std::string(ca_table), it->first, std::nullopt, it->second.modify_index});
    }
  });
  if (txn.ops.empty()) return 0;
  const auto n = txn.ops.size();
  txn.topics = {roots_topic};
  commit(std::move(txn));
  log()->info("removed {} inactive roots: every leaf they signed has expired", n);
  return n;
}

void ca_manager::adopt_primary_roots(const std::string& cluster_id, const std::string& trust_domain,
                                     const std::vector<std::pair<std::string, json::object>>& roots) {
  store::transaction txn;
  bool changed = false;
  store_.read([&](const store::state_view& v) {
    const auto* meta = v.get(ca_table, meta_key);
    auto m = meta ? meta->value.as_object() : to_json(ca_config{});
    if (!meta || m.at("ClusterID").as_string() != cluster_id) {
      m["ClusterID"] = cluster_id;
      m["TrustDomain"] = trust_domain;
      txn.ops.push_back({std::string(ca_table), meta_key, json::value(m), std::nullopt});
      changed = true;
    }
    std::set<std::string> wanted;
    for (const auto& [id, record] : roots) {
      wanted.insert(root_key(id));
      const auto* have = v.get(ca_table, root_key(id));
      if (have && json::serialize(have->value) == json::serialize(record)) continue;
      txn.ops.push_back({std::string(ca_table), root_key(id), json::value(record), std::nullopt});
      changed = true;
    }
    const auto& table = v.table(ca_table);
    for (auto it = table.lower_bound("root/"); it != table.end() && it->first.starts_with("root/"); ++it) {
      if (!wanted.contains(it->first)) {
        txn.ops.push_back({std::string(ca_table), it->first, std::nullopt, std::nullopt});
        changed = true;
      }
    }
  });
  if (!changed) return;
  txn.topics = {roots_topic};
  commit(std::move(txn));
  load_signer();
}

std::string ca_manager::intermediate_csr() {
  std::string td;
  store_.read([&](const store::state_view& v) {
    if (const auto* meta = v.get(ca_table, meta_key)) td = text(meta->value, "TrustDomain");
  });
  if (td.empty()) throw ca_not_ready("the primary's trust domain is not known yet");
  auto key = make_key();
  auto csr = make_csr(key.get(), "meshgate CA " + datacenter_ + " Intermediate",
                      x509::trust_domain_identity(td).to_string(), "", true);
  std::lock_guard lock(mutex_);
  pending_intermediate_key_ = std::move(key);
  return x509::to_pem(csr.get());
}

void ca_manager::install_intermediate(const std::string& cert_pem) {
  x509::pkey_ptr key;
  {
    std::lock_guard lock(mutex_);
    key = std::move(pending_intermediate_key_);
  }
  if (!key) throw x509::crypto_error("no intermediate key is waiting for a certificate");
  auto cert = x509::certificate_from_pem(cert_pem);
  x509::pkey_ptr cert_key(X509_get_pubkey(cert.get()));
  if (EVP_PKEY_eq(cert_key.get(), key.get()) != 1) throw x509::crypto_error("the intermediate is not for our key");
  // Which root signed it: the active one of what the primary told us.
  std::string root_id;
  store_.read([&](const store::state_view& v) {
    const auto& table = v.table(ca_table);
    for (auto it = table.lower_bound("root/"); it != table.end() && it->first.starts_with("root/"); ++it) {
      if (it->second.value.at("Active").as_bool()) root_id = text(it->second.value, "ID");
    }
  });
  const auto key_id = store_key(key.get());
  store::transaction txn;
  txn.ops.push_back({std::string(ca_table), signer_key(datacenter_),
                     json::object{{"RootID", root_id}, {"Cert", cert_pem}, {"Chain", json::array{json::string(cert_pem)}}, {"KeyID", key_id}},
                     std::nullopt});
  txn.topics = {roots_topic};
  commit(std::move(txn));
  log()->info("installed the intermediate signed by root {}, valid until {}", root_id, rfc3339(not_after_of(cert.get())));
  load_signer();
}

std::optional<system_time> ca_manager::intermediate_renewal_time() const {
  if (!ready()) return std::nullopt;
  const auto s = current_signer();
  if (!s->is_intermediate) return std::nullopt;
  return s->intermediate_not_before + (s->intermediate_not_after - s->intermediate_not_before) / 2;
}

}  // namespace meshgate::ca
