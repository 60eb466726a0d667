//===- Runtime.h - load and run kconv artifacts (C++ API) --------*- C++ -*-===//
//
// The kconv runtime: loads an artifact written by kconv-compile, validates it, and runs its
// reductions on the CPU (thread pool) or a CUDA GPU (driver API opened at run time: no link-time
// CUDA dependency), on host arrays or CUDA device arrays. No MLIR, no LLVM. The C API is kconv.h;
// docs/runtime.md describes both.
//
//   auto art = kconv::Artifact::load("gaussian.kca");
//   art->run("gaussian_conv", {x, y, b}, out, nI, nJ);                   // argument order
//   art->run("gaussian_conv", {{"X", x}, {"Y", y}, {"B", b}}, out, nI, nJ); // by name
//   art->run("nearest", {x, y}, kconv::Outputs{dist, idx}, nI, nJ);        // min_argmin
//   art->runMany({"value", "grad"}, {{"X", x}, {"Y", y}, {"B", b}},        // one fused kernel
//                {kconv::Outputs{v}, kconv::Outputs{g}}, nI, nJ);
//
// Arrays are row-major float32: a Vi variable of dimension D is [nI x D], a Vj one [nJ x D], a
// parameter [D]; `out` (Outputs::values) is [nOut x valueDim] float32 and Outputs::indices
// [nOut x indexDim] int64, with nOut = nI for axis = 1 and nJ for axis = 0.
// On the GPU with device arrays:
//   kconv::RunOptions o; o.memory = kconv::Memory::CudaDevice; o.stream = stream;
//   art->run("gaussian_conv", {dx, dy, db}, dout, nI, nJ, o);   // queued on `stream`, no copies
// Every error is a kconv::Error (Error.h) thrown before anything is written.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_RUNTIME_RUNTIME_H
#define KCONV_RUNTIME_RUNTIME_H

#include "kconv/Runtime/Artifact.h"
#include "kconv/Runtime/Error.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kconv {

/// Where a reduction runs. Auto: the CPU code when the artifact has usable CPU code for the
/// reduction and the arrays are in host memory, else the GPU.
enum class Device { Cpu, Gpu, Auto };

/// Where the arrays of a call (inputs and outputs) live.
///  - Host: host memory. On the GPU the runtime copies them to device buffers that it keeps and
///    reuses across calls, runs, copies the result back and synchronizes: the call is synchronous.
///  - CudaDevice: CUDA device memory (cudaMalloc / torch CUDA tensors / unified memory) of one
///    device; nothing is copied, the call runs on that device on RunOptions::stream and returns
///    without waiting (like a CUDA kernel launch): synchronize the stream before reading the outputs.
///    Every pointer is checked (cuPointerGetAttributes): a host pointer is refused.
enum class Memory { Host, CudaDevice };

const char *toString(Device device);
/// "cpu", "gpu" or "auto"; anything else throws Error(InvalidArgument).
Device parseDevice(std::string_view text);

struct RunOptions {
  Device device = Device::Auto;
  /// Threads working on this call, the calling thread included. 0: the artifact's setting
  /// (Artifact::setThreads), whose default is defaultThreadCount().
  int threads = 0;
  /// Where the arrays are (see Memory). CudaDevice implies the GPU (Auto picks it, Cpu is refused).
  Memory memory = Memory::Host;
  /// The CUstream (a cudaStream_t) the GPU work is queued on; null: the legacy default stream for
  /// CudaDevice memory, the runtime's own stream for Host memory.
  void *stream = nullptr;
  /// The GPUs of a Device::Gpu (or Auto -> GPU) call, as CUDA ordinals; -1 (or allGpus()) means
  /// every visible GPU. Empty: $KCONV_GPU_DEVICES ("0,1" or "all") if set, else one GPU (the
  /// current context's, else $KCONV_GPU_DEVICE, else 0). With several GPUs the output rows are
  /// cut into contiguous slices (sizes differing by at most one), each GPU computes its slice
  /// against all reduced rows concurrently (one host thread per GPU) and the call returns when
  /// all are done. Several GPUs need Memory::Host arrays (Error(InvalidArgument) otherwise); an
  /// ordinal that does not exist is Error(InvalidArgument).
  std::vector<int> devices;
};

/// RunOptions::devices value for "every visible GPU".
inline std::vector<int> allGpus() { return {-1}; }

