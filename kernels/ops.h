// ops.h — the names of spot's ops, from the one list (kernels/ops.inc).
#pragma once

#include <array>

namespace spot {

#define SPOT_OP(name, ...) #name,
inline constexpr std::array kOpNames = {
#include "kernels/ops.inc"
};
#undef SPOT_OP

}  // namespace spot
