// test_cli_library.cpp — `spot library init|add|list|show|search|rm|export|import|check` and `spot
// train --library`, driven end to end through the built binary (tests/run_spot.h) with --json parsed:
// metadata defaults from the prompt file, search ranking (--like leaves the entry out; l2 ascending),
// an export/import round trip bit for bit with lineage remapped, access control (a restricted entry
// invisible to another --user in list, show, search and export), a damaged library (a clear error
// naming the file, exit status 1), a malformed entry.json (the file and key named, nothing added),
// and a tiny T5 run stored once however often it is finished.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/cache.h"
#include "io/safetensors.h"
#include "prompt/soft_prompt.h"
#include "retrieval/library.h"
#include "retrieval/similarity.h"
#include "tests/run_spot.h"
#include "tests/test_data.h"
#include "tests/tiny_t5.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot::test {
namespace {

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

// A backbone as spot describes one (PEFT export reads its layers and heads from it).
const char* kTinyBackbone = "t5(d_model=8, d_kv=2, heads=4, d_ff=16, layers=2+2, vocab=32, gated-gelu, untied)";

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

Tensor random_tensor(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = nd(rng);
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

class LibraryCli : public ::testing::Test {
 protected:
  static fs::path ws_;

  static void SetUpTestSuite() {
    ws_ = fs::temp_directory_path() / ("spot_cli_library." + std::to_string(::getpid()));
    fs::remove_all(ws_);
    fs::create_directories(ws_);
    // Three prompts as spot train writes them (metadata included) and their task embeddings.
    for (int i = 0; i < 3; ++i) {
      SoftPrompt p;
      p.values = random_tensor({3, 8}, 10 + i);
      p.metadata = {{"task", "task" + std::to_string(i)}, {"backbone", kTinyBackbone}, {"backbone_hash", "fp-tiny"},
                    {"step", "40"},  {"metric", std::to_string(60 + i)}, {"seed", std::to_string(i)}, {"init", "vocab"}};
      p.save(ws("p" + std::to_string(i) + ".safetensors"));
      io::save_safetensors(ws("e" + std::to_string(i) + ".safetensors"), {{"embedding", random_tensor({3, 8}, 20 + i)}}, {});
    }
    // An embedding of another width (a search skips it) and a prompt without metadata.
    io::save_safetensors(ws("e_wide.safetensors"), {{"embedding", random_tensor({3, 16}, 30)}}, {});
    SoftPrompt bare;
    bare.values = random_tensor({2, 8}, 31);
    bare.save(ws("bare.safetensors"));
  }
  static void TearDownTestSuite() {
    if (!failed_) fs::remove_all(ws_);
  }
  void TearDown() override {
    if (HasFailure()) failed_ = true;
  }
  static inline bool failed_ = false;

  static std::string ws(const std::string& rel) { return (ws_ / rel).string(); }

  // Runs spot in the workspace as `user` (SPOT_USER; "" = unset); never a crash.
  CliResult spot(const std::vector<std::string>& args, const std::string& user = "ana") {
    std::map<std::string, std::string> env = {{"SPOT_DATA", shared_data_dir()}, {"OMP_NUM_THREADS", "2"},
                                              {"SPOT_DEBUG", ""}, {"SPOT_USER", user}};
    const fs::path scratch = ws_ / ("scratch." + std::to_string(::getpid()));
    fs::create_directories(scratch);
    CliResult r = run_spot(args, env, scratch.string(), ws_.string());
    last_cmd_ = "spot";
    for (const std::string& a : args) last_cmd_ += " " + a;
    EXPECT_LT(r.code, 128) << last_cmd_ << " crashed\n--- stderr:\n" << r.err;
    EXPECT_FALSE(r.sanitizer_report()) << last_cmd_ << " printed a sanitizer report\n--- stderr:\n" << r.err;
    return r;
  }
  // Runs it expecting success and one JSON value on stdout.
  json::value spot_json(std::vector<std::string> args, const std::string& user = "ana") {
    args.push_back("--json");
    const CliResult r = spot(args, user);
    EXPECT_EQ(r.code, 0) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
    json::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << last_cmd_ << ": not JSON:\n" << r.out;
    return v;
  }
  void expect_error(const CliResult& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.code, 1) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
    EXPECT_TRUE(contains(r.err, "spot: error: ")) << last_cmd_ << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << last_cmd_ << ": not one line\n" << r.err;
    for (const std::string& n : needles) EXPECT_TRUE(contains(r.err, n)) << last_cmd_ << ": no '" << n << "' in\n" << r.err;
  }
  void expect_ok(const CliResult& r) {
    EXPECT_EQ(r.code, 0) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
  }

  // A library of the three prompts: 1 and 2 public, 3 restricted to user:cy and group:nlp, with
  // lineage 1 and 2 (as a transfer by averaging).
  std::string make_library(const std::string& name) {
    const std::string lib = ws(name);
    fs::remove(lib);
    expect_ok(spot({"library", "init", lib}));
    expect_ok(spot({"library", "add", lib, "--prompt", ws("p0.safetensors"), "--embedding", "prompt=" + ws("e0.safetensors"),
                    "--tags", "glue,small"}));
    expect_ok(spot({"library", "add", lib, "--prompt", ws("p1.safetensors"), "--embedding", "prompt=" + ws("e1.safetensors"),
                    "--embedding", "data=" + ws("e2.safetensors")}));
    expect_ok(spot({"library", "add", lib, "--prompt", ws("p2.safetensors"), "--embedding", "prompt=" + ws("e2.safetensors"),
                    "--visibility", "restricted", "--readers", "user:cy,group:nlp", "--parents",
                    "1:average:2:0.25,2:average:2:0.75", "--description", "a transfer"}));
    return lib;
  }

  std::string last_cmd_;
};

fs::path LibraryCli::ws_;

std::vector<int64_t> ids_of(const json::value& list) {
  std::vector<int64_t> ids;
  for (const json::value& e : list.as_array()) ids.push_back(e.at("id").as_int64());
  return ids;
}

// ---------------------------------------------------------------- the commands

TEST_F(LibraryCli, HelpForEverySubCommandNamesTheIdentity) {
  const CliResult top = spot({"library", "--help"});
  expect_ok(top);
  EXPECT_TRUE(contains(top.out, "Usage: spot library")) << top.out;
  CliResult r;
  for (const char* sub : {"init", "add", "list", "show", "search", "rm", "export", "import", "check"}) {
    EXPECT_TRUE(contains(top.out, std::string(sub) + ": LIB")) << sub << "\n" << top.out;
    r = spot({"library", sub, "--help"});
    expect_ok(r);
    EXPECT_TRUE(contains(r.out, std::string("Usage: spot library ") + sub)) << r.out;
    for (const char* o : {"--json", "--user NAME", "--groups", "SPOT_USER"}) EXPECT_TRUE(contains(r.out, o)) << sub << ": " << o;
  }
  r = spot({"library"});
  EXPECT_EQ(r.code, 2);
  expect_error(spot({"library", "frob"}), {"spot library frob", "init, add, list"});
  r = spot({"library", "search", "--help"});
  for (const char* o : {"--query-embedding FILE", "--like ID", "--metric M", "cos_avg", "--k N"}) EXPECT_TRUE(contains(r.out, o)) << o;
}

TEST_F(LibraryCli, InitAddListShowSearchRm) {
  const std::string lib = make_library("lib.db");
  expect_error(spot({"library", "init", lib}), {lib, "already exists"});

  // list: newest first, everything the prompt file's metadata said.
  json::value list = spot_json({"library", "list", lib});
  EXPECT_EQ(ids_of(list), (std::vector<int64_t>{3, 2, 1}));
  const json::value& e1 = list.at(2);
  EXPECT_EQ(e1.at("task").as_string(), "task0");
  EXPECT_EQ(e1.at("backbone").as_string(), kTinyBackbone);
  EXPECT_EQ(e1.at("backbone_fingerprint").as_string(), "fp-tiny");
  EXPECT_EQ(e1.at("steps").as_int64(), 40);
  EXPECT_EQ(e1.at("metric_value").to_number<double>(), 60.0);
  EXPECT_EQ(e1.at("metric_name").as_string(), "score");
  EXPECT_EQ(e1.at("init_mode").as_string(), "vocab");
  EXPECT_EQ(e1.at("owner").as_string(), "ana");
  EXPECT_EQ(e1.at("prompt_length").as_int64(), 3);
  EXPECT_EQ(e1.at("d_model").as_int64(), 8);
  EXPECT_EQ(json::value_to<std::vector<std::string>>(e1.at("tags")), (std::vector<std::string>{"glue", "small"}));
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib, "--task", "task1"})), (std::vector<int64_t>{2}));
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib, "--tag", "small"})), (std::vector<int64_t>{1}));
  EXPECT_EQ(spot_json({"library", "list", lib, "--backbone-fingerprint", "other"}).as_array().size(), 0u);
  // ... and a table for people.
  CliResult r = spot({"library", "list", lib});
  expect_ok(r);
  for (const char* col : {"id", "task", "backbone", "length×d", "metric", "tags", "created", "retrieved", "mean gain",
                          "3x8", "score 60", "glue,small", "3 entries visible to ana"})
    EXPECT_TRUE(contains(r.out, col)) << col << "\n" << r.out;

  // show: lineage, embeddings, the prompt's metadata.
  json::value show = spot_json({"library", "show", lib, "3"});
  EXPECT_EQ(show.at("visibility").as_string(), "restricted");
  EXPECT_EQ(json::value_to<std::vector<std::string>>(show.at("readers")),
            (std::vector<std::string>{"group:nlp", "user:cy"}));
  const json::array& parents = show.at("parents").as_array();
  ASSERT_EQ(parents.size(), 2u);
  EXPECT_EQ(parents[1].at("parent").as_int64(), 2);
  EXPECT_EQ(parents[1].at("strategy").as_string(), "average");
  EXPECT_EQ(parents[1].at("weight").to_number<double>(), 0.75);
  EXPECT_EQ(show.at("embeddings").at("prompt").as_array().size(), 2u);
  EXPECT_EQ(show.at("prompt_metadata").at("task").as_string(), "task2");
  r = spot({"library", "show", lib, "3"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "entry 1 (average, k=2, weight 0.25); entry 2 (average, k=2, weight 0.75)")) << r.out;
  expect_error(spot({"library", "show", lib, "9"}), {lib, "no entry 9"});
  expect_error(spot({"library", "show", lib, "x"}), {"ID", "'x' is not an entry id"});

  // search --like: the entry itself left out, ranked by the metric as the library computes it.
  json::value s = spot_json({"library", "search", lib, "--like", "1"});
  EXPECT_EQ(s.at("metric").as_string(), "cos_avg");
  EXPECT_EQ(s.at("candidates").as_int64(), 3);
  const json::array& hits = s.at("hits").as_array();
  ASSERT_EQ(hits.size(), 2u);
  const retrieval::Library opened = retrieval::Library::open(lib);
  const retrieval::Caller ana{"ana", {}};
  const Tensor q = opened.get(ana, 1)->embeddings.at("prompt");
  std::vector<std::pair<double, int64_t>> expected;
  for (int64_t id : {2, 3})
    expected.emplace_back(retrieval::similarity_brute_force(q, opened.get(ana, id)->embeddings.at("prompt"),
                                                            retrieval::Metric::CosAvg), id);
  std::sort(expected.rbegin(), expected.rend());
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(hits[i].at("id").as_int64(), expected[i].second);
    EXPECT_NEAR(hits[i].at("score").to_number<double>(), expected[i].first, 1e-6);
    EXPECT_EQ(hits[i].at("rank").as_int64(), static_cast<int64_t>(i + 1));
  }
  // A query file: its own entry first; l2 ranks by distance, smallest first; --k; another width skipped.
  s = spot_json({"library", "search", lib, "--query-embedding", ws("e2.safetensors"), "--metric", "l2", "--k", "2"});
  ASSERT_EQ(s.at("hits").as_array().size(), 2u);
  EXPECT_EQ(s.at("hits").at(0).at("id").as_int64(), 3);
  EXPECT_NEAR(s.at("hits").at(0).at("score").to_number<double>(), 0.0, 1e-6);
  EXPECT_LE(s.at("hits").at(0).at("score").to_number<double>(), s.at("hits").at(1).at("score").to_number<double>());
  s = spot_json({"library", "search", lib, "--query-embedding", ws("e2.safetensors"), "--kind", "data"});
  EXPECT_EQ(ids_of(s.at("hits")), (std::vector<int64_t>{2}));
  s = spot_json({"library", "search", lib, "--query-embedding", ws("e_wide.safetensors")});
  EXPECT_EQ(s.at("hits").as_array().size(), 0u);
  EXPECT_EQ(s.at("skipped").as_int64(), 3);
  r = spot({"library", "search", lib, "--like", "1", "--metric", "per_token_cos"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "2 hits among 3 entries with a 'prompt' embedding (per_token_cos)")) << r.out;
  expect_error(spot({"library", "search", lib, "--like", "1", "--metric", "dot"}), {"--metric", "dot"});
  expect_error(spot({"library", "search", lib}), {"--query-embedding FILE or --like ID"});
  expect_error(spot({"library", "search", lib, "--like", "1", "--kind", "nope"}), {"--like", "entry 1", "'nope'"});
  expect_error(spot({"library", "search", lib, "--like", "1", "--k", "0"}), {"--k"});

  // add: what is missing or malformed is named.
  expect_error(spot({"library", "add", lib, "--prompt", ws("bare.safetensors")}), {"--task", "bare.safetensors"});
  expect_error(spot({"library", "add", lib, "--prompt", ws("bare.safetensors"), "--task", "t"}), {"--backbone-fingerprint"});
  expect_error(spot({"library", "add", lib, "--prompt", ws("p0.safetensors"), "--embedding", "prompt"}), {"--embedding", "KIND=FILE"});
  expect_error(spot({"library", "add", lib, "--prompt", ws("p0.safetensors"), "--readers", "user:x"}), {"--readers", "restricted"});
  expect_error(spot({"library", "add", lib, "--prompt", ws("p0.safetensors"), "--visibility", "secret"}), {"--visibility", "secret"});
  expect_error(spot({"library", "add", ws("nolib.db"), "--prompt", ws("p0.safetensors")}), {"nolib.db", "spot library init"});
  // Given metadata wins over the file's.
  json::value added = spot_json({"library", "add", lib, "--prompt", ws("bare.safetensors"), "--task", "t", "--backbone-fingerprint",
                                 "fp-x", "--metric-name", "accuracy", "--metric-value", "0.5", "--steps", "7",
                                 "--dataset-link", "https://example.org/d"});
  EXPECT_EQ(added.at("id").as_int64(), 4);
  EXPECT_EQ(added.at("metric_name").as_string(), "accuracy");
  EXPECT_EQ(added.at("steps").as_int64(), 7);
  EXPECT_EQ(added.at("dataset_link").as_string(), "https://example.org/d");

  // rm: the owner only.
  expect_error(spot({"library", "rm", lib, "4"}, "bo"), {"entry 4 belongs to ana", "owner"});
  EXPECT_EQ(spot_json({"library", "rm", lib, "4"}).at("removed").as_int64(), 4);
  expect_error(spot({"library", "rm", lib, "4"}), {"no entry 4"});
  EXPECT_EQ(spot_json({"library", "check", lib}).at("ok").as_bool(), true);
}