/// One input array. Converts implicitly from a pointer (shape not stated). When the caller states
/// `rows` and/or `dim` (>= 0), the runtime checks them against nI / nJ and the variable's dimension.
///
/// Batch dimensions (docs/runtime.md, "Batch dimensions"): an input with `batch` = (B1, ..., Bk)
/// holds B1·...·Bk problems' arrays, [B1, ..., Bk, rows, dim] (a parameter [B1, ..., Bk, dim]).
/// The inputs' batch shapes broadcast NumPy-style (aligned on the right, a size 1 or a missing
/// dimension against any size); the outputs are packed [batch..., nOut, valueDim / indexDim]
/// over the broadcast shape (broadcastBatchShape), every problem with the same nI and nJ.
/// `batchStrides` (elements, one per batch dimension, >= 0) describe a strided batch, such as an
/// expanded torch tensor; empty means packed. Each problem's own [rows x dim] block is packed.
struct Input {
  Input() = default;
  Input(const float *data) : data(data) {}
  Input(const float *data, int64_t rows, int64_t dim) : data(data), rows(rows), dim(dim) {}
  Input(const float *data, std::vector<int64_t> batch, int64_t rows = -1, int64_t dim = -1)
      : data(data), rows(rows), dim(dim), batch(std::move(batch)) {}
  const float *data = nullptr;
  int64_t rows = -1; // -1: not stated (a parameter has 1 row)
  int64_t dim = -1;  // -1: not stated
  std::vector<int64_t> batch;        // leading batch dimensions; empty: one problem's array
  std::vector<int64_t> batchStrides; // empty: packed
};

/// The output arrays of a call (docs/reductions.md): float values and int64 indices. A kind
/// has one or both (ReductionInfo::valueDim, indexDim); the pointer of an output it lacks is null.
/// With Memory::CudaDevice both are device pointers.
struct Outputs {
  float *values = nullptr;
  int64_t *indices = nullptr;
};

/// How an artifact is loaded.
struct LoadOptions {
  /// Ed25519 public keys (64 hex digits, or the path of a file holding them) of the signers to
  /// trust. When this or $KCONV_TRUSTED_KEYS (keys or files separated by ',' or ':') names any
  /// key, only artifacts signed (kconv-sign) by one of them load; the check comes before
  /// anything else of the artifact is looked at. Needs a runtime built with libsodium.
  std::vector<std::string> trustedKeys;
};

/// A loaded artifact. Immutable after loading except for the thread setting, so any number of
/// threads may call run() on one Artifact at once. Keep it alive while calls are running.
class Artifact {
public:
  /// Reads and validates an artifact file (validateArtifact): no code of the artifact runs. Its
  /// CPU object is mapped (dlopen) at the first CPU call, which throws Error(InvalidArtifact) if
  /// that fails. Throws Error(IoError) if the file cannot be read, Error(InvalidArtifact) if it
  /// is not a valid artifact. CPU code for features this host lacks does not fail the load:
  /// running it on the CPU does (Error(Unsupported), see cpuUnavailableReason).
  /// An artifact is native code: load only artifacts you would trust as a shared library.
  static std::shared_ptr<Artifact> load(const std::string &path, const LoadOptions &options = {});
  /// The same, from the artifact's bytes in memory; `sourceName` names it in messages.
  static std::shared_ptr<Artifact> fromBytes(std::string_view bytes,
                                             std::string_view sourceName = "<memory>",
                                             const LoadOptions &options = {});
  ~Artifact();
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  const std::string &sourceName() const;
  const ArtifactContents &contents() const;
  const std::vector<ReductionInfo> &reductions() const;
  /// The reduction called `name`; throws Error(InvalidArgument) listing the known names.
  const ReductionInfo &reduction(std::string_view name) const;

  /// Empty when `reduction` can run on this host's CPU, else why not (no CPU code, CPU features
  /// missing, ...). Throws for an unknown reduction.
  std::string cpuUnavailableReason(std::string_view reduction) const;
  bool hasCpu(std::string_view reduction) const { return cpuUnavailableReason(reduction).empty(); }
  bool hasGpu(std::string_view reduction) const { return gpuUnavailableReason(reduction).empty(); }
  /// Empty when `reduction` can run on a GPU of this host, else why not (no GPU code in the
  /// artifact, no CUDA driver, no GPU). Initializes the CUDA driver on first use.
  std::string gpuUnavailableReason(std::string_view reduction) const;

  /// Default threads for this artifact's calls (0: defaultThreadCount()). Thread-safe.
  void setThreads(int threads);
  int threads() const;

  /// nI for axis = 1, nJ for axis = 0.
  int64_t outputRows(std::string_view reduction, int64_t nI, int64_t nJ) const;
  /// The batch shape of the outputs of a call with `inputs` (argument order): the broadcast of
  /// their batch shapes; empty when none has batch dimensions. Throws Error(InvalidArgument)
  /// naming both inputs when two batch shapes do not broadcast.
  std::vector<int64_t> broadcastBatchShape(std::string_view reduction,
                                           const std::vector<Input> &inputs) const;

