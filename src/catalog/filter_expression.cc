#include "catalog/filter_expression.h"

#include <array>
#include <boost/json.hpp>
#include <optional>
#include <vector>

#include "catalog/json_reader.h"

namespace meshgate::catalog {

namespace json = boost::json;

namespace {

enum class value_type { string, number, list, map };

enum class op { equal, not_equal, contains, not_contains, is_empty, is_not_empty };

struct selector {
  std::vector<std::string> path;  // JSON keys from the entry's root
  value_type type = value_type::string;
  std::string text;  // as written, for messages
};

/// The selectors an instance offers. Meta maps may also be indexed by any key.
struct known_selector {
  std::array<std::string_view, 3> path;
  value_type type;
};
constexpr std::array<known_selector, 13> known_selectors{{
    {{"Service", "ID", ""}, value_type::string},
    {{"Service", "Service", ""}, value_type::string},
    {{"Service", "Address", ""}, value_type::string},
    {{"Service", "Port", ""}, value_type::number},
    {{"Service", "Kind", ""}, value_type::string},
    {{"Service", "Tags", ""}, value_type::list},
    {{"Service", "Meta", ""}, value_type::map},
    {{"Service", "Proxy", "DestinationServiceName"}, value_type::string},
    {{"Service", "Proxy", "DestinationServiceID"}, value_type::string},
    {{"Node", "Node", ""}, value_type::string},
    {{"Node", "Address", ""}, value_type::string},
    {{"Node", "Datacenter", ""}, value_type::string},
    {{"Node", "Meta", ""}, value_type::map},
}};

const char* type_name(value_type t) {
  switch (t) {
    case value_type::string: return "a string";
    case value_type::number: return "a number";
    case value_type::list: return "a list";
    case value_type::map: return "a map";
  }
  return "?";
}

// ---- tokens ---------------------------------------------------------------------------

enum class token_kind { word, quoted, lparen, rparen, lbracket, rbracket, equal, not_equal, end };

struct token {
  token_kind kind = token_kind::end;
  std::string text;  // a word, or a quoted value without its quotes
  std::size_t pos = 0;
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '/' || c == ':';
}

[[noreturn]] void fail(std::size_t pos, const std::string& what) {
  throw invalid_input("at byte " + std::to_string(pos) + ": " + what);
}

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    token t;
    t.pos = i;
    if (c == '(' || c == ')' || c == '[' || c == ']') {
      t.kind = c == '(' ? token_kind::lparen : c == ')' ? token_kind::rparen
               : c == '[' ? token_kind::lbracket : token_kind::rbracket;
      ++i;
    } else if ((c == '=' || c == '!') && i + 1 < s.size() && s[i + 1] == '=') {
      t.kind = c == '=' ? token_kind::equal : token_kind::not_equal;
      i += 2;
    } else if (c == '"') {
      t.kind = token_kind::quoted;
      for (++i;; ++i) {
        if (i >= s.size()) fail(t.pos, "the quoted value is not closed");
        if (s[i] == '"') break;
        if (s[i] == '\\') {
          if (i + 1 >= s.size() || (s[i + 1] != '"' && s[i + 1] != '\\')) {
            fail(i, "only \\\" and \\\\ are escapes in a quoted value");
          }
          ++i;
        }
        t.text.push_back(s[i]);
      }
      ++i;
    } else if (c == '`') {
      t.kind = token_kind::quoted;
      const auto close = s.find('`', i + 1);
      if (close == std::string_view::npos) fail(t.pos, "the `raw` value is not closed");
      t.text = std::string(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (is_word_char(c)) {
      t.kind = token_kind::word;
      while (i < s.size() && is_word_char(s[i])) t.text.push_back(s[i++]);
    } else {
      fail(i, c == '=' ? std::string("'=' is not an operator; use ==")
                       : "unexpected character " + json::serialize(json::string(std::string(1, c))));
    }
    out.push_back(std::move(t));
  }
  out.push_back(token{token_kind::end, "", s.size()});
  return out;
}

}  // namespace

// ---- the tree ---------------------------------------------------------------------------

struct filter_expression::node {
  enum class kind { all_of, any_of, negation, match } k = kind::match;
  std::vector<node> children;  // all_of / any_of: two or more; negation: one
  selector sel;                // match
  op operation = op::equal;
  std::string value;
};

namespace {

using node = filter_expression::node;

class parser {
 public:
  explicit parser(std::string_view text) : tokens_(tokenize(text)) {}

  node parse() {
    auto n = parse_or(0);
    if (peek().kind != token_kind::end) fail(peek().pos, "expected and, or or the end, got " + describe(peek()));
    return n;
  }

