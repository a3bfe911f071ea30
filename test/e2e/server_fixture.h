#pragma once
// A real `meshgate server` process, and curl (a client nobody here wrote) to talk to it.

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace meshgate::test {

class server_process {
 public:
  /// Starts a server on 127.0.0.1 (port picked by the system) keeping its state in
  /// `data_dir`, and waits until it answers. `-http-addr IP:PORT` in `flags` picks the port.
  server_process(const temp_dir& dir, std::filesystem::path data_dir, std::vector<std::string> flags = {});
  std::string address() const { return address_; }
  child_process& process() { return *process_; }

 private:
  std::unique_ptr<child_process> process_;
  std::string address_;
};

struct curl_result {
  int status = 0;  // HTTP status; 0 if curl failed
  std::string body;
  std::string index;  // X-Consul-Index
  boost::json::value json() const;
};

/// Runs curl: `curl -X method http://address+path` with `body` (if any) as the request body.
curl_result curl(const temp_dir& dir, const std::string& method, const std::string& address,
                 const std::string& path, const std::string& body = {});

}  // namespace meshgate::test
