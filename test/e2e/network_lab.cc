#include "e2e/network_lab.h"

#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

namespace meshgate::test {

namespace {

constexpr const char* family = "mgl";  // every lab namespace starts with this, then the PID

int run_quiet(const std::vector<std::string>& argv, const temp_dir& logs) {
  return run_command(argv, logs / "ip", std::chrono::seconds(20));
}

std::vector<std::string> namespaces(const temp_dir& logs) {
  std::vector<std::string> out;
  if (run_quiet({"ip", "netns", "list"}, logs) != 0) return out;
  std::istringstream lines(read_text(logs / "ip.out"));
  for (std::string line; std::getline(lines, line);) {
    const auto name = line.substr(0, line.find(' '));
    if (name.starts_with(family)) out.push_back(name);
  }
  return out;
}

}  // namespace

std::string network_lab::unavailable_reason() {
  if (::geteuid() != 0) return "network namespaces need root (run the suite as root; CI does)";
  temp_dir logs;
  const std::string probe = std::string(family) + "probe" + std::to_string(::getpid());
  if (run_quiet({"ip", "netns", "add", probe}, logs) != 0) {
    return "`ip netns add` failed: " + read_text(logs / "ip.err");
  }
  const bool bridges = run_quiet({"ip", "netns", "exec", probe, "ip", "link", "add", "name", "lab-br", "type", "bridge"}, logs) == 0;
  const auto why = read_text(logs / "ip.err");
  run_quiet({"ip", "netns", "del", probe}, logs);
  return bridges ? "" : "cannot make a bridge in a namespace: " + why;
}

network_lab::network_lab() : prefix_(std::string(family) + std::to_string(::getpid() % 100000)) {
  // Namespaces of runs that died (their PID is gone) are removed; a live run's are not.
  for (const auto& name : namespaces(logs_)) {
    std::size_t digits = std::string(family).size();
    while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
    const auto pid = name.substr(std::string(family).size(), digits - std::string(family).size());
    if (pid.empty() || ::kill(std::stoi(pid), 0) != 0) run_quiet({"ip", "netns", "del", name}, logs_);
  }
}

network_lab::~network_lab() {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) run_quiet({"ip", "netns", "del", *it}, logs_);
}

void network_lab::run(const std::vector<std::string>& argv) {
  if (run_quiet(argv, logs_) != 0) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    throw std::runtime_error("network lab: `" + line + "` failed: " + read_text(logs_ / "ip.err"));
  }
}

void network_lab::add_switch(const std::string& name) {
  run({"ip", "netns", "add", ns(name)});
  made_.push_back(ns(name));
  run({"ip", "netns", "exec", ns(name), "ip", "link", "add", "name", "lab-br", "type", "bridge"});
  run({"ip", "netns", "exec", ns(name), "ip", "link", "set", "lab-br", "up"});
}

void network_lab::add_host(const std::string& name, const std::vector<std::pair<std::string, std::string>>& legs) {
  run({"ip", "netns", "add", ns(name)});
  made_.push_back(ns(name));
  run({"ip", "netns", "exec", ns(name), "ip", "link", "set", "lo", "up"});
  for (const auto& [sw, address] : legs) add_leg(name, sw, address);
}

void network_lab::add_leg(const std::string& host, const std::string& sw, const std::string& address) {
  // Interface names are at most 15 characters: the run's prefix and a counter.
  const auto host_end = prefix_ + "h" + std::to_string(leg_);
  const auto switch_end = prefix_ + "s" + std::to_string(leg_);
  ++leg_;
  run({"ip", "link", "add", host_end, "type", "veth", "peer", "name", switch_end});
  run({"ip", "link", "set", host_end, "netns", ns(host)});
  run({"ip", "link", "set", switch_end, "netns", ns(sw)});
  const auto eth = "eth" + std::to_string(legs_of_[host]++);
  run({"ip", "netns", "exec", ns(host), "ip", "link", "set", host_end, "name", eth});
  run({"ip", "netns", "exec", ns(host), "ip", "addr", "add", address, "dev", eth});
  run({"ip", "netns", "exec", ns(host), "ip", "link", "set", eth, "up"});
  run({"ip", "netns", "exec", ns(sw), "ip", "link", "set", switch_end, "master", "lab-br"});
  run({"ip", "netns", "exec", ns(sw), "ip", "link", "set", switch_end, "up"});
}

void network_lab::add_route(const std::string& host, const std::string& destination, const std::string& via) {
  run({"ip", "netns", "exec", ns(host), "ip", "route", "add", destination, "via", via});
}

void network_lab::enable_forwarding(const std::string& host) {
  run({"ip", "netns", "exec", ns(host), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
}

std::vector<std::string> network_lab::in(const std::string& host, std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns(host)});
  return argv;
}

}  // namespace meshgate::test
