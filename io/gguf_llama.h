// gguf_llama.h — what a Llama-family GGUF (llama.cpp's "llama" architecture, e.g. SmolLM2) means:
// its hyper-parameters, the GGUF -> Hugging Face tensor-name table, and the Q/K row permutation
// llama.cpp's converter applies.
//
// Tensor names (GGUF -> HF transformers LlamaForCausalLM). Row-major shapes (= GgufTensorInfo::shape,
// the GGUF dims reversed) equal the HF shapes:
//
//   GGUF name                   HF name                                         row-major shape
//   token_embd.weight           model.embed_tokens.weight                        [vocab, d_model]
//   blk.{i}.attn_norm.weight    model.layers.{i}.input_layernorm.weight          [d_model]
//   blk.{i}.attn_q.weight       model.layers.{i}.self_attn.q_proj.weight  (*)    [n_heads * head_dim, d_model]
//   blk.{i}.attn_k.weight       model.layers.{i}.self_attn.k_proj.weight  (*)    [n_kv_heads * head_dim, d_model]
//   blk.{i}.attn_v.weight       model.layers.{i}.self_attn.v_proj.weight         [n_kv_heads * head_dim, d_model]
//   blk.{i}.attn_output.weight  model.layers.{i}.self_attn.o_proj.weight         [d_model, n_heads * head_dim]
//   blk.{i}.ffn_norm.weight     model.layers.{i}.post_attention_layernorm.weight [d_model]
//   blk.{i}.ffn_gate.weight     model.layers.{i}.mlp.gate_proj.weight            [d_ff, d_model]
//   blk.{i}.ffn_up.weight       model.layers.{i}.mlp.up_proj.weight              [d_ff, d_model]
//   blk.{i}.ffn_down.weight     model.layers.{i}.mlp.down_proj.weight            [d_model, d_ff]
//   output_norm.weight          model.norm.weight                                [d_model]
//   output.weight               lm_head.weight  (absent when tied: reuse token_embd.weight) [vocab, d_model]
//
// (*) The Q/K permutation. convert_hf_to_gguf.py stores q_proj and k_proj with the rows of every
// head reordered for ggml's RoPE, which rotates adjacent pairs (x[2i], x[2i+1]); HF's rotate_half
// rotates (x[i], x[i + head_dim/2]). Within head h (rows h*head_dim ...), with half = head_dim/2,
// j in {0, 1} and i in [0, half):
//     gguf_row(h*head_dim + 2*i + j) = hf_row(h*head_dim + j*half + i)
// llama_unpermute_qk inverts this (transformers' reverse_permute: reshape(n_heads, half, 2, -1),
// swap axes 1 and 2). Apply it to attn_q with n_heads and to attn_k with n_kv_heads exactly when
// the model applies RoPE the HF way (rotate_half, cos/sin repeated over the two halves); then q, k
// and every intermediate match HF's. Do not apply it with ggml-style interleaved RoPE (pairs
// (2i, 2i+1), llama.cpp's LLAMA_ROPE_TYPE_NORM): that pairing expects the GGUF order. Both matched
// pairings give the same attention scores; GGUF order with rotate_half (or HF order with interleaved
// RoPE) is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "io/gguf.h"

namespace spot::io {

// Hyper-parameters from the `<arch>.*` metadata keys (arch = general.architecture).
struct LlamaGgufConfig {
  std::string architecture;    // general.architecture ("llama")
  int64_t n_layers = 0;        // <arch>.block_count
  int64_t d_model = 0;         // <arch>.embedding_length
  int64_t d_ff = 0;            // <arch>.feed_forward_length
  int64_t n_heads = 0;         // <arch>.attention.head_count
  int64_t n_kv_heads = 0;      // <arch>.attention.head_count_kv (default n_heads)
  int64_t head_dim = 0;        // <arch>.attention.key_length, default d_model / n_heads
  int64_t rope_dim = 0;        // <arch>.rope.dimension_count, default head_dim
  int64_t context_length = 0;  // <arch>.context_length
  int64_t vocab_size = 0;      // <arch>.vocab_size, else the length of tokenizer.ggml.tokens
  float rope_theta = 10000.f;  // <arch>.rope.freq_base
  float rms_eps = 1e-5f;       // <arch>.attention.layer_norm_rms_epsilon
  bool tied_embeddings = false;  // no output.weight: the LM head is token_embd.weight
};

// Reads and checks the config (positive sizes, heads dividing d_model and n_heads, GQA groups).
// Accepts architecture "llama" only; other architectures throw.
LlamaGgufConfig llama_config_from_gguf(const GgufFile& file);

// Checks that every tensor the table lists for cfg exists with the row-major shape it gives
// (output.weight may be absent, see tied_embeddings); throws naming the first offender.
void llama_check_tensors(const GgufFile& file, const LlamaGgufConfig& cfg);

// One row of the name table above; "{i}" stands for the layer index.
struct GgufNameMapping {
  const char* gguf;
  const char* hf;
};
const std::vector<GgufNameMapping>& llama_gguf_name_table();

// "blk.3.ffn_up.weight" -> "model.layers.3.mlp.up_proj.weight"; throws for a name not in the table.
std::string llama_gguf_to_hf_name(const std::string& gguf_name);
std::string llama_hf_to_gguf_name(const std::string& hf_name);

// Undo convert_hf_to_gguf's permute on a Q or K projection: w is [n_heads * head_dim, ...]
// row-major (f32, CPU); returns a new tensor of the same shape in HF row order (see above).
Tensor llama_unpermute_qk(const Tensor& w, int64_t n_heads);
// The converter's permute itself (HF order -> GGUF order); the inverse of llama_unpermute_qk.
Tensor llama_permute_qk(const Tensor& w, int64_t n_heads);

// load_f32 plus the unpermute for blk.*.attn_q (n_heads) and blk.*.attn_k (n_kv_heads): the tensor
// exactly as HF transformers' GGUF loader gives it.
Tensor llama_load_f32_hf_layout(const GgufFile& file, const LlamaGgufConfig& cfg, const std::string& gguf_name);

}  // namespace spot::io
