// evaluate.cpp — rank classification / greedy decoding over a Scorer, T5 metrics, JSONL records.
#include "eval/evaluate.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>

#include "eval/metrics.h"
#include "base/check.h"

namespace spot::eval {
namespace json = boost::json;

std::vector<std::vector<int>> Scorer::candidate_token_counts(const std::vector<ScoreRequest>&) {
  SPOT_FAIL("length-normalised ranking needs a Scorer that reports candidate token counts "
            "(override Scorer::candidate_token_counts)");
}

EvalMode eval_mode_from_string(const std::string& s) {
  if (s == "rank") return EvalMode::rank;
  if (s == "generate") return EvalMode::generate;
  SPOT_FAIL("unknown evaluation mode '" << s << "' (expected rank or generate)");
}

const char* eval_mode_name(EvalMode m) { return m == EvalMode::rank ? "rank" : "generate"; }

double EvalResult::metric(const std::string& name) const {
  std::string names;
  for (const auto& [k, v] : metrics) {
    if (k == name) return v;
    if (!names.empty()) names += ", ";
    names += k;
  }
  SPOT_FAIL(task << " " << split << ": no metric '" << name << "' (metrics: " << (names.empty() ? "none" : names)
                 << ")");
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The first `max` examples, extended to the end of the group the cut falls in.
size_t cut_point(const std::vector<Example>& ex, int64_t max) {
  if (max < 0 || static_cast<size_t>(max) >= ex.size()) return ex.size();
  size_t n = static_cast<size_t>(max);
  while (n > 0 && n < ex.size() && !ex[n].group.empty() && ex[n].group == ex[n - 1].group) ++n;
  return n;
}

}  // namespace

std::vector<std::pair<std::string, double>> compute_metrics(const Task& task, const std::vector<Example>& examples,
                                                            const std::vector<Prediction>& predictions) {
  SPOT_CHECK(examples.size() == predictions.size(),
             task.name() << ": " << examples.size() << " examples but " << predictions.size() << " predictions");
  std::vector<int> gold, pred;
  std::vector<double> gold_v, pred_v;
  std::vector<std::string> groups, pred_text;
  std::vector<std::vector<std::string>> answers;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    if (!ex.has_label()) continue;
    gold.push_back(ex.label);
    pred.push_back(predictions[i].label);
    gold_v.push_back(task.gold_value(ex));
    pred_v.push_back(predictions[i].value);
    groups.push_back(ex.group);
    pred_text.push_back(predictions[i].text);
    answers.push_back(ex.answers);
  }
  std::vector<std::pair<std::string, double>> out;
  if (gold.empty()) return out;
  std::optional<metrics::QaScores> qa;
  for (MetricKind m : task.metrics()) {
    double v = 0;
    switch (m) {
      case MetricKind::accuracy: v = metrics::accuracy(gold, pred); break;
      case MetricKind::f1_with_invalid: v = metrics::f1_with_invalid(gold, pred); break;
      case MetricKind::mean_3class_f1: v = metrics::macro_f1(gold, pred, 3); break;
      case MetricKind::matthews_corrcoef: v = metrics::matthews_corrcoef(gold, pred); break;
      case MetricKind::pearson: v = metrics::pearson(gold_v, pred_v); break;
      case MetricKind::spearman: v = metrics::spearman(gold_v, pred_v); break;
      case MetricKind::multirc_f1a: v = metrics::multirc_f1a(gold, pred); break;
      case MetricKind::multirc_em: v = metrics::multirc_exact_match(gold, pred, groups); break;
      case MetricKind::squad_em:
      case MetricKind::squad_f1:
        if (!qa) qa = metrics::qa_max_over_ground_truths(answers, pred_text);
        v = m == MetricKind::squad_em ? qa->exact_match : qa->f1;
        break;
    }
    out.emplace_back(metric_key(m), 100.0 * v);
  }
  return out;
}

