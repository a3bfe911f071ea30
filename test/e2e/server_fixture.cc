#include "e2e/server_fixture.h"

#include <boost/json.hpp>
#include <algorithm>
#include <atomic>
#include <regex>
#include <stdexcept>

#include "support/sockets.h"

namespace meshgate::test {

server_process::server_process(const temp_dir& dir, std::filesystem::path data_dir, std::vector<std::string> flags) {
  static std::atomic<int> started{0};
  const auto tag = "server-" + std::to_string(started++);
  const auto address_file = dir / (tag + ".addr");
  std::filesystem::remove(address_file);
  std::vector<std::string> argv = {MESHGATE_BINARY, "server", "-data-dir", data_dir.string(),
                                   "-http-addr-file", address_file.string(), "-node", "node1"};
  // Any free port unless the test names one (to restart a server where its clients look).
  if (std::find(flags.begin(), flags.end(), "-http-addr") == flags.end()) {
    argv.insert(argv.end(), {"-http-addr", "127.0.0.1:0"});
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<child_process>(argv, dir / tag);
  if (!eventually([&] {
        if (!process_->running()) return true;
        address_ = read_text(address_file);
        if (address_.empty()) return false;
        address_.pop_back();
        const auto leader = http_get(address_, "/v1/status/leader");
        return leader && leader->status == 200;
      }) ||
      !process_->running()) {
    throw std::runtime_error("the server did not start: " + process_->err());
  }
}

boost::json::value curl_result::json() const { return boost::json::parse(body); }

curl_result curl(const temp_dir& dir, const std::string& method, const std::string& address,
                 const std::string& path, const std::string& body) {
  static std::atomic<int> calls{0};
  const auto tag = "curl-" + std::to_string(calls++);
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--max-time", "30", "-X", method,
                                   "--dump-header", (dir / (tag + ".headers")).string(),
                                   "--output", (dir / (tag + ".body")).string(),
                                   "--write-out", "%{http_code}"};
  if (!body.empty()) {
    write_text(dir / (tag + ".request"), body);
    argv.insert(argv.end(), {"--data-binary", "@" + (dir / (tag + ".request")).string()});
  }
  argv.push_back("http://" + address + path);
  curl_result r;
  if (run_command(argv, dir / tag, std::chrono::seconds(40)) != 0) return r;
  r.status = std::stoi(read_text(dir / (tag + ".out")));
  r.body = read_text(dir / (tag + ".body"));
  std::smatch m;
  const auto headers = read_text(dir / (tag + ".headers"));
  if (std::regex_search(headers, m, std::regex(R"(X-Consul-Index: (\d+))", std::regex::icase))) r.index = m[1];
  return r;
}

}  // namespace meshgate::test
