// The ClientHello parser over real captures and hand-built hellos: whole, byte by byte,
// re-framed into many records, and broken in every way the wire allows.

#include "tls/client_hello_parser.h"

#include <gtest/gtest.h>

#include <random>

#include "support/client_hello_builder.h"

namespace meshgate::tls {
namespace {

using test::bytes;

struct outcome {
  hello_status status;
  hello_error error;
  std::string server_name;
};

/// Feeds `wire` in pieces of `step` bytes (0: all at once), as a connection would.
outcome parse_in_steps(const bytes& wire, std::size_t step,
                       std::size_t cap = default_max_hello_bytes) {
  client_hello_parser parser(cap);
  bytes received;
  hello_status status = hello_status::need_more;
  std::size_t at = 0;
  while (status == hello_status::need_more && at < wire.size()) {
    const std::size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
    received.insert(received.end(), wire.begin() + static_cast<long>(at),
                    wire.begin() + static_cast<long>(at + n));
    at += n;
    status = parser.parse(received);
  }
  return {status, parser.error(), parser.server_name()};
}

outcome parse_whole(const bytes& wire, std::size_t cap = default_max_hello_bytes) {
  return parse_in_steps(wire, 0, cap);
}

bytes records_of(const test::hello_spec& spec, std::size_t record_size = 16384) {
  return test::frame_records(test::build_client_hello(spec), record_size);
}

struct capture_case {
  const char* file;
  const char* server_name;  // "" for none
};

class real_captures : public ::testing::TestWithParam<capture_case> {};

// Every captured hello yields its server name however it is cut: whole, in TCP pieces of
// any size down to one byte, and with its handshake re-framed into records of any size.
TEST_P(real_captures, yield_their_server_name_however_they_are_cut) {
  const auto [file, name] = GetParam();
  const auto wire = test::read_capture(file);
  const auto handshake = test::handshake_of(wire);
  std::vector<bytes> shapes = {wire};
  for (std::size_t record : {1, 2, 3, 4, 5, 7, 64, 100, 511}) {
    shapes.push_back(test::frame_records(handshake, record));
  }
  for (const auto& shape : shapes) {
    for (std::size_t step : {0, 1, 2, 3, 5, 13, 100}) {
      const auto got = parse_in_steps(shape, step);
      if (*name == '\0') {
        EXPECT_EQ(got.status, hello_status::rejected);
        EXPECT_EQ(got.error, hello_error::no_server_name);
      } else {
        EXPECT_EQ(got.status, hello_status::complete) << to_string(got.error) << " step " << step;
        EXPECT_EQ(got.server_name, name);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    clienthellos, real_captures,
    ::testing::Values(capture_case{"openssl-3.0.bin", "bench.dc1.internal.example.consul"},
                      capture_case{"openssl-3.0-othersni.bin", "other.dc1.internal.example.consul"},
                      capture_case{"openssl-3.0-nosni.bin", ""},
                      capture_case{"gnutls.bin", "bench.dc1.internal.example.consul"},
                      capture_case{"curl.bin", "bench.dc1.internal.example.consul"}));

// A truncated hello is never decided early: every strict prefix asks for more bytes.
TEST(client_hello_parser, waits_for_more_on_every_prefix_of_a_hello) {
  for (const char* file : {"curl.bin", "gnutls.bin"}) {
    const auto wire = test::read_capture(file);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      client_hello_parser parser;
      EXPECT_EQ(parser.parse(std::span(wire).first(n)), hello_status::need_more) << n;
    }
  }
}

// Bytes that follow the hello in the same read (early data, the next record) are fine.
TEST(client_hello_parser, completes_with_bytes_after_the_hello) {
  auto wire = test::read_capture("curl.bin");
  const bytes extra = {23, 3, 3, 0, 2, 'h', 'i'};
  wire.insert(wire.end(), extra.begin(), extra.end());
  EXPECT_EQ(parse_whole(wire).status, hello_status::complete);
}

// The parser keeps answering the same once it has decided.
TEST(client_hello_parser, repeats_its_decision) {
  const auto wire = test::read_capture("curl.bin");
  client_hello_parser parser;
  EXPECT_EQ(parser.parse(wire), hello_status::complete);
  EXPECT_EQ(parser.parse(wire), hello_status::complete);
  EXPECT_EQ(parser.server_name(), "bench.dc1.internal.example.consul");
}

TEST(client_hello_parser, refuses_noise_on_its_first_byte) {
  for (int first : {0x00, 0x17, 0x15, int{'G'}, int{'P'}, 0x80, 0xff}) {
    client_hello_parser parser;
    const bytes wire = {static_cast<std::uint8_t>(first)};
    EXPECT_EQ(parser.parse(wire), hello_status::rejected);
    EXPECT_EQ(parser.error(), hello_error::not_tls);
  }
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(parse_whole(bytes(http.begin(), http.end())).error, hello_error::not_tls);
}

// SSLv2-compatible hellos (RFC 6101 appendix E) carry no extensions, so no SNI: refused.
TEST(client_hello_parser, refuses_an_sslv2_style_hello) {
  const bytes sslv2 = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
  const auto got = parse_whole(sslv2);
  EXPECT_EQ(got.status, hello_status::rejected);
  EXPECT_EQ(got.error, hello_error::not_tls);
}

TEST(client_hello_parser, refuses_a_record_version_that_is_not_tls) {
  EXPECT_EQ(parse_whole({22, 2, 0}).error, hello_error::not_tls);
}

TEST(client_hello_parser, refuses_zero_length_and_oversized_records) {
  EXPECT_EQ(parse_whole({22, 3, 1, 0, 0}).error, hello_error::bad_record);
  EXPECT_EQ(parse_whole({22, 3, 1, 0x40, 0x01}).error, hello_error::bad_record);  // 2^14 + 1
}

// A record of another type in the middle of the hello (an alert, application data).
TEST(client_hello_parser, refuses_a_foreign_record_inside_the_hello) {
  auto wire = test::frame_records(test::build_client_hello(test::hello_for("a.b")), 50);
  wire[55] = 23;  // the second record's type
  EXPECT_EQ(parse_whole(wire).error, hello_error::bad_record);
}

TEST(client_hello_parser, refuses_a_handshake_that_is_not_a_client_hello) {
  auto handshake = test::build_client_hello(test::hello_for("a.b"));
  handshake[0] = 2;  // ServerHello
  EXPECT_EQ(parse_whole(test::frame_records(handshake, 16384)).error,
            hello_error::not_client_hello);
}

// The cap applies as soon as the 4-byte handshake header arrives, even split over records.
TEST(client_hello_parser, refuses_a_hello_over_the_cap_when_its_length_arrives) {
  test::hello_spec spec = test::hello_for("api.example.com");
  spec.padding = 3000;
  const auto handshake = test::build_client_hello(spec);
  EXPECT_EQ(parse_whole(test::frame_records(handshake, 16384)).status, hello_status::complete);
  for (std::size_t record : {1, 2, 3, 16384}) {
    const auto wire = test::frame_records(handshake, record);
    client_hello_parser parser(2048);
    // Wire bytes up to the 4th handshake byte: 4 bytes of body in ceil(4/record) records.
    const std::size_t header_wire = (4 + record - 1) / record * 5 + 4;
    EXPECT_EQ(parser.parse(std::span(wire).first(header_wire)), hello_status::rejected);
    EXPECT_EQ(parser.error(), hello_error::too_large);
  }
  // A header announcing 16 MiB is refused at once, not waited for.
  EXPECT_EQ(parse_whole({22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff}).error, hello_error::too_large);
}

TEST(client_hello_parser, accepts_a_hello_up_to_a_raised_cap) {
  test::hello_spec spec = test::hello_for("api.example.com");
  spec.padding = 40000;  // like a hello with several post-quantum key shares
  const auto wire = records_of(spec);
  EXPECT_EQ(parse_whole(wire).error, hello_error::too_large);
  const auto got = parse_whole(wire, max_max_hello_bytes);
  EXPECT_EQ(got.status, hello_status::complete);
  EXPECT_EQ(got.server_name, "api.example.com");
}

TEST(client_hello_parser, reports_no_sni_for_a_hello_without_extensions) {
  test::hello_spec spec;
  spec.no_extensions = true;
  EXPECT_EQ(parse_whole(records_of(spec)).error, hello_error::no_server_name);
}

TEST(client_hello_parser, refuses_a_second_server_name_extension) {
  test::hello_spec spec = test::hello_for("api.example.com");
  spec.duplicate_server_name_extension = true;
  EXPECT_EQ(parse_whole(records_of(spec)).error, hello_error::bad_server_name);
}

TEST(client_hello_parser, ignores_grease_and_unknown_extensions_in_any_order) {
  for (bool last : {false, true}) {
    for (bool grease : {false, true}) {
      test::hello_spec spec = test::hello_for("Api.Example.COM");
      spec.server_name_last = last;
      spec.grease = grease;
      const auto got = parse_whole(records_of(spec));
      EXPECT_EQ(got.status, hello_status::complete);
      EXPECT_EQ(got.server_name, "api.example.com");  // compared case-insensitively
    }
  }
}

// RFC 6066 leaves room for other name types; the first host_name is the one used.
TEST(client_hello_parser, takes_the_first_host_name_of_the_list) {
  test::hello_spec spec;
  spec.names = {{7, "not-a-host-name"}, {0, "first.example"}, {0, "second.example"}};
  const auto got = parse_whole(records_of(spec));
  EXPECT_EQ(got.status, hello_status::complete);
  EXPECT_EQ(got.server_name, "first.example");
  spec.names = {{7, "x"}};
  EXPECT_EQ(parse_whole(records_of(spec)).error, hello_error::no_server_name);
}

TEST(client_hello_parser, refuses_server_names_that_are_not_dns_names) {
  for (const std::string& name :
       {std::string(), std::string(256, 'a'), std::string("a\0b", 3), std::string("a_b.c"),
        std::string("a b"), std::string("a..b"), std::string(".a"), std::string("a."),
        std::string("a/b"), std::string(64, 'x') + ".com", std::string("caf\xc3\xa9.com")}) {
    const auto got = parse_whole(records_of(test::hello_for(name)));
    EXPECT_EQ(got.status, hello_status::rejected) << name;
    EXPECT_EQ(got.error, hello_error::bad_server_name) << name;
  }
  // 255 bytes in labels of 63 is the longest accepted.
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(63, 'd');
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_EQ(parse_whole(records_of(test::hello_for(longest))).status, hello_status::complete);
}

// Length fields that disagree with the bytes around them, one at a time.
TEST(client_hello_parser, refuses_lengths_that_lie) {
  const auto good = test::build_client_hello(test::hello_for("a.example"));
  auto broken = [&](auto&& edit) {
    auto handshake = good;
    edit(handshake);
    return parse_whole(test::frame_records(handshake, 16384));
  };
  // session_id longer than 32.
  EXPECT_EQ(broken([](bytes& h) { h[4 + 34] = 33; }).error, hello_error::malformed);
  // session_id length running past the body.
  EXPECT_EQ(broken([](bytes& h) { h[4 + 34] = 0xff; }).error, hello_error::malformed);
  // cipher_suites of odd length.
  const std::size_t suites = 4 + 35 + 32;
  EXPECT_EQ(broken([&](bytes& h) { h[suites + 1] = 9; }).error, hello_error::malformed);
  // cipher_suites longer than the body.
  EXPECT_EQ(broken([&](bytes& h) { h[suites] = 0x7f; }).error, hello_error::malformed);
  // an extensions block longer than what is left.
  EXPECT_EQ(broken([&](bytes& h) {
              const std::size_t ext = suites + 2 + 10 + 2;
              h[ext] = 0x7f;
            }).error,
            hello_error::malformed);
  // the handshake length shorter than any ClientHello.
  EXPECT_EQ(broken([](bytes& h) {
              h[1] = 0;
              h[2] = 0;
              h[3] = 10;
            }).error,
            hello_error::malformed);
}

// A fixed-seed storm of random edits: never a crash, never a read past the input (the
// sanitize build checks the latter), and every outcome is one of the three.
TEST(client_hello_parser, survives_random_corruption) {
  std::mt19937 random(12345);
  const auto wire = test::read_capture("curl.bin");
  for (int round = 0; round < 20000; ++round) {
    auto copy = wire;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) copy[random() % copy.size()] = static_cast<std::uint8_t>(random());
    copy.resize(random() % (copy.size() + 1));
    const auto got = parse_in_steps(copy, 1 + random() % 64);
    if (got.status == hello_status::complete) {
      EXPECT_FALSE(got.server_name.empty());
    }
  }
}

}  // namespace
}  // namespace meshgate::tls