EvalResult evaluate(const Task& task, const std::vector<Example>& all_examples, const std::string& split,
                    Scorer& scorer, const EvalOptions& options) {
  SPOT_CHECK(options.batch_size > 0, "evaluate: batch_size must be positive, got " << options.batch_size);
  const size_t n = cut_point(all_examples, options.max_examples);
  const std::vector<Example> examples(all_examples.begin(), all_examples.begin() + static_cast<ptrdiff_t>(n));
  const int max_new = options.max_new_tokens > 0 ? options.max_new_tokens : task.default_max_new_tokens();
  const bool regression = task.kind() == TaskKind::regression;

  EvalResult r;
  r.task = task.name();
  r.split = split;
  r.mode = options.mode;
  r.verbalizer = options.verbalizer;
  r.num_examples = n;
  r.records.resize(n);
  std::vector<Prediction> predictions(n);

  for (size_t b = 0; b < n; b += static_cast<size_t>(options.batch_size)) {
    const size_t e = std::min(n, b + static_cast<size_t>(options.batch_size));
    std::vector<Formatted> formatted;
    for (size_t i = b; i < e; ++i) formatted.push_back(task.format(examples[i], options.verbalizer));

    // Which examples of the batch are ranked and which decoded.
    std::vector<size_t> ranked, decoded;
    std::vector<ScoreRequest> requests;
    for (size_t k = 0; k < formatted.size(); ++k) {
      std::vector<std::string> cands =
          regression ? (options.stsb_rank ? task.regression_candidates(options.verbalizer) : std::vector<std::string>{})
                     : formatted[k].candidates;
      if ((options.mode == EvalMode::rank || task.always_rank()) && !cands.empty()) {
        ranked.push_back(k);
        requests.push_back({formatted[k].input, std::move(cands)});
      } else {
        decoded.push_back(k);
      }
    }

    if (!requests.empty()) {
      std::vector<std::vector<double>> scores = scorer.score(requests);
      SPOT_CHECK(scores.size() == requests.size(),
                 "Scorer::score returned " << scores.size() << " rows for " << requests.size() << " requests");
      std::vector<std::vector<int>> lengths;
      if (options.length_normalize) {
        lengths = scorer.candidate_token_counts(requests);
        SPOT_CHECK(lengths.size() == requests.size(), "Scorer::candidate_token_counts returned "
                                                          << lengths.size() << " rows for " << requests.size()
                                                          << " requests");
      }
      for (size_t q = 0; q < requests.size(); ++q) {
        const size_t k = ranked[q], i = b + k;
        std::vector<double>& s = scores[q];
        SPOT_CHECK(s.size() == requests[q].candidates.size(),
                   "Scorer::score returned " << s.size() << " scores for " << requests[q].candidates.size()
                                             << " candidates (example " << examples[i].id << ")");
        if (options.length_normalize) {
          SPOT_CHECK(lengths[q].size() == s.size(), "candidate_token_counts: wrong row length for example "
                                                        << examples[i].id);
          for (size_t c = 0; c < s.size(); ++c) {
            SPOT_CHECK(lengths[q][c] > 0, "candidate_token_counts: candidate " << c << " of example "
                                                                               << examples[i].id << " has no tokens");
            s[c] /= lengths[q][c];
          }
        }
        // Highest score wins; ties go to the first candidate (argmax).
        const int best = static_cast<int>(std::max_element(s.begin(), s.end()) - s.begin());
        predictions[i] = task.choose(examples[i], formatted[k], best, options.verbalizer);
        r.records[i].candidates = requests[q].candidates;
        r.records[i].scores = s;
        r.records[i].mode = "rank";
      }
    }

    if (!decoded.empty()) {
      std::vector<std::string> inputs;
      for (size_t k : decoded) inputs.push_back(formatted[k].input);
      const std::vector<std::string> outputs = scorer.generate(inputs, max_new);
      SPOT_CHECK(outputs.size() == inputs.size(),
                 "Scorer::generate returned " << outputs.size() << " outputs for " << inputs.size() << " inputs");
      for (size_t q = 0; q < decoded.size(); ++q) {
        const size_t k = decoded[q], i = b + k;
        predictions[i] = task.decode(examples[i], formatted[k], outputs[q], options.verbalizer);
        r.records[i].mode = "generate";
      }
    }

    for (size_t k = 0; k < formatted.size(); ++k) {
      const size_t i = b + k;
      ExampleRecord& rec = r.records[i];
      rec.id = examples[i].id;
      rec.input = formatted[k].input;
      rec.target = formatted[k].target;
      rec.prediction = predictions[i];
      rec.gold_label = examples[i].label;
      rec.gold_value = regression ? task.gold_value(examples[i]) : kNaN;
      rec.references = formatted[k].references;
      rec.correct = examples[i].has_label() && task.correct(examples[i], predictions[i]);
    }
    if (options.progress) options.progress(e, n);
  }

  r.metrics = compute_metrics(task, examples, predictions);
  if (r.metrics.empty()) {
    r.score = kNaN;
  } else {
    double sum = 0;
    for (const auto& [k, v] : r.metrics) sum += v;
    r.score = sum / static_cast<double>(r.metrics.size());
  }
  return r;
}

EvalResult evaluate(const Task& task, const std::string& data_dir, const std::string& split, Scorer& scorer,
                    const EvalOptions& options) {
  std::vector<Example> examples = task.load(data_dir, split);
  SPOT_CHECK(!examples.empty(), task.name() << ": split '" << split << "' has no examples ("
                                            << task.find_split_file(data_dir, split).value_or("no file") << ")");
  return evaluate(task, examples, split, scorer, options);
}

// ---------------------------------------------------------------- JSON output

namespace {

json::value number_or_null(double v) { return std::isnan(v) ? json::value(nullptr) : json::value(v); }

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object result_object(const EvalResult& r) {
  json::object o;
  o["task"] = r.task;
  o["split"] = r.split;
  o["mode"] = eval_mode_name(r.mode);
  o["verbalizer"] = verbalizer_name(r.verbalizer);
  o["num_examples"] = r.num_examples;
  json::object m;
  for (const auto& [k, v] : r.metrics) m[k] = number_or_null(v);
  o["metrics"] = std::move(m);
  o["score"] = number_or_null(r.score);
  return o;
}

}  // namespace

