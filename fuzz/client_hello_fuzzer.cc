// libFuzzer target for the ClientHello parser: the only code that reads bytes from
// untrusted peers before a connection is routed.
//
// The first input byte picks how the rest is delivered (how many bytes per read) and the
// size cap, so that the fuzzer explores the incremental paths (headers split across
// reads and records) as well as whole inputs. The same bytes delivered whole must get the
// same outcome, whatever the split.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tls/client_hello_parser.h"
#include "tls/server_name.h"

using meshgate::tls::client_hello_parser;
using meshgate::tls::hello_status;

namespace {

struct outcome {
  hello_status status;
  meshgate::tls::hello_error error;
  std::string name;
};

outcome run(std::span<const std::uint8_t> input, std::size_t step, std::size_t cap) {
  client_hello_parser parser(cap);
  hello_status status = hello_status::need_more;
  for (std::size_t fed = 0; status == hello_status::need_more && fed < input.size();) {
    fed = std::min(input.size(), fed + step);
    status = parser.parse(input.first(fed));
  }
  return {status, parser.error(), parser.server_name()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  const std::size_t step = 1 + (control & 0x0f) * (control & 0x0f);  // 1..226 bytes per read
  const std::size_t cap = (control & 0x10) ? 512 : meshgate::tls::default_max_hello_bytes;

  const auto split = run(input, step, cap);
  const auto whole = run(input, input.size() == 0 ? 1 : input.size(), cap);
  if (split.status != whole.status || split.error != whole.error || split.name != whole.name) {
    std::abort();  // the outcome must not depend on how the bytes were cut
  }
  if (split.status == hello_status::complete &&
      (!meshgate::tls::is_valid_server_name(split.name) ||
       split.name != meshgate::tls::to_lower_ascii(split.name))) {
    std::abort();
  }
  return 0;
}
