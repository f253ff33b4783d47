// library.cpp — `spot library init|add|list|show|search|rm|export|import|check`: the prompt library
// (retrieval/library.h; SPoT §3 and the patent's prompt library) from the command line. Every
// sub-command takes --json (one JSON object or array on stdout, for scripts) and the caller's
// identity (--user, --groups: caller_args.h); the library API enforces access with it.
#include <boost/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/context.h"
#include "cli/commands.h"
#include "cli/commands/caller_args.h"
#include "io/cache.h"
#include "prompt/soft_prompt.h"
#include "retrieval/library.h"
#include "retrieval/library_export.h"
#include "retrieval/similarity.h"

namespace spot::cli {

namespace fs = std::filesystem;
namespace json = boost::json;
using retrieval::Caller;
using retrieval::Entry;
using retrieval::EntryInfo;
using retrieval::Library;

namespace {

const char* kIdentityNote =
    "Identity: --user NAME (default: the environment variable SPOT_USER, else the login name) and --groups A,B name "
    "the caller; restricted entries are visible only to their owner and their readers (user:<name>, group:<name>), "
    "and only the owner removes an entry.";

struct Sub {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

// A sub-command's command line: its own options plus --json and the caller's identity.
void common_options(Args& a) {
  add_caller_options(a);
  a.flag("json", "print the result as JSON (one object or array on stdout)");
  a.footer(kIdentityNote);
}

std::string who(const Caller& c) { return c.user.empty() ? "anonymous" : c.user; }

int64_t parse_id(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  SPOT_CHECK(!text.empty() && end && *end == '\0' && errno != ERANGE && v > 0,
             what << ": '" << text << "' is not an entry id (a positive integer)");
  return v;
}

double parse_number(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  SPOT_CHECK(!text.empty() && end && *end == '\0' && std::isfinite(v), what << ": '" << text << "' is not a finite number");
  return v;
}

void print_json(const json::value& v) { std::printf("%s\n", json::serialize(v).c_str()); }

std::string shape_text(const Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.ndim(); ++i) {
    if (i) s += 'x';
    s += std::to_string(t.dim(i));
  }
  return s;
}

std::string shape_text(const EntryInfo& m) {
  return (m.layers ? std::to_string(m.layers) + "x" : "") + std::to_string(m.prompt_length) + "x" + std::to_string(m.d_model);
}

json::array shape_json(const Tensor& t) {
  json::array a;
  for (int64_t i = 0; i < t.ndim(); ++i) a.emplace_back(t.dim(i));
  return a;
}

std::string joined(const std::vector<std::string>& v, const char* sep = ",") {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }

std::string metric_text(const EntryInfo& m) {
  if (m.metric_name.empty()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.4g", m.metric_value);
  return m.metric_name + buf;
}

std::string gain_text(double g) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.3g", g);
  return buf;
}

// The one place a PEFT prompt-tuning adapter directory is read: SoftPrompt::import_peft checks the
// config (peft_type, num_virtual_tokens, token_dim) against the tensor, naming the file and field.
SoftPrompt read_peft_adapter(const std::string& dir) { return SoftPrompt::import_peft(dir); }

// ---------------------------------------------------------------- an entry's metadata as options

// The options of `add` (and of `import --peft`), each a field of the entry.
void entry_options(Args& a, const std::string& when) {
  a.repeated("embedding", "KIND=FILE", "a task embedding of kind KIND (prompt, data, ...): a safetensors file holding "
                                       "one tensor [L, d] (a run's task_embedding.safetensors); repeatable" + when)
      .option("task", "T", "the task's name" + when, "the prompt file's 'task' metadata")
      .option("backbone", "NAME", "the backbone's name" + when, "the prompt file's 'backbone' metadata")
      .option("backbone-fingerprint", "FP", "the backbone's fingerprint (config + weights hash)" + when,
              "the prompt file's 'backbone_hash' metadata")
      .option("metric-name", "NAME", "what metric-value measures" + when, "'score' when the file has a 'metric'")
      .option("metric-value", "X", "the prompt's score" + when, "the prompt file's 'metric' metadata")
      .option("steps", "N", "training steps" + when, "the prompt file's 'step' metadata")
      .option("seed", "N", "the training seed" + when, "the prompt file's 'seed' metadata")
      .option("init-mode", "MODE", "how the prompt was initialised" + when, "the prompt file's 'init' metadata")
      .option("placement", "P", "where the prompt goes: prefix, suffix, infix:K" + when, "prefix")
      .option("train-date", "DATE", "when it was trained (ISO 8601)" + when)
      .option("dataset-fingerprint", "FP", "a hash of the training data" + when)
      .option("dataset-link", "URL", "where the training data is" + when)
      .option("tags", "A,B", "tags (list --tag filters on them)" + when)
      .option("description", "TEXT", "free text" + when)
      .option("visibility", "V", "public, or restricted (to the owner and --readers)" + when, "public")
      .option("readers", "user:X,group:Y", "who else sees a restricted entry" + when)
      .option("parents", "ID[:STRATEGY[:K[:W]]],...", "lineage: the library entries this prompt was transferred from, "
                                                      "with the strategy, k and weight" + when);
}

const char* kEntryOptionNames[] = {"task", "backbone", "backbone-fingerprint", "metric-name", "metric-value", "steps",
                                   "seed", "init-mode", "placement", "train-date", "dataset-fingerprint",
                                   "dataset-link", "tags", "description", "visibility", "readers", "parents"};

std::vector<retrieval::Lineage> parse_parents(const std::string& text) {
  std::vector<retrieval::Lineage> out;
  for (const std::string& item : split_commas(text)) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t colon; (colon = item.find(':', start)) != std::string::npos; start = colon + 1)
      parts.push_back(item.substr(start, colon - start));
    parts.push_back(item.substr(start));
    SPOT_CHECK(parts.size() <= 4, "--parents: '" << item << "' is not ID[:STRATEGY[:K[:WEIGHT]]]");
    retrieval::Lineage l;
    l.parent = parse_id(parts[0], "--parents");
    if (parts.size() > 1) l.strategy = parts[1];
    if (parts.size() > 2) {
      char* end = nullptr;
      l.k = std::strtoll(parts[2].c_str(), &end, 10);
      SPOT_CHECK(!parts[2].empty() && *end == '\0' && l.k >= 0, "--parents: k '" << parts[2] << "' is not a count");
    }
    l.weight = parts.size() > 3 ? parse_number(parts[3], "--parents: weight") : 1.0;
    out.push_back(l);
  }
  return out;
}