void write_records_jsonl(const EvalResult& r, const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  SPOT_CHECK(f, path << ": cannot open for writing");
  for (const ExampleRecord& rec : r.records) {
    json::object o;
    o["id"] = rec.id;
    o["mode"] = rec.mode;
    o["input"] = rec.input;
    o["target"] = rec.target;
    if (!rec.candidates.empty()) {
      o["candidates"] = strings(rec.candidates);
      json::array s;
      for (double v : rec.scores) s.push_back(number_or_null(v));
      o["scores"] = std::move(s);
    }
    o["prediction"] = rec.prediction.text;
    o["predicted_label"] = rec.prediction.label;
    if (!std::isnan(rec.prediction.value)) o["predicted_value"] = rec.prediction.value;
    o["gold_label"] = rec.gold_label;
    if (!std::isnan(rec.gold_value)) o["gold_value"] = rec.gold_value;
    if (!rec.references.empty()) o["references"] = strings(rec.references);
    o["correct"] = rec.correct;
    f << json::serialize(o) << '\n';
  }
  SPOT_CHECK(f.good(), path << ": write failed");
}

std::string result_json(const EvalResult& r) { return json::serialize(result_object(r)); }

std::string result_summary(const EvalResult& r) {
  if (r.metrics.empty()) return "no metrics (unlabelled split)";
  auto num = [](double v) {
    if (std::isnan(v)) return std::string("n/a");
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return std::string(b);
  };
  if (r.metrics.size() == 1) return r.metrics[0].first + " " + num(r.metrics[0].second);
  std::string s = "score " + num(r.score) + " (";
  for (size_t i = 0; i < r.metrics.size(); ++i)
    s += (i ? ", " : "") + r.metrics[i].first + " " + num(r.metrics[i].second);
  return s + ")";
}

// ---------------------------------------------------------------- benchmark averages

BenchmarkAverage benchmark_average(const std::string& benchmark, const std::vector<EvalResult>& results) {
  // A group is a list of (task, split or "" for any split) whose metrics are pooled.
  struct Member {
    std::string task, split;
  };
  struct Group {
    std::string name;
    std::vector<std::vector<Member>> alternatives;  // each alternative: members that together fill the group
  };
  std::vector<Group> groups;
  if (benchmark == "glue") {
    groups = {{"CoLA", {{{"glue/cola", ""}}}},
              {"SST-2", {{{"glue/sst2", ""}}}},
              {"MRPC", {{{"glue/mrpc", ""}}}},
              {"STSB", {{{"glue/stsb", ""}}}},
              {"QQP", {{{"glue/qqp", ""}}}},
              {"MNLI",
               {{{"glue/mnli_matched", ""}, {"glue/mnli_mismatched", ""}},
                {{"glue/mnli", "validation_matched"}, {"glue/mnli", "validation_mismatched"}}}},
              {"QNLI", {{{"glue/qnli", ""}}}},
              {"GLUE RTE", {{{"glue/rte", ""}}}}};
  } else if (benchmark == "superglue") {
    groups = {{"BoolQ", {{{"superglue/boolq", ""}}}},     {"CB", {{{"superglue/cb", ""}}}},
              {"CoPA", {{{"superglue/copa", ""}}}},       {"MultiRC", {{{"superglue/multirc", ""}}}},
              {"ReCoRD", {{{"superglue/record", ""}}}},   {"SuperGLUE RTE", {{{"superglue/rte", ""}}}},
              {"WiC", {{{"superglue/wic", ""}}}},         {"WSC", {{{"superglue/wsc", ""}}}}};
  } else {
    SPOT_FAIL("benchmark_average: unknown benchmark '" << benchmark << "' (expected glue or superglue)");
  }
  auto find = [&](const Member& m) -> const EvalResult* {
    for (const EvalResult& r : results)
      if (r.task == m.task && (m.split.empty() || r.split == m.split) && !r.metrics.empty()) return &r;
    return nullptr;
  };
  BenchmarkAverage out;
  double sum = 0;
  for (const Group& g : groups) {
    bool found = false;
    for (const auto& alt : g.alternatives) {
      std::vector<double> values;
      bool all = true;
      for (const Member& m : alt) {
        const EvalResult* r = find(m);
        if (!r) {
          all = false;
          break;
        }
        for (const auto& [k, v] : r->metrics) values.push_back(v);
      }
      if (!all) continue;
      double s = 0;
      for (double v : values) s += v;
      out.groups.emplace_back(g.name, s / static_cast<double>(values.size()));
      sum += out.groups.back().second;
      found = true;
      break;
    }
    if (!found) out.missing.push_back(g.name);
  }
  out.average = out.missing.empty() ? sum / static_cast<double>(groups.size()) : kNaN;
  return out;
}

}  // namespace spot::eval
