// prompt_set.h — what a frozen backbone reads as "the soft prompt" of one run: a set of P prompts,
// each with its own length, the prompt each example uses (a mixed-task batch: one batch, several
// tasks' prompts, the patent's ¶224/¶228), and a placement with a position and a depth.
//
// Depth `input` is prompt tuning (Lester et al. 2021; SPoT, Vu et al. 2022): the prompt rows enter
// with the token embeddings. Depth `deep` gives each prompt one block per layer, [layers, L, d]:
// block 0 enters with the embeddings as before, and block l replaces the prompt rows at the input
// of layer l (VPT-deep, Jia et al. 2022: the rows the previous layer computed there are discarded).
// T5: the encoder's layers; Llama: every decoder layer. P-Tuning v2's per-layer key/value prefixes
// (Liu et al. 2022) would be a third depth beside these two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "kernels/embedding.h"

namespace spot {

enum class PromptDepth : uint8_t { Input, Deep };
const char* prompt_depth_name(PromptDepth d);                 // "input" | "deep"
PromptDepth parse_prompt_depth(const std::string& s);         // throws naming the accepted values

// Where the soft prompt goes in each example's input (see kernels/embedding.h), and how deep.
struct PromptPlacement {
  enum class Kind : uint8_t { Prefix, Suffix, Position, Explicit };
  Kind kind = Kind::Prefix;
  int64_t position = 0;              // Kind::Position: before token `position` (clamped to the length)
  std::vector<int32_t> per_example;  // Kind::Explicit: one insertion offset per example
  PromptDepth depth = PromptDepth::Input;

  static PromptPlacement prefix() { return {}; }
  static PromptPlacement suffix() { return {Kind::Suffix, 0, {}, PromptDepth::Input}; }
  static PromptPlacement at(int64_t pos) { return {Kind::Position, pos, {}, PromptDepth::Input}; }
  static PromptPlacement parse(const std::string& s);  // "prefix" | "suffix" | "infix:K" (depth input)
  std::string str() const;                             // the position only, as parse reads it
  // Insertion offset of each example given its real (unpadded) input lengths.
  std::vector<int32_t> positions_for(const std::vector<int64_t>& lengths) const;
};

struct PromptSet {
  // P prompts, host f32: [L_p, d] at depth input, [layers, L_p, d] at depth deep. L_p may differ
  // between prompts and may be 0; no prompt at all runs the frozen model alone.
  std::vector<Tensor> prompts;
  // The prompt of each example (indices into `prompts`); empty: every example uses prompt 0.
  std::vector<int32_t> example_prompt;
  PromptPlacement placement;

  static PromptSet single(const Tensor& prompt, PromptPlacement placement = {});
  int32_t prompt_of(size_t example) const { return example_prompt.empty() ? 0 : example_prompt[example]; }
};

// A PromptSet checked against one batch and packed for the kernels: the prompts' rows in one table
// per layer block, and each example's slot (embedding.h). Built by the backbones at the start of a run.
struct PackedPrompts {
  int64_t count = 0;    // P
  int64_t layers = 1;   // blocks per prompt: 1 (input) or the backbone's layer count (deep)
  int64_t rows = 0;     // R = Σ_p L_p, the rows of the packed table
  int64_t max_len = 0;  // the longest prompt an example uses: the rows every sequence reserves
  PromptDepth depth = PromptDepth::Input;
  std::vector<int64_t> offset, length;                      // per prompt
  std::vector<int32_t> ex_prompt, ex_pos, ex_src, ex_len;   // per example
  bool same_for_all = false;  // every example reads the same prompt
  Tensor table;               // [layers, R, d] on the run's device (undefined when R = 0)
  PromptSlots slots;          // on the run's device

  bool deep() const { return depth == PromptDepth::Deep; }
  Tensor block(int64_t layer) const;  // [R, d]: the rows entering at `layer` (undefined when R = 0)
  // The gradient of the packed table [layers, R, d] (any device) -> one gradient per prompt, host
  // f32, each in its prompt's shape. A prompt no example used gets zeros.
  std::vector<Tensor> split_grads(const Tensor& d_table) const;
};

// Checks the set against a batch (`input_lengths`: each example's real input length, for the
// placement), a model width and, at depth deep, its layer count; names `who` in every error.
PackedPrompts pack_prompts(const PromptSet& set, const std::vector<int64_t>& input_lengths, int64_t d_model,
                           int64_t deep_layers, Device device, const char* who);

}  // namespace spot