// An entry from a prompt and the options, the prompt file's metadata (as spot train writes it:
// prompt/soft_prompt.h) filling what the options leave out.
Entry entry_from_options(const Args& a, SoftPrompt prompt, const std::string& prompt_name) {
  Entry e;
  const std::map<std::string, std::string> meta = prompt.metadata;
  auto meta_or = [&](const char* k, const std::string& def) {
    auto it = meta.find(k);
    return it == meta.end() ? def : it->second;
  };
  auto meta_int = [&](const char* k) -> int64_t {
    const std::string v = meta_or(k, "");
    if (v.empty()) return 0;
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    SPOT_CHECK(*end == '\0', prompt_name << ": metadata '" << k << "' is '" << v << "', not an integer");
    return x;
  };
  EntryInfo& m = e.info;
  m.task = a.get_or("task", meta_or("task", ""));
  SPOT_CHECK(!m.task.empty(), "--task: " << prompt_name << " names no task (no 'task' metadata); give --task");
  m.backbone = a.get_or("backbone", meta_or("backbone", ""));
  m.backbone_fingerprint = a.get_or("backbone-fingerprint", meta_or("backbone_hash", ""));
  SPOT_CHECK(!m.backbone_fingerprint.empty(), "--backbone-fingerprint: " << prompt_name << " has no 'backbone_hash' "
                                                                         << "metadata; give --backbone-fingerprint");
  const std::string metric = meta_or("metric", "");
  m.metric_value = a.get("metric-value") ? a.get_double("metric-value", 0)
                   : metric.empty()      ? 0.0
                                         : parse_number(metric, prompt_name + ": metadata 'metric'");
  m.metric_name = a.get_or("metric-name", metric.empty() && !a.get("metric-value") ? "" : "score");
  m.steps = a.get("steps") ? a.get_int("steps", 0) : meta_int("step");
  m.seed = a.get("seed") ? a.get_int("seed", 0) : meta_int("seed");
  SPOT_CHECK(m.steps >= 0, "--steps must not be negative");
  m.init_mode = a.get_or("init-mode", meta_or("init", ""));
  m.placement = a.get_or("placement", "prefix");
  m.train_date = a.get_or("train-date", "");
  m.dataset_fingerprint = a.get_or("dataset-fingerprint", "");
  m.dataset_link = a.get_or("dataset-link", "");
  m.tags = split_commas(a.get_or("tags", ""));
  m.description = a.get_or("description", "");
  try {
    m.visibility = retrieval::parse_visibility(a.get_or("visibility", "public"));
  } catch (const Error& err) {
    SPOT_FAIL("--visibility: " << err.what());
  }
  m.readers = split_commas(a.get_or("readers", ""));
  SPOT_CHECK(m.readers.empty() || m.visibility == retrieval::Visibility::Restricted,
             "--readers: a public entry is visible to everyone; readers need --visibility restricted");
  for (const std::string& r : m.readers)
    SPOT_CHECK(r.rfind("user:", 0) == 0 || r.rfind("group:", 0) == 0,
               "--readers: '" << r << "' must be user:<name> or group:<name>");
  m.parents = parse_parents(a.get_or("parents", ""));
  for (const std::string& spec : a.get_all("embedding")) {
    const size_t eq = spec.find('=');
    SPOT_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
               "--embedding: '" << spec << "' is not KIND=FILE");
    const std::string kind = spec.substr(0, eq);
    retrieval::check_embedding_kind(kind, "--embedding");
    SPOT_CHECK(!e.embeddings.count(kind), "--embedding: kind '" << kind << "' given twice");
    e.embeddings[kind] = retrieval::read_embedding_file(spec.substr(eq + 1));
  }
  e.prompt = std::move(prompt);
  return e;
}

