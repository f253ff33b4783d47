// similarity.cpp — metrics, pooling and top-k retrieval (similarity.h).
#include "retrieval/similarity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/check.h"
#include "kernels/linear.h"
#include "kernels/topk.h"

namespace spot::retrieval {

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::CosAvg: return "cos_avg";
    case Metric::PerTokenCos: return "per_token_cos";
    case Metric::Cosine: return "cosine";
    case Metric::L2: return "l2";
    case Metric::Mip: return "mip";
  }
  return "?";
}

std::vector<Metric> all_metrics() { return {Metric::CosAvg, Metric::PerTokenCos, Metric::Cosine, Metric::L2, Metric::Mip}; }

Metric parse_metric(const std::string& s) {
  for (Metric m : all_metrics())
    if (s == metric_name(m)) return m;
  SPOT_FAIL("unknown similarity metric '" << s << "' (expected cos_avg, per_token_cos, cosine, l2 or mip)");
}

namespace {

bool token_metric(Metric m) { return m == Metric::CosAvg || m == Metric::PerTokenCos; }

// Tokens of an embedding: [L, d], [layers, L, d] (layers·L tokens) or [d] (one token).
void as_tokens(const Tensor& e, const std::string& what, int64_t& tokens, int64_t& d) {
  SPOT_CHECK(e.defined() && e.is_cpu() && e.dtype() == DType::F32, what << ": a task embedding must be a host f32 tensor");
  SPOT_CHECK(e.ndim() >= 1 && e.ndim() <= 3, what << ": task embedding " << e.str() << " must be [d], [L, d] or [layers, L, d]");
  d = e.dim(-1);
  tokens = d ? e.numel() / d : 0;
  SPOT_CHECK(tokens > 0 && d > 0, what << ": task embedding " << e.str() << " is empty");
  for (int64_t i = 0; i < e.numel(); ++i)
    SPOT_CHECK(std::isfinite(e.f32()[i]), what << ": task embedding holds a non-finite value at element " << i);
}

void normalise(std::vector<double>& v) {
  double n = 0;
  for (double x : v) n += x * x;
  n = std::sqrt(n);
  if (n > 0)
    for (double& x : v) x /= n;
}

}  // namespace

std::vector<float> pool(const Tensor& e, Metric m, const std::string& what) {
  int64_t tokens = 0, d = 0;
  as_tokens(e, what, tokens, d);
  const float* x = e.f32();
  std::vector<double> acc;
  if (token_metric(m)) {
    acc.assign(static_cast<size_t>(d), 0.0);
    for (int64_t t = 0; t < tokens; ++t) {
      double n = 0;
      for (int64_t j = 0; j < d; ++j) n += double(x[t * d + j]) * x[t * d + j];
      // per_token_cos: each token normalised (a zero token contributes nothing, as cos would be 0/0).
      const double s = m == Metric::PerTokenCos ? (n > 0 ? 1.0 / std::sqrt(n) : 0.0) : 1.0;
      for (int64_t j = 0; j < d; ++j) acc[j] += s * x[t * d + j];
    }
    for (double& v : acc) v /= static_cast<double>(tokens);
    if (m == Metric::CosAvg) normalise(acc);
  } else {
    acc.assign(x, x + e.numel());
    if (m == Metric::Cosine) normalise(acc);
  }
  return std::vector<float>(acc.begin(), acc.end());
}

double similarity_brute_force(const Tensor& a, const Tensor& b, Metric m) {
  int64_t ta = 0, da = 0, tb = 0, db = 0;
  as_tokens(a, "a", ta, da);
  as_tokens(b, "b", tb, db);
  SPOT_CHECK(da == db, "similarity: widths " << da << " and " << db << " differ");
  auto dot = [](const float* p, const float* q, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(p[i]) * q[i];
    return s;
  };
  auto cos = [&](const float* p, const float* q, int64_t n) {
    const double np = std::sqrt(dot(p, p, n)), nq = std::sqrt(dot(q, q, n));
    return np > 0 && nq > 0 ? dot(p, q, n) / (np * nq) : 0.0;
  };
  switch (m) {
    case Metric::PerTokenCos: {
      double s = 0;
      for (int64_t i = 0; i < ta; ++i)
        for (int64_t j = 0; j < tb; ++j) s += cos(a.f32() + i * da, b.f32() + j * db, da);
      return s / (static_cast<double>(ta) * tb);
    }
    case Metric::CosAvg: {
      std::vector<float> ma(da, 0.0f), mb(db, 0.0f);
      std::vector<double> sa(da, 0.0), sb(db, 0.0);
      for (int64_t i = 0; i < ta; ++i)
        for (int64_t j = 0; j < da; ++j) sa[j] += a.f32()[i * da + j];
      for (int64_t i = 0; i < tb; ++i)
        for (int64_t j = 0; j < db; ++j) sb[j] += b.f32()[i * db + j];
      for (int64_t j = 0; j < da; ++j) {
        ma[j] = static_cast<float>(sa[j] / ta);
        mb[j] = static_cast<float>(sb[j] / tb);
      }
      return cos(ma.data(), mb.data(), da);
    }
    default: break;
  }
  SPOT_CHECK(a.numel() == b.numel(), "similarity: " << metric_name(m) << " compares prompts of one shape ("
                                                      << a.str() << " vs " << b.str() << ")");
  if (m == Metric::Cosine) return cos(a.f32(), b.f32(), a.numel());
  if (m == Metric::Mip) return dot(a.f32(), b.f32(), a.numel());
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += (double(a.f32()[i]) - b.f32()[i]) * (double(a.f32()[i]) - b.f32()[i]);
  return std::sqrt(s);
}

