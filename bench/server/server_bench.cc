// meshgate-server-bench: load for the control plane's benchmark (bench/server_run.sh).
//
//   registrations: --clients keep-alive connections each registering services with new IDs
//     as fast as the server acknowledges them (every acknowledgement is durable: the server
//     answers after its SQLite commit). Reports registrations per second.
//   fanout: --watchers connections each blocked on the same service with ?index; once the
//     server counts them all as blocked, one registration changes the service and the time
//     until the last watcher has its answer is measured. With --server-pid, the server's
//     resident memory per blocked watcher too.
// Single-threaded epoll; every phase has a deadline.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>

#include "ca/certificate_factory.h"
#include "x509/pem.h"
#include "x509/spiffe_id.h"
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

sockaddr_in parse(const std::string& address) {
  sockaddr_in sa{};
  const auto colon = address.rfind(':');
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1 || (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "meshgate-server-bench: %s: loopback IPv4:PORT only\n", address.c_str());
    std::exit(2);
  }
  return sa;
}

int connect_blocking(const sockaddr_in& sa) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

std::string request(const std::string& method, const std::string& path, const std::string& body = {}) {
  return method + " " + path + " HTTP/1.1\r\nHost: bench\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

/// Reads one HTTP response from a blocking socket: (status, headers+body) or nullopt.
std::optional<std::pair<int, std::string>> read_response(int fd, std::string& pending) {
  for (;;) {
    const auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = pending.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(pending.substr(cl + 16));
      if (pending.size() >= end + 4 + length) {
        const int status = std::stoi(pending.substr(9, 3));
        std::string whole = pending.substr(0, end + 4 + length);
        pending.erase(0, end + 4 + length);
        return std::pair{status, std::move(whole)};
      }
    }
    char buffer[65536];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    pending.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string header(const std::string& response, const std::string& name) {
  const auto at = response.find(name + ": ");
  if (at == std::string::npos) return "";
  const auto end = response.find("\r\n", at);
  return response.substr(at + name.size() + 2, end - at - name.size() - 2);
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

std::optional<std::pair<int, std::string>> call(const sockaddr_in& sa, const std::string& req) {
  const int fd = connect_blocking(sa);
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string pending;
  auto r = read_response(fd, pending);
  ::close(fd);
  return r;
}

int registrations(const sockaddr_in& sa, int clients, double seconds) {
  struct client {
    int fd;
    std::string pending;
    long next = 0;
    clock_type::time_point sent;
  };
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<client> cs(static_cast<std::size_t>(clients));
  auto send_next = [&](int i) {
    auto& c = cs[static_cast<std::size_t>(i)];
    const auto id = "bench-" + std::to_string(i) + "-" + std::to_string(c.next++);
    const auto body = R"({"Name": "bench", "ID": ")" + id + R"(", "Port": 8080, "Tags": ["load"]})";
    const auto req = request("PUT", "/v1/agent/service/register", body);
    c.sent = clock_type::now();
    ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
  };
  for (int i = 0; i < clients; ++i) {
    cs[static_cast<std::size_t>(i)].fd = connect_blocking(sa);
    epoll_event ev{EPOLLIN, {.u32 = static_cast<std::uint32_t>(i)}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, cs[static_cast<std::size_t>(i)].fd, &ev);
    send_next(i);
  }
  long ok = 0, failed = 0;
  std::vector<double> latency_ms;
  const auto start = clock_type::now();
  epoll_event events[256];
  while (seconds_since(start) < seconds) {
    const int n = ::epoll_wait(ep, events, 256, 100);
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(events[k].data.u32);
      auto& c = cs[static_cast<std::size_t>(i)];
      char buffer[16384];
      const ssize_t got = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (got <= 0) {
        std::fprintf(stderr, "registrations: connection %d closed\n", i);
        return 1;
      }
      c.pending.append(buffer, static_cast<std::size_t>(got));
      const auto end = c.pending.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const auto cl = c.pending.find("Content-Length: ");
      const std::size_t length = cl != std::string::npos && cl < end ? std::stoul(c.pending.substr(cl + 16)) : 0;
      if (c.pending.size() < end + 4 + length) continue;
      (std::stoi(c.pending.substr(9, 3)) == 200 ? ok : failed)++;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - c.sent).count());
      c.pending.erase(0, end + 4 + length);
      send_next(i);
    }
  }
  const double elapsed = seconds_since(start);
  std::sort(latency_ms.begin(), latency_ms.end());
  const auto pct = [&](double p) { return latency_ms.empty() ? -1.0 : latency_ms[static_cast<std::size_t>(p / 100 * (latency_ms.size() - 1))]; };
  std::printf("RESULT mode=registrations per_s=%.0f ok=%ld failed=%ld clients=%d p50_ms=%.2f p99_ms=%.2f\n",
              static_cast<double>(ok) / elapsed, ok, failed, clients, pct(50), pct(99));
  for (auto& c : cs) ::close(c.fd);
  return failed == 0 ? 0 : 1;
}

