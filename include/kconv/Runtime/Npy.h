//===- Npy.h - NumPy .npy files (float32 view) -------------------*- C++ -*-===//
//
// Reads NumPy .npy files (format versions 1, 2 and 3; dtype '<f4' or '<f8', converted to float32;
// C order) and writes float32 and int64 ('<i8', index outputs) ones (version 1). Used by kconv-run and the tests.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_RUNTIME_NPY_H
#define KCONV_RUNTIME_NPY_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kconv {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) elements
  std::string sourceDtype;  // "<f4" or "<f8" (as read)
};

/// Throws Error(IoError) if the file cannot be read, Error(InvalidArgument) naming `path` and the
/// problem (bad magic, Fortran order, wrong dtype, truncated, ...) if it is not a usable .npy file.
NpyArray readNpy(const std::string &path);
NpyArray parseNpy(std::string_view bytes, std::string_view name);

/// Writes a float32 array; throws Error(IoError) naming `path` on failure.
void writeNpy(const std::string &path, const float *data, const std::vector<int64_t> &shape);
std::string serializeNpy(const float *data, const std::vector<int64_t> &shape);
/// The same for int64 ('<i8'): the index outputs of the arg kinds.
void writeNpyInt64(const std::string &path, const int64_t *data,
                   const std::vector<int64_t> &shape);
std::string serializeNpyInt64(const int64_t *data, const std::vector<int64_t> &shape);

/// "(3, 4)" as NumPy prints shapes ("(3,)" for one dimension).
std::string shapeString(const std::vector<int64_t> &shape);

} // namespace kconv

#endif // KCONV_RUNTIME_NPY_H
