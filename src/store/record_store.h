#pragma once
// The record store: tables of JSON records, one monotonic index, durable transactions.

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/watch_registry.h"

namespace meshgate::store {

/// A stored value with the indexes of its creation and last change (Consul's RaftIndex).
struct record {
  boost::json::value value;
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;
};

/// One change inside a transaction. A null `value` deletes the record.
struct write_op {
  std::string table;
  std::string key;
  std::optional<boost::json::value> value;
  /// Check-and-set: the record's ModifyIndex must equal this (0: the record must not
  /// exist). Checked against the state as of the commit, so two racing CAS writes cannot
  /// both succeed.
  std::optional<std::uint64_t> cas;
};

/// All or nothing: every op applies, at one new index, or none does.
struct transaction {
  std::vector<write_op> ops;
  /// What blocking queries to wake: every topic listed gets the transaction's index.
  std::vector<std::string> topics;
};

struct commit_result {
  bool applied = false;     // false: a CAS precondition failed (nothing was written)
  std::uint64_t index = 0;  // the transaction's index when applied
  std::string error;        // set when the store could not write at all
};

/// A secondary index over one table: the records whose value yields `key`, by the function
/// the index was declared with (Consul's memdb indexes). Kept up to date on every commit, so
/// that a read for one service does not scan every service.
struct index_definition {
  std::string table;
  std::string name;
  /// The index keys of a record (none: not in the index).
  std::function<std::vector<std::string>(const boost::json::value&)> keys;
};

/// index name -> index key -> primary keys.
using index_map = std::map<std::string, std::map<std::string, std::set<std::string>, std::less<>>, std::less<>>;

/// A read-only view of the committed state, valid during a read() call.
class state_view {
 public:
  using table_type = std::map<std::string, record, std::less<>>;
  state_view(const std::map<std::string, table_type, std::less<>>& tables, const index_map& indexes,
             std::uint64_t index) noexcept
      : tables_(tables), indexes_(indexes), index_(index) {}

  const record* get(std::string_view table, std::string_view key) const;
  /// Every record of a table, in key order (empty if the table has none).
  const table_type& table(std::string_view name) const;
  /// The records of `table` whose index `index_name` has `key`, in primary key order.
  std::vector<const record*> find(std::string_view table, std::string_view index_name, std::string_view key) const;
  /// Every key index `index_name` has now, in order.
  std::vector<std::string> index_keys(std::string_view index_name) const;
  std::uint64_t index() const noexcept { return index_; }

 private:
  const std::map<std::string, table_type, std::less<>>& tables_;
  const index_map& indexes_;
  std::uint64_t index_;
};

class record_store {
 public:
  virtual ~record_store() = default;

  /// Calls `fn` with the committed state; other reads run at the same time, commits wait.
  virtual void read(const std::function<void(const state_view&)>& fn) const = 0;
  /// Makes `txn` durable, then applies it and calls `done` (on the store's own thread).
  virtual void commit(transaction txn, std::function<void(commit_result)> done) = 0;
  /// The index of the last committed transaction.
  virtual std::uint64_t index() const = 0;
  /// Where blocking queries wait for topics.
  virtual watch_registry& watches() = 0;
};

}  // namespace meshgate::store