TEST_F(LibraryCli, ARestrictedEntryIsInvisibleToOthers) {
  const std::string lib = make_library("acl.db");
  // bo sees the public entries only, everywhere.
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib}, "bo")), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib, "--user", "bo"})), (std::vector<int64_t>{2, 1}));
  expect_error(spot({"library", "show", lib, "3"}, "bo"), {"no entry 3", "not visible to bo"});
  json::value s = spot_json({"library", "search", lib, "--query-embedding", ws("e2.safetensors")}, "bo");
  EXPECT_EQ(ids_of(s.at("hits")), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(s.at("candidates").as_int64(), 2);
  expect_error(spot({"library", "search", lib, "--like", "3"}, "bo"), {"--like", "no entry 3"});
  expect_error(spot({"library", "export", lib, ws("acl_bo"), "--ids", "3"}, "bo"), {"no entry 3"});
  EXPECT_FALSE(fs::exists(ws("acl_bo")));
  EXPECT_EQ(spot_json({"library", "export", lib, ws("acl_bo_all")}, "bo").at("ids").as_array().size(), 2u);
  EXPECT_FALSE(fs::exists(ws("acl_bo_all/entry_3")));
  expect_error(spot({"library", "rm", lib, "3"}, "bo"), {"no entry 3"});
  // The readers see it: by name, and by group.
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib}, "cy")), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib, "--user", "dee", "--groups", "lab,nlp"})), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(spot_json({"library", "show", lib, "3"}, "cy").at("task").as_string(), "task2");
  // Anonymous (no SPOT_USER, an explicit empty name refused).
  expect_error(spot({"library", "list", lib, "--user", ""}), {"--user"});
}

