// test_library.cpp — the prompt library (retrieval/library.h): entries round-trip byte for byte,
// access control hides restricted entries, a backbone mismatch is refused naming both, damaged or
// foreign files get a clear error naming the file, writers SIGKILLed mid-transaction (100 times at
// random points) lose nothing that was committed, and concurrent writers in two processes lose
// nothing at all.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "retrieval/library.h"
#include "retrieval/library_export.h"
#include "tests/expect_error.h"

namespace spot::retrieval {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("spot_library_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

// A deterministic entry: its prompt and embeddings follow from `seed`, so a reader can rebuild what
// a (killed) writer stored and compare bit for bit.
Entry make_entry(uint64_t seed, int64_t L = 4, int64_t d = 8, int64_t layers = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  Entry e;
  e.prompt.values = layers ? Tensor::empty({layers, L, d}) : Tensor::empty({L, d});
  for (int64_t i = 0; i < e.prompt.values.numel(); ++i) e.prompt.values.f32()[i] = nd(rng);
  e.prompt.metadata = {{"task", "task" + std::to_string(seed % 5)}, {"seed", std::to_string(seed)}};
  Tensor emb = Tensor::empty({L, d});
  for (int64_t i = 0; i < emb.numel(); ++i) emb.f32()[i] = nd(rng);
  e.embeddings["prompt"] = emb;
  EntryInfo& m = e.info;
  m.task = "task" + std::to_string(seed % 5);
  m.backbone = "tiny";
  m.backbone_fingerprint = "fp-tiny";
  m.seed = static_cast<int64_t>(seed);
  m.steps = 100;
  m.metric_name = "accuracy";
  m.metric_value = 0.5 + static_cast<double>(seed % 10) / 100;
  m.tags = {"t" + std::to_string(seed % 3)};
  m.description = "entry of seed " + std::to_string(seed);
  return e;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

const Caller kAna{"ana", {"nlp"}}, kBo{"bo", {}}, kCy{"cy", {"nlp"}}, kAnon{};

TEST(Library, EntriesRoundTripBitForBit) {
  TempDir dir;
  const std::string path = dir / "lib.db";
  {
    Library lib = Library::create(path);
    EXPECT_EQ(lib.schema_version(), Library::kSchemaVersion);
    Entry a = make_entry(1), deep = make_entry(2, 3, 8, 5);
    a.info.parents = {{7, "average", 3, 0.25}, {9, "average", 3, 0.75}};
    a.info.dataset_link = "https://example.org/d";
    EXPECT_EQ(lib.add(kAna, a), 1);
    EXPECT_EQ(lib.add(kAna, deep), 2);
  }
  const Library lib = Library::open(path, /*check=*/true);
  const std::optional<Entry> a = lib.get(kAnon, 1), deep = lib.get(kAnon, 2);
  ASSERT_TRUE(a && deep);
  EXPECT_TRUE(same_bits(a->prompt.values, make_entry(1).prompt.values));
  EXPECT_TRUE(same_bits(a->embeddings.at("prompt"), make_entry(1).embeddings.at("prompt")));
  EXPECT_TRUE(same_bits(deep->prompt.values, make_entry(2, 3, 8, 5).prompt.values));
  EXPECT_EQ(a->prompt.metadata.at("seed"), "1");
  EXPECT_EQ(a->info.owner, "ana");
  EXPECT_EQ(a->info.prompt_length, 4);
  EXPECT_EQ(a->info.depth, "input");
  EXPECT_EQ(deep->info.depth, "deep");
  EXPECT_EQ(deep->info.layers, 5);
  ASSERT_EQ(a->info.parents.size(), 2u);
  EXPECT_EQ(a->info.parents[1].parent, 9);
  EXPECT_EQ(a->info.parents[1].strategy, "average");
  EXPECT_EQ(a->info.parents[1].weight, 0.75);
  EXPECT_EQ(a->info.dataset_link, "https://example.org/d");
  EXPECT_EQ(a->info.embedding_kinds, std::vector<std::string>{"prompt"});
  EXPECT_FALSE(lib.get(kAnon, 3));
  // list: newest first, filters.
  const auto all = lib.list(kAnon);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, 2);
  EXPECT_EQ(lib.list(kAnon, {.task = "task1"}).size(), 1u);
  EXPECT_EQ(lib.list(kAnon, {.tag = "t2"}).size(), 1u);
  EXPECT_EQ(lib.list(kAnon, {.backbone_fingerprint = "other"}).size(), 0u);
}

TEST(Library, UsageStatisticsAccumulate) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  const int64_t id = lib.add(kAna, make_entry(3));
  lib.record_retrieved({id});
  lib.record_retrieved({id});
  lib.record_gain(id, 2.0);
  lib.record_gain(id, -1.0);
  const EntryInfo m = lib.list(kAnon).at(0);
  EXPECT_EQ(m.times_retrieved, 2);
  EXPECT_EQ(m.gain_count, 2);
  EXPECT_DOUBLE_EQ(m.mean_gain, 0.5);
  EXPECT_THROW(lib.record_gain(id, NAN), Error);
}

TEST(Library, RestrictedEntriesAreInvisibleToOthers) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  Entry priv = make_entry(4);
  priv.info.visibility = Visibility::Restricted;
  priv.info.readers = {"group:nlp"};
  const int64_t pid = lib.add(kAna, priv);
  Entry mine = make_entry(5);
  mine.info.visibility = Visibility::Restricted;
  const int64_t mid = lib.add(kBo, mine);
  const int64_t pub = lib.add(kBo, make_entry(6));
  // ana: owner of pid, sees pub; not bo's restricted entry.
  EXPECT_TRUE(lib.get(kAna, pid));
  EXPECT_FALSE(lib.get(kAna, mid));
  EXPECT_EQ(lib.list(kAna).size(), 2u);
  // cy is in group nlp: sees pid. Anonymous sees only the public one.
  EXPECT_TRUE(lib.get(kCy, pid));
  EXPECT_EQ(lib.list(kAnon).size(), 1u);
  EXPECT_FALSE(lib.get(kAnon, pid));
  EXPECT_FALSE(lib.get(kBo, pid));
  // Removal: invisible is "no such entry"; visible but not owned is refused; the owner removes.
  EXPECT_FALSE(lib.remove(kBo, pid));
  expect_error([&] { lib.remove(kCy, pid); }, "only its owner");
  EXPECT_TRUE(lib.get(kCy, pid));
  EXPECT_TRUE(lib.remove(kAna, pid));
  EXPECT_FALSE(lib.get(kAna, pid));
  EXPECT_TRUE(lib.get(kBo, pub));
  // Adding needs an owner and well-formed readers.
  expect_error([&] { lib.add(kAnon, make_entry(7)); }, "needs a caller");
  Entry bad = make_entry(8);
  bad.info.readers = {"nlp"};
  expect_error([&] { lib.add(kAna, bad); }, "user:<name> or group:<name>");
}

