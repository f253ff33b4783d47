// sanitizer_canary.cpp — bugs planted on purpose, built only in sanitizer builds: CTest expects the
// sanitizer to report each one (tests/CMakeLists.txt), so a build whose sanitizers are silently off
// (flags lost, runtime missing, OpenMP tool not loaded) fails instead of passing everything.
//   use-after-free  heap-use-after-free (ASan), the shape of issue 13's crash
//   overflow        signed integer overflow (UBSan)
//   race            an unsynchronised write from an OpenMP parallel loop (TSan with Archer)
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "use-after-free") {
    const std::string& name = *std::make_shared<std::string>("a task name long enough for the heap");
    std::printf("%zu\n", std::strlen(name.c_str()));
  } else if (what == "overflow") {
    volatile int big = 2147483647;
    std::printf("%d\n", big + argc);
  } else if (what == "race") {
    long sum = 0;
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < 100000; ++i) sum += i;
    std::printf("%ld\n", sum);
  } else {
    std::fprintf(stderr, "usage: spot_sanitizer_canary use-after-free|overflow|race\n");
    return 2;
  }
  return 0;
}
