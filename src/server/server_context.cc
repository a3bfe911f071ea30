#include "server/server_context.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace meshgate::server {

namespace asio = boost::asio;

void require(const server_context& ctx, const api_request& request, const permission& p) {
  if (ctx.acl.allowed(request.token(), p)) return;
  throw api_error(403, "Permission denied: token lacks '" + std::string(p.resource) + ":" +
                           (p.level == access::write ? "write" : "read") + "'" +
                           (p.segment.empty() ? "" : " on \"" + p.segment + "\""));
}

void require_local_datacenter(const server_context& ctx, const api_request& request) {
  const auto dc = request.get("dc");
  if (!dc.empty() && dc != ctx.node.datacenter) throw api_error(500, "No path to datacenter");
}

asio::awaitable<store::commit_result> commit(store::record_store& s, store::transaction txn) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(store::commit_result)>(
      [&s](auto handler, store::transaction t) {
        // The store calls back on its own thread; the handler resumes on its executor,
        // which the work guard keeps running meanwhile.
        using handler_type = decltype(handler);
        struct pending {
          handler_type handler;
          asio::executor_work_guard<asio::associated_executor_t<handler_type>> work;
        };
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        auto state = std::make_shared<pending>(pending{std::move(handler), std::move(work)});
        s.commit(std::move(t), [state](store::commit_result r) {
          auto executor = state->work.get_executor();
          asio::post(executor, [state, r = std::move(r)]() mutable {
            std::move(state->handler)(std::move(r));
            state->work.reset();
          });
        });
      },
      asio::use_awaitable, std::move(txn));
}

}  // namespace meshgate::server
