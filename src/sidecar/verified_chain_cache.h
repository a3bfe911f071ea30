#pragma once
// Peer chains that already verified against one trust store, so the next handshake with
// the same peer skips X509_verify_cert (a sixth of a full handshake's CPU with OpenSSL 3.0).
// A sidecar meets the same few certificates over and over: an upstream instance keeps its
// leaf for days, and so does each caller.
//
// What makes a hit as good as a verification:
//   - the key is a SHA-256 over the DER of every certificate the peer sent, in order, so a
//     hit means the very same bytes;
//   - one cache per SSL_CTX, and an SSL_CTX has one trust store, one purpose (client or
//     server) and one set of verify parameters for its life; new roots make a new context
//     and so an empty cache;
//   - the validity window (latest notBefore, earliest notAfter of the verified chain) is
//     checked again at every hit;
//   - only the chain is cached: the peer still proves it holds the key (CertificateVerify,
//     checked by libssl), and the identity is checked against each connection's
//     expectation by the caller.
// Failures are never cached. The cache is bounded; when full it starts over.

#include <openssl/x509.h>

#include <array>
#include <cstddef>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace meshgate::sidecar {

class verified_chain_cache {
 public:
  using chain_key = std::array<unsigned char, 32>;

  explicit verified_chain_cache(std::size_t capacity = 4096) : capacity_(capacity) {}

  /// The key of the chain a peer sent (leaf first); nullopt if it cannot be encoded.
  static std::optional<chain_key> key_of(STACK_OF(X509) * chain);

  /// The leaf's SPIFFE ID if this chain verified before and is valid at `now`.
  std::optional<std::string> find(const chain_key& key, std::time_t now) const;
  /// Records a chain that verified: `verified` is the chain OpenSSL built (to the root).
  void remember(const chain_key& key, STACK_OF(X509) * verified, std::string identity);

  std::size_t size() const;

 private:
  struct key_hash {
    std::size_t operator()(const chain_key& k) const noexcept {
      std::size_t h;
      static_assert(sizeof(h) <= sizeof(chain_key));
      __builtin_memcpy(&h, k.data(), sizeof(h));  // already a cryptographic digest
      return h;
    }
  };
  struct entry {
    std::string identity;
    std::time_t valid_from;
    std::time_t valid_until;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<chain_key, entry, key_hash> entries_;
};

}  // namespace meshgate::sidecar