TEST(Library, AddAllIsOneTransactionAndRemapsLineageWithinTheBatch) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  lib.add(kAna, make_entry(20));  // id 1: the batch's ids must not collide with it
  // A batch as an import reads it: ids of the source library, a child before its parent, a parent
  // outside the batch, usage history to keep.
  Entry child = make_entry(21), parent = make_entry(22);
  child.info.id = 7;
  child.info.parents = {{5, "average", 2, 0.5}, {9, "average", 2, 0.5}};
  child.info.created = "2020-01-02T03:04:05Z";
  child.info.times_retrieved = 4;
  child.info.mean_gain = 1.5;
  child.info.gain_count = 2;
  parent.info.id = 5;
  const std::vector<int64_t> ids = lib.add_all(kBo, {child, parent}, /*keep_history=*/true);
  ASSERT_EQ(ids, (std::vector<int64_t>{2, 3}));
  const EntryInfo c = lib.get(kAnon, 2)->info;
  ASSERT_EQ(c.parents.size(), 2u);
  EXPECT_EQ(c.parents[0].parent, 3);  // 5 -> its new id
  EXPECT_EQ(c.parents[1].parent, 0);  // 9: not in the batch
  EXPECT_EQ(c.parents[1].strategy, "average");
  EXPECT_EQ(c.owner, "bo");
  EXPECT_EQ(c.created, "2020-01-02T03:04:05Z");
  EXPECT_EQ(c.times_retrieved, 4);
  EXPECT_DOUBLE_EQ(c.mean_gain, 1.5);
  EXPECT_EQ(c.gain_count, 2);
  // Without keep_history the usage starts afresh.
  child.info.id = 0;
  const int64_t fresh = lib.add_all(kBo, {child}).at(0);
  EXPECT_EQ(lib.get(kAnon, fresh)->info.times_retrieved, 0);
  EXPECT_NE(lib.get(kAnon, fresh)->info.created, "2020-01-02T03:04:05Z");
  // All or nothing: a bad entry anywhere, or one that fails inside the transaction, adds none.
  const int64_t before = lib.size();
  Entry bad = make_entry(23);
  bad.info.task.clear();
  expect_error([&] { lib.add_all(kAna, {make_entry(24), bad}); }, {"task name", "nothing was added"});
  Entry bad_emb = make_entry(25);
  bad_emb.embeddings["data"] = Tensor::empty({2}, DType::I32);
  expect_error([&] { lib.add_all(kAna, {make_entry(26), bad_emb}); }, "host f32");
  Entry a = make_entry(27), b = make_entry(28);
  a.info.id = b.info.id = 4;
  expect_error([&] { lib.add_all(kAna, {a, b}); }, "carry id 4");
  EXPECT_EQ(lib.size(), before);
  EXPECT_EQ(lib.integrity_check(), "ok");
}