 private:
  const token& peek(std::size_t ahead = 0) const { return tokens_[std::min(at_ + ahead, tokens_.size() - 1)]; }
  token next() { return tokens_[std::min(at_++, tokens_.size() - 1)]; }
  bool peek_word(std::string_view w, std::size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::word && peek(ahead).text == w;
  }

  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::end: return "the end of the expression";
      case token_kind::quoted: return "a quoted value";
      case token_kind::lparen: return "'('";
      case token_kind::rparen: return "')'";
      case token_kind::lbracket: return "'['";
      case token_kind::rbracket: return "']'";
      case token_kind::equal: return "'=='";
      case token_kind::not_equal: return "'!='";
      case token_kind::word: return json::serialize(json::string(t.text));
    }
    return "?";
  }

  static void check_depth(int depth, std::size_t pos) {
    if (depth > filter_expression::max_depth) {
      fail(pos, "nested deeper than " + std::to_string(filter_expression::max_depth) + " levels");
    }
  }

  // `or` binds looser than `and`: a chain of one kind over operands of the tighter one.
  node parse_or(int depth) { return parse_chain(depth, "or", node::kind::any_of, &parser::parse_and); }
  node parse_and(int depth) { return parse_chain(depth, "and", node::kind::all_of, &parser::parse_unary); }

  node parse_chain(int depth, std::string_view keyword, node::kind k, node (parser::*operand)(int)) {
    std::vector<node> children;
    children.push_back((this->*operand)(depth));
    while (peek_word(keyword)) {
      next();
      children.push_back((this->*operand)(depth));
    }
    if (children.size() == 1) return std::move(children.front());
    node n;
    n.k = k;
    n.children = std::move(children);
    return n;
  }

  node parse_unary(int depth) {
    check_depth(depth, peek().pos);
    if (peek_word("not")) {
      next();
      node n;
      n.k = node::kind::negation;
      n.children.push_back(parse_unary(depth + 1));
      return n;
    }
    if (peek().kind == token_kind::lparen) {
      next();
      auto inner = parse_or(depth + 1);
      if (peek().kind != token_kind::rparen) fail(peek().pos, "expected ')', got " + describe(peek()));
      next();
      return inner;
    }
    return parse_match();
  }

  std::string parse_value(std::string_view after) {
    const auto t = next();
    if (t.kind != token_kind::word && t.kind != token_kind::quoted) {
      fail(t.pos, "expected a value after " + std::string(after) + ", got " + describe(t));
    }
    return t.text;
  }

  node parse_match() {
    const auto first = peek();
    // `V in S` and `V not in S` put the value first.
    const bool value_first = peek_word("in", 1) || (peek_word("not", 1) && peek_word("in", 2));
    if (value_first) {
      if (first.kind != token_kind::word && first.kind != token_kind::quoted) {
        fail(first.pos, "expected a value before in, got " + describe(first));
      }
      next();
      const bool negated = peek_word("not");
      if (negated) next();
      next();  // in
      node n;
      n.value = first.text;
      n.sel = parse_selector();
      n.operation = negated ? op::not_contains : op::contains;
      require_fits(n, first.pos);
      return n;
    }
    node n;
    n.sel = parse_selector();
    const auto o = next();
    if (o.kind == token_kind::equal || o.kind == token_kind::not_equal) {
      n.operation = o.kind == token_kind::equal ? op::equal : op::not_equal;
      n.value = parse_value(o.kind == token_kind::equal ? "==" : "!=");
    } else if (o.kind == token_kind::word && o.text == "contains") {
      n.operation = op::contains;
      n.value = parse_value("contains");
    } else if (o.kind == token_kind::word && o.text == "not" && peek_word("contains")) {
      next();
      n.operation = op::not_contains;
      n.value = parse_value("not contains");
    } else if (o.kind == token_kind::word && o.text == "is") {
      const bool negated = peek_word("not");
      if (negated) next();
      if (!peek_word("empty")) fail(peek().pos, "expected empty after is, got " + describe(peek()));
      next();
      n.operation = negated ? op::is_not_empty : op::is_empty;
    } else if (o.kind == token_kind::word && (o.text == "matches" || (o.text == "not" && peek_word("matches")))) {
      fail(o.pos, "matches (regular expressions) is not supported; use ==, contains or in");
    } else {
      fail(o.pos, "expected ==, !=, contains, not contains or is [not] empty after " + n.sel.text + ", got " +
                      describe(o));
    }
    require_fits(n, first.pos);
    return n;
  }

  selector parse_selector() {
    const auto t = next();
    if (t.kind != token_kind::word) fail(t.pos, "expected a selector such as Service.Meta.version, got " + describe(t));
    selector s;
    s.text = t.text;
    std::size_t start = 0;
    for (;;) {  // split on '.'
      const auto dot = t.text.find('.', start);
      const auto part = t.text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) fail(t.pos, json::serialize(json::string(t.text)) + " has an empty part");
      s.path.push_back(part);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    while (peek().kind == token_kind::lbracket) {  // S["any key"]
      next();
      const auto key = next();
      if (key.kind != token_kind::quoted) fail(key.pos, "expected a quoted key inside [ ], got " + describe(key));
      if (next().kind != token_kind::rbracket) fail(key.pos, "expected ']' after the key");
      s.path.push_back(key.text);
      s.text += "[" + json::serialize(json::string(key.text)) + "]";
    }
    resolve(s, t.pos);
    return s;
  }

