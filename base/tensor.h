// tensor.h — the small Tensor type of spot: dtype, shape, device and shared contiguous storage.
// Tensors are row-major and contiguous; views share storage (reshape, row ranges). Ops that need
// other layouts take explicit parameter structs with strides (see attention.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/dtype.h"

namespace spot {

enum class Device : uint8_t { CPU, CUDA };
const char* device_name(Device d);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// Raw memory on one device. Freed through the device's allocator when the last view goes.
struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised tensor. `guard_elems` extra elements are allocated past the end (the parity
  // harness writes sentinels there to catch out-of-bounds writes).
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU,
                      int64_t guard_elems = 0);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor from_floats(const std::vector<float>& values, const Shape& shape);
  static Tensor from_ints(const std::vector<int32_t>& values, const Shape& shape);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cpu() const { return device_ == Device::CPU; }

  // Element access. A const Tensor gives read-only data: what a function receives as
  // `const Tensor&` (an op's input, a frozen weight) it cannot write through.
  void* raw();
  const void* raw() const;
  template <class T> T* data() { return static_cast<T*>(raw()); }
  template <class T> const T* data() const { return static_cast<const T*>(raw()); }
  float* f32() { check_dtype(DType::F32); return data<float>(); }
  const float* f32() const { check_dtype(DType::F32); return data<float>(); }
  int32_t* i32() { check_dtype(DType::I32); return data<int32_t>(); }
  const int32_t* i32() const { check_dtype(DType::I32); return data<int32_t>(); }

  // Views sharing storage.
  Tensor reshape(const Shape& shape) const;
  Tensor rows(int64_t begin, int64_t end) const;  // range along dim 0
  Tensor flatten_rows() const;                    // [..., K] -> [prod(...), K]

  // The storage this tensor views, including any guard elements after it.
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  int64_t offset_elems() const { return offset_; }

  // Copies (across devices as needed).
  Tensor to(Device device) const;
  Tensor to_dtype(DType dtype) const;  // CPU only: F32 <-> BF16/F16
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void fill(float value);             // F32 only, any device
  std::vector<float> to_floats() const;  // any device, F32/BF16/F16 -> host floats

  std::string str() const;  // "f32[2, 3]@cpu"
  void check_dtype(DType t) const;

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

// Shape checks with readable messages: "shape mismatch: linear x f32[3, 5] vs w f32[4, 6] (dim -1)".
void check_shape(const Tensor& t, const Shape& expected, const char* what);
void check_same_device(const Tensor& a, const Tensor& b, const char* what);

// Device memory primitives (CUDA ones throw "built without CUDA" in a CPU-only build).
void* device_alloc(size_t bytes, Device device);
void device_free(void* ptr, Device device);
void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
bool cuda_available();  // built with CUDA and a device is present

}  // namespace spot
