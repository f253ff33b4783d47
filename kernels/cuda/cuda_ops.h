// cuda_ops.h — the CUDA backends of every op, one kernels/cuda/<op>.cu each. Same arguments as the
// public op (kernels/<op>.h), already checked by its dispatcher; launched on the context's stream.
#pragma once

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "base/context.h"

namespace spot::cuda {

// Every op of kernels/ops.inc.
#define SPOT_OP(name, ...) void name(Context& ctx, __VA_ARGS__);
#include "kernels/ops.inc"
#undef SPOT_OP

}  // namespace spot::cuda
