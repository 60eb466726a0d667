//===- BatchLayout.h - batch dimensions of a call, shared by runtime and emulator -*- C++ -*-===//
//
// A call may carry leading batch dimensions (docs/runtime.md, "Batch dimensions"): variable k's
// array is [batch_k..., rows, dim], its batch shape broadcasting NumPy-style against the others'
// (size 1 against size B, missing leading dimensions as 1), and the outputs are packed
// [batch..., nOut, dim] over the broadcast batch shape. The formula does not change: batching is a
// property of the call. MLIR-free and LLVM-free like KernelABI.h.
//
// The runtime reduces a call's batch to a BatchLayout: the broadcast shape with dimensions of
// size 1 dropped and neighbours merged where every variable's strides allow it (a (2, 3) batch of
// packed arrays is one dimension of 6), and one stride per variable and dimension, in elements,
// 0 where the variable is broadcast. Entry e (0 <= e < count(), row-major over the shape) of
// variable k starts at offset(k, e) elements from its base pointer; entry e of each output at
// e · nOut · dim.
//
// GPU kernels take the last kGpuBatchRank dimensions as parameters (KernelABI.h) and find their
// entry from blockIdx.z; a layout of higher rank is split by the runtime into a host loop over
// the leading dimensions (splitOuter).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_ABI_BATCHLAYOUT_H
#define KCONV_ABI_BATCHLAYOUT_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kconv::abi {

/// Batch dimensions a GPU kernel decodes itself (more are looped over by the runtime).
constexpr size_t kGpuBatchRank = 4;

struct BatchLayout {
  /// The collapsed batch shape, outermost first; empty: one problem. Every size is >= 2.
  std::vector<int64_t> shape;
  /// strides[k][d]: elements between consecutive entries of dimension d in variable k (0 where
  /// variable k is broadcast along d). May be empty when shape is (one problem).
  std::vector<std::vector<int64_t>> strides;
  /// No entries: some batch dimension has size 0 (shape is then empty too).
  bool empty = false;

  /// The number of problems: the product of shape (0 when empty).
  int64_t count() const {
    if (empty)
      return 0;
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }

  /// The element offset of entry `entry` of variable `k`.
  int64_t offset(size_t k, int64_t entry) const {
    int64_t off = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      off += (entry % shape[d]) * strides[k][d];
      entry /= shape[d];
    }
    return off;
  }

  /// The one-problem layout of `variables` variables.
  static BatchLayout none(size_t variables) {
    BatchLayout layout;
    layout.strides.assign(variables, {});
    return layout;
  }

  /// A variable's strides along the broadcast batch shape `shape`, from its own batch shape `own`
  /// (right-aligned on `shape`) and its strides `ownStrides` (one per dimension of `own`; empty:
  /// packed problems of `block` elements): 0 along the dimensions it is broadcast on.
  static std::vector<int64_t> stridesAlong(const std::vector<int64_t> &shape,
                                           const std::vector<int64_t> &own,
                                           const std::vector<int64_t> &ownStrides,
                                           int64_t block) {
    std::vector<int64_t> along(shape.size(), 0);
    int64_t packed = block;
    for (size_t d = own.size(); d-- > 0;) {
      if (own[d] != 1)
        along[shape.size() - own.size() + d] = ownStrides.empty() ? packed : ownStrides[d];
      packed *= own[d] > 1 ? own[d] : 1;
    }
    return along;
  }

  /// Builds the layout of an output batch shape `shape` (sizes >= 0) and, per variable, its
  /// strides along `shape` (same length; 0 along dimensions it is broadcast on): dimensions of
  /// size 1 dropped, neighbours merged where every variable's strides nest.
  static BatchLayout collapse(const std::vector<int64_t> &shape,
                              const std::vector<std::vector<int64_t>> &strides) {
    BatchLayout layout;
    layout.strides.assign(strides.size(), {});
    for (int64_t s : shape)
      if (s == 0) {
        layout.empty = true;
        return layout;
      }
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1)
        continue;
      bool merge = !layout.shape.empty();
      for (size_t k = 0; merge && k < strides.size(); ++k)
        merge = layout.strides[k].back() == strides[k][d] * shape[d];
      if (merge) {
        layout.shape.back() *= shape[d];
        for (size_t k = 0; k < strides.size(); ++k)
          layout.strides[k].back() = strides[k][d];
        continue;
      }
      layout.shape.push_back(shape[d]);
      for (size_t k = 0; k < strides.size(); ++k)
        layout.strides[k].push_back(strides[k][d]);
    }
    return layout;
  }

  /// Splits off all but the last kGpuBatchRank dimensions: `outer` gets the leading ones (whose
  /// entries the runtime loops over), the returned layout the rest.
  BatchLayout splitOuter(BatchLayout &outer) const {
    outer = BatchLayout::none(strides.size());
    BatchLayout inner = *this;
    if (shape.size() <= kGpuBatchRank)
      return inner;
    size_t lead = shape.size() - kGpuBatchRank;
    outer.shape.assign(shape.begin(), shape.begin() + lead);
    inner.shape.assign(shape.begin() + lead, shape.end());
    for (size_t k = 0; k < strides.size(); ++k) {
      outer.strides[k].assign(strides[k].begin(), strides[k].begin() + lead);
      inner.strides[k].assign(strides[k].begin() + lead, strides[k].end());
    }
    return inner;
  }

  /// The GPU kernels' batch parameters of a layout of rank <= kGpuBatchRank: its sizes
  /// right-aligned into kGpuBatchRank int32 slots (leading slots 1), and per variable (of
  /// `variables`) its strides likewise (leading slots 0).
  void gpuParams(size_t variables, int32_t sizes[kGpuBatchRank],
                 std::vector<int64_t> &flatStrides) const {
    const size_t lead = kGpuBatchRank - shape.size();
    for (size_t d = 0; d < kGpuBatchRank; ++d)
      sizes[d] = d < lead ? 1 : int32_t(shape[d - lead]);
    flatStrides.assign(variables * kGpuBatchRank, 0);
    for (size_t k = 0; k < variables && !shape.empty(); ++k)
      for (size_t d = lead; d < kGpuBatchRank; ++d)
        flatStrides[k * kGpuBatchRank + d] = strides[k][d - lead];
  }
};

} // namespace kconv::abi

#endif // KCONV_ABI_BATCHLAYOUT_H