TEST_F(LibraryCli, ExportImportRoundTripsWithLineageRemapped) {
  const std::string lib = make_library("src.db");
  const std::string out = ws("export");
  fs::remove_all(out);
  json::value ex = spot_json({"library", "export", lib, out, "--ids", "2,3", "--peft"});
  EXPECT_EQ(json::value_to<std::vector<int64_t>>(ex.at("ids")), (std::vector<int64_t>{2, 3}));
  for (const char* f : {"entry_2/prompt.safetensors", "entry_2/embedding_prompt.safetensors",
                        "entry_2/embedding_data.safetensors", "entry_2/entry.json", "entry_3/entry.json",
                        "entry_3/peft/adapter_model.safetensors", "entry_3/peft/adapter_config.json"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / f)) << f;
  EXPECT_FALSE(fs::exists(fs::path(out) / "entry_1"));
  expect_error(spot({"library", "export", lib, out}), {out, "not an empty directory"});

  // Into a library that already holds an entry: new ids, lineage 2 -> its new id, 1 -> 0 (not imported).
  const std::string dst = ws("dst.db");
  fs::remove(dst);
  expect_ok(spot({"library", "init", dst}));
  expect_ok(spot({"library", "add", dst, "--prompt", ws("p0.safetensors")}));
  json::value im = spot_json({"library", "import", dst, out}, "cy");
  ASSERT_EQ(im.as_array().size(), 2u);
  EXPECT_EQ(im.at(0).at("old_id").as_int64(), 2);
  EXPECT_EQ(im.at(0).at("id").as_int64(), 2);
  EXPECT_EQ(im.at(1).at("old_id").as_int64(), 3);
  EXPECT_EQ(im.at(1).at("id").as_int64(), 3);
  json::value shown = spot_json({"library", "show", dst, "3"}, "cy");
  EXPECT_EQ(shown.at("parents").at(0).at("parent").as_int64(), 0);
  EXPECT_EQ(shown.at("parents").at(1).at("parent").as_int64(), 2);
  EXPECT_EQ(shown.at("parents").at(1).at("weight").to_number<double>(), 0.75);
  EXPECT_EQ(shown.at("owner").as_string(), "cy");  // the importer owns what it imported
  EXPECT_EQ(shown.at("visibility").as_string(), "restricted");
  EXPECT_EQ(shown.at("description").as_string(), "a transfer");
  // Bit for bit: prompts and embeddings.
  const retrieval::Library a = retrieval::Library::open(lib), b = retrieval::Library::open(dst);
  const retrieval::Caller cy{"cy", {}};
  for (auto [from, to] : {std::pair<int64_t, int64_t>{2, 2}, {3, 3}}) {
    const auto x = a.get(cy, from), y = b.get(cy, to);
    ASSERT_TRUE(x && y);
    EXPECT_TRUE(same_bits(x->prompt.values, y->prompt.values));
    ASSERT_EQ(x->embeddings.size(), y->embeddings.size());
    for (const auto& [kind, t] : x->embeddings) EXPECT_TRUE(same_bits(t, y->embeddings.at(kind))) << kind;
    EXPECT_EQ(x->info.created, y->info.created);
    EXPECT_EQ(x->info.task, y->info.task);
    EXPECT_EQ(x->info.tags, y->info.tags);
  }
  // The PEFT adapter of an entry imports as a prompt with the metadata given.
  json::value peft = spot_json({"library", "import", dst, out + "/entry_2/peft", "--peft", "--task", "peft_task",
                                "--backbone-fingerprint", "fp-peft"});
  EXPECT_EQ(peft.at("task").as_string(), "peft_task");
  EXPECT_TRUE(same_bits(b.get(cy, peft.at("id").as_int64())->prompt.values, a.get(cy, 2)->prompt.values));
  {
    // The adapter's config carries the backbone's layers and heads as PEFT writes them.
    const json::value cfg = json::parse(io::read_file(out + "/entry_2/peft/adapter_config.json"));
    EXPECT_EQ(cfg.at("num_layers").as_int64(), 2);
    EXPECT_EQ(cfg.at("num_attention_heads").as_int64(), 4);
    EXPECT_EQ(cfg.at("task_type").as_string(), "SEQ_2_SEQ_LM");
  }
  expect_error(spot({"library", "import", dst, out, "--task", "x"}), {"--task", "only with --peft"});
  expect_error(spot({"library", "import", dst, ws("p0.safetensors"), "--peft", "--task", "x", "--backbone-fingerprint", "f"}),
               {"adapter_model.safetensors"});
}