TEST(Library, EmbeddingsOfAKindAreFilteredByAccessBeforeRanking) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  Entry priv = make_entry(30);
  priv.info.visibility = Visibility::Restricted;
  const int64_t p = lib.add(kAna, priv);
  Entry data = make_entry(31);
  data.embeddings["data"] = make_entry(32).embeddings.at("prompt");
  const int64_t d = lib.add(kBo, data);
  const int64_t q = lib.add(kBo, make_entry(33));
  auto ids = [](const std::vector<std::pair<int64_t, Tensor>>& v) {
    std::vector<int64_t> out;
    for (const auto& [id, t] : v) out.push_back(id);
    return out;
  };
  EXPECT_EQ(ids(lib.embeddings(kAna, "prompt")), (std::vector<int64_t>{p, d, q}));  // ascending ids
  EXPECT_EQ(ids(lib.embeddings(kBo, "prompt")), (std::vector<int64_t>{d, q}));
  EXPECT_EQ(ids(lib.embeddings(kAnon, "data")), (std::vector<int64_t>{d}));
  EXPECT_EQ(ids(lib.embeddings(kAna, "prompt", {.task = "task3"})), (std::vector<int64_t>{q}));
  EXPECT_TRUE(same_bits(lib.embeddings(kBo, "data").at(0).second, make_entry(32).embeddings.at("prompt")));
}

