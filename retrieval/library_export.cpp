// library_export.cpp — entries as JSON and as a portable directory (library_export.h).
#include "retrieval/library_export.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <cmath>
#include <filesystem>

#include "base/check.h"
#include "io/cache.h"
#include "io/download.h"
#include "io/safetensors.h"

namespace spot::retrieval {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// PEFT's num_layers and num_attention_heads of an entry, from the backbone description spot stores
// with it ("t5(..., heads=8, ..., layers=6+6, ...)": the encoder's layers; "llama(..., layers=30,
// heads=9/3kv, ...)"), as PEFT reads them from the model config.
std::pair<int64_t, int64_t> peft_layers_and_heads(const std::string& backbone, int64_t id) {
  auto field = [&](const std::string& key) -> int64_t {
    const size_t at = backbone.find(key + "=");
    if (at == std::string::npos) return 0;
    try {
      return std::stoll(backbone.substr(at + key.size() + 1));
    } catch (const std::exception&) {
      return 0;
    }
  };
  const int64_t layers = field("layers"), heads = field("heads");
  SPOT_CHECK(layers > 0 && heads > 0, "entry " << id << ": PEFT export needs the backbone's layers and heads, and its "
                                                    "backbone '" << backbone << "' does not name them");
  return {layers, heads};
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

std::string entry_folder(int64_t id) { return "entry_" + std::to_string(id); }

std::string embedding_file(const std::string& kind) { return "embedding_" + kind + ".safetensors"; }

}  // namespace

json::object entry_info_json(const EntryInfo& m) {
  json::array parents;
  for (const Lineage& p : m.parents)
    parents.emplace_back(json::object{{"parent", p.parent}, {"strategy", p.strategy}, {"k", p.k}, {"weight", p.weight}});
  return json::object{{"id", m.id},
                      {"task", m.task},
                      {"backbone", m.backbone},
                      {"backbone_fingerprint", m.backbone_fingerprint},
                      {"placement", m.placement},
                      {"depth", m.depth},
                      {"prompt_length", m.prompt_length},
                      {"layers", m.layers},
                      {"d_model", m.d_model},
                      {"dataset_fingerprint", m.dataset_fingerprint},
                      {"dataset_link", m.dataset_link},
                      {"train_date", m.train_date},
                      {"steps", m.steps},
                      {"seed", m.seed},
                      {"metric_name", m.metric_name},
                      {"metric_value", m.metric_value},
                      {"init_mode", m.init_mode},
                      {"parents", parents},
                      {"owner", m.owner},
                      {"visibility", visibility_name(m.visibility)},
                      {"readers", string_array(m.readers)},
                      {"tags", string_array(m.tags)},
                      {"description", m.description},
                      {"created", m.created},
                      {"times_retrieved", m.times_retrieved},
                      {"mean_gain", m.mean_gain},
                      {"gain_count", m.gain_count},
                      {"embedding_kinds", string_array(m.embedding_kinds)}};
}

EntryInfo entry_info_from_json(io::JsonObject& o) {
  auto fail_at = [&](const std::string& key, const std::string& what) {
    SPOT_FAIL(o.where() << ": " << o.key_path(key) << ": " << what);
  };
  EntryInfo m;
  SPOT_CHECK(o.has("id"), o.where() << ": " << o.key_path("id") << ": missing required key");
  m.id = o.integer("id", 0);
  if (m.id <= 0) fail_at("id", "must be a positive entry id, got " + std::to_string(m.id));
  m.task = o.required_str("task");
  if (m.task.empty()) fail_at("task", "must not be empty");
  m.backbone = o.str("backbone", "");
  m.backbone_fingerprint = o.required_str("backbone_fingerprint");
  if (m.backbone_fingerprint.empty()) fail_at("backbone_fingerprint", "must not be empty");
  m.placement = o.str("placement", m.placement);
  m.depth = o.str("depth", m.depth);
  if (m.depth != "input" && m.depth != "deep") fail_at("depth", "must be input or deep, got '" + m.depth + "'");
  m.prompt_length = o.integer("prompt_length", 0);
  m.layers = o.integer("layers", 0);
  m.d_model = o.integer("d_model", 0);
  m.dataset_fingerprint = o.str("dataset_fingerprint", "");
  m.dataset_link = o.str("dataset_link", "");
  m.train_date = o.str("train_date", "");
  m.steps = o.integer("steps", 0);
  m.seed = o.integer("seed", 0);
  m.metric_name = o.str("metric_name", "");
  m.metric_value = o.number("metric_value", 0);
  if (!std::isfinite(m.metric_value)) fail_at("metric_value", "must be finite");
  m.init_mode = o.str("init_mode", "");
  if (const json::value* ps = o.find("parents")) {
    if (!ps->is_array()) fail_at("parents", "expected an array of {parent, strategy, k, weight}, got " + io::show_json(*ps));
    for (size_t i = 0; i < ps->as_array().size(); ++i) {
      io::JsonObject p(ps->as_array()[i], o.key_path("parents") + "[" + std::to_string(i) + "]", o.where());
      Lineage l;
      l.parent = p.integer("parent", 0);
      l.strategy = p.str("strategy", "");
      l.k = p.integer("k", 0);
      l.weight = p.number("weight", 0);
      p.done();
      m.parents.push_back(l);
    }
  }
  m.owner = o.str("owner", "");
  const std::string vis = o.str("visibility", "public");
  if (vis != "public" && vis != "restricted") fail_at("visibility", "must be public or restricted, got '" + vis + "'");
  m.visibility = parse_visibility(vis);
  m.readers = o.strings("readers");
  for (size_t i = 0; i < m.readers.size(); ++i)
    if (m.readers[i].rfind("user:", 0) != 0 && m.readers[i].rfind("group:", 0) != 0)
      fail_at("readers[" + std::to_string(i) + "]", "'" + m.readers[i] + "' must be user:<name> or group:<name>");
  m.tags = o.strings("tags");
  m.description = o.str("description", "");
  m.created = o.str("created", "");
  m.times_retrieved = o.integer("times_retrieved", 0);
  if (m.times_retrieved < 0) fail_at("times_retrieved", "must not be negative");
  m.mean_gain = o.number("mean_gain", 0);
  if (!std::isfinite(m.mean_gain)) fail_at("mean_gain", "must be finite");
  m.gain_count = o.integer("gain_count", 0);
  if (m.gain_count < 0) fail_at("gain_count", "must not be negative");
  m.embedding_kinds = o.strings("embedding_kinds");
  return m;
}

void check_embedding_kind(const std::string& kind, const std::string& what) {
  SPOT_CHECK(!kind.empty(), what << ": an embedding kind must not be empty");
  for (char c : kind)
    SPOT_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-',
               what << ": embedding kind '" << kind << "' may hold letters, digits, '_' and '-' only");
}

