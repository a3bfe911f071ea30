#pragma once
// The CA of one server: its identity (cluster id, trust domain), its roots and their
// rotation, the signer it uses (the root in the primary, an intermediate in a secondary),
// and the private keys, in files only the server's user can read.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ca/certificate_factory.h"
#include "store/record_store.h"

namespace meshgate::ca {

inline constexpr std::string_view ca_table = "ca";
inline const std::string roots_topic = "ca:roots";

struct ca_config {
  std::chrono::seconds leaf_ttl = std::chrono::hours(72);
  std::chrono::seconds intermediate_ttl = std::chrono::hours(24 * 365);
  std::chrono::seconds root_ttl = std::chrono::hours(24 * 365 * 10);
  bool operator==(const ca_config&) const = default;
};
inline constexpr std::chrono::seconds min_leaf_ttl = std::chrono::hours(1);
inline constexpr std::chrono::seconds max_leaf_ttl = std::chrono::hours(24 * 365);

/// The CA cannot answer yet (a secondary waiting for the primary); the API answers 503.
class ca_not_ready : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A certificate the CA issued, as the API returns it.
struct issued_cert {
  std::string serial;
  std::string cert_pem;         // the leaf, then what a peer needs to reach a root it trusts
  std::string private_key_pem;  // only for leaves the server made the key of
  std::string service;
  std::string service_uri;
  system_time valid_after;
  system_time valid_before;
  std::string root_id;          // the active root when it was issued
};

class ca_manager {
 public:
  using clock_fn = std::function<system_time()>;

  /// Keys live in `key_dir` (made 0700; each key file 0600). `clock` is the seam tests use.
  ca_manager(store::record_store& store, std::filesystem::path key_dir, std::string datacenter,
             clock_fn clock = [] { return std::chrono::system_clock::now(); });
  ca_manager(const ca_manager&) = delete;
  ca_manager& operator=(const ca_manager&) = delete;

  /// The primary's first start makes the cluster id, trust domain and root; later starts
  /// load them. Throws crypto_error or store errors.
  void initialize_primary();
  /// A secondary adopts the primary's identity and roots (as the primary's roots endpoint
  /// returned them), keeping what it has if nothing changed.
  void adopt_primary_roots(const std::string& cluster_id, const std::string& trust_domain,
                           const std::vector<std::pair<std::string, boost::json::object>>& roots);
  /// A secondary: a new key and a CSR for its intermediate (the key is kept until installed).
  std::string intermediate_csr();
  /// A secondary: installs the intermediate the primary signed for the last CSR.
  void install_intermediate(const std::string& cert_pem);
  /// When a secondary should renew its intermediate (past half its life), if it has one.
  std::optional<system_time> intermediate_renewal_time() const;

  bool ready() const;
  std::string cluster_id() const;
  std::string trust_domain() const;
  std::string active_root_id() const;
  ca_config config() const;

  /// Signs a leaf for a CSR that must carry exactly `service`'s identity (in this
  /// datacenter, namespace default). Throws signing_refused, ca_not_ready.
  issued_cert sign(X509_REQ* csr, const std::string& service) const;
  /// Makes a key and a leaf for `service` (for the agent's leaf endpoint).
  issued_cert make_leaf(const std::string& service) const;
  /// Primary: signs a secondary's intermediate CSR; returns the intermediate's PEM.
  std::string sign_intermediate(X509_REQ* csr) const;
  /// Primary: a new root, cross-signed by the old one, becomes active; the old one stays
  /// listed, inactive, until every leaf it can have signed has expired. Also applies
  /// `new_config` (TTLs). Returns the new root's ID.
  std::string rotate(const ca_config& new_config);
  /// Removes inactive roots whose leaves have all expired. Returns how many went.
  std::size_t prune_roots();

 private:
  struct signer;
  std::shared_ptr<const signer> current_signer() const;
  void load_signer() const;
  store::commit_result commit(store::transaction txn);
  std::string store_key(EVP_PKEY* key);
  x509::pkey_ptr load_key(const std::string& key_id) const;
  boost::json::object root_record(X509* cert, const std::string& name, std::vector<std::string> intermediates,
                                  bool active) const;

  store::record_store& store_;
  std::filesystem::path key_dir_;
  std::string datacenter_;
  clock_fn clock_;

  mutable std::mutex mutex_;
  mutable std::shared_ptr<const signer> signer_;
  x509::pkey_ptr pending_intermediate_key_;  // a secondary's key waiting for its certificate
};

/// Reads the CA's config ("LeafCertTTL": "72h", ...) from a configuration request's Config
/// object, on top of `current`. Throws catalog::invalid_input naming the field.
ca_config parse_ca_config(const boost::json::value& config, const ca_config& current);
boost::json::object to_json(const ca_config& config);

}  // namespace meshgate::ca