TEST(Library, VerifyChecksEveryEntryWhateverItsAccess) {
  TempDir dir;
  const std::string path = dir / "lib.db";
  {
    Library lib = Library::create(path);
    Entry priv = make_entry(40);
    priv.info.visibility = Visibility::Restricted;
    lib.add(kAna, priv);
    lib.add(kAna, make_entry(41));
    EXPECT_TRUE(lib.verify().empty());
    EXPECT_EQ(lib.size(), 2);
  }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
  sqlite3_exec(h, "UPDATE entries SET prompt = zeroblob(length(prompt)) WHERE id = 1", nullptr, nullptr, nullptr);
  sqlite3_exec(h, "UPDATE embeddings SET data = x'00' WHERE entry = 2", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  const std::vector<std::string> problems = Library::open(path).verify();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("entry 1: the prompt's bytes do not match their sha256"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("entry 2: "), std::string::npos) << problems[1];
  EXPECT_NE(problems[1].find("embedding prompt"), std::string::npos) << problems[1];
}

TEST(Library, EntryMetadataRoundTripsThroughJson) {
  Entry e = make_entry(50);
  EntryInfo& m = e.info;
  m.id = 12;
  m.parents = {{3, "mixture", 2, 0.25}};
  m.visibility = Visibility::Restricted;
  m.readers = {"group:nlp", "user:cy"};
  m.dataset_link = "https://example.org/d";
  m.times_retrieved = 5;
  m.mean_gain = -0.5;
  m.gain_count = 2;
  m.embedding_kinds = {"prompt"};
  const boost::json::value v = entry_info_json(m);
  io::JsonObject o(v, "", "entry.json");
  const EntryInfo back = entry_info_from_json(o);
  o.done();
  EXPECT_EQ(boost::json::serialize(entry_info_json(back)), boost::json::serialize(v));
  boost::json::value bad = v;
  bad.as_object()["parents"].as_array()[0].as_object()["k"] = "two";
  io::JsonObject ob(bad, "", "entry.json");
  expect_error([&] { entry_info_from_json(ob); }, {"entry.json", "parents[0].k", "expected an integer"});
}

TEST(Library, ABackboneMismatchIsRefusedNamingBoth) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  const int64_t id = lib.add(kAna, make_entry(9));
  EXPECT_NO_THROW(lib.get_for_backbone(kAnon, id, "tiny", "fp-tiny"));
  expect_error([&] { lib.get_for_backbone(kAnon, id, "smollm2", "fp-smol"); }, {"tiny", "fp-tiny", "smollm2", "fp-smol"});
  expect_error([&] { lib.get_for_backbone(kAnon, 99, "tiny", "fp-tiny"); }, "no entry 99");
}

TEST(Library, BadEntriesAreRefusedAndNothingIsWritten) {
  TempDir dir;
  Library lib = Library::create(dir / "lib.db");
  Entry nan = make_entry(10);
  nan.prompt.values.f32()[3] = NAN;
  expect_error([&] { lib.add(kAna, nan); }, "non-finite");
  Entry notask = make_entry(11);
  notask.info.task.clear();
  expect_error([&] { lib.add(kAna, notask); }, "task name");
  Entry emb = make_entry(12);
  emb.embeddings["data"] = Tensor::empty({2}, DType::I32);
  expect_error([&] { lib.add(kAna, emb); }, "host f32");  // fails inside the transaction: rolled back
  EXPECT_EQ(lib.list(kAnon).size(), 0u);
  EXPECT_EQ(lib.integrity_check(), "ok");
}