  /// Runs `reduction`: inputs in argument order; `outputs.values` [nOut x valueDim] row-major
  /// float32 and `outputs.indices` [nOut x indexDim] int64 (docs/reductions.md says what each
  /// kind writes). Each pointer is required (non-null when nOut > 0) exactly when the kind has
  /// that output (valueDim > 0, indexDim > 0) and must be null when it has not.
  /// nOut = 0 writes nothing; nReduced = 0 writes the kind's empty result (the kernels compute
  /// it: 0 for sum, +inf for min, -1 for argmin, ...). A null input is accepted only for a Vi/Vj
  /// variable with 0 rows.
  void run(std::string_view reduction, const std::vector<Input> &inputs, Outputs outputs,
           int64_t nI, int64_t nJ, const RunOptions &options = {}) const;
  /// The same with inputs bound by variable name (every variable exactly once).
  void run(std::string_view reduction, const std::map<std::string, Input, std::less<>> &inputs,
           Outputs outputs, int64_t nI, int64_t nJ, const RunOptions &options = {}) const;
  /// For kinds whose only output is values (sum, min, logsumexp, ...): `out` is outputs.values.
  void run(std::string_view reduction, const std::vector<Input> &inputs, float *out, int64_t nI,
           int64_t nJ, const RunOptions &options = {}) const {
    run(reduction, inputs, Outputs{out, nullptr}, nI, nJ, options);
  }
  void run(std::string_view reduction, const std::map<std::string, Input, std::less<>> &inputs,
           float *out, int64_t nI, int64_t nJ, const RunOptions &options = {}) const {
    run(reduction, inputs, Outputs{out, nullptr}, nI, nJ, options);
  }
  /// Runs several reductions on one set of inputs: `inputs` by variable name, the union of the
  /// reductions' variables (each once; all share nI and nJ), `outputs[k]` those of
  /// `reductions[k]` as in run(). When the artifact has a fused reduction of exactly these
  /// (kconv-fuse-reductions; fusedReduction) one kernel computes them all, sharing their common
  /// sub-formulas, and each output gets its columns (a copy through a scratch array of the
  /// fused width); otherwise, or when the members' batch shapes differ, they run one after the
  /// other. Every member is checked as run() checks it, before anything runs.
  void runMany(const std::vector<std::string> &reductions,
               const std::map<std::string, Input, std::less<>> &inputs,
               const std::vector<Outputs> &outputs, int64_t nI, int64_t nJ,
               const RunOptions &options = {}) const;
  /// The fused reduction whose members are exactly `reductions` (in any order), or null.
  const ReductionInfo *fusedReduction(const std::vector<std::string> &reductions) const;
  /// The first value and index column of each of `reductions` (in that order; the members of
  /// `fused`) in the outputs of `fused`, whose columns follow `fused.fuses`.
  struct FusedColumns {
    int64_t values = 0, indices = 0;
  };
  std::vector<FusedColumns> fusedColumns(const ReductionInfo &fused,
                                         const std::vector<std::string> &reductions) const;

  /// Braced lists of inputs ({x, y}): two pointers would also match std::map's iterator-range
  /// constructor, making the call ambiguous.
  void run(std::string_view reduction, std::initializer_list<Input> inputs, Outputs outputs,
           int64_t nI, int64_t nJ, const RunOptions &options = {}) const {
    run(reduction, std::vector<Input>(inputs), outputs, nI, nJ, options);
  }
  void run(std::string_view reduction, std::initializer_list<Input> inputs, float *out,
           int64_t nI, int64_t nJ, const RunOptions &options = {}) const {
    run(reduction, std::vector<Input>(inputs), Outputs{out, nullptr}, nI, nJ, options);
  }

