#include "store/sqlite_record_store.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/logging.h"

namespace meshgate::store {

namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("store");
  return logger;
}

const state_view::table_type empty_table;

}  // namespace

const record* state_view::get(std::string_view table, std::string_view key) const {
  const auto t = tables_.find(table);
  if (t == tables_.end()) return nullptr;
  const auto r = t->second.find(key);
  return r == t->second.end() ? nullptr : &r->second;
}

const state_view::table_type& state_view::table(std::string_view name) const {
  const auto t = tables_.find(name);
  return t == tables_.end() ? empty_table : t->second;
}

std::vector<const record*> state_view::find(std::string_view table, std::string_view index_name,
                                             std::string_view key) const {
  std::vector<const record*> out;
  const auto i = indexes_.find(index_name);
  if (i == indexes_.end()) return out;
  const auto k = i->second.find(key);
  if (k == i->second.end()) return out;
  for (const auto& primary : k->second) {
    if (const auto* r = get(table, primary)) out.push_back(r);
  }
  return out;
}

std::vector<std::string> state_view::index_keys(std::string_view index_name) const {
  std::vector<std::string> out;
  const auto i = indexes_.find(index_name);
  if (i == indexes_.end()) return out;
  for (const auto& [key, primaries] : i->second) {
    if (!primaries.empty()) out.push_back(key);
  }
  return out;
}

void sqlite_record_store::index_record(const std::string& table, const std::string& key, const record* old,
                                       const record* now) {
  for (const auto& d : index_definitions_) {
    if (d.table != table) continue;
    auto& index = indexes_[d.name];
    if (old) {
      for (const auto& k : d.keys(old->value)) {
        if (auto it = index.find(k); it != index.end()) {
          it->second.erase(key);
          if (it->second.empty()) index.erase(it);
        }
      }
    }
    if (now) {
      for (const auto& k : d.keys(now->value)) index[k].insert(key);
    }
  }
}

sqlite_record_store::sqlite_record_store(const std::filesystem::path& data_dir,
                                         std::vector<index_definition> indexes)
    : file_(data_dir / "state.db"), index_definitions_(std::move(indexes)) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw store_error(data_dir.string() + ": cannot create the data directory: " + ec.message());
  if (sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw store_error(file_.string() + ": cannot open: " + why);
  }
  try {
    // WAL with synchronous=FULL: a commit returns after the log is on disk (one fsync),
    // and a crash at any point leaves the last committed transaction intact.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS records (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
         " create_index INTEGER NOT NULL, modify_index INTEGER NOT NULL, PRIMARY KEY (tbl, key))"
         " WITHOUT ROWID");
    exec("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    upsert_ = prepare("INSERT OR REPLACE INTO records VALUES (?1, ?2, ?3, ?4, ?5)");
    delete_ = prepare("DELETE FROM records WHERE tbl = ?1 AND key = ?2");
    set_index_ = prepare("INSERT OR REPLACE INTO meta VALUES ('index', ?1)");
    load();
  } catch (...) {
    upsert_.reset();
    delete_.reset();
    set_index_.reset();
    sqlite3_close(db_);
    throw;
  }
  watches_ = std::make_unique<watch_registry>(index_);
  thread_ = std::thread([this] { committer(); });
}

sqlite_record_store::~sqlite_record_store() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_one();
  thread_.join();
  upsert_.reset();
  delete_.reset();
  set_index_.reset();
  sqlite3_close(db_);
}

void sqlite_record_store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : "unknown error";
    sqlite3_free(error);
    throw store_error(file_.string() + ": " + why + " (in: " + sql + ")");
  }
}

sqlite_record_store::statement sqlite_record_store::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    throw store_error(file_.string() + ": " + sqlite3_errmsg(db_));
  }
  return statement(s);
}

void sqlite_record_store::load() {
  auto rows = prepare("SELECT tbl, key, value, create_index, modify_index FROM records");
  while (sqlite3_step(rows.get()) == SQLITE_ROW) {
    const auto text = [&](int column) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), column)),
                         static_cast<std::size_t>(sqlite3_column_bytes(rows.get(), column)));
    };
    boost::system::error_code ec;
    auto value = json::parse(text(2), ec);
    if (ec) throw store_error(file_.string() + ": record " + text(0) + "/" + text(1) + " is not JSON");
    auto& stored = tables_[text(0)][text(1)];
    stored = {std::move(value), static_cast<std::uint64_t>(sqlite3_column_int64(rows.get(), 3)),
              static_cast<std::uint64_t>(sqlite3_column_int64(rows.get(), 4))};
    index_record(text(0), text(1), nullptr, &stored);
  }
  auto meta = prepare("SELECT value FROM meta WHERE name = 'index'");
  if (sqlite3_step(meta.get()) == SQLITE_ROW) {
    index_ = static_cast<std::uint64_t>(sqlite3_column_int64(meta.get(), 0));
  }
  std::size_t records = 0;
  for (const auto& [name, t] : tables_) records += t.size();
  log()->info("loaded {}: {} records, index {}", file_.string(), records, index_);
}

