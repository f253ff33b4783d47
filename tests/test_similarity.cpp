// test_similarity.cpp — task-embedding metrics and top-k retrieval (retrieval/similarity.h)
// against brute force by each metric's definition, on the CPU backends and on CUDA (the emulator
// in `make test-cuda-emu`, the GPU when present; skipped loudly otherwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/topk.h"
#include "retrieval/similarity.h"

namespace spot::retrieval {
namespace {

Tensor random_embedding(std::mt19937_64& rng, Shape shape, float mean = 0.0f) {
  std::normal_distribution<float> nd(mean, 1.0f);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = nd(rng);
  return t;
}

// Brute force: every pair by the metric's definition, ranked larger first (l2: smaller first),
// ties by the smaller id.
std::vector<Hit> brute_top_k(const std::vector<int64_t>& ids, const std::vector<Tensor>& keys, const Tensor& q,
                             Metric m, int64_t k, int64_t self_id = -1) {
  std::vector<Hit> all;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != self_id) all.push_back({ids[i], similarity_brute_force(q, keys[i], m)});
  const bool lower = m == Metric::L2;
  std::sort(all.begin(), all.end(), [&](const Hit& a, const Hit& b) {
    if (a.score != b.score) return lower ? a.score < b.score : a.score > b.score;
    return a.id < b.id;
  });
  all.resize(std::min<size_t>(all.size(), static_cast<size_t>(k)));
  return all;
}

TEST(Similarity, PerTokenCosineEqualsTheDotOfMeanNormalisedTokens) {
  // The identity behind the reduced form: 1/(L1 L2) Σ_i Σ_j cos(a_i, b_j) = ⟨mean â, mean b̂⟩.
  std::mt19937_64 rng(7);
  for (auto [la, lb, d] : {std::tuple{1, 1, 3}, {5, 9, 16}, {100, 20, 64}, {13, 13, 576}}) {
    const Tensor a = random_embedding(rng, {la, d}, 0.3f), b = random_embedding(rng, {lb, d}, 0.3f);
    const double brute = similarity_brute_force(a, b, Metric::PerTokenCos);
    const std::vector<float> pa = pool(a, Metric::PerTokenCos, "a"), pb = pool(b, Metric::PerTokenCos, "b");
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += double(pa[j]) * pb[j];
    EXPECT_NEAR(dot, brute, 1e-6) << la << "x" << lb << "x" << d;
    EXPECT_GT(std::fabs(brute), 1e-3);  // not a vacuous zero
  }
}

TEST(Similarity, MetricsHaveTheirDefiningProperties) {
  std::mt19937_64 rng(3);
  const Tensor a = random_embedding(rng, {4, 8}), b = random_embedding(rng, {4, 8});
  for (Metric m : {Metric::CosAvg, Metric::PerTokenCos, Metric::Cosine}) {
    EXPECT_LE(std::fabs(similarity_brute_force(a, b, m)), 1.0 + 1e-12) << metric_name(m);
    EXPECT_NEAR(similarity_brute_force(a, b, m), similarity_brute_force(b, a, m), 1e-12) << metric_name(m);
  }
  EXPECT_NEAR(similarity_brute_force(a, a, Metric::CosAvg), 1.0, 1e-12);
  EXPECT_NEAR(similarity_brute_force(a, a, Metric::Cosine), 1.0, 1e-12);
  EXPECT_EQ(similarity_brute_force(a, a, Metric::L2), 0.0);
  // Scaling a token leaves per-token cosine alone but moves cos_avg.
  Tensor a2 = a.clone();
  for (int64_t j = 0; j < 8; ++j) a2.f32()[j] *= 10.0f;
  EXPECT_NEAR(similarity_brute_force(a2, b, Metric::PerTokenCos), similarity_brute_force(a, b, Metric::PerTokenCos), 1e-9);
  EXPECT_GT(std::fabs(similarity_brute_force(a2, b, Metric::CosAvg) - similarity_brute_force(a, b, Metric::CosAvg)), 1e-4);
  for (Metric m : all_metrics()) EXPECT_EQ(parse_metric(metric_name(m)), m);
  EXPECT_THROW(parse_metric("jaccard"), Error);
}

TEST(Similarity, FlattenedMetricsRefuseAnotherShapeNamingTheEntry) {
  std::mt19937_64 rng(5);
  const std::vector<Tensor> e{random_embedding(rng, {4, 8}), random_embedding(rng, {6, 8})};
  EXPECT_NO_THROW(SimilarityIndex(Metric::PerTokenCos, {1, 2}, e));  // any lengths, same d
  try {
    SimilarityIndex(Metric::Cosine, {1, 2}, e);
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("entry 2"), std::string::npos) << err.what();
  }
  const std::vector<Tensor> nan{random_embedding(rng, {2, 3})};
  Tensor bad = nan[0].clone();
  bad.f32()[4] = NAN;
  EXPECT_THROW(SimilarityIndex(Metric::CosAvg, {9}, {bad}), Error);
}

