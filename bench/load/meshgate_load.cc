// meshgate-load: the load generator and backends of meshgate's own benchmark (bench/run.sh).
//
// It speaks TLS-looking traffic without doing any crypto: a real captured ClientHello,
// then TLS application_data records, so that what is measured is the proxy in between.
// One single-threaded epoll loop per process; every mode ends after its time.
//
//   meshgate-load backend    --listen IP:PORT --mode sink|reply1|echo --stats FILE
//   meshgate-load throughput --target IP:PORT --hello FILE --stats FILE [--conns 8]
//   meshgate-load connrate   --target IP:PORT --hello FILE [--concurrency 32]
//   meshgate-load latency    --target IP:PORT --hello FILE [--bytes 64]
//   meshgate-load idle       --target IP:PORT --hello FILE --stats FILE [--conns 9000]
//
// Backends consume one ClientHello record per connection, then: sink discards and counts
// bytes, reply1 answers one byte and reads to EOF, echo echoes. Their counters live in a
// small shared-memory file (--stats) that the client modes read, so throughput is what
// the backend received, not what the client managed to buffer.
// Each client mode prints one machine-readable line: RESULT key=value ...

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

volatile std::sig_atomic_t stop_requested = 0;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "meshgate-load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

sockaddr_in parse_address(const std::string& text) {
  const auto colon = text.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (colon == std::string::npos ||
      ::inet_pton(AF_INET, text.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "meshgate-load: %s is not IPv4:PORT\n", text.c_str());
    std::exit(2);
  }
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
  // This tool only ever talks to this machine.
  if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "meshgate-load: refusing %s: loopback (127.0.0.0/8) only\n", text.c_str());
    std::exit(2);
  }
  return sa;
}

void raise_descriptor_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

std::vector<char> read_hello(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes(std::istreambuf_iterator<char>(in), {});
  if (bytes.size() < 9 || bytes[0] != 22) {
    std::fprintf(stderr, "meshgate-load: %s is not a captured ClientHello\n", path.c_str());
    std::exit(2);
  }
  return bytes;
}

/// Counters a backend shares with the clients, in a file under /dev/shm.
struct shared_stats {
  std::atomic<std::uint64_t> accepted, hellos, bytes, open;
};

shared_stats* map_stats(const std::string& path, bool create) {
  const int fd = ::open(path.c_str(), create ? O_RDWR | O_CREAT | O_TRUNC : O_RDONLY, 0644);
  if (fd < 0) die("open " + path);
  if (create && ::ftruncate(fd, sizeof(shared_stats)) != 0) die("ftruncate");
  void* p = ::mmap(nullptr, sizeof(shared_stats), create ? PROT_READ | PROT_WRITE : PROT_READ,
                   MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) die("mmap " + path);
  return static_cast<shared_stats*>(p);
}

int tcp_socket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

/// Spreads client connections over source addresses 127.0.1.x so that a long connection
/// rate run does not run out of ephemeral ports.
void bind_source(int fd, unsigned n) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | (1 + n % 64));
  ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
}

bool start_connect(int fd, const sockaddr_in& target) {
  return ::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) == 0 ||
         errno == EINPROGRESS;
}

bool write_all_blocking(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w > 0) {
      data += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      std::this_thread::yield();
    } else {
      return false;
    }
  }
  return true;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100 * v.size()))];
}

// ---------------------------------------------------------------- backend

