#include "dev/dev_mesh.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api/api_client.h"

namespace meshgate::dev {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  auto text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

/// Waits for `condition` until `timeout`; false if it never held.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  for (auto pause = 10ms; steady::now() < deadline; pause = std::min(pause * 2, std::chrono::milliseconds(200))) {
    if (condition()) return true;
    std::this_thread::sleep_for(pause);
  }
  return condition();
}

/// A port on 127.0.0.1 nobody listens on now, for the addresses registrations must name
/// before the process that listens there starts.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot bind a port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string local(int port) { return "127.0.0.1:" + std::to_string(port); }

/// GET on `address`: the status, or 0 when nothing answered.
unsigned http_status(const std::string& address, const std::string& path, std::string* body = nullptr) {
  try {
    const auto r = api::api_client(address, "", std::chrono::seconds(5)).request("GET", path);
    if (body) *body = r.body;
    return r.status;
  } catch (const std::exception&) {
    return 0;
  }
}

unsigned http_put(const std::string& address, const std::string& path, const std::string& body) {
  try {
    return api::api_client(address).request("PUT", path, body).status;
  } catch (const std::exception&) {
    return 0;
  }
}

/// One child process of this binary, its output in `<log>`; SIGTERM'd if we die first.
class child {
 public:
  child(std::string name, const std::vector<std::string>& argv, const std::filesystem::path& log)
      : name_(std::move(name)) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) throw std::runtime_error("cannot write " + log.string());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out, 1);
      ::dup2(out, 2);
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the parent blocks them for sigwait
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("cannot start " + name_);
  }
  ~child() { stop(); }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  /// SIGTERM, then SIGKILL if it is still there after 5 s.
  void stop() {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    if (!wait_until([&] { return !running(); }, 5s)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

/// A sample HTTP service: answers every request with one line, then closes.
class sample_service {
 public:
  explicit sample_service(std::string message) : message_(std::move(message)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_ < 0 || ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 64) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot start the sample service");
    }
    port_ = ntohs(a.sin_port);
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { serve(); });
  }
  ~sample_service() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_, &one, sizeof one);
    thread_.join();
    ::close(listen_);
    ::close(stop_);
  }
  int port() const { return port_; }
  std::uint64_t served() const { return served_; }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{listen_, POLLIN, 0}, {stop_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      const int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval t{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
        const auto n = ::recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      const auto body = message_ + " (request " + std::to_string(++served_) + ")\n";
      const auto reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      [[maybe_unused]] auto n = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }
  std::string message_;
  int listen_ = -1;
  int stop_ = -1;
  int port_ = 0;
  std::atomic<std::uint64_t> served_{0};
  std::thread thread_;
};

class failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace

