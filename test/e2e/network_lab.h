#pragma once
// Isolated networks for end-to-end tests: Linux network namespaces the test makes and
// removes (also when it fails). A "switch" is a namespace holding a bridge (lab-br); a "host" is a
// namespace with loopback up and one veth leg per switch it is plugged into. Processes run
// inside a host with `ip netns exec`. Nothing here touches the machine's own network.

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"

namespace meshgate::test {

class network_lab {
 public:
  /// Why labs cannot be made here ("" if they can): not root, no `ip netns`, no bridges.
  static std::string unavailable_reason();

  /// Removes what earlier runs that died left behind, then starts empty.
  network_lab();
  ~network_lab();
  network_lab(const network_lab&) = delete;
  network_lab& operator=(const network_lab&) = delete;

  void add_switch(const std::string& name);
  /// `legs`: {switch, "10.0.0.5/24"} each; the first becomes eth0, and so on.
  void add_host(const std::string& name, const std::vector<std::pair<std::string, std::string>>& legs);
  /// Plugs `host` into `sw` as well, with `address` ("10.0.0.5/24") on the new leg.
  void add_leg(const std::string& host, const std::string& sw, const std::string& address);

  /// `ip route add <destination> via <gateway>` inside `host` ("default" for the default).
  void add_route(const std::string& host, const std::string& destination, const std::string& via);
  /// Lets `host` forward between its legs (a router).
  void enable_forwarding(const std::string& host);

  /// The namespace's real name (names are prefixed per run).
  std::string ns(const std::string& name) const { return prefix_ + name; }
  /// `argv` to run inside `host`.
  std::vector<std::string> in(const std::string& host, std::vector<std::string> argv) const;

 private:
  void run(const std::vector<std::string>& argv);
  std::string prefix_;
  std::vector<std::string> made_;
  temp_dir logs_;
  int leg_ = 0;                          // veth pairs made: their names
  std::map<std::string, int> legs_of_;   // per host: its next ethN
};

}  // namespace meshgate::test
