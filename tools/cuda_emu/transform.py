# transform.py — rewrites a base/cuda or kernels/cuda .cu file into C++ for tools/cuda_emu (README.md): launches become
# emu::launch(kernel, grid, threads, smem, stream, args...), `extern __shared__` the per-block buffer.
import re, sys, pathlib
src, dst = sys.argv[1], sys.argv[2]
s = pathlib.Path(src).read_text()
s = s.replace("extern __shared__ float smem[];", "float* smem = emu::dyn_smem();")
pat = re.compile(r'([A-Za-z_][\w:]*(?:<[^;{}]*?>)?)\s*<<<(.*?)>>>\s*\(', re.S)
s, n = pat.subn(lambda m: "emu::launch(" + m.group(1) + ", " + m.group(2) + ", ", s)
pathlib.Path(dst).write_text(s)
print(src, "launches:", n, file=sys.stderr)