Tensor read_embedding_file(const std::string& path) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  std::string name;
  for (const char* n : {"embedding", "prompt", "prompt_embeddings"})
    if (name.empty() && f.contains(n)) name = n;
  if (name.empty() && f.names().size() == 1) name = f.names().front();
  SPOT_CHECK(!name.empty(), path << ": no tensor 'embedding', 'prompt' or 'prompt_embeddings', and not a file of one tensor");
  Tensor t = f.load_f32(name);
  SPOT_CHECK(t.ndim() == 2 || t.ndim() == 3,
             path << ": tensor '" << name << "' has shape " << shape_str(t.shape()) << ", expected [L, d] or [layers, L, d]");
  for (int64_t i = 0; i < t.numel(); ++i)
    SPOT_CHECK(std::isfinite(t.f32()[i]), path << ": tensor '" << name << "' holds a non-finite value at " << i);
  return t;
}

std::vector<int64_t> export_entries(const Library& lib, const Caller& caller, const std::string& out_dir,
                                    const std::vector<int64_t>& ids, bool peft) {
  std::error_code ec;
  if (fs::exists(out_dir, ec))
    SPOT_CHECK(fs::is_directory(out_dir, ec) && fs::is_empty(out_dir, ec),
               out_dir << ": already exists and is not an empty directory (export writes a new one)");
  std::vector<int64_t> chosen = ids;
  if (chosen.empty())
    for (const EntryInfo& m : lib.list(caller)) chosen.push_back(m.id);
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  fs::path target = fs::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  SPOT_CHECK(!target.empty(), "export: no output directory given");
  const fs::path staging = target.parent_path() / (target.filename().string() + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  fs::create_directories(staging);
  try {
    for (int64_t id : chosen) {
      const std::optional<Entry> e = lib.get(caller, id);
      SPOT_CHECK(e, lib.path() << ": no entry " << id << " (or not visible to "
                               << (caller.user.empty() ? "anonymous" : caller.user) << ")");
      const fs::path dir = staging / entry_folder(id);
      fs::create_directories(dir);
      const std::string prompt_file = (dir / "prompt.safetensors").string();
      e->prompt.save(prompt_file);
      for (const auto& [kind, t] : e->embeddings) {
        check_embedding_kind(kind, lib.path() + ": entry " + std::to_string(id));
        io::save_safetensors((dir / embedding_file(kind)).string(), {{"embedding", t}},
                             {{"format", "spot.task_embedding.v1"}, {"kind", kind}, {"task", e->info.task}});
      }
      if (peft) {
        // PEFT's task type follows the backbone family (T5: encoder-decoder; else decoder-only).
        const std::string task_type = e->info.backbone.rfind("t5", 0) == 0 ? "SEQ_2_SEQ_LM" : "CAUSAL_LM";
        try {
          const auto [layers, heads] = peft_layers_and_heads(e->info.backbone, id);
          e->prompt.export_peft((dir / "peft").string(), e->info.backbone, task_type, layers, heads);
        } catch (const Error& err) {
          SPOT_FAIL("entry " << id << ": " << err.what());
        }
      }
      json::object j = entry_info_json(e->info);
      j["format"] = kEntryFormat;
      j["prompt_sha256"] = io::sha256_file(prompt_file);
      io::write_file_atomic((dir / "entry.json").string(), io::json_pretty(j));
    }
    if (fs::exists(target, ec)) fs::remove(target);  // the empty directory it replaces
    fs::rename(staging, target);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  return chosen;
}

std::vector<ImportedEntry> import_entries(Library& lib, const Caller& caller, const std::string& in_dir) {
  std::error_code ec;
  SPOT_CHECK(fs::is_directory(in_dir, ec), in_dir << ": no such directory (an export of `spot library export`)");
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& d : fs::directory_iterator(in_dir))
    if (d.is_directory()) dirs.push_back(d.path());
  std::sort(dirs.begin(), dirs.end());
  SPOT_CHECK(!dirs.empty(), in_dir << ": holds no entry folders (entry_<id>/entry.json)");
  // Read and check everything before the library is touched.
  std::vector<Entry> entries;
  std::vector<ImportedEntry> out;
  std::map<int64_t, std::string> seen;  // id -> the entry.json that carries it
  for (const fs::path& dir : dirs) {
    const std::string where = (dir / "entry.json").string();
    SPOT_CHECK(fs::is_regular_file(where, ec), where << ": missing (every folder of an export holds one entry.json)");
    const std::string text = io::read_file(where);
    json::error_code jec;
    const json::value v = json::parse(text, jec);
    SPOT_CHECK(!jec, where << ": not valid JSON (" << jec.message() << ")");
    io::JsonObject o(v, "", where);
    const std::string format = o.required_str("format");
    SPOT_CHECK(format == kEntryFormat, where << ": format: '" << format << "' is not " << kEntryFormat);
    const std::string sha = o.str("prompt_sha256", "");
    Entry e;
    e.info = entry_info_from_json(o);
    o.done();
    if (auto [it, fresh] = seen.emplace(e.info.id, where); !fresh)
      SPOT_FAIL(where << ": id: " << e.info.id << " is also the id of " << it->second);
    const std::string prompt_file = (dir / "prompt.safetensors").string();
    SPOT_CHECK(fs::is_regular_file(prompt_file, ec), prompt_file << ": missing (the prompt of " << where << ")");
    if (!sha.empty())
      SPOT_CHECK(io::sha256_file(prompt_file) == sha,
                 prompt_file << ": its sha256 differs from prompt_sha256 in " << where << " (the file was altered)");
    e.prompt = SoftPrompt::load(prompt_file);
    const EntryInfo& m = e.info;
    auto agree = [&](const char* key, int64_t stated, int64_t actual) {
      SPOT_CHECK(stated == 0 || stated == actual,
                 where << ": " << key << ": " << stated << " disagrees with " << prompt_file << " (" << actual << ")");
    };
    agree("prompt_length", m.prompt_length, e.prompt.length());
    agree("d_model", m.d_model, e.prompt.dim());
    agree("layers", m.layers, e.prompt.layers());
    SPOT_CHECK(m.depth == (e.prompt.deep() ? "deep" : "input"),
               where << ": depth: '" << m.depth << "' disagrees with " << prompt_file);
    for (size_t i = 0; i < m.embedding_kinds.size(); ++i) {
      const std::string& kind = m.embedding_kinds[i];
      check_embedding_kind(kind, where + ": embedding_kinds[" + std::to_string(i) + "]");
      const std::string file = (dir / embedding_file(kind)).string();
      SPOT_CHECK(fs::is_regular_file(file, ec),
                 where << ": embedding_kinds[" << i << "]: '" << kind << "' has no file " << file);
      e.embeddings[kind] = read_embedding_file(file);
    }
    out.push_back({m.id, 0, dir.string()});
    entries.push_back(std::move(e));
  }
  const std::vector<int64_t> ids = lib.add_all(caller, std::move(entries), /*keep_history=*/true);
  for (size_t i = 0; i < ids.size(); ++i) out[i].new_id = ids[i];
  return out;
}

}  // namespace spot::retrieval
