// prompt_set.cpp — placement parsing, per-example insertion offsets, and packing a prompt set.
#include "model/prompt_set.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "base/check.h"

namespace spot {

const char* prompt_depth_name(PromptDepth d) { return d == PromptDepth::Deep ? "deep" : "input"; }

PromptDepth parse_prompt_depth(const std::string& s) {
  if (s == "input") return PromptDepth::Input;
  if (s == "deep") return PromptDepth::Deep;
  SPOT_FAIL("unknown prompt depth '" << s << "' (expected input or deep)");
}

PromptPlacement PromptPlacement::parse(const std::string& s) {
  if (s == "prefix") return prefix();
  if (s == "suffix") return suffix();
  if (s.rfind("infix:", 0) == 0) {
    char* end = nullptr;
    const long k = std::strtol(s.c_str() + 6, &end, 10);
    SPOT_CHECK(s.size() > 6 && end && *end == '\0' && k >= 0,
               "prompt placement '" << s << "': expected infix:<non-negative integer>");
    return at(k);
  }
  SPOT_FAIL("unknown prompt placement '" << s << "' (expected prefix, suffix or infix:K)");
}

std::string PromptPlacement::str() const {
  switch (kind) {
    case Kind::Prefix: return "prefix";
    case Kind::Suffix: return "suffix";
    case Kind::Position: return "infix:" + std::to_string(position);
    case Kind::Explicit: return "explicit";
  }
  return "?";
}

std::vector<int32_t> PromptPlacement::positions_for(const std::vector<int64_t>& lengths) const {
  std::vector<int32_t> pos(lengths.size(), 0);
  for (size_t i = 0; i < lengths.size(); ++i) {
    switch (kind) {
      case Kind::Prefix: pos[i] = 0; break;
      case Kind::Suffix: pos[i] = static_cast<int32_t>(lengths[i]); break;
      case Kind::Position: pos[i] = static_cast<int32_t>(std::min(position, lengths[i])); break;
      case Kind::Explicit:
        SPOT_CHECK(per_example.size() == lengths.size(), "explicit prompt placement has " << per_example.size()
                                                             << " positions for " << lengths.size() << " examples");
        SPOT_CHECK(per_example[i] >= 0 && per_example[i] <= lengths[i],
                   "prompt position " << per_example[i] << " of example " << i << " outside [0, " << lengths[i] << "]");
        pos[i] = per_example[i];
        break;
    }
  }
  return pos;
}

PromptSet PromptSet::single(const Tensor& prompt, PromptPlacement placement) {
  PromptSet s;
  if (prompt.defined()) s.prompts.push_back(prompt);
  s.placement = std::move(placement);
  return s;
}

Tensor PackedPrompts::block(int64_t layer) const {
  if (!table.defined()) return Tensor();
  SPOT_CHECK(layer >= 0 && layer < layers, "PackedPrompts::block: layer " << layer << " of " << layers);
  return table.reshape({layers * rows, table.dim(2)}).rows(layer * rows, (layer + 1) * rows);
}

std::vector<Tensor> PackedPrompts::split_grads(const Tensor& d_table) const {
  std::vector<Tensor> out;
  const Tensor host = d_table.defined() ? d_table.to(Device::CPU) : Tensor();
  const int64_t d = host.defined() ? host.dim(2) : 0;
  for (int64_t p = 0; p < count; ++p) {
    const int64_t L = length[p];
    Tensor g = deep() ? Tensor::zeros({layers, L, d}) : Tensor::zeros({L, d});
    for (int64_t l = 0; l < layers && L > 0; ++l)
      std::memcpy(g.f32() + l * L * d, host.f32() + (l * rows + offset[p]) * d, L * d * sizeof(float));
    out.push_back(g);
  }
  return out;
}

PackedPrompts pack_prompts(const PromptSet& set, const std::vector<int64_t>& input_lengths, int64_t d_model,
                           int64_t deep_layers, Device device, const char* who) {
  PackedPrompts pk;
  const int64_t B = static_cast<int64_t>(input_lengths.size());
  pk.depth = set.placement.depth;
  pk.count = static_cast<int64_t>(set.prompts.size());
  pk.layers = pk.deep() ? deep_layers : 1;
  SPOT_CHECK(pk.layers >= 1, who << ": a deep prompt needs a backbone with layers");
  const int ndim = pk.deep() ? 3 : 2;
  for (int64_t p = 0; p < pk.count; ++p) {
    const Tensor& t = set.prompts[p];
    SPOT_CHECK(t.defined(), who << ": prompt " << p << " of the set is undefined");
    SPOT_CHECK(t.is_cpu() && t.dtype() == DType::F32, who << ": prompt " << p << " " << t.str()
                                                          << " must be host f32 (prompts are passed on the host)");
    SPOT_CHECK(t.ndim() == ndim, who << ": prompt " << p << " " << t.str() << " at depth "
                                     << prompt_depth_name(pk.depth) << " must be "
                                     << (pk.deep() ? "[layers, L, d_model]" : "[L, d_model]"));
    if (pk.deep())
      SPOT_CHECK(t.dim(0) == deep_layers, who << ": deep prompt " << p << " " << t.str() << " has " << t.dim(0)
                                              << " layer blocks but the backbone has " << deep_layers << " layers");
    SPOT_CHECK(t.dim(-1) == d_model, who << ": prompt " << p << " " << t.str() << " has width " << t.dim(-1)
                                         << " but the backbone's d_model is " << d_model);
    const float* v = t.f32();
    for (int64_t i = 0; i < t.numel(); ++i)
      SPOT_CHECK(std::isfinite(v[i]), who << ": prompt " << p << " has a non-finite value (" << v[i]
                                          << ") at element " << i);
    pk.offset.push_back(pk.rows);
    pk.length.push_back(t.dim(-2));
    pk.rows += t.dim(-2);
  }
  SPOT_CHECK(set.example_prompt.empty() || static_cast<int64_t>(set.example_prompt.size()) == B,
             who << ": " << set.example_prompt.size() << " per-example prompt indices for " << B << " examples");
  pk.ex_pos = pk.count ? set.placement.positions_for(input_lengths) : std::vector<int32_t>(B, 0);
  pk.same_for_all = true;
  for (int64_t b = 0; b < B; ++b) {
    const int32_t p = set.prompt_of(b);
    SPOT_CHECK(pk.count == 0 ? p == 0 : (p >= 0 && p < pk.count),
               who << ": example " << b << " uses prompt " << p << " but the set has " << pk.count);
    pk.ex_prompt.push_back(p);
    pk.ex_src.push_back(static_cast<int32_t>(pk.count ? pk.offset[p] : 0));
    pk.ex_len.push_back(static_cast<int32_t>(pk.count ? pk.length[p] : 0));
    pk.max_len = std::max<int64_t>(pk.max_len, pk.ex_len.back());
    if (p != pk.ex_prompt[0]) pk.same_for_all = false;
  }
  if (pk.rows > 0) {
    Tensor host = Tensor::empty({pk.layers, pk.rows, d_model});
    for (int64_t p = 0; p < pk.count; ++p) {
      const int64_t L = pk.length[p];
      for (int64_t l = 0; l < pk.layers; ++l)
        std::memcpy(host.f32() + (l * pk.rows + pk.offset[p]) * d_model, set.prompts[p].f32() + l * L * d_model,
                    L * d_model * sizeof(float));
    }
    pk.table = host.to(device);
  }
  pk.slots = PromptSlots::from_host(pk.ex_pos, pk.ex_src, pk.ex_len, device);
  return pk;
}

}  // namespace spot