  struct Impl;

private:
  explicit Artifact(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Checks everything about an artifact that can be checked without running its code (the load
/// does it; `kconv-run --list` runs nothing more): every metadata value bounded (KernelABI.h),
/// names unique identifiers, entry points with the ABI's names, the CPU object's symbols and ABI
/// descriptors (read from the ELF bytes; nothing is mapped) equal to the metadata, the PTX
/// kernels' parameter counts. Throws Error(InvalidArtifact) naming the reduction and mismatch.
void validateArtifact(const ArtifactContents &contents, std::string_view sourceName);

//===----------------------------------------------------------------------===//
// Signed artifacts (libsodium Ed25519; docs/runtime.md "Signed artifacts")
//===----------------------------------------------------------------------===//

/// Whether this runtime was built with libsodium (signing and signature checks).
bool signingSupported();
/// The keys of $KCONV_TRUSTED_KEYS (split at ',' and ':'); empty when unset.
std::vector<std::string> trustedKeysFromEnvironment();
/// Refuses (Error(InvalidArtifact)) an artifact not signed by one of `trustedKeys` or whose
/// signature does not verify; nothing when `trustedKeys` is empty. `bytes` is the whole file.
void checkArtifactSignature(std::string_view bytes, const ArtifactContents &contents,
                            const std::vector<std::string> &trustedKeys,
                            std::string_view sourceName);
struct SigningKey {
  std::string secretKey; // 128 hex digits (libsodium's Ed25519 secret key: seed + public key)
  std::string publicKey; // 64 hex digits
};
SigningKey generateSigningKey();
/// The artifact `bytes`, signed with `secretKey` (hex, or a file holding it); an existing
/// signature is replaced.
std::string signArtifact(std::string_view bytes, const std::string &secretKey,
                         std::string_view sourceName);

/// Threads used when neither the call nor the artifact says: $KCONV_NUM_THREADS if set to a
/// positive integer, else the number of CPUs this process may run on.
int defaultThreadCount();

/// Checks an `attr cpu.target` value against this host (rule in docs/runtime.md): returns what is
/// missing ("architecture aarch64", "avx512f", ...), empty if the code can run here.
std::vector<std::string> missingCpuFeatures(std::string_view cpuTarget);

/// "X: i 3, Y: j 3, B: j 1 -> i 1 (sum over j)": a one-line signature for listings and messages.
std::string signatureString(const ReductionInfo &reduction);

//===----------------------------------------------------------------------===//
// Reference evaluator (float64)
//===----------------------------------------------------------------------===//

/// Checks the serialized formula of `reduction` (op names, operand counts, dimensions, yield, and
/// the kind's k and output dimensions against the yield: Builtins.def's reducedFormulaDim and
/// reductionOutputDims); throws Error(InvalidArtifact) naming the op or the reduction,
/// Error(Unsupported) for an op or reduction kind the evaluator does not know.
void validateFormula(const ReductionInfo &reduction);

/// The reference's outputs for some rows: values [rows x valueDim] (row-major), indices
/// [rows x indexDim] (empty when the kind has no such output). A kind's [K][F] layout, index -1
/// and empty-range identities are those of docs/reductions.md.
struct ReferenceOutputs {
  std::vector<double> values;
  std::vector<int64_t> indices;
};

/// Evaluates `reduction` in float64 by interpreting its serialized formula, pair by pair, and
/// reducing in index order with the kind's semantics (docs/reductions.md); the inputs have the
/// layouts of Artifact::run. Returns the outputs of the given output rows, in the order given
/// (each in [0, nOut)). Independent of the generated code: this is what `kconv-run --check`
/// compares against.
ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const float *> &inputs, int64_t nI, int64_t nJ,
                              const std::vector<int64_t> &rows);
ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const double *> &inputs, int64_t nI, int64_t nJ,
                              const std::vector<int64_t> &rows);
/// All output rows.
ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const float *> &inputs, int64_t nI, int64_t nJ);

/// Outputs of a run against the reference (kconv-run --check, kconv-cpu-bench --check).
/// Values: the error ||out - ref|| / ||ref|| over the reference's finite values (absolute when
/// they are all 0); a non-finite reference value (+-inf, NaN of empty ranges) must be matched
/// exactly (`mismatched` counts those that are not).
struct ValueCheck {
  double error = 0;
  bool relative = true;
  int64_t mismatched = 0;
  bool ok(double tolerance) const { return error <= tolerance && mismatched == 0; } // NaN: false
};
/// `values` [nOut x valueDim] of a run; `ref` the reference's outputs of `rows`.
ValueCheck checkValues(const ReductionInfo &reduction, const std::vector<int64_t> &rows,
                       const ReferenceOutputs &ref, const float *values);

/// Indices: each by the value it selects (float32 near-ties are not failures): the float64
/// formula value of its component at the returned index must equal the one at the reference's
/// index within `tolerance` (relative, absolute below 1), entry by entry of the [K][F] lists;
/// -1 exactly where the reference has -1, and no index outside [0, nReduced).
struct IndexCheck {
  int64_t checked = 0, offValue = 0, invalid = 0;
  bool ok() const { return offValue == 0 && invalid == 0; }
};
/// `indices` [nOut x indexDim] of a run on `inputs` (the layouts of Artifact::run).
IndexCheck checkIndices(const ReductionInfo &reduction, const std::vector<const float *> &inputs,
                        int64_t nI, int64_t nJ, const std::vector<int64_t> &rows,
                        const ReferenceOutputs &ref, const int64_t *indices, double tolerance);

/// Evaluates the formula for one pair: `values[k]` points to variable k's components. Returns the
/// yielded value (for a weighted kind Concat(f, g), otherwise the reduced formula's F components).
std::vector<double> evaluateFormula(const ReductionInfo &reduction,
                                    const std::vector<const double *> &values);

} // namespace kconv

#endif // KCONV_RUNTIME_RUNTIME_H
