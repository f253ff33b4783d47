// tensor.cpp — Tensor storage, views and copies.
#include "base/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/cuda/cuda_backend.h"

namespace spot {

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

void* device_alloc(size_t bytes, Device device) {
  if (bytes == 0) bytes = 1;
  if (device == Device::CPU) {
    // 64-byte alignment: AVX-512 loads and cache lines.
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    SPOT_CHECK(p, "out of host memory allocating " << bytes << " bytes");
    return p;
  }
#if SPOT_WITH_CUDA
  return cuda::device_malloc(bytes);
#else
  SPOT_FAIL("built without CUDA: cannot allocate on the cuda device");
#endif
}

void device_free(void* ptr, Device device) {
  if (!ptr) return;
  if (device == Device::CPU) {
    std::free(ptr);
    return;
  }
#if SPOT_WITH_CUDA
  cuda::device_free(ptr);
#endif
}

void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device == Device::CPU && src_device == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if SPOT_WITH_CUDA
  cuda::memcpy(dst, dst_device == Device::CUDA, src, src_device == Device::CUDA, bytes);
#else
  SPOT_FAIL("built without CUDA: cannot copy to or from the cuda device");
#endif
}

bool cuda_available() {
#if SPOT_WITH_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

Storage::Storage(size_t n, Device d) : bytes(n), device(d) { ptr = device_alloc(n, d); }
Storage::~Storage() { device_free(ptr, device); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, int64_t guard_elems) {
  for (int64_t d : shape) SPOT_CHECK(d >= 0, "negative dimension in shape " << shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>((shape_numel(shape) + guard_elems) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device == Device::CPU) {
    std::memset(t.raw(), 0, t.nbytes());
  } else {
#if SPOT_WITH_CUDA
    cuda::memset_zero(t.raw(), t.nbytes());
#endif
  }
  return t;
}

Tensor Tensor::from_floats(const std::vector<float>& values, const Shape& shape) {
  SPOT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
             "from_floats: " << values.size() << " values for shape " << shape_str(shape));
  Tensor t = empty(shape, DType::F32);
  std::memcpy(t.raw(), values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::from_ints(const std::vector<int32_t>& values, const Shape& shape) {
  SPOT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
             "from_ints: " << values.size() << " values for shape " << shape_str(shape));
  Tensor t = empty(shape, DType::I32);
  std::memcpy(t.raw(), values.data(), values.size() * 4);
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  SPOT_CHECK(j >= 0 && j < n, "dim " << i << " out of range for " << str());
  return shape_[j];
}

void* Tensor::raw() {
  SPOT_CHECK(storage_, "use of an undefined tensor");
  return static_cast<char*>(storage_->ptr) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

const void* Tensor::raw() const { return const_cast<Tensor*>(this)->raw(); }

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      SPOT_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    SPOT_CHECK(known > 0 && numel() % known == 0, "reshape " << str() << " to " << shape_str(shape));
    s[infer] = numel() / known;
  }
  SPOT_CHECK(shape_numel(s) == numel(), "reshape " << str() << " to " << shape_str(shape) << ": element count differs");
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  SPOT_CHECK(ndim() >= 1 && 0 <= begin && begin <= end && end <= shape_[0],
             "rows(" << begin << ", " << end << ") out of range for " << str());
  Tensor t = *this;
  int64_t row = 1;
  for (int i = 1; i < ndim(); ++i) row *= shape_[i];
  t.offset_ += begin * row;
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::flatten_rows() const {
  SPOT_CHECK(ndim() >= 1, "flatten_rows of a scalar");
  return reshape({-1, shape_.back()});
}

Tensor Tensor::to(Device device) const {
  Tensor t = empty(shape_, dtype_, device);
  device_copy(t.raw(), device, raw(), device_, nbytes());
  return t;
}

Tensor Tensor::to_dtype(DType dtype) const {
  SPOT_CHECK(is_cpu(), "to_dtype runs on the CPU; got " << str());
  if (dtype == dtype_) return clone();
  Tensor t = empty(shape_, dtype, Device::CPU);
  const int64_t n = numel();
  if (dtype_ == DType::F32 && dtype == DType::BF16) {
    const float* s = data<float>();
    uint16_t* d = t.data<uint16_t>();
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(s[i]);
  } else if (dtype_ == DType::F32 && dtype == DType::F16) {
    const float* s = data<float>();
    uint16_t* d = t.data<uint16_t>();
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(s[i]);
  } else if (dtype == DType::F32 && (dtype_ == DType::BF16 || dtype_ == DType::F16)) {
    const uint16_t* s = data<uint16_t>();
    float* d = t.data<float>();
    if (dtype_ == DType::BF16)
      for (int64_t i = 0; i < n; ++i) d[i] = bf16_to_f32(s[i]);
    else
      for (int64_t i = 0; i < n; ++i) d[i] = f16_to_f32(s[i]);
  } else {
    SPOT_FAIL("to_dtype: unsupported conversion " << dtype_name(dtype_) << " -> " << dtype_name(dtype));
  }
  return t;
}

Tensor Tensor::clone() const { return to(device_); }

void Tensor::copy_from(const Tensor& src) {
  SPOT_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_,
             "copy_from: " << src.str() << " into " << str());
  device_copy(raw(), device_, src.raw(), src.device_, nbytes());
}

void Tensor::fill(float value) {
  check_dtype(DType::F32);
  if (is_cpu()) {
    float* p = f32();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
    return;
  }
#if SPOT_WITH_CUDA
  cuda::fill_f32(f32(), numel(), value);
#else
  SPOT_FAIL("built without CUDA");
#endif
}

std::vector<float> Tensor::to_floats() const {
  Tensor h = is_cpu() ? *this : to(Device::CPU);
  if (h.dtype_ != DType::F32) h = h.to_dtype(DType::F32);
  const float* p = h.data<float>();
  return std::vector<float>(p, p + h.numel());
}

std::string Tensor::str() const {
  std::ostringstream os;
  os << dtype_name(dtype_) << shape_str(shape_) << "@" << device_name(device_);
  return os.str();
}

void Tensor::check_dtype(DType t) const {
  SPOT_CHECK(dtype_ == t, "dtype mismatch: expected " << dtype_name(t) << ", got " << str());
}

void check_shape(const Tensor& t, const Shape& expected, const char* what) {
  SPOT_CHECK(t.defined(), what << ": tensor is undefined");
  SPOT_CHECK(t.shape() == expected,
             "shape mismatch: " << what << " is " << t.str() << ", expected " << shape_str(expected));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* what) {
  SPOT_CHECK(a.device() == b.device(), "device mismatch in " << what << ": " << a.str() << " vs " << b.str());
}

}  // namespace spot