void print_added(const Library& lib, const Caller& caller, int64_t id, bool as_json) {
  if (as_json) {
    print_json(retrieval::entry_info_json(lib.get(caller, id)->info));
  } else {
    std::printf("added entry %lld to %s\n", static_cast<long long>(id), lib.path().c_str());
  }
}

// ---------------------------------------------------------------- the sub-commands

int lib_init(const std::vector<std::string>& argv) {
  Args a("library init", "Creates a new, empty prompt library file (SQLite). Refuses an existing path.");
  a.positional("LIB", "the library file to create");
  common_options(a);
  if (!a.parse(argv)) return 0;
  const std::string path = a.positional_at(0, "LIB (the library file to create)");
  SPOT_CHECK(a.positional().size() == 1, "spot library init takes one LIB");
  const Library lib = Library::create(path);
  if (a.flag("json"))
    print_json(json::object{{"library", path}, {"schema_version", lib.schema_version()}});
  else
    std::printf("created %s (schema version %d)\n", path.c_str(), lib.schema_version());
  return 0;
}

int lib_add(const std::vector<std::string>& argv) {
  Args a("library add",
         "Adds a soft prompt to the library, with its task embeddings and metadata. What the options leave out is read "
         "from the prompt file's metadata where spot wrote it (task, backbone, backbone_hash, step, metric, seed, "
         "init); a task and a backbone fingerprint are required. The caller becomes the entry's owner.");
  a.positional("LIB", "the library file");
  a.option("prompt", "FILE", "the prompt (a spot prompt file, or a PEFT adapter_model.safetensors)");
  entry_options(a, "");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 1, "spot library add takes one LIB (got " << a.positional().size() << " arguments)");
  const std::string file = a.get_or("prompt", "");
  SPOT_CHECK(!file.empty(), "--prompt FILE is required (the prompt to add)");
  Library lib = Library::open(a.positional_at(0, "LIB"));
  const Caller caller = caller_from(a);
  Entry e = entry_from_options(a, SoftPrompt::load(file), file);
  const int64_t id = lib.add(caller, std::move(e));
  print_added(lib, caller, id, a.flag("json"));
  return 0;
}