TEST_F(LibraryCli, AMalformedEntryJsonIsNamedAndNothingIsAdded) {
  const std::string lib = make_library("mal.db");
  const std::string out = ws("mal_export");
  fs::remove_all(out);
  expect_ok(spot({"library", "export", lib, out}));
  const std::string dst = ws("mal_dst.db");
  fs::remove(dst);
  expect_ok(spot({"library", "init", dst}));
  const fs::path bad = fs::path(out) / "entry_3" / "entry.json";
  const std::string good = io::read_file(bad.string());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    write(bad, s);
  };
  struct Case {
    std::string from, to, key, what;
  };
  for (const Case& c : std::vector<Case>{{"\"steps\": 40", "\"steps\": \"many\"", "steps", "expected an integer"},
                                         {"\"task\": \"task2\",", "", "task", "missing required key"},
                                         {"\"seed\": 2", "\"seed\": 2, \"sede\": 1", "sede", "unknown key"},
                                         {"\"visibility\": \"restricted\"", "\"visibility\": \"secret\"", "visibility", "secret"},
                                         {"\"user:cy\"", "\"cy\"", "readers[1]", "user:<name>"},
                                         {"\"weight\": 2.5E-1", "\"weight\": \"heavy\"", "parents[0].weight", "expected a number"},
                                         {"\"prompt_length\": 3", "\"prompt_length\": 4", "prompt_length", "disagrees"},
                                         {"\"embedding_kinds\": [", "\"embedding_kinds\": [\"gone\", ", "embedding_kinds[0]", "gone"},
                                         {"{", "[", "", "not valid JSON"}}) {
    with(c.from, c.to);
    CliResult r = spot({"library", "import", dst, out});
    expect_error(r, {bad.string(), c.key, c.what});
    EXPECT_EQ(spot_json({"library", "list", dst}).as_array().size(), 0u) << "after " << c.key;
  }
  // A prompt file altered after the export fails its recorded sha256.
  write(bad, good);
  const fs::path prompt = fs::path(out) / "entry_1" / "prompt.safetensors";
  SoftPrompt p = SoftPrompt::load(prompt.string());
  p.values.f32()[0] += 1;
  p.save(prompt.string());
  expect_error(spot({"library", "import", dst, out}), {prompt.string(), "sha256"});
  EXPECT_EQ(spot_json({"library", "list", dst}).as_array().size(), 0u);
  expect_error(spot({"library", "import", dst, ws("nowhere")}), {"nowhere", "no such directory"});
}

