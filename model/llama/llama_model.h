// llama_model.h — a frozen Llama-family decoder-only model (HF LlamaForCausalLM semantics; SmolLM2-135M
// is the target) scored with a soft prompt prepended (prompt tuning, Lester et al. 2021; SPoT, Vu et
// al. 2022 §2), and a backward pass that computes only dLoss/dPrompt: input gradients only, no
// weight gradients, nothing kept for them.
//
// Sequence of example b: [soft prompt, L rows] ++ inputs[b] ++ targets[b], right-padded; causal
// attention (padding comes after every real token, so it needs no key mask); RoPE positions 0, 1, …
// over the whole sequence including the prompt. The loss is the mean −log p of all target tokens of
// the batch, each predicted from the position before it; the LM head runs only at those positions.
//
// Two ways to run the prompt (LlamaPromptPath):
//  - SharedPrefix (default): in a causal model the prompt comes first, so its hidden states and K/V
//    are the same for every example. The prompt stream ([L, d], batch 1) is computed once per batch;
//    each example's queries attend to [prompt K/V (broadcast) ++ its own K/V]. In the backward the
//    prompt's K/V gradients are summed over examples in example order and flow into the prompt
//    stream; in layer 0 the examples' input gradient is not computed at all (token embeddings).
//  - Replicated: the prompt rows are inserted into every example (embed_with_prompt), as for T5; in
//    layer 0 only the prompt rows of the Q/K/V/norm input gradient are computed. Kept as the plain
//    reference the shared path is tested against.
// Rank classification (score_candidates) runs the prompt and the contexts once, as run() does
// with no target, and beside them a candidate stream: each candidate's tokens attend to their
// example's context K/V of the same layer (gathered per candidate) and their own, at the positions
// they would have after the context.
// Only the prefix placement exists for decoder-only models: other placements are rejected. Prompt
// sets (prompt_set.h): a mixed-task batch runs replicated (each example its own prompt rows, of its
// own length); at depth deep each layer's block replaces the prompt rows (or the prompt stream) at
// that layer's input.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "model/backbone.h"
#include "model/llama/llama_config.h"
#include "model/tensor_source.h"

namespace spot {

struct LlamaLayerWeights {
  Tensor input_norm;           // [d]   input_layernorm
  Tensor q;                    // [H·Dh, d]
  Tensor k, v;                 // [Hkv·Dh, d]
  Tensor o;                    // [d, H·Dh]
  Tensor post_attention_norm;  // [d]   post_attention_layernorm
  Tensor gate, up;             // [d_ff, d]
  Tensor down;                 // [d, d_ff]
};

// All weights of one Llama, const after loading, on one device.
struct LlamaWeights {
  LlamaConfig config;
  Tensor embed;       // [V, d] model.embed_tokens
  Tensor lm_head;     // [V, d]; the same storage as `embed` when tied
  Tensor final_norm;  // [d]    model.norm
  std::vector<LlamaLayerWeights> layers;
  Tensor embed_host;  // host copy of `embed` (prompt initialisation from vocabulary)

  // HF tensor names: model.embed_tokens.weight, model.layers.N.self_attn.{q,k,v,o}_proj.weight,
  // model.layers.N.mlp.{gate,up,down}_proj.weight, model.layers.N.{input,post_attention}_layernorm.weight,
  // model.norm.weight, and lm_head.weight when untied. Q and K rows in HF's order (rotate_half
  // pairs j and j + Dh/2): a GGUF loader must undo llama.cpp's Q/K row permutation first.
  static LlamaWeights load(const LlamaConfig& config, const TensorSource& source, Device device);
  double bytes() const;
  // The linear weights (Q/K/V/O, gate/up/down, LM head) as `dtype`, in place (CPU). A tied LM head
  // gets its own copy: `embed` stays f32 for the embedding lookup.
  void convert_linears(DType dtype);
};

enum class LlamaPromptPath : uint8_t { SharedPrefix, Replicated };
const char* llama_prompt_path_name(LlamaPromptPath p);

class LlamaModel : public FrozenBackbone {
 public:
  // precision bf16: the linear weights are converted once, here (backbone.h).
  LlamaModel(Context& ctx, LlamaWeights weights, LlamaPromptPath path = LlamaPromptPath::SharedPrefix,
             Precision precision = Precision::Fp32);

