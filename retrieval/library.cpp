// library.cpp — the prompt library on SQLite (library.h).
#include "retrieval/library.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <set>

#include "base/check.h"
#include "io/download.h"
#include "io/safetensors.h"

namespace spot::retrieval {

namespace fs = std::filesystem;

const char* visibility_name(Visibility v) { return v == Visibility::Public ? "public" : "restricted"; }

Visibility parse_visibility(const std::string& s) {
  if (s == "public") return Visibility::Public;
  if (s == "restricted") return Visibility::Restricted;
  SPOT_FAIL("unknown visibility '" << s << "' (expected public or restricted)");
}

bool Caller::can_read(const std::string& owner, bool is_public, const std::vector<std::string>& readers) const {
  if (is_public) return true;
  if (user.empty()) return false;
  if (user == owner) return true;
  for (const std::string& r : readers) {
    if (r == "user:" + user) return true;
    for (const std::string& g : groups)
      if (r == "group:" + g) return true;
  }
  return false;
}

// ---------------------------------------------------------------- SQLite, thinly wrapped

struct Library::Db {
  sqlite3* h = nullptr;
  std::string path;
  ~Db() {
    if (h) sqlite3_close_v2(h);
  }
  [[noreturn]] void fail(const std::string& what) const {
    SPOT_FAIL(path << ": " << what << ": " << (h ? sqlite3_errmsg(h) : "cannot open"));
  }
  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(h, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "error";
      sqlite3_free(err);
      SPOT_FAIL(path << ": " << msg);
    }
  }
};