void check_against_brute_force(Backend backend) {
  std::mt19937_64 rng(11);
  for (Metric m : all_metrics()) {
    const int64_t n = 300, L = 5, d = 24;
    std::vector<int64_t> ids;
    std::vector<Tensor> keys;
    for (int64_t i = 0; i < n; ++i) {
      ids.push_back(1000 - 3 * i);  // given in descending order: the index sorts them
      keys.push_back(random_embedding(rng, {L, d}, 0.2f));
    }
    // Exact duplicates: equal scores, ranked by id.
    keys[7] = keys[3].clone();
    keys[250] = keys[3].clone();
    const SimilarityIndex index(m, ids, keys);
    std::vector<Tensor> queries{keys[3].clone(), random_embedding(rng, {L, d}, 0.2f), random_embedding(rng, {L, d})};
    Context ctx(backend);
    for (int64_t k : {1, 3, 10, 50}) {
      const auto got = index.top_k(ctx, queries, k);
      ASSERT_EQ(got.size(), queries.size());
      for (size_t qi = 0; qi < queries.size(); ++qi) {
        const std::vector<Hit> want = brute_top_k(ids, keys, queries[qi], m, k);
        ASSERT_EQ(got[qi].size(), want.size());
        for (size_t j = 0; j < want.size(); ++j) {
          EXPECT_EQ(got[qi][j].id, want[j].id) << metric_name(m) << " k=" << k << " q=" << qi << " rank " << j;
          EXPECT_NEAR(got[qi][j].score, want[j].score, 2e-4 * std::max(1.0, std::fabs(want[j].score)))
              << metric_name(m) << " k=" << k << " q=" << qi << " rank " << j;
        }
      }
    }
    // All pairs without self, through the pooled keys.
    const auto pairs = index.top_k_pooled(ctx, index.pooled_keys(), 3, index.ids());
    ASSERT_EQ(static_cast<int64_t>(pairs.size()), n);
    for (int64_t r = 0; r < n; r += 37) {
      const int64_t id = index.ids()[r];
      const size_t at = static_cast<size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
      const std::vector<Hit> want = brute_top_k(ids, keys, keys[at], m, 3, id);
      for (size_t j = 0; j < want.size(); ++j)
        EXPECT_EQ(pairs[r][j].id, want[j].id) << metric_name(m) << " all-pairs row " << r << " rank " << j;
    }
    // The matrix agrees with the definition.
    if (m == Metric::PerTokenCos || m == Metric::L2) {
      const Tensor all = index.all_pairs(ctx);
      for (int64_t i = 0; i < n; i += 61)
        for (int64_t j = 0; j < n; j += 53) {
          const auto ai = std::find(ids.begin(), ids.end(), index.ids()[i]) - ids.begin();
          const auto aj = std::find(ids.begin(), ids.end(), index.ids()[j]) - ids.begin();
          EXPECT_NEAR(all.f32()[i * n + j], similarity_brute_force(keys[ai], keys[aj], m), 2e-4);
        }
    }
  }
}

TEST(Similarity, TopKMatchesBruteForce_cpu_ref) { check_against_brute_force(Backend::CpuReference); }
TEST(Similarity, TopKMatchesBruteForce_cpu_fast) { check_against_brute_force(Backend::CpuFast); }
TEST(Similarity, TopKMatchesBruteForce_cuda) {
  if (!cuda_available())
    GTEST_SKIP() << "SKIPPED (not verified): retrieval top-k on cuda: "
                 << (SPOT_WITH_CUDA ? "no CUDA device present" : "built without CUDA");
  check_against_brute_force(Backend::Cuda);
}

TEST(TopK, NaNRanksLastAndTiesGoToTheSmallerColumn) {
  const Tensor s = Tensor::from_floats({NAN, 1.0f, -INFINITY, 1.0f, 2.0f, NAN, -1.0f}, {1, 7});
  for (Backend b : {Backend::CpuReference, Backend::CpuFast}) {
    Context ctx(b);
    Tensor v = Tensor::empty({1, 7}), ix = Tensor::empty({1, 7}, DType::I32);
    topk_rows(ctx, s, 7, v, ix);
    const std::vector<int32_t> want{4, 1, 3, 6, 2, 0, 5};
    for (int j = 0; j < 7; ++j) EXPECT_EQ(ix.i32()[j], want[j]) << backend_name(b) << " rank " << j;
    Tensor v2 = Tensor::empty({1, 8}), i2 = Tensor::empty({1, 8}, DType::I32);
    EXPECT_THROW(topk_rows(ctx, s, 8, v2, i2), Error);  // k > N
  }
}

}  // namespace
}  // namespace spot::retrieval
