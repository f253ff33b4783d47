// dispatch.h — internal: routes a checked op call to its backend (see kernels/<op>.cpp).
#pragma once

#include "base/context.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cuda/cuda_ops.h"
#include "base/profile.h"

namespace spot::detail {

// Every tensor argument of an op must live on the context's device.
inline void check_on(const Context& ctx, const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->defined())
      SPOT_CHECK(t->device() == ctx.device(), op << ": tensor " << t->str() << " is not on the context's device ("
                                                 << device_name(ctx.device()) << ")");
}

}  // namespace spot::detail

#if SPOT_WITH_CUDA
#define SPOT_DISPATCH_CUDA(ctx, name, ...) ::spot::cuda::name(ctx, __VA_ARGS__)
#else
#define SPOT_DISPATCH_CUDA(ctx, name, ...) SPOT_FAIL(#name ": built without CUDA")
#endif

#define SPOT_DISPATCH(ctx, name, ...)                                        \
  do {                                                                       \
    ::spot::OpTimer spot_op_timer_((ctx), #name);                            \
    switch ((ctx).backend()) {                                               \
      case ::spot::Backend::CpuReference: ::spot::cpu::name##_ref(__VA_ARGS__); break; \
      case ::spot::Backend::CpuFast: ::spot::cpu::name##_fast(__VA_ARGS__); break;     \
      case ::spot::Backend::Cuda: SPOT_DISPATCH_CUDA(ctx, name, __VA_ARGS__); break;   \
    }                                                                        \
  } while (0)
