#pragma once
// Reading request bodies the way Consul does, with errors that name the field.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meshgate::catalog {

/// Input that breaks a rule. what() names the field and the rule; the API answers 400.
class invalid_input : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads one JSON object. Field names match whatever their case and underscores, as in
/// Consul (Go's decoder is case-insensitive, and Consul translates snake_case):
/// "DestinationName", "destination_name" and "destinationname" are one field. done()
/// refuses every field nobody asked for, so a typo is an error, not a silent default.
class json_reader {
 public:
  /// `path` names this object in messages ("Proxy.Upstreams[1]"); "" for the top.
  json_reader(const boost::json::value& value, std::string path);
  /// The reader keeps a pointer into `value`: a temporary would not outlive it.
  json_reader(boost::json::value&& value, std::string path) = delete;

  bool has(std::string_view field) const;
  const boost::json::value* find(std::string_view field);
  std::string string(std::string_view field, std::string fallback = {});
  std::int64_t integer(std::string_view field, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  bool boolean(std::string_view field, bool fallback = false);
  std::vector<std::string> strings(std::string_view field);
  /// A map of strings whose keys are data, not field names (kept as written).
  std::map<std::string, std::string> string_map(std::string_view field);
  /// A Go duration: a string such as "10s" or a number of nanoseconds, at most `longest`
  /// (durations become timer deadlines: a bound keeps them far from the clock's overflow).
  std::optional<std::chrono::milliseconds> duration(std::string_view field,
                                                    std::chrono::milliseconds longest = std::chrono::hours(24 * 365));
  /// An object kept verbatim (Proxy.Config and the like).
  boost::json::object opaque(std::string_view field);
  std::optional<json_reader> object(std::string_view field);
  std::vector<json_reader> objects(std::string_view field);

  /// Where this object is: "Proxy.Upstreams[1]" ("request body" for the top).
  std::string path() const { return path_.empty() ? "request body" : path_; }
  /// "Proxy.Upstreams[1].LocalBindPort": for messages about a field of this object.
  std::string at(std::string_view field) const;
  /// Throws invalid_input for the first field no call above asked for.
  void done() const;

 private:
  const boost::json::object* object_;
  std::string path_;
  std::vector<bool> used_;  // by position in object_
};

/// A field name with case and underscores taken out: the form names are compared in.
std::string canonical_field(std::string_view name);

/// Parses a request body; invalid JSON is invalid_input with the byte offset.
boost::json::value parse_body(std::string_view body);

}  // namespace meshgate::catalog