namespace {

class Stmt {
 public:
  Stmt(const Library::Db& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db.h, sql, -1, &s_, nullptr) != SQLITE_OK) db.fail("preparing a statement");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& bind(int i, double v) {
    check(sqlite3_bind_double(s_, i, v));
    return *this;
  }
  Stmt& blob(int i, const std::string& bytes) {
    check(sqlite3_bind_blob64(s_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail("reading or writing the library");
  }
  void run() {
    while (step()) {
    }
  }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double f64(int c) const { return sqlite3_column_double(s_, c); }
  std::string text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }
  std::string bytes(int c) const {
    const void* b = sqlite3_column_blob(s_, c);
    return b ? std::string(static_cast<const char*>(b), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) db_.fail("binding a value");
  }
  const Library::Db& db_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE (the write lock up front: two writers wait for each other instead of failing
// mid-transaction) ... COMMIT; rolled back when left by an exception.
class Transaction {
 public:
  explicit Transaction(const Library::Db& db) : db_(db) { db.exec("BEGIN IMMEDIATE"); }
  void commit() {
    db_.exec("COMMIT");
    done_ = true;
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_.h, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  const Library::Db& db_;
  bool done_ = false;
};

const char* kSchemaV1 = R"sql(
CREATE TABLE entries(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task TEXT NOT NULL, backbone TEXT NOT NULL, backbone_fingerprint TEXT NOT NULL,
  placement TEXT NOT NULL, depth TEXT NOT NULL CHECK(depth IN ('input', 'deep')),
  prompt_length INTEGER NOT NULL, layers INTEGER NOT NULL, d_model INTEGER NOT NULL,
  dataset_fingerprint TEXT NOT NULL, dataset_link TEXT NOT NULL, train_date TEXT NOT NULL,
  steps INTEGER NOT NULL, seed INTEGER NOT NULL, metric_name TEXT NOT NULL, metric_value REAL NOT NULL,
  init_mode TEXT NOT NULL, owner TEXT NOT NULL,
  visibility TEXT NOT NULL CHECK(visibility IN ('public', 'restricted')),
  description TEXT NOT NULL, created TEXT NOT NULL,
  times_retrieved INTEGER NOT NULL DEFAULT 0, gain_sum REAL NOT NULL DEFAULT 0, gain_count INTEGER NOT NULL DEFAULT 0,
  prompt BLOB NOT NULL, prompt_sha256 TEXT NOT NULL);
CREATE TABLE readers(entry INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE, principal TEXT NOT NULL,
                     PRIMARY KEY(entry, principal));
CREATE TABLE tags(entry INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE, tag TEXT NOT NULL,
                  PRIMARY KEY(entry, tag));
CREATE TABLE parents(entry INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE, position INTEGER NOT NULL,
                     parent INTEGER NOT NULL, strategy TEXT NOT NULL, k INTEGER NOT NULL, weight REAL NOT NULL,
                     PRIMARY KEY(entry, position));
CREATE TABLE embeddings(entry INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE, kind TEXT NOT NULL,
                        data BLOB NOT NULL, PRIMARY KEY(entry, kind));
CREATE INDEX entries_task ON entries(task);
)sql";


std::unique_ptr<Library::Db> connect(const std::string& path, int flags) {
  auto db = std::make_unique<Library::Db>();
  db->path = path;
  if (sqlite3_open_v2(path.c_str(), &db->h, flags, nullptr) != SQLITE_OK) db->fail("cannot open the library");
  sqlite3_busy_timeout(db->h, 10000);  // a concurrent writer holds the lock for one transaction
  db->exec("PRAGMA foreign_keys = ON");
  return db;
}

int read_version(const Library::Db& db) {
  // A file that is not SQLite fails here ("file is not a database").
  Stmt has(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'library_meta'");
  has.step();
  SPOT_CHECK(has.i64(0) == 1, db.path << ": not a spot prompt library (no library_meta table)");
  Stmt v(db, "SELECT value FROM library_meta WHERE key = 'schema_version'");
  SPOT_CHECK(v.step(), db.path << ": not a spot prompt library (no schema_version)");
  const std::string text = v.text(0);
  int version = 0;
  for (char c : text) {
    SPOT_CHECK(c >= '0' && c <= '9' && version < 100000, db.path << ": schema_version '" << text << "' is not a number");
    version = version * 10 + (c - '0');
  }
  SPOT_CHECK(!text.empty(), db.path << ": schema_version is empty");
  return version;
}

// Forward migrations, each from version n to n + 1, run in one transaction with the version bump.
// (Version 1 is the first; the list grows as the schema does.)
void migrate(Library::Db& db, int from) {
  SPOT_CHECK(from <= Library::kSchemaVersion, db.path << ": library schema version " << from
                                                      << " is newer than this spot's (" << Library::kSchemaVersion
                                                      << "): upgrade spot to open it");
  SPOT_CHECK(from >= 1, db.path << ": library schema version " << from << " is not one spot wrote");
}

std::string tensor_bytes(const Tensor& t, const std::map<std::string, std::string>& meta) {
  return io::safetensors_bytes({{"tensor", t}}, meta);
}

}  // namespace

// ---------------------------------------------------------------- the library

Library::Library(std::string path, std::unique_ptr<Db> db) : path_(std::move(path)), db_(std::move(db)) {}
Library::~Library() = default;
Library::Library(Library&&) noexcept = default;
Library& Library::operator=(Library&&) noexcept = default;

std::string now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Library Library::create(const std::string& path) {
  std::error_code ec;
  SPOT_CHECK(!fs::exists(path, ec), path << ": already exists (a library is created once; open it instead)");
  auto db = connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db->exec("PRAGMA journal_mode = WAL");
  Transaction t(*db);
  db->exec("CREATE TABLE library_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db->exec(kSchemaV1);
  Stmt(*db, "INSERT INTO library_meta(key, value) VALUES ('schema_version', ?1)")
      .bind(1, std::to_string(kSchemaVersion))
      .run();
  Stmt(*db, "INSERT INTO library_meta(key, value) VALUES ('created', ?1)").bind(1, now_iso8601()).run();
  t.commit();
  return Library(path, std::move(db));
}

Library Library::open(const std::string& path, bool check) {
  std::error_code ec;
  SPOT_CHECK(fs::is_regular_file(path, ec), path << ": no such library file (spot library init " << path << ")");
  auto db = connect(path, SQLITE_OPEN_READWRITE);
  Library lib(path, std::move(db));
  try {
    if (check) {
      const std::string r = lib.integrity_check();
      SPOT_CHECK(r == "ok", path << ": integrity check failed: " << r);
    }
    const int v = read_version(*lib.db_);
    if (v != kSchemaVersion) {
      Transaction t(*lib.db_);
      migrate(*lib.db_, v);
      t.commit();
    }
  } catch (const Error& e) {
    // SQLite says "file is not a database" for anything else; say whose file it is.
    const std::string msg = e.what();
    SPOT_FAIL((msg.rfind(path, 0) == 0 ? msg : path + ": " + msg));
  }
  return lib;
}

int Library::schema_version() const { return read_version(*db_); }

std::string Library::integrity_check() const {
  Stmt s(*db_, "PRAGMA integrity_check");
  std::string out;
  while (s.step()) out += (out.empty() ? "" : "; ") + s.text(0);
  return out;
}

namespace {

// The checks of an entry before it is written, and the fields add() fills from the prompt.
void prepare_entry(const std::string& path, const Caller& caller, Entry& e) {
  SPOT_CHECK(!caller.user.empty(), path << ": adding an entry needs a caller (the owner)");
  const Tensor& v = e.prompt.values;
  SPOT_CHECK(v.defined() && (v.ndim() == 2 || v.ndim() == 3), path << ": an entry needs a prompt [L, d] or [layers, L, d]");
  for (int64_t i = 0; i < v.numel(); ++i)
    SPOT_CHECK(std::isfinite(v.f32()[i]), path << ": the prompt holds a non-finite value at element " << i);
  EntryInfo& m = e.info;
  SPOT_CHECK(!m.task.empty(), path << ": an entry needs a task name");
  SPOT_CHECK(!m.backbone_fingerprint.empty(), path << ": an entry needs its backbone's fingerprint");
  for (const std::string& r : m.readers)
    SPOT_CHECK(r.rfind("user:", 0) == 0 || r.rfind("group:", 0) == 0,
               path << ": reader '" << r << "' must be user:<name> or group:<name>");
  SPOT_CHECK(std::isfinite(m.metric_value), path << ": metric_value of an entry is not finite");
  m.owner = caller.user;
  m.prompt_length = e.prompt.length();
  m.layers = e.prompt.layers();
  m.d_model = e.prompt.dim();
  m.depth = e.prompt.deep() ? "deep" : "input";
}

// Writes one entry's row, readers, tags and embeddings (not its lineage: insert_parents), inside
// the caller's transaction. keep_history: created and the usage statistics come from the entry.
int64_t insert_entry(const Library::Db& db, const std::string& path, Entry& e, bool keep_history) {
  EntryInfo& m = e.info;
  if (!keep_history || m.created.empty()) m.created = now_iso8601();
  if (!keep_history) m.times_retrieved = 0, m.mean_gain = 0, m.gain_count = 0;
  SPOT_CHECK(m.times_retrieved >= 0 && m.gain_count >= 0 && std::isfinite(m.mean_gain),
             path << ": usage statistics of an entry must be non-negative counts and a finite mean gain");
  const std::string prompt_bytes = tensor_bytes(e.prompt.values, e.prompt.metadata);
  Stmt ins(db, R"sql(INSERT INTO entries(task, backbone, backbone_fingerprint, placement, depth, prompt_length,
      layers, d_model, dataset_fingerprint, dataset_link, train_date, steps, seed, metric_name, metric_value, init_mode,
      owner, visibility, description, created, prompt, prompt_sha256, times_retrieved, gain_sum, gain_count)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
              ?24, ?25))sql");
  ins.bind(1, m.task).bind(2, m.backbone).bind(3, m.backbone_fingerprint).bind(4, m.placement).bind(5, m.depth);
  ins.bind(6, m.prompt_length).bind(7, m.layers).bind(8, m.d_model).bind(9, m.dataset_fingerprint);
  ins.bind(10, m.dataset_link).bind(11, m.train_date).bind(12, m.steps).bind(13, m.seed).bind(14, m.metric_name);
  ins.bind(15, m.metric_value).bind(16, m.init_mode).bind(17, m.owner).bind(18, std::string(visibility_name(m.visibility)));
  ins.bind(19, m.description).bind(20, m.created).blob(21, prompt_bytes);
  ins.bind(22, io::sha256_hex(prompt_bytes.data(), prompt_bytes.size()));
  ins.bind(23, m.times_retrieved).bind(24, m.mean_gain * static_cast<double>(m.gain_count)).bind(25, m.gain_count);
  ins.run();
  m.id = sqlite3_last_insert_rowid(db.h);
  for (const std::string& r : m.readers) Stmt(db, "INSERT OR IGNORE INTO readers VALUES (?1, ?2)").bind(1, m.id).bind(2, r).run();
  for (const std::string& g : m.tags) Stmt(db, "INSERT OR IGNORE INTO tags VALUES (?1, ?2)").bind(1, m.id).bind(2, g).run();
  m.embedding_kinds.clear();
  for (const auto& [kind, tensor] : e.embeddings) {
    SPOT_CHECK(tensor.defined() && tensor.is_cpu() && tensor.dtype() == DType::F32,
               path << ": task embedding '" << kind << "' must be a host f32 tensor");
    Stmt(db, "INSERT INTO embeddings VALUES (?1, ?2, ?3)").bind(1, m.id).bind(2, kind).blob(3, tensor_bytes(tensor, {})).run();
    m.embedding_kinds.push_back(kind);
  }
  return m.id;
}

void insert_parents(const Library::Db& db, int64_t id, const std::vector<Lineage>& parents) {
  for (size_t i = 0; i < parents.size(); ++i) {
    const Lineage& p = parents[i];
    Stmt(db, "INSERT INTO parents VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, p.parent).bind(4, p.strategy).bind(5, p.k).bind(6, p.weight)
        .run();
  }
}

}  // namespace

int64_t Library::add(const Caller& caller, Entry e, const std::vector<std::pair<int64_t, double>>& source_gains) {
  prepare_entry(path_, caller, e);
  for (const auto& [src, gain] : source_gains)
    SPOT_CHECK(std::isfinite(gain), path_ << ": gain of source entry " << src << " is not finite");
  Transaction t(*db_);
  const int64_t id = insert_entry(*db_, path_, e, /*keep_history=*/false);
  insert_parents(*db_, id, e.info.parents);
  for (const auto& [src, gain] : source_gains)
    Stmt(*db_, "UPDATE entries SET gain_sum = gain_sum + ?1, gain_count = gain_count + 1 WHERE id = ?2")
        .bind(1, gain)
        .bind(2, src)
        .run();
  t.commit();
  return id;
}

std::vector<int64_t> Library::add_all(const Caller& caller, std::vector<Entry> entries, bool keep_history) {
  std::map<int64_t, size_t> batch;  // an entry's id within the batch -> its position
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    try {
      prepare_entry(path_, caller, e);
    } catch (const Error& err) {
      SPOT_FAIL(err.what() << " (entry " << e.info.id << " of the batch; nothing was added)");
    }
    if (e.info.id != 0)
      SPOT_CHECK(batch.emplace(e.info.id, i).second,
                 path_ << ": two entries of one batch carry id " << e.info.id << " (nothing was added)");
  }
  std::vector<int64_t> ids;
  Transaction t(*db_);
  for (Entry& e : entries) ids.push_back(insert_entry(*db_, path_, e, keep_history));
  for (size_t i = 0; i < entries.size(); ++i) {
    std::vector<Lineage> parents = entries[i].info.parents;
    for (Lineage& p : parents) {
      auto it = batch.find(p.parent);
      p.parent = it == batch.end() ? 0 : ids[it->second];
    }
    insert_parents(*db_, ids[i], parents);
  }
  t.commit();
  return ids;
}

namespace {

const char* kInfoColumns =
    "id, task, backbone, backbone_fingerprint, placement, depth, prompt_length, layers, d_model, dataset_fingerprint, "
    "dataset_link, train_date, steps, seed, metric_name, metric_value, init_mode, owner, visibility, description, "
    "created, times_retrieved, gain_sum, gain_count";

EntryInfo read_info_unchecked(const Stmt& s);

// One entry's metadata; a damaged row's error names the file.
EntryInfo read_info(const Stmt& s, const std::string& path) {
  try {
    return read_info_unchecked(s);
  } catch (const Error& e) {
    SPOT_FAIL(path << ": " << e.what());
  }
}

EntryInfo read_info_unchecked(const Stmt& s) {
  EntryInfo m;
  m.id = s.i64(0);
  m.task = s.text(1);
  m.backbone = s.text(2);
  m.backbone_fingerprint = s.text(3);
  m.placement = s.text(4);
  m.depth = s.text(5);
  m.prompt_length = s.i64(6);
  m.layers = s.i64(7);
  m.d_model = s.i64(8);
  m.dataset_fingerprint = s.text(9);
  m.dataset_link = s.text(10);
  m.train_date = s.text(11);
  m.steps = s.i64(12);
  m.seed = s.i64(13);
  m.metric_name = s.text(14);
  m.metric_value = s.f64(15);
  m.init_mode = s.text(16);
  m.owner = s.text(17);
  m.visibility = parse_visibility(s.text(18));  // a damaged value: read_info names the file
  m.description = s.text(19);
  m.created = s.text(20);
  m.times_retrieved = s.i64(21);
  m.gain_count = s.i64(23);
  m.mean_gain = m.gain_count ? s.f64(22) / static_cast<double>(m.gain_count) : 0.0;
  return m;
}

void read_relations(const Library::Db& db, EntryInfo& m) {
  Stmt r(db, "SELECT principal FROM readers WHERE entry = ?1 ORDER BY principal");
  r.bind(1, m.id);
  while (r.step()) m.readers.push_back(r.text(0));
  Stmt t(db, "SELECT tag FROM tags WHERE entry = ?1 ORDER BY tag");
  t.bind(1, m.id);
  while (t.step()) m.tags.push_back(t.text(0));
  Stmt p(db, "SELECT parent, strategy, k, weight FROM parents WHERE entry = ?1 ORDER BY position");
  p.bind(1, m.id);
  while (p.step()) m.parents.push_back({p.i64(0), p.text(1), p.i64(2), p.f64(3)});
  Stmt e(db, "SELECT kind FROM embeddings WHERE entry = ?1 ORDER BY kind");
  e.bind(1, m.id);
  while (e.step()) m.embedding_kinds.push_back(e.text(0));
}

Tensor tensor_from_bytes(const std::string& bytes, const std::string& label, std::map<std::string, std::string>* meta) {
  const io::SafetensorsFile f = io::SafetensorsFile::from_bytes(bytes, label);
  if (meta) *meta = f.metadata();
  return f.load_f32("tensor");
}

}  // namespace

std::vector<EntryInfo> Library::list(const Caller& caller, const ListFilter& filter) const {
  Stmt s(*db_, (std::string("SELECT ") + kInfoColumns + " FROM entries ORDER BY id DESC").c_str());
  std::vector<EntryInfo> out;
  while (s.step()) {
    EntryInfo m = read_info(s, path_);
    if (!filter.task.empty() && m.task != filter.task) continue;
    if (!filter.backbone_fingerprint.empty() && m.backbone_fingerprint != filter.backbone_fingerprint) continue;
    read_relations(*db_, m);
    if (!caller.can_read(m.owner, m.visibility == Visibility::Public, m.readers)) continue;
    if (!filter.tag.empty() && std::find(m.tags.begin(), m.tags.end(), filter.tag) == m.tags.end()) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::pair<int64_t, Tensor>> Library::embeddings(const Caller& caller, const std::string& kind,
                                                            const ListFilter& filter) const {
  std::vector<EntryInfo> visible = list(caller, filter);
  std::sort(visible.begin(), visible.end(), [](const EntryInfo& a, const EntryInfo& b) { return a.id < b.id; });
  std::vector<std::pair<int64_t, Tensor>> out;
  for (const EntryInfo& m : visible) {
    Stmt s(*db_, "SELECT data FROM embeddings WHERE entry = ?1 AND kind = ?2");
    s.bind(1, m.id).bind(2, kind);
    if (!s.step()) continue;
    out.emplace_back(m.id, tensor_from_bytes(s.bytes(0), path_ + ": entry " + std::to_string(m.id) + " embedding " + kind,
                                             nullptr));
  }
  return out;
}

int64_t Library::size() const {
  Stmt s(*db_, "SELECT count(*) FROM entries");
  s.step();
  return s.i64(0);
}

std::vector<std::string> Library::verify() const {
  std::vector<std::string> problems;
  const std::string integrity = integrity_check();
  if (integrity != "ok") problems.push_back("integrity check: " + integrity);
  // Each entry's blobs, one at a time (a damaged row must not stop the others from being checked).
  std::vector<int64_t> ids;
  try {
    Stmt s(*db_, "SELECT id FROM entries ORDER BY id");
    while (s.step()) ids.push_back(s.i64(0));
  } catch (const Error& e) {
    problems.push_back(std::string("listing the entries: ") + e.what());
    return problems;
  }
  for (int64_t id : ids) {
    const std::string entry = "entry " + std::to_string(id);
    try {
      Stmt s(*db_, "SELECT prompt, prompt_sha256, visibility FROM entries WHERE id = ?1");
      s.bind(1, id);
      SPOT_CHECK(s.step(), "its row went missing");
      const std::string bytes = s.bytes(0);
      if (io::sha256_hex(bytes.data(), bytes.size()) != s.text(1)) {
        problems.push_back(entry + ": the prompt's bytes do not match their sha256");
        continue;
      }
      parse_visibility(s.text(2));
      tensor_from_bytes(bytes, "prompt", nullptr);
      Stmt em(*db_, "SELECT kind, data FROM embeddings WHERE entry = ?1 ORDER BY kind");
      em.bind(1, id);
      while (em.step()) tensor_from_bytes(em.bytes(1), "embedding " + em.text(0), nullptr);
    } catch (const Error& e) {
      problems.push_back(entry + ": " + e.what());
    }
  }
  return problems;
}

std::optional<Entry> Library::get(const Caller& caller, int64_t id) const {
  Stmt s(*db_, (std::string("SELECT ") + kInfoColumns + ", prompt, prompt_sha256 FROM entries WHERE id = ?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  Entry e;
  e.info = read_info(s, path_);
  read_relations(*db_, e.info);
  if (!caller.can_read(e.info.owner, e.info.visibility == Visibility::Public, e.info.readers)) return std::nullopt;
  const std::string bytes = s.bytes(24), label = path_ + ": entry " + std::to_string(id) + " prompt";
  SPOT_CHECK(io::sha256_hex(bytes.data(), bytes.size()) == s.text(25),
             label << ": the stored bytes do not match their sha256 (the library is damaged)");
  e.prompt.values = tensor_from_bytes(bytes, label, &e.prompt.metadata);
  Stmt em(*db_, "SELECT kind, data FROM embeddings WHERE entry = ?1 ORDER BY kind");
  em.bind(1, id);
  while (em.step())
    e.embeddings[em.text(0)] =
        tensor_from_bytes(em.bytes(1), path_ + ": entry " + std::to_string(id) + " embedding " + em.text(0), nullptr);
  return e;
}

Entry Library::get_for_backbone(const Caller& caller, int64_t id, const std::string& backbone,
                                const std::string& fingerprint) const {
  std::optional<Entry> e = get(caller, id);
  SPOT_CHECK(e, path_ << ": no entry " << id << " (or not visible to " << (caller.user.empty() ? "anonymous" : caller.user)
                      << ")");
  SPOT_CHECK(e->info.backbone_fingerprint == fingerprint,
             path_ << ": entry " << id << " was trained on " << e->info.backbone << " (fingerprint "
                   << e->info.backbone_fingerprint << "), not on " << backbone << " (fingerprint " << fingerprint << ")");
  return std::move(*e);
}

bool Library::remove(const Caller& caller, int64_t id) {
  std::optional<Entry> e = get(caller, id);
  if (!e) return false;
  SPOT_CHECK(e->info.owner == caller.user,
             path_ << ": entry " << id << " belongs to " << e->info.owner << "; only its owner removes it");
  Transaction t(*db_);
  Stmt(*db_, "DELETE FROM entries WHERE id = ?1").bind(1, id).run();
  t.commit();
  return true;
}

void Library::record_retrieved(const std::vector<int64_t>& ids) {
  Transaction t(*db_);
  for (int64_t id : ids)
    Stmt(*db_, "UPDATE entries SET times_retrieved = times_retrieved + 1 WHERE id = ?1").bind(1, id).run();
  t.commit();
}

void Library::record_gain(int64_t id, double gain) {
  SPOT_CHECK(std::isfinite(gain), path_ << ": gain of entry " << id << " is not finite");
  Transaction t(*db_);
  Stmt(*db_, "UPDATE entries SET gain_sum = gain_sum + ?1, gain_count = gain_count + 1 WHERE id = ?2")
      .bind(1, gain)
      .bind(2, id)
      .run();
  t.commit();
}

std::optional<int64_t> Library::find_prompt(const Caller& caller, const std::string& task, const Tensor& values) const {
  ListFilter f;
  f.task = task;
  for (const EntryInfo& m : list(caller, f)) {
    if (m.owner != caller.user) continue;
    const std::optional<Entry> e = get(caller, m.id);
    if (e && e->prompt.values.shape() == values.shape() &&
        std::memcmp(e->prompt.values.raw(), values.raw(), values.nbytes()) == 0)
      return m.id;
  }
  return std::nullopt;
}

void Library::set_embedding(const Caller& caller, int64_t id, const std::string& kind, const Tensor& emb) {
  SPOT_CHECK(!kind.empty(), path_ << ": a task embedding needs a kind");
  SPOT_CHECK(emb.defined() && emb.is_cpu() && emb.dtype() == DType::F32 && emb.ndim() == 2,
             path_ << ": task embedding '" << kind << "' must be a host f32 [rows, d_model] tensor");
  for (int64_t i = 0; i < emb.numel(); ++i)
    SPOT_CHECK(std::isfinite(emb.f32()[i]), path_ << ": task embedding '" << kind << "' holds a non-finite value at " << i);
  std::optional<EntryInfo> info;
  for (const EntryInfo& m : list(caller))
    if (m.id == id) info = m;
  SPOT_CHECK(info, path_ << ": no entry " << id << " (or not visible to "
                         << (caller.user.empty() ? "anonymous" : caller.user) << ")");
  SPOT_CHECK(info->owner == caller.user,
             path_ << ": entry " << id << " belongs to " << info->owner << "; only its owner changes its embeddings");
  Transaction t(*db_);
  Stmt(*db_, "DELETE FROM embeddings WHERE entry = ?1 AND kind = ?2").bind(1, id).bind(2, kind).run();
  Stmt(*db_, "INSERT INTO embeddings VALUES (?1, ?2, ?3)").bind(1, id).bind(2, kind).blob(3, tensor_bytes(emb, {})).run();
  t.commit();
}

}  // namespace spot::retrieval