int lib_list(const std::vector<std::string>& argv) {
  Args a("library list", "Lists the entries the caller may see, newest first.");
  a.positional("LIB", "the library file");
  a.option("task", "T", "only this task")
      .option("tag", "TAG", "only entries with this tag")
      .option("backbone-fingerprint", "FP", "only prompts of this backbone");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 1, "spot library list takes one LIB");
  const Library lib = Library::open(a.positional_at(0, "LIB"));
  retrieval::ListFilter f;
  f.task = a.get_or("task", "");
  f.tag = a.get_or("tag", "");
  f.backbone_fingerprint = a.get_or("backbone-fingerprint", "");
  const std::vector<EntryInfo> entries = lib.list(caller_from(a), f);
  if (a.flag("json")) {
    json::array out;
    for (const EntryInfo& m : entries) out.emplace_back(retrieval::entry_info_json(m));
    print_json(out);
    return 0;
  }
  std::printf("%-5s %-20s %-28s %-11s %-26s %-16s %-20s %9s %9s\n", "id", "task", "backbone", "length×d", "metric", "tags",
              "created", "retrieved", "mean gain");
  for (const EntryInfo& m : entries)
    std::printf("%-5lld %-20s %-28s %-10s %-26s %-16s %-20s %9lld %9s\n", static_cast<long long>(m.id),
                clip(m.task, 20).c_str(), clip(m.backbone.empty() ? m.backbone_fingerprint : m.backbone, 28).c_str(),
                shape_text(m).c_str(), clip(metric_text(m), 26).c_str(), clip(joined(m.tags), 16).c_str(),
                m.created.c_str(), static_cast<long long>(m.times_retrieved),
                m.gain_count ? gain_text(m.mean_gain).c_str() : "-");
  std::printf("%zu entr%s visible to %s\n", entries.size(), entries.size() == 1 ? "y" : "ies", who(caller_from(a)).c_str());
  return 0;
}