int run_backend(const std::string& listen_address, const std::string& mode,
                const std::string& stats_path, double max_seconds) {
  auto* stats = map_stats(stats_path, true);
  const auto sa = parse_address(listen_address);
  const int listener = tcp_socket();
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  if (::listen(listener, 4096) != 0) die("listen");
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.fd = listener}};
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);

  struct connection {
    std::size_t header = 0;     // record header bytes seen (of 5)
    unsigned char h[5] = {};
    std::size_t body_left = 0;  // ClientHello record bytes still to consume
    bool hello_done = false;
    std::string pending;        // echo bytes not yet written
  };
  std::unordered_map<int, connection> conns;
  std::vector<char> buffer(256 * 1024);
  const auto start = clock_type::now();
  std::fprintf(stderr, "backend %s listening on %s\n", mode.c_str(), listen_address.c_str());
  epoll_event events[512];
  while (!stop_requested && seconds_since(start) < max_seconds) {
    const int n = ::epoll_wait(ep, events, 512, 500);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          stats->accepted++;
          stats->open++;
          conns[c] = {};
          epoll_event cev{EPOLLIN, {.fd = c}};
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      auto& c = conns[fd];
      // MSG_TRUNC: a sink's bytes are dropped by the kernel without a copy to user space.
      const int flags = (mode == "sink" && c.hello_done) ? MSG_TRUNC : 0;
      const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), flags);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ::close(fd);
        conns.erase(fd);
        stats->open--;
        continue;
      }
      std::size_t at = 0;
      const auto n_got = static_cast<std::size_t>(got);
      while (!c.hello_done && at < n_got) {
        if (c.header < 5) {
          c.h[c.header++] = static_cast<unsigned char>(buffer[at++]);
          if (c.header == 5) c.body_left = static_cast<std::size_t>(c.h[3] << 8 | c.h[4]);
          continue;
        }
        const std::size_t take = std::min(c.body_left, n_got - at);
        at += take;
        c.body_left -= take;
        if (c.body_left == 0) {
          c.hello_done = true;
          stats->hellos++;
          if (mode == "reply1") ::send(fd, "R", 1, MSG_NOSIGNAL);
        }
      }
      stats->bytes.fetch_add(n_got - at, std::memory_order_relaxed);
      if (mode == "echo" && at < n_got) {
        c.pending.append(buffer.data() + at, n_got - at);
        if (!write_all_blocking(fd, c.pending.data(), c.pending.size())) {
          ::close(fd);
          conns.erase(fd);
          stats->open--;
          continue;
        }
        c.pending.clear();
      }
    }
  }
  return 0;
}

// ---------------------------------------------------------------- clients

int run_throughput(const sockaddr_in& target, const std::vector<char>& hello, int conns,
                   double seconds, double warmup, const std::string& stats_path) {
  auto* stats = map_stats(stats_path, false);
  std::vector<char> record(5 + 16384, 'x');
  record[0] = 23;
  record[1] = 3;
  record[2] = 3;
  record[3] = 0x40;
  record[4] = 0;
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct stream {
    int fd;
    std::size_t offset = 0;
  };
  std::vector<stream> streams;
  for (int i = 0; i < conns; ++i) {
    const int fd = tcp_socket();
    bind_source(fd, static_cast<unsigned>(i));
    if (!start_connect(fd, target)) die("connect");
    streams.push_back({fd});
    epoll_event ev{EPOLLOUT, {.u32 = static_cast<std::uint32_t>(i)}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::vector<bool> greeted(conns, false);
  const auto start = clock_type::now();
  std::uint64_t base = 0;
  bool measuring = false;
  clock_type::time_point t0;
  epoll_event events[64];
  int errors = 0;
  int first_error = 0;
  while (seconds_since(start) < warmup + seconds && !stop_requested) {
    if (!measuring && seconds_since(start) >= warmup) {
      measuring = true;
      base = stats->bytes;
      t0 = clock_type::now();
    }
    const int n = ::epoll_wait(ep, events, 64, 100);
    for (int i = 0; i < n; ++i) {
      auto& s = streams[events[i].data.u32];
      if (!greeted[events[i].data.u32]) {
        greeted[events[i].data.u32] = true;
        if (!write_all_blocking(s.fd, hello.data(), hello.size())) ++errors;
      }
      for (int k = 0; k < 16; ++k) {
        const ssize_t w = ::send(s.fd, record.data() + s.offset, record.size() - s.offset, MSG_NOSIGNAL);
        if (w <= 0) {
          if (w < 0 && errno != EAGAIN) {
            if (errors++ == 0) first_error = errno;
            // A failed stream stops here rather than spinning on its error.
            ::epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
          }
          break;
        }
        s.offset = (s.offset + static_cast<std::size_t>(w)) % record.size();
      }
    }
  }
  const double elapsed = seconds_since(t0);
  const double bytes = static_cast<double>(stats->bytes - base);
  for (auto& s : streams) ::close(s.fd);
  if (errors > 0) std::fprintf(stderr, "throughput: first error: %s\n", std::strerror(first_error));
  std::printf("RESULT mode=throughput gbps=%.3f window_s=%.2f conns=%d errors=%d\n",
              bytes * 8 / elapsed / 1e9, elapsed, conns, errors);
  return 0;
}

int run_connrate(const sockaddr_in& target, const std::vector<char>& hello, int concurrency,
                 double seconds, double warmup) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct attempt {
    clock_type::time_point started;
    bool sent = false;
  };
  std::unordered_map<int, attempt> open;
  unsigned serial = 0;
  std::uint64_t ok = 0, failed = 0;
  std::vector<double> latencies_ms;
  const auto start = clock_type::now();
  auto launch = [&] {
    const int fd = tcp_socket();
    bind_source(fd, serial++);
    if (!start_connect(fd, target)) {
      ::close(fd);
      ++failed;
      return;
    }
    open[fd] = {clock_type::now()};
    epoll_event ev{EPOLLOUT | EPOLLIN, {.fd = fd}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  auto finish = [&](int fd, bool success) {
    if (success && seconds_since(start) >= warmup) {
      ++ok;
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - open[fd].started).count());
    } else if (!success) {
      ++failed;
    }
    ::close(fd);
    open.erase(fd);
  };
  for (int i = 0; i < concurrency; ++i) launch();
  epoll_event events[256];
  while (seconds_since(start) < warmup + seconds && !stop_requested) {
    const int n = ::epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      auto it = open.find(fd);
      if (it == open.end()) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        finish(fd, false);
      } else if (!it->second.sent && (events[i].events & EPOLLOUT)) {
        it->second.sent = true;
        if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
          finish(fd, false);
        } else {
          epoll_event ev{EPOLLIN, {.fd = fd}};
          ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
          continue;
        }
      } else if (events[i].events & EPOLLIN) {
        char byte;
        finish(fd, ::recv(fd, &byte, 1, 0) == 1);
      } else {
        continue;
      }
      if (seconds_since(start) < warmup + seconds) launch();
    }
    // Three seconds without an answer is a failure, not a hang.
    for (auto it = open.begin(); it != open.end();) {
      if (seconds_since(it->second.started) > 3) {
        ::close(it->first);
        it = open.erase(it);
        ++failed;
        launch();
      } else {
        ++it;
      }
    }
  }
  std::printf("RESULT mode=connrate cps=%.0f p50_ms=%.3f p99_ms=%.3f ok=%llu failed=%llu conc=%d\n",
              static_cast<double>(ok) / seconds, percentile(latencies_ms, 50),
              percentile(latencies_ms, 99), static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(failed), concurrency);
  return 0;
}