SimilarityIndex::SimilarityIndex(Metric metric, std::vector<int64_t> ids, const std::vector<Tensor>& embeddings)
    : metric_(metric) {
  SPOT_CHECK(ids.size() == embeddings.size(), "similarity index: " << ids.size() << " ids for " << embeddings.size()
                                                                    << " embeddings");
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i = 1; i < order.size(); ++i)
    SPOT_CHECK(ids[order[i]] != ids[order[i - 1]], "similarity index: entry " << ids[order[i]] << " given twice");
  // Each entry is pooled straight into its row of keys_: no second copy of the library is held
  // (a million 768-wide keys are 3 GB).
  const int64_t n = static_cast<int64_t>(ids.size());
  Shape first;
  int64_t width = 1;
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    const std::string what = "entry " + std::to_string(ids[i]);
    const std::vector<float> pooled = pool(embeddings[i], metric, what);
    if (r == 0) {
      dim_ = static_cast<int64_t>(pooled.size());
      first = embeddings[i].shape();
      width = dim_ + (metric == Metric::L2 ? 1 : 0);
      keys_ = Tensor::empty({n, width});
    }
    SPOT_CHECK(static_cast<int64_t>(pooled.size()) == dim_,
               what << ": task embedding " << embeddings[i].str() << " does not compare with "
                    << shape_str(first) << " under " << metric_name(metric)
                    << (token_metric(metric) ? " (the width d differs)" : " (the flattened metrics need one shape)"));
    ids_.push_back(ids[i]);
    float* row = keys_.f32() + static_cast<int64_t>(r) * width;
    std::copy(pooled.begin(), pooled.end(), row);
    if (metric == Metric::L2) {
      double s = 0;
      for (float v : pooled) s += double(v) * v;
      sq_norms_.push_back(static_cast<float>(s));
      row[dim_] = static_cast<float>(-s / 2);
    }
  }
  if (n == 0) keys_ = Tensor::empty({0, 1});
}

double SimilarityIndex::exact_score(const float* q, int64_t col) const {
  // The GEMM ranks in fp32; the reported value is recomputed in fp64 from the pooled vectors (the
  // augmented l2 form loses the small distances to cancellation).
  const float* k = keys_.f32() + col * keys_.dim(1);
  double s = 0;
  if (metric_ == Metric::L2) {
    for (int64_t c = 0; c < dim_; ++c) s += (double(q[c]) - k[c]) * (double(q[c]) - k[c]);
    return std::sqrt(s);
  }
  for (int64_t c = 0; c < dim_; ++c) s += double(q[c]) * k[c];
  return s;
}

Tensor SimilarityIndex::augmented(const Tensor& queries) const {
  // [Q, D] -> [Q, D']: for l2 a column of ones meets the keys' −|k|²/2 column.
  if (metric_ != Metric::L2) return queries;
  const int64_t nq = queries.dim(0), width = dim_ + 1;
  Tensor qa = Tensor::empty({nq, width});
  for (int64_t i = 0; i < nq; ++i) {
    std::copy(queries.f32() + i * dim_, queries.f32() + (i + 1) * dim_, qa.f32() + i * width);
    qa.f32()[i * width + dim_] = 1.0f;
  }
  return qa;
}

const Tensor& SimilarityIndex::keys_on(Context& ctx) const {
  if (ctx.backend() != Backend::Cuda) return keys_;
  if (!device_keys_.defined()) device_keys_ = keys_.to(ctx.device());
  return device_keys_;
}

Tensor SimilarityIndex::pooled_keys() const {
  const int64_t n = size(), width = keys_.dim(1);
  Tensor out = Tensor::empty({n, dim_});
  for (int64_t r = 0; r < n; ++r) std::copy(keys_.f32() + r * width, keys_.f32() + r * width + dim_, out.f32() + r * dim_);
  return out;
}