int lib_show(const std::vector<std::string>& argv) {
  Args a("library show", "Everything about one entry: its metadata, lineage, usage, prompt and task embeddings.");
  a.positional("LIB ID", "the library file and the entry's id");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 2, "spot library show takes LIB and ID");
  const Library lib = Library::open(a.positional_at(0, "LIB"));
  const Caller caller = caller_from(a);
  const int64_t id = parse_id(a.positional_at(1, "ID"), "ID");
  const std::optional<Entry> e = lib.get(caller, id);
  SPOT_CHECK(e, lib.path() << ": no entry " << id << " (or not visible to " << who(caller) << ")");
  const EntryInfo& m = e->info;
  if (a.flag("json")) {
    json::object j = retrieval::entry_info_json(m);
    j["prompt_shape"] = shape_json(e->prompt.values);
    json::object meta, embs;
    for (const auto& [k, v] : e->prompt.metadata) meta[k] = v;
    for (const auto& [k, t] : e->embeddings) embs[k] = shape_json(t);
    j["prompt_metadata"] = meta;
    j["embeddings"] = embs;
    print_json(j);
    return 0;
  }
  auto line = [](const char* k, const std::string& v) { std::printf("%-21s %s\n", k, v.empty() ? "-" : v.c_str()); };
  line("id", std::to_string(m.id));
  line("task", m.task);
  line("backbone", m.backbone);
  line("backbone fingerprint", m.backbone_fingerprint);
  line("prompt", shape_text(e->prompt.values) + " (" + m.depth + " depth, " + m.placement + ")");
  line("metric", metric_text(m));
  line("steps", std::to_string(m.steps));
  line("seed", std::to_string(m.seed));
  line("init", m.init_mode);
  line("train date", m.train_date);
  line("dataset fingerprint", m.dataset_fingerprint);
  line("dataset link", m.dataset_link);
  line("owner", m.owner);
  line("visibility", std::string(retrieval::visibility_name(m.visibility)) +
                         (m.readers.empty() ? "" : " (readers " + joined(m.readers, ", ") + ")"));
  line("tags", joined(m.tags, ", "));
  line("description", m.description);
  line("created", m.created);
  line("times retrieved", std::to_string(m.times_retrieved));
  line("mean gain", m.gain_count ? gain_text(m.mean_gain) + " over " + std::to_string(m.gain_count) + " uses" : "");
  std::string parents;
  for (const retrieval::Lineage& p : m.parents) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s%s (%s, k=%lld, weight %g)", parents.empty() ? "" : "; ",
                  p.parent ? ("entry " + std::to_string(p.parent)).c_str() : "a source outside this library",
                  p.strategy.empty() ? "-" : p.strategy.c_str(), static_cast<long long>(p.k), p.weight);
    parents += buf;
  }
  line("lineage", parents);
  std::string embs;
  for (const auto& [k, t] : e->embeddings) embs += (embs.empty() ? "" : ", ") + k + " " + shape_text(t);
  line("task embeddings", embs);
  std::string meta;
  for (const auto& [k, v] : e->prompt.metadata) meta += (meta.empty() ? "" : ", ") + k + "=" + v;
  line("prompt metadata", meta);
  return 0;
}