TEST(Library, ForeignDamagedAndNewerFilesGetAClearError) {
  TempDir dir;
  expect_error([&] { Library::open(dir / "missing.db"); }, {"missing.db", "no such library"});
  {
    std::ofstream(dir / "text.db") << "this is not a database, it is a text file of some length...........";
  }
  expect_error([&] { Library::open(dir / "text.db"); }, "text.db");
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "other.db").c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  expect_error([&] { Library::open(dir / "other.db"); }, {"other.db", "not a spot prompt library"});
  const std::string path = dir / "lib.db";
  {
    Library lib = Library::create(path);
    for (uint64_t s = 0; s < 20; ++s) lib.add(kAna, make_entry(100 + s, 50, 64));
  }
  expect_error([&] { Library::create(path); }, "already exists");
  // A newer schema is refused, not opened half-understood.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "UPDATE library_meta SET value = '99' WHERE key = 'schema_version'", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  expect_error([&] { Library::open(path); }, {"lib.db", "newer"});
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "UPDATE library_meta SET value = '1' WHERE key = 'schema_version'", nullptr, nullptr, nullptr);
    // A stored prompt altered behind the library's back fails its sha256 on read.
    sqlite3_exec(h, "UPDATE entries SET prompt = zeroblob(length(prompt)) WHERE id = 3", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  {
    const Library lib = Library::open(path, true);
    expect_error([&] { lib.get(kAnon, 3); }, {"entry 3", "sha256"});
    EXPECT_TRUE(lib.get(kAnon, 4));
  }
  // Truncated copies and flipped bytes: an Error naming the file or a working library, never a crash.
  const std::string bytes = [&] {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }();
  ASSERT_GT(bytes.size(), 8192u);
  std::mt19937_64 rng(1);
  int refused = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::string b = bytes;
    if (trial < 20) {
      b.resize(static_cast<size_t>(rng() % b.size()));
    } else {
      for (int f = 0; f < 1 + trial % 7; ++f) b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    const std::string bad = dir / ("bad" + std::to_string(trial) + ".db");
    std::ofstream(bad, std::ios::binary) << b;
    try {
      const Library lib = Library::open(bad, true);
      for (const EntryInfo& m : lib.list(kAnon)) lib.get(kAnon, m.id);
    } catch (const Error& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(refused, 20);
}

// The writer of the kill test: adds entries of seeds base, base+1, ... and reports each seed on
// `fd` once add() has returned (committed).
[[noreturn]] void writer(const std::string& path, uint64_t base, int fd) {
  try {
    Library lib = Library::open(path);
    for (uint64_t s = base;; ++s) {
      lib.add(kAna, make_entry(s, 20, 64));
      if (::write(fd, &s, sizeof s) != sizeof s) ::_exit(3);
    }
  } catch (...) {
    ::_exit(2);
  }
}

std::vector<uint64_t> read_seeds(int fd) {
  std::vector<uint64_t> out;
  uint64_t s;
  while (::read(fd, &s, sizeof s) == sizeof s) out.push_back(s);
  return out;
}

void check_committed(const std::string& path, const std::vector<uint64_t>& committed) {
  const Library lib = Library::open(path, /*check=*/true);
  std::map<uint64_t, int64_t> by_seed;
  for (const EntryInfo& m : lib.list(kAnon)) {
    EXPECT_TRUE(by_seed.emplace(static_cast<uint64_t>(m.seed), m.id).second) << "seed " << m.seed << " stored twice";
  }
  for (uint64_t s : committed) {
    ASSERT_TRUE(by_seed.count(s)) << "committed entry of seed " << s << " is lost";
    const std::optional<Entry> e = lib.get(kAnon, by_seed[s]);
    ASSERT_TRUE(e);
    const Entry want = make_entry(s, 20, 64);
    EXPECT_TRUE(same_bits(e->prompt.values, want.prompt.values)) << "seed " << s;
    EXPECT_TRUE(same_bits(e->embeddings.at("prompt"), want.embeddings.at("prompt"))) << "seed " << s;
    EXPECT_EQ(e->info.description, want.info.description);
  }
}

TEST(Library, WritersKilledMidTransactionLoseNothingCommitted) {
  TempDir dir;
  const std::string path = dir / "lib.db";
  Library::create(path);
  std::vector<uint64_t> committed;
  std::mt19937_64 rng(2024);
  for (int kill = 0; kill < 100; ++kill) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(p[0]);
      writer(path, static_cast<uint64_t>(kill) * 100000, p[1]);
    }
    ::close(p[1]);
    // A random point: from before the open to some dozens of commits in.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself (status " << status << ")";
    const std::vector<uint64_t> seeds = read_seeds(p[0]);
    ::close(p[0]);
    committed.insert(committed.end(), seeds.begin(), seeds.end());
    if (kill % 10 == 9) check_committed(path, committed);
  }
  check_committed(path, committed);
  std::cout << "kill test: " << committed.size() << " entries committed across 100 SIGKILLs\n";
  EXPECT_GT(committed.size(), 100u);  // the kills landed between commits as well as inside them
}

TEST(Library, TwoProcessesAddingConcurrentlyLoseNothing) {
  TempDir dir;
  const std::string path = dir / "lib.db";
  Library::create(path);
  constexpr int kEach = 60;
  std::vector<pid_t> pids;
  for (uint64_t w = 0; w < 2; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        Library lib = Library::open(path);
        for (uint64_t s = 0; s < kEach; ++s) lib.add(w ? kBo : kAna, make_entry(w * 1000 + s, 20, 64));
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer status " << status;
  }
  std::vector<uint64_t> all;
  for (uint64_t w = 0; w < 2; ++w)
    for (uint64_t s = 0; s < kEach; ++s) all.push_back(w * 1000 + s);
  check_committed(path, all);
  EXPECT_EQ(Library::open(path).list(kAnon).size(), 2u * kEach);
}

}  // namespace
}  // namespace spot::retrieval
