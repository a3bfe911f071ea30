#include "server/api.h"

#include <boost/json.hpp>

#include "catalog/json_reader.h"

namespace meshgate::server {

namespace json = boost::json;

std::string api_request::get(const std::string& name, std::string fallback) const {
  const auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::vector<std::string> api_request::all(const std::string& name) const {
  std::vector<std::string> out;
  for (auto [it, end] = query.equal_range(name); it != end; ++it) out.push_back(it->second);
  return out;
}

std::string api_request::token() const {
  if (auto it = headers.find("x-consul-token"); it != headers.end()) return it->second;
  if (auto it = headers.find("authorization"); it != headers.end() && it->second.starts_with("Bearer ")) {
    return it->second.substr(7);
  }
  return get("token");
}

api_response api_response::json(const json::value& v, unsigned status) {
  return {status, json::serialize(v), "application/json", {}};
}

api_response api_response::error(unsigned status, std::string message) {
  return {status, json::serialize(json::object{{"Error", std::move(message)}}) + "\n", "application/json", {}};
}

void router::add(std::string method, std::string path, api_handler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

boost::asio::awaitable<api_response> router::dispatch(api_request& request) const {
  if (forwarder_) {
    std::optional<api_response> elsewhere;
    try {
      elsewhere = co_await forwarder_(request);
    } catch (const catalog::invalid_input& e) {
      elsewhere = api_response::error(400, e.what());
    } catch (const api_error& e) {
      elsewhere = api_response::error(e.status(), e.what());
    }
    if (elsewhere) co_return std::move(*elsewhere);
  }
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    const bool rest = r.path.ends_with("/*");
    const bool prefix = rest || r.path.ends_with('/');
    const std::string_view base = rest ? std::string_view(r.path).substr(0, r.path.size() - 1) : r.path;
    std::string param;
    if (prefix) {
      if (!request.path.starts_with(base) || request.path.size() == base.size()) continue;
      param = request.path.substr(base.size());
      if (!rest && param.find('/') != std::string::npos) continue;
    } else if (request.path != r.path) {
      continue;
    }
    if (r.method != request.method) {
      allowed.push_back(r.method);
      continue;
    }
    request.param = std::move(param);
    try {
      co_return co_await r.handler(request);
    } catch (const catalog::invalid_input& e) {
      co_return api_response::error(400, e.what());
    } catch (const api_error& e) {
      co_return api_response::error(e.status(), e.what());
    }
  }
  if (!allowed.empty()) {
    std::string list;
    for (const auto& m : allowed) list += (list.empty() ? "" : ", ") + m;
    auto response = api_response::error(405, "method " + request.method + " not allowed on " + request.path +
                                                 " (allowed: " + list + ")");
    response.headers.emplace_back("Allow", list);
    co_return response;
  }
  co_return api_response::error(404, "no such endpoint: " + request.path);
}

}  // namespace meshgate::server