int lib_search(const std::vector<std::string>& argv) {
  Args a("library search",
         "Ranks the entries the caller may see by the similarity of their task embeddings to a query (SPoT's task "
         "similarity): an embedding file (--query-embedding) or an entry's own (--like ID, which is then left out of "
         "the hits). Only entries holding an embedding of --kind and of a comparable shape take part (the same d; the "
         "flattened metrics cosine, l2 and mip: the same shape); the others are counted as skipped.");
  a.positional("LIB", "the library file");
  a.option("query-embedding", "FILE", "the query: a safetensors file of one tensor [L, d]")
      .option("like", "ID", "the query: this entry's embedding of --kind")
      .option("kind", "KIND", "the task embedding kind compared", "prompt")
      .option("metric", "M", "cos_avg (cosine of the average tokens), per_token_cos (per-token average cosine), "
                             "cosine, l2 (distance: smaller is closer), mip (maximum inner product)", "cos_avg")
      .option("k", "N", "hits", "10")
      .option("backbone-fingerprint", "FP", "only prompts of this backbone");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 1, "spot library search takes one LIB");
  SPOT_CHECK(a.get("query-embedding").has_value() != a.get("like").has_value(),
             "spot library search: give one query, --query-embedding FILE or --like ID");
  const Library lib = Library::open(a.positional_at(0, "LIB"));
  const Caller caller = caller_from(a);
  const std::string kind = a.get_or("kind", "prompt");
  retrieval::Metric metric;
  try {
    metric = retrieval::parse_metric(a.get_or("metric", "cos_avg"));
  } catch (const Error& err) {
    SPOT_FAIL("--metric: " << err.what());
  }
  const int64_t k = a.get_int("k", 10);
  SPOT_CHECK(k > 0, "--k must be positive, got " << k);
  Tensor query;
  std::vector<int64_t> query_ids;
  if (auto like = a.get("like")) {
    const int64_t id = parse_id(*like, "--like");
    const std::optional<Entry> e = lib.get(caller, id);
    SPOT_CHECK(e, "--like: " << lib.path() << ": no entry " << id << " (or not visible to " << who(caller) << ")");
    auto it = e->embeddings.find(kind);
    SPOT_CHECK(it != e->embeddings.end(), "--like: entry " << id << " has no task embedding of kind '" << kind << "'");
    query = it->second;
    query_ids = {id};
  } else {
    query = retrieval::read_embedding_file(*a.get("query-embedding"));
  }
  retrieval::ListFilter filter;
  filter.backbone_fingerprint = a.get_or("backbone-fingerprint", "");
  const bool flattened = metric == retrieval::Metric::Cosine || metric == retrieval::Metric::L2 ||
                         metric == retrieval::Metric::Mip;
  std::vector<int64_t> ids;
  std::vector<Tensor> keys;
  int64_t skipped = 0;
  // Access is filtered inside embeddings() before anything is ranked.
  for (auto& [id, t] : lib.embeddings(caller, kind, filter)) {
    const bool comparable = flattened ? t.shape() == query.shape() : t.dim(-1) == query.dim(-1);
    if (!comparable) {
      ++skipped;
      continue;
    }
    ids.push_back(id);
    keys.push_back(t);
  }
  std::vector<retrieval::Hit> hits;
  if (!ids.empty()) {
    const retrieval::SimilarityIndex index(metric, ids, keys);
    Context ctx;
    hits = index.top_k(ctx, {query}, k, query_ids).at(0);
  }
  std::map<int64_t, EntryInfo> info;
  for (const EntryInfo& m : lib.list(caller, filter)) info[m.id] = m;
  if (a.flag("json")) {
    json::array out;
    for (size_t r = 0; r < hits.size(); ++r) {
      const EntryInfo& m = info.at(hits[r].id);
      out.emplace_back(json::object{{"rank", r + 1},
                                    {"id", m.id},
                                    {"score", hits[r].score},
                                    {"task", m.task},
                                    {"backbone", m.backbone},
                                    {"prompt_length", m.prompt_length},
                                    {"d_model", m.d_model},
                                    {"metric_name", m.metric_name},
                                    {"metric_value", m.metric_value},
                                    {"tags", json::value_from(m.tags)}});
    }
    print_json(json::object{{"metric", retrieval::metric_name(metric)},
                            {"kind", kind},
                            {"k", k},
                            {"candidates", static_cast<int64_t>(ids.size())},
                            {"skipped", skipped},
                            {"hits", out}});
    return 0;
  }
  std::printf("%-4s %-5s %12s  %-20s %-11s %s\n", "rank", "id", metric == retrieval::Metric::L2 ? "distance" : "similarity",
              "task", "length×d", "metric");
  for (size_t r = 0; r < hits.size(); ++r) {
    const EntryInfo& m = info.at(hits[r].id);
    std::printf("%-4zu %-5lld %12.6f  %-20s %-10s %s\n", r + 1, static_cast<long long>(m.id), hits[r].score,
                clip(m.task, 20).c_str(), shape_text(m).c_str(), metric_text(m).c_str());
  }
  std::printf("%zu hit%s among %zu entries with a '%s' embedding (%s)%s\n", hits.size(), hits.size() == 1 ? "" : "s",
              ids.size(), kind.c_str(), retrieval::metric_name(metric),
              skipped ? (", " + std::to_string(skipped) + " of another shape skipped").c_str() : "");
  return 0;
}

int lib_rm(const std::vector<std::string>& argv) {
  Args a("library rm", "Removes an entry; only its owner may.");
  a.positional("LIB ID", "the library file and the entry's id");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 2, "spot library rm takes LIB and ID");
  Library lib = Library::open(a.positional_at(0, "LIB"));
  const Caller caller = caller_from(a);
  const int64_t id = parse_id(a.positional_at(1, "ID"), "ID");
  SPOT_CHECK(lib.remove(caller, id), lib.path() << ": no entry " << id << " (or not visible to " << who(caller) << ")");
  if (a.flag("json"))
    print_json(json::object{{"removed", id}});
  else
    std::printf("removed entry %lld from %s\n", static_cast<long long>(id), lib.path().c_str());
  return 0;
}

