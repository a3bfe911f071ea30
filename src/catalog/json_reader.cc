#include "catalog/json_reader.h"

#include <boost/json.hpp>
#include <cctype>
#include <cmath>

#include "common/duration.h"

namespace meshgate::catalog {

namespace json = boost::json;

namespace {

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

std::string join(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

}  // namespace

std::string canonical_field(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '_' || c == '-') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

json::value parse_body(std::string_view body) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const auto used = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    throw invalid_input("request body is not valid JSON (at byte " + std::to_string(used) +
                        "): " + ec.message());
  }
  return parser.release();
}

json_reader::json_reader(const json::value& value, std::string path) : path_(std::move(path)) {
  if (!value.is_object()) {
    throw invalid_input((path_.empty() ? std::string("request body") : path_) +
                        ": must be an object, not " + kind_of(value));
  }
  object_ = &value.get_object();
  used_.assign(object_->size(), false);
  // The same field twice under two spellings ("Name" and "name") is ambiguous.
  std::vector<std::string> seen;
  for (const auto& [key, v] : *object_) {
    auto canonical = canonical_field(key);
    for (const auto& s : seen) {
      if (s == canonical) throw invalid_input(at(key) + ": given twice (names match whatever their case)");
    }
    seen.push_back(std::move(canonical));
  }
}

std::string json_reader::at(std::string_view field) const { return join(path_, field); }

bool json_reader::has(std::string_view field) const {
  const auto wanted = canonical_field(field);
  for (const auto& [key, v] : *object_) {
    if (canonical_field(key) == wanted) return true;
  }
  return false;
}

const json::value* json_reader::find(std::string_view field) {
  const auto wanted = canonical_field(field);
  std::size_t i = 0;
  for (const auto& [key, v] : *object_) {
    if (canonical_field(key) == wanted) {
      used_[i] = true;
      return v.is_null() ? nullptr : &v;  // null means "not set", as in Go
    }
    ++i;
  }
  return nullptr;
}

std::string json_reader::string(std::string_view field, std::string fallback) {
  const auto* v = find(field);
  if (v == nullptr) return fallback;
  if (!v->is_string()) throw invalid_input(at(field) + ": must be a string, not " + kind_of(*v));
  return std::string(v->get_string());
}

std::int64_t json_reader::integer(std::string_view field, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) {
  const auto* v = find(field);
  if (v == nullptr) return fallback;
  const auto out_of_range = [&](const std::string& shown) {
    return invalid_input(at(field) + ": " + shown + " is out of range " + std::to_string(min) + ".." +
                         std::to_string(max));
  };
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(max)) throw out_of_range(std::to_string(v->get_uint64()));
    n = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_double() && std::isfinite(v->get_double()) && v->get_double() == std::floor(v->get_double())) {
    // 1e3 is an integer too; one beyond int64's range is not one we can hold.
    const double d = v->get_double();
    if (d < -9.2e18 || d > 9.2e18) throw out_of_range(json::serialize(*v));
    n = static_cast<std::int64_t>(d);
  } else {
    throw invalid_input(at(field) + ": must be an integer, not " + kind_of(*v));
  }
  if (n < min || n > max) {
    throw invalid_input(at(field) + ": " + std::to_string(n) + " is out of range " +
                        std::to_string(min) + ".." + std::to_string(max));
  }
  return n;
}

bool json_reader::boolean(std::string_view field, bool fallback) {
  const auto* v = find(field);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) throw invalid_input(at(field) + ": must be true or false, not " + kind_of(*v));
  return v->get_bool();
}

std::vector<std::string> json_reader::strings(std::string_view field) {
  std::vector<std::string> out;
  const auto* v = find(field);
  if (v == nullptr) return out;
  if (!v->is_array()) throw invalid_input(at(field) + ": must be an array of strings, not " + kind_of(*v));
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& e = v->get_array()[i];
    if (!e.is_string()) {
      throw invalid_input(at(field) + "[" + std::to_string(i) + "]: must be a string, not " + kind_of(e));
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

std::map<std::string, std::string> json_reader::string_map(std::string_view field) {
  std::map<std::string, std::string> out;
  const auto* v = find(field);
  if (v == nullptr) return out;
  if (!v->is_object()) throw invalid_input(at(field) + ": must be an object of strings, not " + kind_of(*v));
  for (const auto& [key, e] : v->get_object()) {
    if (!e.is_string()) {
      throw invalid_input(at(field) + "." + std::string(key) + ": must be a string, not " + kind_of(e));
    }
    out.emplace(std::string(key), std::string(e.get_string()));
  }
  return out;
}

std::optional<std::chrono::milliseconds> json_reader::duration(std::string_view field,
                                                              std::chrono::milliseconds longest) {
  const auto* v = find(field);
  if (v == nullptr) return std::nullopt;
  std::optional<std::chrono::milliseconds> d;
  if (v->is_string()) {
    const std::string_view text = v->get_string();
    if (text.empty()) return std::nullopt;
    d = parse_duration(text);
    if (!d) {
      throw invalid_input(at(field) + ": \"" + std::string(text) +
                          "\" is not a duration (examples: 10s, 500ms, 1m30s)");
    }
  } else if (v->is_int64() && v->get_int64() >= 0) {  // Go marshals durations as nanoseconds
    d = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(v->get_int64()));
  } else if (v->is_uint64()) {
    d = longest + std::chrono::milliseconds(1);
  } else {
    throw invalid_input(at(field) + ": must be a duration such as \"10s\", not " + kind_of(*v));
  }
  if (*d > longest) {
    throw invalid_input(at(field) + ": longer than " + (longest == std::chrono::hours(24 * 365) ? std::string("a year") : format_duration(longest)));
  }
  return d;
}

json::object json_reader::opaque(std::string_view field) {
  const auto* v = find(field);
  if (v == nullptr) return {};
  if (!v->is_object()) throw invalid_input(at(field) + ": must be an object, not " + kind_of(*v));
  return v->get_object();
}

std::optional<json_reader> json_reader::object(std::string_view field) {
  const auto* v = find(field);
  if (v == nullptr) return std::nullopt;
  return json_reader(*v, at(field));
}

std::vector<json_reader> json_reader::objects(std::string_view field) {
  std::vector<json_reader> out;
  const auto* v = find(field);
  if (v == nullptr) return out;
  if (!v->is_array()) throw invalid_input(at(field) + ": must be an array, not " + kind_of(*v));
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    out.emplace_back(v->get_array()[i], at(field) + "[" + std::to_string(i) + "]");
  }
  return out;
}

void json_reader::done() const {
  std::size_t i = 0;
  for (const auto& [key, v] : *object_) {
    if (!used_[i++]) throw invalid_input(at(key) + ": unknown field");
  }
}

}  // namespace meshgate::catalog