int run_latency(const sockaddr_in& target, const std::vector<char>& hello, int bytes,
                double seconds, double warmup) {
  // One blocking connection: the loop below is one request, one response at a time.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) die("connect");
  if (!write_all_blocking(fd, hello.data(), hello.size())) die("send hello");
  std::vector<char> message(5 + static_cast<std::size_t>(bytes), 'p');
  message[0] = 23;
  message[1] = 3;
  message[2] = 3;
  message[3] = static_cast<char>(bytes >> 8);
  message[4] = static_cast<char>(bytes & 0xff);
  std::vector<char> back(message.size());
  std::vector<double> rtts_us;
  const auto start = clock_type::now();
  int errors = 0;
  while (seconds_since(start) < warmup + seconds && !stop_requested) {
    const auto t = clock_type::now();
    if (!write_all_blocking(fd, message.data(), message.size())) {
      ++errors;
      break;
    }
    std::size_t got = 0;
    while (got < back.size()) {
      const ssize_t r = ::recv(fd, back.data() + got, back.size() - got, 0);
      if (r <= 0) {
        ++errors;
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    if (got < back.size()) break;
    if (seconds_since(start) >= warmup) {
      rtts_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
    }
  }
  ::close(fd);
  const std::size_t samples = rtts_us.size();
  std::printf("RESULT mode=latency p50_us=%.1f p99_us=%.1f p999_us=%.1f rtts=%zu errors=%d\n",
              percentile(rtts_us, 50), percentile(rtts_us, 99), percentile(rtts_us, 99.9),
              samples, errors);
  return 0;
}

int run_idle(const sockaddr_in& target, const std::vector<char>& hello, int conns, double hold,
             const std::string& stats_path, const std::string& ready_file) {
  auto* stats = map_stats(stats_path, false);
  const std::uint64_t base = stats->hellos;
  std::vector<int> fds;
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  int in_flight = 0, failed = 0, launched = 0;
  const auto start = clock_type::now();
  epoll_event events[512];
  while ((launched < conns || in_flight > 0) && seconds_since(start) < 60) {
    while (launched < conns && in_flight < 512) {
      const int fd = tcp_socket();
      bind_source(fd, static_cast<unsigned>(launched++));
      if (!start_connect(fd, target)) {
        ::close(fd);
        ++failed;
        continue;
      }
      fds.push_back(fd);
      ++in_flight;
      epoll_event ev{EPOLLOUT, {.fd = fd}};
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    const int n = ::epoll_wait(ep, events, 512, 100);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      --in_flight;
      if ((events[i].events & (EPOLLERR | EPOLLHUP)) ||
          ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
        ++failed;
      }
    }
  }
  while (stats->hellos - base < static_cast<std::uint64_t>(conns - failed) && seconds_since(start) < 60) {
    std::this_thread::sleep_for(10ms);
  }
  const auto routed = stats->hellos - base;
  std::printf("READY established=%d routed=%llu\n", conns - failed, static_cast<unsigned long long>(routed));
  std::fflush(stdout);
  if (!ready_file.empty()) std::ofstream(ready_file) << routed << "\n";
  const auto held = clock_type::now();
  while (seconds_since(held) < hold && !stop_requested) std::this_thread::sleep_for(10ms);
  int closed_by_peer = 0;
  for (int fd : fds) {
    char byte;
    const ssize_t r = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN)) ++closed_by_peer;
    ::close(fd);
  }
  std::printf("RESULT mode=idle conns=%d routed=%llu failed=%d closed_by_peer=%d\n", conns,
              static_cast<unsigned long long>(routed), failed, closed_by_peer);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  raise_descriptor_limit();

  CLI::App app{"meshgate-load: load generator and backends for meshgate's benchmark"};
  app.require_subcommand(1);
  std::string listen, mode = "sink", stats, target, hello_path, ready_file;
  int conns = 8, concurrency = 32, bytes = 64;
  double seconds = 5, warmup = 1, hold = 1, max_seconds = 3600;

  auto* backend = app.add_subcommand("backend", "Serve as a sink, reply1 or echo backend");
  backend->add_option("--listen", listen, "IP:PORT")->required();
  backend->add_option("--mode", mode, "sink, reply1 or echo")->check(CLI::IsMember({"sink", "reply1", "echo"}));
  backend->add_option("--stats", stats, "Shared-memory counters file")->required();
  backend->add_option("--max-seconds", max_seconds, "Exit after this long");

  auto add_client = [&](const char* name, const char* help) {
    auto* c = app.add_subcommand(name, help);
    c->add_option("--target", target, "IP:PORT of the proxy (or backend)")->required();
    c->add_option("--hello", hello_path, "Captured ClientHello file")->required();
    c->add_option("--seconds", seconds, "Measured time")->capture_default_str();
    c->add_option("--warmup", warmup, "Unmeasured time first")->capture_default_str();
    return c;
  };
  auto* throughput = add_client("throughput", "Stream 16 KiB records on --conns connections");
  throughput->add_option("--conns", conns)->capture_default_str();
  throughput->add_option("--stats", stats, "The sink backend's counters file")->required();
  auto* connrate = add_client("connrate", "Connect, hello, one-byte reply, close; --concurrency in flight");
  connrate->add_option("--concurrency", concurrency)->capture_default_str();
  auto* latency = add_client("latency", "Ping-pong --bytes records with an echo backend");
  latency->add_option("--bytes", bytes)->capture_default_str();
  auto* idle = add_client("idle", "Open --conns routed connections and hold them");
  idle->add_option("--conns", conns)->capture_default_str();
  idle->add_option("--hold", hold, "Seconds to hold them once routed")->capture_default_str();
  idle->add_option("--stats", stats, "The backend's counters file")->required();
  idle->add_option("--ready-file", ready_file, "Written once every connection is routed");
  CLI11_PARSE(app, argc, argv);

  if (backend->parsed()) return run_backend(listen, mode, stats, max_seconds);
  const auto t = parse_address(target);
  const auto hello = read_hello(hello_path);
  if (throughput->parsed()) return run_throughput(t, hello, conns, seconds, warmup, stats);
  if (connrate->parsed()) return run_connrate(t, hello, concurrency, seconds, warmup);
  if (latency->parsed()) return run_latency(t, hello, bytes, seconds, warmup);
  return run_idle(t, hello, conns, hold, stats, ready_file);
}