int lib_export(const std::vector<std::string>& argv) {
  Args a("library export",
         "Writes entries the caller may see to a portable directory: OUT_DIR/entry_<id>/ with prompt.safetensors, "
         "embedding_<kind>.safetensors and entry.json (every metadata field). OUT_DIR must not exist or be empty; "
         "a failed export leaves nothing behind.");
  a.positional("LIB OUT_DIR", "the library file and the directory to write");
  a.option("ids", "1,2,...", "only these entries", "every entry the caller sees")
      .flag("peft", "also write each prompt as a PEFT prompt-tuning adapter (entry_<id>/peft/: adapter_model.safetensors, "
                    "adapter_config.json); input-depth prompts only");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 2, "spot library export takes LIB and OUT_DIR");
  const Library lib = Library::open(a.positional_at(0, "LIB"));
  const std::string out_dir = a.positional_at(1, "OUT_DIR");
  std::vector<int64_t> ids;
  for (const std::string& s : split_commas(a.get_or("ids", ""))) ids.push_back(parse_id(s, "--ids"));
  SPOT_CHECK(!a.get("ids") || !ids.empty(), "--ids: no entry ids given");
  const std::vector<int64_t> done = retrieval::export_entries(lib, caller_from(a), out_dir, ids, a.flag("peft"));
  if (a.flag("json"))
    print_json(json::object{{"out_dir", out_dir}, {"ids", json::value_from(done)}});
  else
    std::printf("exported %zu entr%s to %s\n", done.size(), done.size() == 1 ? "y" : "ies", out_dir.c_str());
  return 0;
}

int lib_import(const std::vector<std::string>& argv) {
  Args a("library import",
         "Adds the entries of an export directory (`spot library export`) with new ids, as the caller (their new "
         "owner), keeping their metadata, usage statistics and access lists; lineage parents among the imported "
         "entries are remapped to their new ids (others become 0: outside this library). Every entry is read and "
         "checked first and all are added in one transaction: a malformed entry.json (named with its key) adds "
         "nothing. With --peft, IN_DIR is one PEFT prompt-tuning adapter directory instead, added with the metadata "
         "options of `spot library add`.");
  a.positional("LIB IN_DIR", "the library file and the directory to read");
  a.flag("peft", "IN_DIR is a PEFT prompt-tuning adapter directory (adapter_model.safetensors)");
  entry_options(a, " (with --peft)");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 2, "spot library import takes LIB and IN_DIR");
  Library lib = Library::open(a.positional_at(0, "LIB"));
  const std::string in_dir = a.positional_at(1, "IN_DIR");
  const Caller caller = caller_from(a);
  if (a.flag("peft")) {
    Entry e = entry_from_options(a, read_peft_adapter(in_dir), in_dir);
    const int64_t id = lib.add(caller, std::move(e));
    print_added(lib, caller, id, a.flag("json"));
    return 0;
  }
  for (const char* o : kEntryOptionNames)
    SPOT_CHECK(!a.get(o), "--" << o << ": only with --peft (an export's entry.json carries the metadata)");
  SPOT_CHECK(a.get_all("embedding").empty(), "--embedding: only with --peft (an export carries its embeddings)");
  const std::vector<retrieval::ImportedEntry> done = retrieval::import_entries(lib, caller, in_dir);
  if (a.flag("json")) {
    json::array out;
    for (const auto& d : done) out.emplace_back(json::object{{"old_id", d.old_id}, {"id", d.new_id}, {"dir", d.dir}});
    print_json(out);
  } else {
    for (const auto& d : done)
      std::printf("%s -> entry %lld\n", d.dir.c_str(), static_cast<long long>(d.new_id));
    std::printf("imported %zu entr%s into %s\n", done.size(), done.size() == 1 ? "y" : "ies", lib.path().c_str());
  }
  return 0;
}