int run_dev_mesh(const dev_options& o) {
  // Signals are taken by sigwait below; children get them unblocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  bool remove_dir = false;
  std::filesystem::path dir = o.work_dir;
  if (dir.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "meshgate-dev-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      std::cerr << "meshgate dev: cannot make a temporary directory\n";
      return 1;
    }
    dir = templ;
    remove_dir = true;
  }
  std::filesystem::create_directories(dir);
  const std::string bin = o.binary.string();
  std::vector<std::unique_ptr<child>> children;  // stopped in reverse order
  const auto start = [&](const std::string& name, std::vector<std::string> argv) -> child& {
    argv.insert(argv.begin(), bin);
    children.push_back(std::make_unique<child>(name, argv, dir / (name + ".log")));
    return *children.back();
  };
  const auto stop_all = [&] {
    while (!children.empty()) children.pop_back();
  };
  const auto require = [&](bool ok, const std::string& what, const std::string& log) {
    if (!ok) throw failure(what + " (see " + (dir / (log + ".log")).string() + ")");
  };
  int code = 0;
  try {
    std::cout << "meshgate dev: starting two datacenters on loopback (logs in " << dir.string() << ")\n" << std::flush;
    // The address a process wrote to `file` once `path` answers 200 there.
    const auto answering = [&](const std::string& file, const std::string& path, const std::string& failure,
                               const std::string& log_name) {
      std::string address;
      require(wait_until(
                  [&] {
                    address = read_file(dir / file);
                    return !address.empty() && http_status(address, path) == 200;
                  },
                  20s),
              failure, log_name);
      return address;
    };
    // The servers: dc1 is the primary; dc2 joins it.
    const auto server = [&](const std::string& dc, std::vector<std::string> extra) {
      std::vector<std::string> argv = {"server", "-datacenter", dc, "-primary-datacenter", "dc1", "-data-dir",
                                       (dir / dc).string(), "-http-addr", "127.0.0.1:0", "-http-addr-file",
                                       (dir / (dc + ".addr")).string(), "-node", dc + "-node"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      start("server-" + dc, argv);
      return answering(dc + ".addr", "/v1/status/leader", "the " + dc + " server did not start", "server-" + dc);
    };
    const auto dc1 = server("dc1", {});
    const auto dc2 = server("dc2", {"-primary-addr", dc1});
    require(wait_until(
                [&] {
                  std::string body;
                  return http_status(dc1, "/v1/catalog/datacenters", &body) == 200 && body == R"(["dc1","dc2"])" &&
                         http_status(dc2, "/v1/connect/ca/roots") == 200;
                },
                30s),
            "dc2 did not join dc1", "server-dc2");

    // Centralised configuration: written once to the primary, it applies in both.
    require(http_put(dc1, "/v1/config", R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})") == 200,
            "dc1 refused proxy-defaults", "server-dc1");

    // The sample service api in dc2, and the sidecars' registrations.
    sample_service api("hello from api in dc2");
    const int api_sidecar_port = free_port();
    const int web_sidecar_port = free_port();
    const auto upstream_ip = o.upstream_address.substr(0, o.upstream_address.rfind(':'));
    auto upstream_port = o.upstream_address.substr(o.upstream_address.rfind(':') + 1);
    if (upstream_port == "0") upstream_port = std::to_string(free_port());  // any free one
    const auto upstream_address = upstream_ip + ":" + upstream_port;
    require(http_put(dc2, "/v1/agent/service/register",
                     R"({"ID": "api-sidecar-proxy", "Name": "api-sidecar-proxy", "Kind": "connect-proxy", "Address": "127.0.0.1", "Port": )" +
                         std::to_string(api_sidecar_port) +
                         R"(, "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api", "LocalServicePort": )" +
                         std::to_string(api.port()) + "}}") == 200,
            "dc2 refused api's sidecar", "server-dc2");
    require(http_put(dc1, "/v1/agent/service/register",
                     R"({"ID": "web-sidecar-proxy", "Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Address": "127.0.0.1", "Port": )" +
                         std::to_string(web_sidecar_port) +
                         R"(, "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServicePort": 1,
                             "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindAddress": ")" +
                         upstream_ip + R"(", "LocalBindPort": )" + upstream_port + "}]}}") == 200,
            "dc1 refused web's sidecar (is " + upstream_address + " an IP:PORT?)", "server-dc1");

    // Gateways and sidecars, as a user would start them.
    const auto ready = [&](const std::string& name) {
      return answering(name + ".admin", "/ready", name + " did not become ready", name);
    };
    const auto gateway = [&](const std::string& dc, const std::string& server_address) {
      const auto address = local(free_port());
      const auto name = "gateway-" + dc;
      start(name, {"gateway", "-register", "-service", "mesh-gateway", "-address", address, "-wan-address", address,
                   "-http-addr", server_address, "-admin-addr", "127.0.0.1:0", "-admin-addr-file",
                   (dir / (name + ".admin")).string(), "-workers", "1"});
      return std::make_pair(address, ready(name));
    };
    const auto [gw1, gw1_admin] = gateway("dc1", dc1);
    const auto [gw2, gw2_admin] = gateway("dc2", dc2);
    const auto sidecar = [&](const std::string& service, const std::string& server_address) {
      const auto name = "sidecar-" + service;
      start(name, {"proxy", "-sidecar-for", service, "-http-addr", server_address, "-admin-addr", "127.0.0.1:0",
                   "-admin-addr-file", (dir / (name + ".admin")).string()});
      return ready(name);
    };
    const auto api_admin = sidecar("api", dc2);
    const auto web_admin = sidecar("web", dc1);

    // Until a request crosses both gateways (routes and health take a moment to settle).
    std::string answer;
    require(wait_until([&] { return http_status(upstream_address, "/", &answer) == 200; }, 30s),
            "no answer through web's upstream at " + upstream_address, "sidecar-web");

    std::cout << "\n"
              << "  dc1 (primary)   server " << dc1 << "   mesh gateway " << gw1 << " (admin " << gw1_admin << ")\n"
              << "                  web's sidecar (admin " << web_admin << "), upstream api in dc2 on "
              << upstream_address << "\n"
              << "  dc2             server " << dc2 << "   mesh gateway " << gw2 << " (admin " << gw2_admin << ")\n"
              << "                  api's sidecar (admin " << api_admin << ") -> api, a sample HTTP service\n"
              << "\n"
              << "  proxy-defaults sets mesh gateway mode local: web -> dc1's gateway -> dc2's gateway -> api\n"
              << "\n"
              << "Try it:\n"
              << "  curl " << upstream_address << "/\n"
              << "  " << bin << " explain -sidecar-for web -http-addr " << dc1 << "\n"
              << "  curl -s " << gw1_admin << "/stats      # dc1's gateway: the *.dc2 route counts it\n"
              << "\n"
              << "First answer: " << answer << std::flush;
    if (o.once) {
      std::cout << "meshgate dev: -once: stopping\n";
    } else {
      std::cout << "\nCtrl-C stops everything.\n" << std::flush;
      int signal = 0;
      ::sigwait(&stop_signals, &signal);
      std::cout << "\nmeshgate dev: " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping\n";
    }
    stop_all();
  } catch (const std::exception& e) {
    std::cerr << "meshgate dev: " << e.what() << "\n";
    code = 1;
    stop_all();
  }
  if (remove_dir && code == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  } else if (remove_dir) {
    std::cerr << "meshgate dev: logs kept in " << dir.string() << "\n";
  }
  std::cout << "meshgate dev: stopped\n";
  return code;
}

}  // namespace meshgate::dev