std::vector<std::vector<Hit>> SimilarityIndex::top_k(Context& ctx, const std::vector<Tensor>& queries, int64_t k,
                                                     const std::vector<int64_t>& query_ids) const {
  Tensor q = Tensor::empty({static_cast<int64_t>(queries.size()), dim_});
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::vector<float> p = pool(queries[i], metric_, "query " + std::to_string(i));
    SPOT_CHECK(static_cast<int64_t>(p.size()) == dim_,
               "query " << i << ": task embedding " << queries[i].str() << " does not compare with the library's "
                        << metric_name(metric_) << " keys (width " << dim_ << ")");
    std::copy(p.begin(), p.end(), q.f32() + static_cast<int64_t>(i) * dim_);
  }
  return top_k_pooled(ctx, q, k, query_ids);
}

std::vector<std::vector<Hit>> SimilarityIndex::top_k_pooled(Context& ctx, const Tensor& queries, int64_t k,
                                                            const std::vector<int64_t>& query_ids) const {
  SPOT_CHECK(queries.ndim() == 2 && queries.dim(1) == dim_ && queries.is_cpu(),
             "similarity: queries " << queries.str() << " must be host [Q, " << dim_ << "]");
  SPOT_CHECK(query_ids.empty() || static_cast<int64_t>(query_ids.size()) == queries.dim(0),
             "similarity: " << query_ids.size() << " query ids for " << queries.dim(0) << " queries");
  const int64_t nq = queries.dim(0), n = size();
  std::vector<std::vector<Hit>> out(static_cast<size_t>(nq));
  if (n == 0 || nq == 0 || k <= 0) return out;
  // A query that is itself in the index asks for one more and drops itself.
  const bool self = !query_ids.empty();
  SPOT_CHECK(k + (self ? 1 : 0) <= kTopkMax, "similarity: k = " << k << " is above the largest top-k ("
                                                               << kTopkMax - (self ? 1 : 0) << " here)");
  const int64_t want = std::min({k + (self ? 1 : 0), n, kTopkMax});
  const Tensor qa = augmented(queries);
  const bool cuda = ctx.backend() == Backend::Cuda;
  const Tensor& keys = keys_on(ctx);
  // Queries in blocks whose [B, N] scores stay under 256 MiB.
  const int64_t block = std::clamp<int64_t>((int64_t{64} << 20) / n, 1, nq);
  for (int64_t b0 = 0; b0 < nq; b0 += block) {
    const int64_t b1 = std::min(nq, b0 + block), nb = b1 - b0;
    Tensor qb = cuda ? qa.rows(b0, b1).to(ctx.device()) : qa.rows(b0, b1);
    Tensor scores = ctx.empty({nb, n});
    linear_forward(ctx, qb, keys, scores);
    Tensor vals = ctx.empty({nb, want}), idx = ctx.empty({nb, want}, DType::I32);
    topk_rows(ctx, scores, want, vals, idx);
    const Tensor hv = cuda ? vals.to(Device::CPU) : vals, hi = cuda ? idx.to(Device::CPU) : idx;
    for (int64_t r = 0; r < nb; ++r) {
      std::vector<Hit>& hits = out[static_cast<size_t>(b0 + r)];
      for (int64_t j = 0; j < want && static_cast<int64_t>(hits.size()) < k; ++j) {
        const int64_t col = hi.i32()[r * want + j];
        if (self && ids_[col] == query_ids[b0 + r]) continue;
        hits.push_back({ids_[col], exact_score(queries.f32() + (b0 + r) * dim_, col)});
      }
    }
  }
  return out;
}

Tensor SimilarityIndex::all_pairs(Context& ctx) const {
  const int64_t n = size();
  SPOT_CHECK(n <= 20000, "similarity: the all-pairs matrix of " << n << " entries is too large to hold; use top_k_pooled");
  Tensor out = Tensor::empty({n, n});
  if (n == 0) return out;
  const Tensor q = pooled_keys();
  const bool cuda = ctx.backend() == Backend::Cuda;
  const Tensor& keys = keys_on(ctx);
  const Tensor qa = augmented(q);
  Tensor s = ctx.empty({n, n});
  linear_forward(ctx, cuda ? qa.to(ctx.device()) : qa, keys, s);
  Tensor h = cuda ? s.to(Device::CPU) : s;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double v = h.f32()[i * n + j];
      if (metric_ == Metric::L2) {
        // |a − b|² = |a|² − 2(⟨a, b⟩ − |b|²/2); near-equal pairs lose it to cancellation, so those
        // (d² under 1e-3 of |a|² + |b|²) are recomputed in fp64.
        const double d2 = double(sq_norms_[i]) - 2 * v;
        v = d2 < 1e-3 * (double(sq_norms_[i]) + sq_norms_[j]) ? exact_score(q.f32() + i * dim_, j)
                                                               : std::sqrt(std::max(0.0, d2));
      }
      out.f32()[i * n + j] = static_cast<float>(v);
    }
  return out;
}

}  // namespace spot::retrieval
