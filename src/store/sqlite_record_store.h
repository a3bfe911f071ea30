#pragma once
// record_store over SQLite: committed state in memory for reads, SQLite for durability.

#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>

#include "store/record_store.h"

namespace meshgate::store {

/// The store's files cannot be opened or read. what() names the file and the cause.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class sqlite_record_store final : public record_store {
 public:
  /// Opens (or creates) `<data_dir>/state.db` and loads it into memory, building the
  /// secondary `indexes`. Throws store_error.
  explicit sqlite_record_store(const std::filesystem::path& data_dir,
                               std::vector<index_definition> indexes = {});
  ~sqlite_record_store() override;
  sqlite_record_store(const sqlite_record_store&) = delete;
  sqlite_record_store& operator=(const sqlite_record_store&) = delete;

  void read(const std::function<void(const state_view&)>& fn) const override;
  void commit(transaction txn, std::function<void(commit_result)> done) override;
  std::uint64_t index() const override;
  watch_registry& watches() override { return *watches_; }

  /// Commits that shared an fsync with others, for the benchmark and tests.
  std::uint64_t batches() const noexcept { return batches_; }

 private:
  struct pending {
    transaction txn;
    std::function<void(commit_result)> done;
  };
  struct statement_deleter {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  using statement = std::unique_ptr<sqlite3_stmt, statement_deleter>;

  void load();
  void index_record(const std::string& table, const std::string& key, const record* old, const record* now);
  void committer();
  void commit_batch(std::deque<pending>& batch);
  statement prepare(const char* sql);
  void exec(const char* sql);

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  statement upsert_, delete_, set_index_;

  mutable std::shared_mutex state_mutex_;  // readers share; the committer applies alone
  std::map<std::string, state_view::table_type, std::less<>> tables_;
  std::vector<index_definition> index_definitions_;
  index_map indexes_;
  std::uint64_t index_ = 0;
  std::unique_ptr<watch_registry> watches_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> batches_{0};
  std::thread thread_;
};

}  // namespace meshgate::store