TEST_F(LibraryCli, ADamagedLibraryIsAClearErrorAndCheckFails) {
  write(ws_ / "notalib.db", "this is not a database, it is a text file of some length.................");
  expect_error(spot({"library", "list", ws("notalib.db")}), {ws("notalib.db")});
  CliResult r = spot({"library", "check", ws("notalib.db"), "--json"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  json::value v = json::parse(r.out);
  EXPECT_FALSE(v.at("ok").as_bool());
  EXPECT_TRUE(contains(r.err, "damaged")) << r.err;

  // A stored prompt altered behind the library's back.
  const std::string lib = make_library("damaged.db");
  EXPECT_EQ(spot_json({"library", "check", lib}).at("entries").as_int64(), 3);
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(lib.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE entries SET prompt = zeroblob(length(prompt)) WHERE id = 2", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  r = spot({"library", "check", lib});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "entry 2: the prompt's bytes do not match their sha256")) << r.out;
  r = spot({"library", "check", lib, "--json"});
  EXPECT_EQ(r.code, 1);
  v = json::parse(r.out);
  EXPECT_FALSE(v.at("ok").as_bool());
  ASSERT_EQ(v.at("problems").as_array().size(), 1u);
  expect_error(spot({"library", "show", lib, "2"}), {lib, "entry 2", "sha256"});
  expect_ok(spot({"library", "show", lib, "1"}));  // the others still read
  // A truncated copy: an error naming it, never a crash.
  const std::string bytes = io::read_file(lib);
  write(ws_ / "truncated.db", bytes.substr(0, bytes.size() / 2));
  r = spot({"library", "check", ws("truncated.db")});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  r = spot({"library", "list", ws("truncated.db")});
  if (r.code != 0) expect_error(r, {ws("truncated.db")});
}

// ---------------------------------------------------------------- spot train --library

TEST_F(LibraryCli, TrainStoresItsPromptOnceWithItsEmbedding) {
  SPOT_REQUIRE_SHARED_DATA("tokenizers/t5/spiece.model");
  write_tiny_t5(ws_ / "t5tiny");
  const std::string rows =
      "{\"text\":\"a fine film\",\"label\":\"positive\"}\n{\"text\":\"dull and long\",\"label\":\"negative\"}\n"
      "{\"text\":\"a joy to watch\",\"label\":\"positive\"}\n{\"text\":\"I left early\",\"label\":\"negative\"}\n";
  write(ws_ / "user/train.jsonl", rows);
  write(ws_ / "user/dev.jsonl", rows);
  write(ws_ / "user/spec.json", R"({"name":"mini","format":"jsonl","splits":{"train":"train.jsonl","validation":"dev.jsonl"},)"
                                R"("labels":["negative","positive"]})");
  const std::string lib = ws("train.db"), run = ws("run_lib");
  fs::remove(lib);
  fs::remove_all(run);
  std::vector<std::string> args = {"train", "--model", "t5:" + ws("t5tiny"), "--task", ws("user/spec.json"), "--steps", "4",
                                   "--batch", "2", "--prompt-len", "3", "--eval-every", "2", "--checkpoint-every", "2",
                                   "--task-embedding-step", "2", "--out", run, "--library", lib};
  // A library that does not exist is refused before anything is trained.
  expect_error(spot(args), {lib, "spot library init"});
  EXPECT_FALSE(fs::exists(fs::path(run) / "metrics.jsonl"));
  expect_ok(spot({"library", "init", lib}));
  CliResult r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "library: added entry 1 to " + lib + " (best_prompt.safetensors, with its task embedding)"))
      << r.out;
  EXPECT_TRUE(fs::is_regular_file(fs::path(run) / "library_entries.json"));
  json::value list = spot_json({"library", "list", lib});
  ASSERT_EQ(list.as_array().size(), 1u);
  const json::value& e = list.at(0);
  EXPECT_EQ(e.at("task").as_string(), "mini");
  EXPECT_EQ(e.at("owner").as_string(), "ana");
  EXPECT_EQ(e.at("steps").as_int64(), 4);
  EXPECT_EQ(e.at("prompt_length").as_int64(), 3);
  EXPECT_EQ(e.at("init_mode").as_string(), "vocab");
  EXPECT_EQ(e.at("metric_name").as_string(), "validation score");
  EXPECT_EQ(e.at("placement").as_string(), "prefix");
  EXPECT_FALSE(e.at("backbone_fingerprint").as_string().empty());
  EXPECT_FALSE(e.at("train_date").as_string().empty());
  EXPECT_EQ(json::value_to<std::vector<std::string>>(e.at("embedding_kinds")), std::vector<std::string>{"prompt"});
  // The stored prompt is the best one, the embedding the step-2 prompt, bit for bit.
  {
    const retrieval::Library opened = retrieval::Library::open(lib);
    const auto stored = opened.get({"ana", {}}, 1);
    ASSERT_TRUE(stored);
    EXPECT_TRUE(same_bits(stored->prompt.values, SoftPrompt::load(run + "/best_prompt.safetensors").values));
    EXPECT_TRUE(same_bits(stored->embeddings.at("prompt"), SoftPrompt::load(run + "/task_embedding.safetensors").values));
    EXPECT_NEAR(e.at("metric_value").to_number<double>(),
                std::stod(SoftPrompt::load(run + "/best_prompt.safetensors").metadata.at("metric")), 1e-9);
  }
  // Finished again (resumed from the final checkpoint): no duplicate.
  r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "steps 4 (resumed from 4)")) << r.out;
  EXPECT_TRUE(contains(r.out, "library: already entry 1 of " + lib)) << r.out;
  EXPECT_EQ(spot_json({"library", "list", lib}).as_array().size(), 1u);
  // Removed from the library since: stored anew.
  expect_ok(spot({"library", "rm", lib, "1"}));
  r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "library: added entry 2 to " + lib)) << r.out;
  EXPECT_EQ(ids_of(spot_json({"library", "list", lib})), std::vector<int64_t>{2});
}

