#include "sidecar/verified_chain_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

#include "x509/certificate_info.h"
#include "x509/openssl_handles.h"

namespace meshgate::sidecar {

namespace {
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, x509::openssl_deleter<EVP_MD_CTX_free>>;

std::time_t to_time_t(std::chrono::system_clock::time_point t) { return std::chrono::system_clock::to_time_t(t); }
}  // namespace

std::optional<verified_chain_cache::chain_key> verified_chain_cache::key_of(STACK_OF(X509) * chain) {
  const int n = chain ? sk_X509_num(chain) : 0;
  if (n <= 0) return std::nullopt;
  md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
  for (int i = 0; i < n; ++i) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(sk_X509_value(chain, i), &der);
    if (length <= 0) return std::nullopt;
    // The length goes in too, so that no two different chains hash the same bytes.
    const auto size = static_cast<std::uint32_t>(length);
    const bool ok = EVP_DigestUpdate(md.get(), &size, sizeof size) == 1 &&
                    EVP_DigestUpdate(md.get(), der, static_cast<std::size_t>(length)) == 1;
    OPENSSL_free(der);
    if (!ok) return std::nullopt;
  }
  chain_key key;
  unsigned int written = 0;
  if (EVP_DigestFinal_ex(md.get(), key.data(), &written) != 1 || written != key.size()) return std::nullopt;
  return key;
}

std::optional<std::string> verified_chain_cache::find(const chain_key& key, std::time_t now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || now < it->second.valid_from || now > it->second.valid_until) return std::nullopt;
  return it->second.identity;
}

void verified_chain_cache::remember(const chain_key& key, STACK_OF(X509) * verified, std::string identity) {
  const int n = verified ? sk_X509_num(verified) : 0;
  if (n <= 0) return;
  entry e{std::move(identity), std::numeric_limits<std::time_t>::min(), std::numeric_limits<std::time_t>::max()};
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(verified, i);
    e.valid_from = std::max(e.valid_from, to_time_t(x509::not_before_of(cert)));
    e.valid_until = std::min(e.valid_until, to_time_t(x509::not_after_of(cert)));
  }
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_) entries_.clear();  // bounded; the working set refills it
  entries_.insert_or_assign(key, std::move(e));
}

std::size_t verified_chain_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace meshgate::sidecar