int lib_check(const std::vector<std::string>& argv) {
  Args a("library check",
         "Checks a library: SQLite's integrity check, and every entry's prompt against its sha256 and its prompt and "
         "embeddings decoding (whatever their access; entries are named by id). Exit status 1 when it is damaged.");
  a.positional("LIB", "the library file");
  common_options(a);
  if (!a.parse(argv)) return 0;
  SPOT_CHECK(a.positional().size() == 1, "spot library check takes one LIB");
  const std::string path = a.positional_at(0, "LIB");
  std::vector<std::string> problems;
  int64_t entries = 0;
  int version = 0;
  try {
    const Library lib = Library::open(path);
    version = lib.schema_version();
    problems = lib.verify();
    entries = lib.size();
  } catch (const Error& e) {
    problems.push_back(e.what());
  }
  const bool ok = problems.empty();
  if (a.flag("json")) {
    print_json(json::object{{"library", path},
                            {"ok", ok},
                            {"schema_version", version},
                            {"entries", entries},
                            {"problems", json::value_from(problems)}});
  } else if (ok) {
    std::printf("%s: ok (%lld entries, schema version %d)\n", path.c_str(), static_cast<long long>(entries), version);
  } else {
    for (const std::string& p : problems) std::printf("%s\n", p.c_str());
  }
  if (!ok)
    std::fprintf(stderr, "spot: error: %s: damaged (%zu problem%s%s)\n", path.c_str(), problems.size(),
                 problems.size() == 1 ? "" : "s", a.flag("json") ? "" : ", listed above");
  return ok ? 0 : 1;
}

const std::vector<Sub>& subs() {
  static const std::vector<Sub> table = {
      {"init", "LIB: create a library file", lib_init},
      {"add", "LIB --prompt FILE [--embedding KIND=FILE] [metadata]: add a prompt", lib_add},
      {"list", "LIB [--task T] [--tag TAG] [--backbone-fingerprint FP]: the entries you may see", lib_list},
      {"show", "LIB ID: everything about one entry, lineage included", lib_show},
      {"search", "LIB (--query-embedding FILE | --like ID) [--kind K] [--metric M] [--k N]: nearest tasks", lib_search},
      {"rm", "LIB ID: remove an entry you own", lib_rm},
      {"export", "LIB OUT_DIR [--ids 1,2] [--peft]: write entries to a portable directory", lib_export},
      {"import", "LIB IN_DIR [--peft]: add the entries of an export (one transaction)", lib_import},
      {"check", "LIB: integrity check and every prompt's sha256 (exit 1 when damaged)", lib_check},
  };
  return table;
}

}  // namespace

int cmd_library(const std::vector<std::string>& argv) {
  std::string about =
      "The prompt library: trained soft prompts with their task embeddings, metadata, lineage, usage and access "
      "control, in one SQLite file. `spot library SUBCOMMAND --help` for a sub-command's options; each takes --json.\n\n"
      "sub-commands:\n";
  for (const Sub& s : subs()) about += std::string(s.name) + ": " + s.summary + "\n";
  if (argv.empty() || argv[0].rfind("-", 0) == 0) {
    Args a("library", about);
    a.positional("SUBCOMMAND [ARGS]", "init, add, list, show, search, rm, export, import or check");
    common_options(a);
    if (!a.parse(argv)) return 0;
    std::fprintf(stderr, "%s", a.help().c_str());
    return 2;
  }
  for (const Sub& s : subs())
    if (argv[0] == s.name) return s.run(std::vector<std::string>(argv.begin() + 1, argv.end()));
  std::string names;
  for (const Sub& s : subs()) names += (names.empty() ? "" : ", ") + std::string(s.name);
  SPOT_FAIL("unknown sub-command 'spot library " << argv[0] << "' (expected: " << names << ")");
}

}  // namespace spot::cli