/// Leaf signatures per second through POST /v1/connect/ca/sign: --clients connections,
/// each sending CSRs (made here, keys never sent) for one service.
int sign(const sockaddr_in& sa, int clients, double seconds) {
  const auto roots = call(sa, request("GET", "/v1/connect/ca/roots"));
  const auto at = roots->second.find("\"TrustDomain\":\"");
  const auto td = roots->second.substr(at + 15, roots->second.find('"', at + 15) - at - 15);
  std::vector<std::string> bodies;
  for (int i = 0; i < 32; ++i) {
    auto key = meshgate::ca::make_key();
    const auto id = meshgate::x509::service_identity(td, "default", "dc1", "bench");
    auto csr = meshgate::ca::make_csr(key.get(), "bench", id.to_string(), "", false);
    boost::json::object body{{"CSR", meshgate::x509::to_pem(csr.get())}, {"Service", "bench"}};
    bodies.push_back(request("POST", "/v1/connect/ca/sign", boost::json::serialize(body)));
  }
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) fds.push_back(connect_blocking(sa));
  std::atomic<long> ok{0}, failed{0};
  std::vector<std::thread> threads;
  const auto start = clock_type::now();
  // One thread per connection keeps this simple; the server is what is measured.
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      std::string pending;
      for (std::size_t n = static_cast<std::size_t>(i); seconds_since(start) < seconds; ++n) {
        const auto& req = bodies[n % bodies.size()];
        ::send(fds[static_cast<std::size_t>(i)], req.data(), req.size(), MSG_NOSIGNAL);
        const auto r = read_response(fds[static_cast<std::size_t>(i)], pending);
        if (!r) break;
        (r->first == 200 ? ok : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = seconds_since(start);
  std::printf("RESULT mode=sign per_s=%.0f ok=%ld failed=%ld clients=%d\n", static_cast<double>(ok) / elapsed,
              ok.load(), failed.load(), clients);
  for (int fd : fds) ::close(fd);
  return failed == 0 ? 0 : 1;
}

int fanout(const sockaddr_in& sa, int watchers, int server_pid) {
  // The service the watchers wait on, and its current index.
  auto set_port = [&](int port) {
    const auto r = call(sa, request("PUT", "/v1/agent/service/register",
                                    R"({"Name": "fan", "ID": "fan-1", "Port": )" + std::to_string(port) + "}"));
    if (!r || r->first != 200) {
      std::fprintf(stderr, "fanout: registering failed\n");
      std::exit(1);
    }
  };
  set_port(1);
  const auto first = call(sa, request("GET", "/v1/health/service/fan"));
  const auto index = header(first->second, "X-Consul-Index");
  const long before = server_pid > 0 ? rss_kib(server_pid) : -1;

  std::vector<int> fds;
  const auto blocked = request("GET", "/v1/health/service/fan?index=" + index + "&wait=5m");
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < watchers; ++i) {
    const int fd = connect_blocking(sa);
    ::send(fd, blocked.data(), blocked.size(), MSG_NOSIGNAL);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{EPOLLIN, {.u32 = static_cast<std::uint32_t>(i)}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  // Wait (60 s at most) until the server counts every watcher as blocked.
  const auto start_wait = clock_type::now();
  long waiting = 0;
  while (seconds_since(start_wait) < 60) {
    const auto self = call(sa, request("GET", "/v1/agent/self"));
    const auto at = self->second.find("\"blocking_queries\":");
    waiting = at == std::string::npos ? 0 : std::stol(self->second.substr(at + 19));
    if (waiting >= watchers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waiting < watchers) {
    std::fprintf(stderr, "fanout: only %ld of %d watchers blocked\n", waiting, watchers);
    return 1;
  }
  const long after = server_pid > 0 ? rss_kib(server_pid) : -1;

  const auto change = clock_type::now();
  set_port(2);
  std::vector<std::string> pending(static_cast<std::size_t>(watchers));
  std::vector<bool> answered(static_cast<std::size_t>(watchers), false);
  int done = 0;
  double first_s = -1;
  epoll_event events[512];
  while (done < watchers && seconds_since(change) < 60) {
    const int n = ::epoll_wait(ep, events, 512, 100);
    for (int k = 0; k < n; ++k) {
      const auto i = events[k].data.u32;
      char buffer[16384];
      const ssize_t got = ::recv(fds[i], buffer, sizeof buffer, 0);
      if (got <= 0) continue;
      pending[i].append(buffer, static_cast<std::size_t>(got));
      const auto end = pending[i].find("\r\n\r\n");
      if (answered[i] || end == std::string::npos) continue;
      const auto cl = pending[i].find("Content-Length: ");
      const std::size_t length = cl != std::string::npos ? std::stoul(pending[i].substr(cl + 16)) : 0;
      if (pending[i].size() < end + 4 + length) continue;
      if (pending[i].find("\"Port\":2") == std::string::npos) {
        std::fprintf(stderr, "fanout: watcher %u got a stale answer\n", i);
        return 1;
      }
      answered[i] = true;
      if (++done == 1) first_s = seconds_since(change);
    }
  }
  const double last_s = seconds_since(change);
  std::printf("RESULT mode=fanout watchers=%d answered=%d first_ms=%.1f last_ms=%.1f kib_per_watcher=%.2f\n",
              watchers, done, first_s * 1000, last_s * 1000,
              before > 0 && after > 0 ? static_cast<double>(after - before) / watchers : -1.0);
  for (int fd : fds) ::close(fd);
  return done == watchers ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  CLI::App app{"meshgate-server-bench: load for the server benchmark"};
  app.require_subcommand(1);
  std::string target;
  int clients = 64, watchers = 10000, pid = 0;
  double seconds = 5;
  auto* reg = app.add_subcommand("registrations", "Durable registrations per second");
  reg->add_option("--target", target)->required();
  reg->add_option("--clients", clients)->capture_default_str();
  reg->add_option("--seconds", seconds)->capture_default_str();
  auto* sig = app.add_subcommand("sign", "Leaf signatures per second through the CSR call");
  sig->add_option("--target", target)->required();
  sig->add_option("--clients", clients)->capture_default_str();
  sig->add_option("--seconds", seconds)->capture_default_str();
  auto* fan = app.add_subcommand("fanout", "Blocking-query fan-out to many watchers");
  fan->add_option("--target", target)->required();
  fan->add_option("--watchers", watchers)->capture_default_str();
  fan->add_option("--server-pid", pid, "Read this process's RSS before and after");
  CLI11_PARSE(app, argc, argv);
  const auto sa = parse(target);
  if (reg->parsed()) return registrations(sa, clients, seconds);
  if (sig->parsed()) return sign(sa, clients, seconds);
  return fanout(sa, watchers, pid);
}