void sqlite_record_store::read(const std::function<void(const state_view&)>& fn) const {
  std::shared_lock lock(state_mutex_);
  fn(state_view(tables_, indexes_, index_));
}

std::uint64_t sqlite_record_store::index() const {
  std::shared_lock lock(state_mutex_);
  return index_;
}

void sqlite_record_store::commit(transaction txn, std::function<void(commit_result)> done) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back({std::move(txn), std::move(done)});
  }
  queue_cv_.notify_one();
}

void sqlite_record_store::committer() {
  for (;;) {
    std::deque<pending> batch;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      batch.swap(queue_);
    }
    // Everything that queued up during the previous fsync shares this one.
    commit_batch(batch);
  }
}

void sqlite_record_store::commit_batch(std::deque<pending>& batch) {
  // Decide every transaction against the committed state plus the earlier ones of this
  // batch (only the committer writes, so the state cannot change under it).
  using indexes = std::pair<std::uint64_t, std::uint64_t>;  // (create, modify); 0 = absent
  struct staged {
    const write_op* op;
    indexes at;  // the record's indexes once written
  };
  std::vector<commit_result> results(batch.size());
  std::vector<staged> writes;
  std::map<std::pair<std::string_view, std::string_view>, indexes> overlay;
  std::uint64_t next = index_;
  {
    std::shared_lock lock(state_mutex_);
    auto current = [&](const write_op& op) -> indexes {
      if (auto o = overlay.find({op.table, op.key}); o != overlay.end()) return o->second;
      const auto t = tables_.find(op.table);
      if (t == tables_.end()) return {0, 0};
      const auto r = t->second.find(op.key);
      if (r == t->second.end()) return {0, 0};
      return {r->second.create_index, r->second.modify_index};
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& txn = batch[i].txn;
      const bool preconditions_hold = std::all_of(txn.ops.begin(), txn.ops.end(), [&](const auto& op) {
        return !op.cas || current(op).second == *op.cas;
      });
      if (!preconditions_hold) continue;  // results[i] stays "not applied"
      const std::uint64_t index = ++next;
      for (const auto& op : txn.ops) {
        const auto [create, modify] = current(op);
        const indexes at = op.value ? indexes{modify == 0 ? index : create, index} : indexes{0, 0};
        writes.push_back({&op, at});
        overlay[{op.table, op.key}] = at;
      }
      results[i] = {true, index, {}};
    }
  }

  std::string failure;
  if (next != index_) {
    try {
      exec("BEGIN");
      for (const auto& w : writes) {
        sqlite3_stmt* s = w.op->value ? upsert_.get() : delete_.get();
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, w.op->table.data(), static_cast<int>(w.op->table.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, w.op->key.data(), static_cast<int>(w.op->key.size()), SQLITE_TRANSIENT);
        if (w.op->value) {
          const auto text = json::serialize(*w.op->value);
          sqlite3_bind_text(s, 3, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
          sqlite3_bind_int64(s, 4, static_cast<sqlite3_int64>(w.at.first));
          sqlite3_bind_int64(s, 5, static_cast<sqlite3_int64>(w.at.second));
        }
        if (sqlite3_step(s) != SQLITE_DONE) throw store_error(sqlite3_errmsg(db_));
      }
      sqlite3_reset(set_index_.get());
      sqlite3_bind_int64(set_index_.get(), 1, static_cast<sqlite3_int64>(next));
      if (sqlite3_step(set_index_.get()) != SQLITE_DONE) throw store_error(sqlite3_errmsg(db_));
      exec("COMMIT");  // returns once the WAL is fsynced
      batches_++;
    } catch (const std::exception& e) {
      failure = e.what();
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      log()->error("commit of {} transactions failed: {}", batch.size(), failure);
    }
  }

  if (failure.empty() && next != index_) {
    std::unique_lock lock(state_mutex_);
    for (const auto& w : writes) {
      auto& table = tables_[w.op->table];
      const auto existing = table.find(w.op->key);
      const record* old = existing == table.end() ? nullptr : &existing->second;
      if (w.op->value) {
        record now{*w.op->value, w.at.first, w.at.second};
        index_record(w.op->table, w.op->key, old, &now);
        table[w.op->key] = std::move(now);
      } else if (old) {
        index_record(w.op->table, w.op->key, old, nullptr);
        table.erase(existing);
      }
    }
    index_ = next;
  }
  // Wake watchers only once readers can see the change.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!failure.empty()) {
      results[i] = {false, 0, failure};
    } else if (results[i].applied) {
      watches_->changed(batch[i].txn.topics, results[i].index);
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) batch[i].done(std::move(results[i]));
  }
}

}  // namespace meshgate::store
