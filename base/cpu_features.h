// cpu_features.h — what this x86 CPU can execute, read from cpuid and the OS's saved-state mask
// (xgetbv), never from its model number: a CPU newer than a library's table of models still
// reports its instruction sets here. kernels/cpu/gemm.h maps these features to the GEMM kernels
// it expects the provider to run, and refuses to stay silent when the provider runs slower ones.
#pragma once

#include <string>

namespace spot {

struct CpuFeatures {
  std::string vendor;       // "GenuineIntel", "AuthenticAMD", ...
  std::string brand;        // the brand string ("AMD EPYC 9B45", "Intel(R) Xeon(R) Platinum 8581C CPU ...")
  int family = 0;           // display family (base + extended)
  int model = 0;            // display model (base + extended << 4)
  bool sse41 = false;
  bool avx = false;         // AVX with the OS saving YMM state
  bool avx2 = false;
  bool fma = false;
  bool avx_vnni = false;
  bool avx512f = false;     // the AVX-512 flags: each also needs the OS to save ZMM and opmask state
  bool avx512dq = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;  // VDPBF16PS: bf16 dot products with fp32 accumulation
  bool avx512_fp16 = false;
  bool amx_tile = false;     // AMX tiles with the OS saving tile state
  bool amx_bf16 = false;
  bool amx_int8 = false;

  // AVX-512 Foundation + DQ + BW + VL: what oneDNN calls avx512_core and OpenBLAS SkylakeX.
  bool avx512_core() const { return avx512f && avx512dq && avx512bw && avx512vl; }
  // bf16 GEMMs in hardware (AVX-512 BF16 or AMX-BF16); without it bf16 is emulated and slower than fp32.
  bool bf16_native() const { return (avx512_core() && avx512_bf16) || (amx_tile && amx_bf16); }
  // The flags above, space-separated, in /proc/cpuinfo's spelling ("avx2 fma avx512f ...").
  std::string flags() const;
  // "AMD EPYC 9B45 (AuthenticAMD family 26 model 2)".
  std::string describe() const;
};

// This machine's features (read once; cpuid on x86-64, all false elsewhere).
const CpuFeatures& cpu_features();

}  // namespace spot
