#pragma once
// The health checks the server runs: TTL, TCP and HTTP(S), each on its interval, with
// Consul's thresholds (SuccessBeforePassing, FailuresBeforeCritical) and its reaper
// (DeregisterCriticalServiceAfter). A result is written to the store only when it changes
// a check's status or output, so steady checks cost no write and wake no watcher.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <memory>
#include <string>

#include "catalog/check.h"
#include "server/catalog_state.h"
#include "store/record_store.h"

namespace meshgate::server {

class health_checker {
 public:
  health_checker(boost::asio::io_context& io, store::record_store& store);
  health_checker(const health_checker&) = delete;
  health_checker& operator=(const health_checker&) = delete;
  ~health_checker();

  /// Starts following the checks table: a runner per check, added and removed as checks are.
  void start();
  void stop();
  /// A TTL check heard from its service (check/pass, warn, fail; the API has written the
  /// status): its deadline restarts and its state machine learns the status.
  void ttl_touched(const std::string& check_id, catalog::check_status status);

 private:
  struct runner;
  boost::asio::awaitable<void> follow_checks();
  /// Each check as stored, with the ModifyIndex of the service it belongs to: a service
  /// registered again gets its checks probed again at once (a gateway restarted after a
  /// crash is not left critical for a whole interval).
  void reconcile(const std::map<std::string, std::pair<boost::json::value, std::uint64_t>>& checks);
  boost::asio::awaitable<void> run(std::shared_ptr<runner> r);
  boost::asio::awaitable<void> run_ttl(std::shared_ptr<runner> r);
  boost::asio::awaitable<std::pair<catalog::check_status, std::string>> probe(const runner& r);
  boost::asio::awaitable<void> report(runner& r, catalog::check_status status, std::string output);
  boost::asio::awaitable<void> reap();

  boost::asio::io_context& io_;
  store::record_store& store_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::map<std::string, std::shared_ptr<runner>> runners_;  // on strand_ only
  bool stopped_ = false;
};

}  // namespace meshgate::server