  std::string name() const override { return weights_.config.describe(); }
  Precision precision() const override { return precision_; }
  int64_t d_model() const override { return weights_.config.hidden_size; }
  int64_t vocab_size() const override { return weights_.config.vocab_size; }
  Context& context() override { return ctx_; }
  const LlamaConfig& config() const { return weights_.config; }
  LlamaPromptPath prompt_path() const { return path_; }
  void set_prompt_path(LlamaPromptPath p) { path_ = p; }

  // Every example needs at least one input token (the first target is predicted from the last
  // input position) and one target token. The sequence is padded to max_b(|inputs| + |targets|) − 1
  // (the last target token is never an input), or to pad_inputs_to + pad_targets_to − 1 when longer.
  // keep_logits: [B, Tt, V] with Tt = max(|targets|, pad_targets_to), zero past each example's targets.
  // A mixed-task batch (examples using different prompts) runs on the replicated path whatever the
  // path setting; at depth deep every layer's block replaces the prompt rows at that layer's input.
  int64_t prompt_layers() const override { return weights_.config.num_hidden_layers; }
  using FrozenBackbone::run;
  RunResult run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& options) override;
  // Rank classification: the prompt and each context run once (on the current prompt path), each
  // candidate's tokens then attend to its example's cached context K/V; a candidate's first token
  // is predicted from the context's last row, so one-token candidates cost only an LM-head row.
  std::vector<std::vector<double>> score_candidates(const CandidateBatch& batch, const PromptSet& prompts) override;
  // generate() (the KV-cache decode) for each example, with its prompt of the set.
  GreedyResult generate_greedy(const std::vector<std::vector<int32_t>>& inputs, const PromptSet& prompts,
                               int64_t max_new, int32_t stop_id, bool keep_logits = false) override;
  Tensor input_embeddings_host() const override { return weights_.embed_host; }
  MemoryReport last_memory_report() const override { return memory_; }
  double default_prompt_lr() const override;  // 0.25 x RMS(token embeddings), computed when asked

  // FLOPs of one run on the current prompt path: `batch` examples of `seq_len` token positions
  // (inputs + targets − 1, without the prompt), `target_len` LM-head rows per example; forward,
  // plus the prompt-only backward when `backward`. Counted per GEMM and attention product as the
  // kernels compute them (attention over the full Tq×Tk block, masked entries included).
  double count_flops(int64_t batch, int64_t seq_len, int64_t prompt_len, int64_t target_len, bool backward) const;

  // Greedy decoding with a key/value cache: the soft prompt (may be undefined; [L, d], or
  // [layers, L, d] at depth deep) and `ids` are run once, then one position per new token. Stops at
  // `stop_id` (not included) or after max_new tokens; on_token is called with each new token.
  std::vector<int32_t> generate(const Tensor& prompt, const std::vector<int32_t>& ids, int64_t max_new,
                                int32_t stop_id, const std::function<void(int32_t)>& on_token = {},
                                PromptDepth depth = PromptDepth::Input);

 private:
  // generate(), and the logits of every step appended to step_logits when given.
  std::vector<int32_t> decode_greedy(const Tensor& prompt, const std::vector<int32_t>& ids, int64_t max_new,
                                     int32_t stop_id, const std::function<void(int32_t)>& on_token, PromptDepth depth,
                                     std::vector<float>* step_logits);

  Context& ctx_;
  Precision precision_ = Precision::Fp32;
  const LlamaWeights weights_;  // frozen: const after loading
  LlamaPromptPath path_;
  MemoryReport memory_;
};

}  // namespace spot