  static void resolve(selector& s, std::size_t pos) {
    for (const auto& k : known_selectors) {
      const std::size_t fixed = k.path[2].empty() ? 2 : 3;
      if (s.path.size() < fixed) continue;
      bool same = true;
      for (std::size_t i = 0; i < fixed; ++i) same = same && s.path[i] == k.path[i];
      if (!same) continue;
      if (s.path.size() == fixed) {
        s.type = k.type;
        return;
      }
      if (k.type == value_type::map && s.path.size() == fixed + 1) {  // one entry of the map
        s.type = value_type::string;
        return;
      }
    }
    fail(pos, "unknown selector " + json::serialize(json::string(s.text)) +
                  " (known: Service.ID, Service.Service, Service.Address, Service.Port, Service.Kind, Service.Tags, "
                  "Service.Meta[.key], Service.Proxy.DestinationServiceName, Service.Proxy.DestinationServiceID, "
                  "Node.Node, Node.Address, Node.Datacenter, Node.Meta[.key])");
  }

  static void require_fits(const node& n, std::size_t pos) {
    const auto t = n.sel.type;
    const bool ok = [&] {
      switch (n.operation) {
        case op::equal:
        case op::not_equal: return t == value_type::string || t == value_type::number;
        case op::contains:
        case op::not_contains: return t != value_type::number;
        case op::is_empty:
        case op::is_not_empty: return t != value_type::number;
      }
      return false;
    }();
    if (ok) return;
    const char* hint = t == value_type::number ? "use == or !=" : "use contains, in or is empty";
    fail(pos, n.sel.text + " is " + type_name(t) + "; " + hint);
  }

  std::vector<token> tokens_;
  std::size_t at_ = 0;
};

/// The two roots a selector starts from (every known selector begins with one of them).
struct instance {
  const json::value* node;
  const json::value* service;
};

const json::value* lookup(const instance& in, const std::vector<std::string>& path) {
  const json::value* v = path.front() == "Node" ? in.node : in.service;
  for (std::size_t i = 1; i < path.size(); ++i) {
    const auto* o = v ? v->if_object() : nullptr;
    if (o == nullptr) return nullptr;
    v = o->if_contains(path[i]);
  }
  return v;
}

std::optional<std::string> as_text(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_bool()) return v->get_bool() ? "true" : "false";
  return std::nullopt;
}

bool contains(const json::value* v, const std::string& needle) {
  if (v == nullptr) return false;
  if (const auto* a = v->if_array()) {
    for (const auto& e : *a) {
      if (e.is_string() && e.get_string() == needle) return true;
    }
    return false;
  }
  if (const auto* o = v->if_object()) return o->contains(needle);
  if (const auto* s = v->if_string()) return std::string_view(*s).find(needle) != std::string_view::npos;
  return false;
}

bool is_empty(const json::value* v) {
  if (v == nullptr || v->is_null()) return true;
  if (const auto* a = v->if_array()) return a->empty();
  if (const auto* o = v->if_object()) return o->empty();
  if (const auto* s = v->if_string()) return s->empty();
  return false;
}

bool evaluate(const node& n, const instance& entry) {
  switch (n.k) {
    case node::kind::all_of:
      for (const auto& c : n.children) {
        if (!evaluate(c, entry)) return false;
      }
      return true;
    case node::kind::any_of:
      for (const auto& c : n.children) {
        if (evaluate(c, entry)) return true;
      }
      return false;
    case node::kind::negation: return !evaluate(n.children.front(), entry);
    case node::kind::match: break;
  }
  const auto* v = lookup(entry, n.sel.path);
  switch (n.operation) {
    case op::equal: return as_text(v) == n.value;
    case op::not_equal: return as_text(v) != n.value;
    case op::contains: return contains(v, n.value);
    case op::not_contains: return !contains(v, n.value);
    case op::is_empty: return is_empty(v);
    case op::is_not_empty: return !is_empty(v);
  }
  return false;
}

}  // namespace

filter_expression filter_expression::parse(std::string_view text) {
  if (text.size() > max_text_bytes) {
    throw invalid_input("longer than " + std::to_string(max_text_bytes) + " bytes");
  }
  filter_expression f;
  f.text_ = std::string(text);
  f.root_ = std::make_shared<const node>(parser(text).parse());
  return f;
}

bool filter_expression::matches(const json::object& entry) const {
  return evaluate(*root_, instance{entry.if_contains("Node"), entry.if_contains("Service")});
}

bool filter_expression::matches(const json::value& node_part, const json::value& service_part) const {
  return evaluate(*root_, instance{&node_part, &service_part});
}

}  // namespace meshgate::catalog