// `spot embed` and `spot transfer` through the binary: two sources trained into a library with
// `train --library`, a data embedding stored on each entry, the target's sources ranked, a transfer
// with its JSON summary, a rerun that adds nothing, and the command-line errors.
TEST_F(LibraryCli, EmbedAndTransferEndToEnd) {
  SPOT_REQUIRE_SHARED_DATA("tokenizers/t5/spiece.model");
  write_tiny_t5(ws_ / "t5tiny");
  auto task = [&](const std::string& name, const std::vector<std::string>& words) {
    std::string rows;
    for (int i = 0; i < 12; ++i)
      rows += "{\"text\":\"" + words[i % words.size()] + " " + std::to_string(i) + "\",\"label\":\"" +
              (i % 2 ? "yes" : "no") + "\"}\n";
    write(ws_ / name / "train.jsonl", rows);
    write(ws_ / name / "dev.jsonl", rows);
    write(ws_ / name / "spec.json", R"({"name":")" + name + R"(","format":"jsonl","splits":{"train":"train.jsonl",)"
                                    R"("validation":"dev.jsonl"},"labels":["no","yes"]})");
    return ws(name + "/spec.json");
  };
  const std::string a = task("cli_src_a", {"rain", "snow", "wind"}), b = task("cli_src_b", {"bread", "soup", "rice"}),
                    t = task("cli_tgt", {"rain", "cloud", "sun"});
  const std::string lib = ws("transfer.db"), model = "t5:" + ws("t5tiny");
  fs::remove(lib);
  expect_ok(spot({"library", "init", lib}));
  const std::vector<std::string> train = {"--model", model, "--steps", "2", "--batch", "4", "--prompt-len", "3",
                                          "--eval-every", "2", "--checkpoint-every", "2", "--lr", "0.3"};
  int64_t id = 0;
  for (const std::string& spec : {a, b}) {
    std::vector<std::string> args = {"train", "--task", spec, "--out", ws("run_" + std::to_string(++id)), "--library", lib};
    args.insert(args.end(), train.begin(), train.end());
    expect_ok(spot(args));
    const json::value e = spot_json({"embed", "--model", model, "--task", spec, "--kind", "data", "--examples", "6",
                                     "--out", ws("emb_" + std::to_string(id) + ".safetensors"), "--library", lib,
                                     "--entry", std::to_string(id)});
    EXPECT_EQ(e.at("rows").as_int64(), 6);
    EXPECT_EQ(e.at("entry").as_int64(), id);
  }
  // The target's data embedding ranks the sources; the one with shared words first.
  expect_ok(spot({"embed", "--model", model, "--task", t, "--kind", "data", "--examples", "6", "--out", ws("emb_t.safetensors")}));
  const json::value hits = spot_json({"library", "search", lib, "--query-embedding", ws("emb_t.safetensors"), "--kind",
                                      "data", "--k", "2"});
  ASSERT_EQ(hits.at("hits").as_array().size(), 2u) << hits;
  // The transfer, with its baseline at the same budget.
  std::vector<std::string> tr = {"transfer", "--target", t, "--library", lib, "--strategy", "best", "--k", "2", "--kind",
                                 "data", "--embed-examples", "6", "--with-scratch", "--out", ws("tr_out")};
  tr.insert(tr.end(), train.begin(), train.end());
  const json::value r = spot_json(tr);
  ASSERT_EQ(r.at("retrieved").as_array().size(), 2u) << r;
  EXPECT_EQ(r.at("retrieved").at(0).at("id").as_int64(), hits.at("hits").at(0).at("id").as_int64());
  EXPECT_NEAR(r.at("gain").to_number<double>(),
              r.at("score").to_number<double>() - r.at("scratch_score").to_number<double>(), 1e-9);
  const int64_t stored = r.at("stored_id").as_int64();
  EXPECT_EQ(stored, 3);
  const json::value shown = spot_json({"library", "show", lib, std::to_string(stored)});
  EXPECT_EQ(shown.at("init_mode").as_string(), "transfer:best") << shown;
  EXPECT_EQ(shown.at("parents").as_array().size(), 1u) << shown;
  // Human output; a rerun resumes and adds nothing.
  const CliResult again = spot(tr);
  expect_ok(again);
  EXPECT_TRUE(contains(again.out, "SPoT transfer to " + t)) << again.out;
  EXPECT_TRUE(contains(again.out, "library entry 3")) << again.out;
  EXPECT_EQ(spot_json({"library", "list", lib}).as_array().size(), 3u);
  // Errors: one line, naming what is wrong.
  expect_error(spot({"transfer", "--library", lib, "--model", model}), {"--target"});
  expect_error(spot({"transfer", "--target", t, "--library", ws("nowhere.db"), "--model", model}), {"nowhere.db"});
  expect_error(spot({"transfer", "--target", t, "--library", lib, "--strategy", "median", "--model", model}),
               {"strategy 'median'"});
  expect_error(spot({"transfer", "--target", t, "--library", lib, "--metric", "manhattan", "--model", model}),
               {"manhattan"});
  expect_error(spot({"embed", "--model", model, "--kind", "data"}), {"--task"});
  expect_error(spot({"embed", "--model", model, "--task", t, "--kind", "vibes"}), {"vibes"});
  expect_error(spot({"embed", "--model", model, "--task", t, "--library", lib}), {"--entry"});
  expect_error(spot({"embed", "--model", model, "--task", t, "--library", lib, "--entry", "99", "--out",
                     ws("emb_x.safetensors")}),
               {"no entry 99"});
}

}  // namespace
}  // namespace spot::test
