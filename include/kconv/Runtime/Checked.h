//===- Checked.h - size arithmetic that cannot wrap ---------------*- C++ -*-===//
//
// Every size product or sum of the runtime and its tools (rows x dim, elements x bytes, padded
// strides, chunk counts) goes through these: a result that does not fit is an Error naming what
// was computed, never a wrapped value.
//
//   int64_t elements = checkedMul(rows, dim, "rows x dim of an input");
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_RUNTIME_CHECKED_H
#define KCONV_RUNTIME_CHECKED_H

#include "kconv/Runtime/Error.h"

#include <cstdint>
#include <string>

namespace kconv {

namespace detail {
[[noreturn]] inline void overflow(const char *op, const std::string &a, const std::string &b,
                                  const std::string &what) {
  throw Error(ErrorCode::InvalidArgument, "size too large: " + what + " = " + a + " " + op + " " +
                                              b + " does not fit in 64 bits");
}
} // namespace detail

/// a * b and a + b for non-negative a, b; Error(InvalidArgument) "size too large: WHAT = a x b
/// does not fit in 64 bits" when the result overflows int64. `what` is a literal: a call that
/// does not overflow builds no string.
inline int64_t checkedMul(int64_t a, int64_t b, const char *what) {
  int64_t result;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &result))
    detail::overflow("x", std::to_string(a), std::to_string(b), what);
  return result;
}
inline int64_t checkedAdd(int64_t a, int64_t b, const char *what) {
  int64_t result;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &result))
    detail::overflow("+", std::to_string(a), std::to_string(b), what);
  return result;
}
/// Bytes of `count` elements of `elementSize` bytes, as a size_t (for allocation and copies).
inline size_t checkedBytes(int64_t count, size_t elementSize, const char *what) {
  size_t result;
  if (count < 0 || __builtin_mul_overflow(size_t(count), elementSize, &result))
    detail::overflow("x", std::to_string(count), std::to_string(elementSize), what);
  return result;
}

} // namespace kconv

#endif // KCONV_RUNTIME_CHECKED_H
