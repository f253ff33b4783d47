// cpu_features.cpp — cpuid and xgetbv on x86-64 (GCC/Clang's <cpuid.h>).
#include "base/cpu_features.h"

#include <cstring>
#include <sstream>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SPOT_X86 1
#else
#define SPOT_X86 0
#endif

namespace spot {

namespace {

#if SPOT_X86
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
  Regs r;
  if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) r = Regs{};
  return r;
}

// XCR0: which register states the OS saves on a context switch. An instruction set whose state is
// not saved must not be used even when cpuid lists it (e.g. AVX-512 disabled by the kernel).
unsigned long long xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

bool bit(unsigned v, int i) { return (v >> i) & 1u; }

CpuFeatures detect() {
  CpuFeatures f;
  const Regs r0 = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &r0.b, 4);
  std::memcpy(vendor + 4, &r0.d, 4);
  std::memcpy(vendor + 8, &r0.c, 4);
  f.vendor = vendor;
  const unsigned max_leaf = r0.a;

  const Regs r1 = cpuid(1);
  const int base_family = (r1.a >> 8) & 0xf, base_model = (r1.a >> 4) & 0xf;
  f.family = base_family == 0xf ? base_family + static_cast<int>((r1.a >> 20) & 0xff) : base_family;
  f.model = (base_family == 0x6 || base_family == 0xf) ? base_model + static_cast<int>(((r1.a >> 16) & 0xf) << 4)
                                                       : base_model;
  f.sse41 = bit(r1.c, 19);
  const bool osxsave = bit(r1.c, 27);
  const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;        // XMM and YMM state
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
  f.avx = bit(r1.c, 28) && os_avx;
  f.fma = bit(r1.c, 12) && os_avx;

  if (max_leaf >= 7) {
    const Regs r7 = cpuid(7, 0);
    f.avx2 = bit(r7.b, 5) && os_avx;
    f.avx512f = bit(r7.b, 16) && os_avx512;
    f.avx512dq = bit(r7.b, 17) && os_avx512;
    f.avx512bw = bit(r7.b, 30) && os_avx512;
    f.avx512vl = bit(r7.b, 31) && os_avx512;
    f.avx512_vnni = bit(r7.c, 11) && os_avx512;
    f.avx512_fp16 = bit(r7.d, 23) && os_avx512;
    f.amx_bf16 = bit(r7.d, 22) && os_amx;
    f.amx_tile = bit(r7.d, 24) && os_amx;
    f.amx_int8 = bit(r7.d, 25) && os_amx;
    if (r7.a >= 1) {
      const Regs r71 = cpuid(7, 1);
      f.avx_vnni = bit(r71.a, 4) && os_avx;
      f.avx512_bf16 = bit(r71.a, 5) && os_avx512;
    }
  }

  if (cpuid(0x80000000).a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r.a, 4);
      std::memcpy(brand + 16 * i + 4, &r.b, 4);
      std::memcpy(brand + 16 * i + 8, &r.c, 4);
      std::memcpy(brand + 16 * i + 12, &r.d, 4);
    }
    std::string s = brand;
    const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    f.brand = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }
  return f;
}
#else
CpuFeatures detect() { return CpuFeatures{}; }
#endif

}  // namespace

std::string CpuFeatures::flags() const {
  std::string s;
  const auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(sse41, "sse4_1");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(avx_vnni, "avx_vnni");
  add(avx512f, "avx512f");
  add(avx512dq, "avx512dq");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_bf16, "avx512_bf16");
  add(avx512_fp16, "avx512_fp16");
  add(amx_tile, "amx_tile");
  add(amx_bf16, "amx_bf16");
  add(amx_int8, "amx_int8");
  return s;
}

std::string CpuFeatures::describe() const {
  std::ostringstream o;
  o << (brand.empty() ? "unknown CPU" : brand) << " (" << (vendor.empty() ? "unknown vendor" : vendor) << " family "
    << family << " model " << model << ")";
  return o.str();
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace spot
