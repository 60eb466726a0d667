//===- Runtime.cpp - load an artifact, validate calls, dispatch ------------===//
#include "kconv/Runtime/Runtime.h"
#include "kconv/ABI/KernelABI.h"
#include "Backend.h"
#include "kconv/Runtime/Checked.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <thread>

namespace kconv {

struct Artifact::Impl {
  std::string sourceName;
  ArtifactContents contents;
  std::unique_ptr<Backend> cpu;
  std::unique_ptr<Backend> gpu; // null: no GPU path in this build/artifact
  std::atomic<int> threads{0};

  size_t indexOf(std::string_view name) const {
    for (size_t k = 0; k < contents.reductions.size(); ++k)
      if (contents.reductions[k].name == name)
        return k;
    std::string known;
    for (const ReductionInfo &r : contents.reductions)
      known += (known.empty() ? "" : ", ") + r.name;
    throw Error(ErrorCode::InvalidArgument, sourceName + ": no reduction named '" +
                                                std::string(name) + "' (it has: " + known + ")");
  }

  std::string gpuUnavailableReason(size_t index) const {
    const std::string &name = contents.reductions[index].name;
    if (!gpu)
      return "reduction '" + name + "': this build/artifact has no GPU path";
    std::string why = gpu->unavailableReason(index);
    return why.empty() ? why : "reduction '" + name + "': " + why;
  }

  Backend *prepare(size_t index, const std::vector<Input> &inputs, Outputs outputs, int64_t nI,
                   int64_t nJ, const RunOptions &options, Call &call,
                   bool checkOutputs = true) const;

  /// The one place that maps a Device to a backend.
  Backend &selectBackend(size_t index, Device device) const {
    switch (device) {
    case Device::Cpu: {
      std::string why = cpu->unavailableReason(index);
      if (!why.empty())
        throw Error(ErrorCode::Unsupported, sourceName + ": cannot run on the CPU: " + why);
      return *cpu;
    }
    case Device::Gpu: {
      std::string why = gpuUnavailableReason(index);
      if (!why.empty())
        throw Error(gpu ? gpu->unavailableCode(index) : ErrorCode::Unsupported,
                    sourceName + ": " + why);
      return *gpu;
    }
    case Device::Auto: {
      std::string cpuWhy = cpu->unavailableReason(index);
      if (cpuWhy.empty())
        return *cpu;
      std::string gpuWhy = gpuUnavailableReason(index);
      if (gpuWhy.empty())
        return *gpu;
      throw Error(ErrorCode::Unsupported,
                  sourceName + ": no backend can run it: CPU: " + cpuWhy + "; GPU: " + gpuWhy);
    }
    }
    throw Error(ErrorCode::InvalidArgument, "unknown device");
  }
};

Artifact::Artifact(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Artifact::~Artifact() = default;

std::shared_ptr<Artifact> Artifact::fromBytes(std::string_view bytes, std::string_view sourceName,
                                              const LoadOptions &options) {
  auto impl = std::make_unique<Impl>();
  impl->sourceName = std::string(sourceName);
  impl->contents = parseArtifact(bytes, sourceName);
  std::vector<std::string> trusted = options.trustedKeys;
  for (std::string &key : trustedKeysFromEnvironment())
    trusted.push_back(std::move(key));
  checkArtifactSignature(bytes, impl->contents, trusted, sourceName);
  validateArtifact(impl->contents, impl->sourceName);
  impl->cpu = createCpuBackend(impl->contents, impl->sourceName);
  impl->gpu = createGpuBackend(impl->contents, impl->sourceName);
  return std::shared_ptr<Artifact>(new Artifact(std::move(impl)));
}

std::shared_ptr<Artifact> Artifact::load(const std::string &path, const LoadOptions &options) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw Error(ErrorCode::IoError, path + ": cannot open the artifact");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad())
    throw Error(ErrorCode::IoError, path + ": cannot read the artifact");
  return fromBytes(bytes.str(), path, options);
}

const std::string &Artifact::sourceName() const { return impl_->sourceName; }
const ArtifactContents &Artifact::contents() const { return impl_->contents; }
const std::vector<ReductionInfo> &Artifact::reductions() const {
  return impl_->contents.reductions;
}
const ReductionInfo &Artifact::reduction(std::string_view name) const {
  return impl_->contents.reductions[impl_->indexOf(name)];
}

std::string Artifact::cpuUnavailableReason(std::string_view reduction) const {
  return impl_->cpu->unavailableReason(impl_->indexOf(reduction));
}

std::string Artifact::gpuUnavailableReason(std::string_view reduction) const {
  return impl_->gpuUnavailableReason(impl_->indexOf(reduction));
}

void Artifact::setThreads(int threads) {
  if (threads < 0)
    throw Error(ErrorCode::InvalidArgument,
                "threads must be >= 0 (0: default), got " + std::to_string(threads));
  impl_->threads.store(threads);
}
int Artifact::threads() const { return impl_->threads.load(); }

int64_t Artifact::outputRows(std::string_view reduction, int64_t nI, int64_t nJ) const {
  return this->reduction(reduction).axis == 1 ? nI : nJ;
}

namespace {

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d)
    s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string inputName(const ReductionInfo &r, size_t k) {
  const VariableInfo &v = r.variables[k];
  return "input " + std::to_string(k) + " (" + v.name + ", " + toString(v.category) + ", dim " +
         std::to_string(v.dim) + ")";
}

/// One input per variable; `invalid` throws.
template <typename Invalid>
void checkInputCount(const ReductionInfo &r, const std::vector<Input> &inputs, Invalid invalid) {
  if (inputs.size() == r.variables.size())
    return;
  std::string names;
  for (const VariableInfo &v : r.variables)
    names += (names.empty() ? "" : ", ") + v.name;
  invalid("expected " + std::to_string(r.variables.size()) + " inputs (" + names + "), got " +
          std::to_string(inputs.size()));
}

/// The broadcast batch shape of `inputs` (docs/runtime.md, "Batch dimensions"); `invalid` throws.
template <typename Invalid>
std::vector<int64_t> broadcastShape(const ReductionInfo &r, const std::vector<Input> &inputs,
                                    Invalid invalid) {
  size_t rank = 0;
  for (const Input &in : inputs)
    rank = std::max(rank, in.batch.size());
  std::vector<int64_t> shape(rank, 1);
  std::vector<int> from(rank, -1); // the input that set each size (> 1)
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<int64_t> &batch = inputs[k].batch;
    for (size_t d = 0; d < batch.size(); ++d) {
      const size_t at = rank - batch.size() + d;
      if (batch[d] < 0)
        invalid(inputName(r, k) + " has batch shape " + shapeString(batch) +
                ": sizes must be >= 0");
      if (batch[d] == 1 || batch[d] == shape[at])
        continue;
      if (shape[at] != 1)
        invalid(inputName(r, k) + " has batch shape " + shapeString(batch) + ", " +
                inputName(r, size_t(from[at])) + " has " +
                shapeString(inputs[size_t(from[at])].batch) +
                ": they do not broadcast (batch sizes must be equal, or 1)");
      shape[at] = batch[d];
      from[at] = int(k);
    }
  }
  return shape;
}

} // namespace

std::vector<int64_t> Artifact::broadcastBatchShape(std::string_view reductionName,
                                                   const std::vector<Input> &inputs) const {
  const ReductionInfo &r = reduction(reductionName);
  auto invalid = [&](const std::string &what) {
    throw Error(ErrorCode::InvalidArgument, "reduction '" + r.name + "': " + what);
  };
  checkInputCount(r, inputs, invalid);
  return broadcastShape(r, inputs, invalid);
}

/// Validates a call of reduction `index` and fills `call`; returns the backend that runs it, or
/// null when there is nothing to compute (nOut = 0 or an empty batch). With `checkOutputs`
/// false the outputs are not looked at (a fused call: runMany checks its members' instead).
Backend *Artifact::Impl::prepare(size_t index, const std::vector<Input> &inputs, Outputs outputs,
                                 int64_t nI, int64_t nJ, const RunOptions &options, Call &call,
                                 bool checkOutputs) const {
  const ReductionInfo &r = contents.reductions[index];
  // Messages are built only on the error path: a valid call allocates no strings.
  auto invalid = [&](const std::string &what) {
    throw Error(ErrorCode::InvalidArgument, "reduction '" + r.name + "': " + what);
  };
  if (nI < 0 || nJ < 0)
    invalid("nI and nJ must be >= 0, got nI = " + std::to_string(nI) +
            ", nJ = " + std::to_string(nJ));
  if (options.threads < 0)
    invalid("threads must be >= 0 (0: default), got " + std::to_string(options.threads));
  checkInputCount(r, inputs, invalid);
  // The batch's shape first: with no problem in it (a size 0), no input is read.
  const std::vector<int64_t> batchShape = broadcastShape(r, inputs, invalid);
  const bool noProblems = std::find(batchShape.begin(), batchShape.end(), 0) != batchShape.end();
  call.reduction = &r;
  call.reductionIndex = index;
  call.nI = nI;
  call.nJ = nJ;
  call.nOut = r.axis == 1 ? nI : nJ;
  call.nReduced = r.axis == 1 ? nJ : nI;
  call.values = outputs.values;
  call.indices = outputs.indices;
  call.args.resize(inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const VariableInfo &v = r.variables[k];
    const Input &in = inputs[k];
    int64_t rows = v.category == VarCategory::Vi ? nI : v.category == VarCategory::Vj ? nJ : 1;
    auto var = [&] { return inputName(r, k); };
    if (in.dim >= 0 && in.dim != v.dim)
      invalid(var() + " has dimension " + std::to_string(in.dim) + ", expected " +
              std::to_string(v.dim));
    if (in.rows >= 0 && in.rows != rows) {
      if (v.category == VarCategory::Pm)
        invalid(var() + " is a parameter (1 row), got " + std::to_string(in.rows) + " rows");
      invalid(var() + " has " + std::to_string(in.rows) + " rows, expected " +
              (v.category == VarCategory::Vi ? "nI = " : "nJ = ") + std::to_string(rows));
    }
    if (!in.data && rows > 0 && !noProblems)
      invalid(var() + " is a null pointer");
    if (!in.batchStrides.empty() && in.batchStrides.size() != in.batch.size())
      invalid(var() + " has " + std::to_string(in.batchStrides.size()) +
              " batch strides for batch shape " + shapeString(in.batch) +
              " (one per batch dimension, or none: packed)");
    for (int64_t stride : in.batchStrides)
      if (stride < 0)
        invalid(var() + " has batch strides " + shapeString(in.batchStrides) +
                ": strides must be >= 0");
    // The array must be addressable: its extent in bytes fits in 64 bits.
    try {
      int64_t extent = checkedMul(rows, v.dim, "rows x dim"), packed = extent;
      for (size_t d = in.batch.size(); d-- > 0;) {
        int64_t stride = in.batchStrides.empty() ? packed : in.batchStrides[d];
        if (in.batch[d] > 1)
          extent = checkedAdd(extent, checkedMul(in.batch[d] - 1, stride, "batch extent"),
                              "batch extent");
        packed = checkedMul(packed, std::max<int64_t>(in.batch[d], 0), "batch x rows x dim");
      }
      checkedBytes(extent, sizeof(float), "bytes");
    } catch (const Error &e) {
      invalid(var() + ": " + e.what());
    }
    call.args[k] = in.data;
  }
  // The batch: broadcast shape, each variable's strides along it, collapsed (BatchLayout.h).
  if (!batchShape.empty()) {
    std::vector<std::vector<int64_t>> strides;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      int64_t rows = v.category == VarCategory::Vi ? nI : v.category == VarCategory::Vj ? nJ : 1;
      strides.push_back(abi::BatchLayout::stridesAlong(batchShape, inputs[k].batch,
                                                       inputs[k].batchStrides,
                                                       rows * v.dim)); // checked above
    }
    call.batch = abi::BatchLayout::collapse(batchShape, strides);
  }
  int64_t problems = 1;
  for (int64_t size : batchShape) {
    try {
      problems = checkedMul(problems, size, "batch entries");
    } catch (const Error &e) {
      invalid("batch shape " + shapeString(batchShape) + ": " + e.what());
    }
  }
  call.batchEnd = problems;
  // Each output pointer is required exactly when the kind has that output.
  auto checkOutput = [&](const void *pointer, int64_t dim, size_t elementSize, const char *what,
                         const char *type) {
    if (dim == 0) {
      if (pointer)
        invalid(std::string(what) + " given, but kind " + r.kind + " has no " + what +
                " output (pass null)");
      return;
    }
    try {
      checkedBytes(checkedMul(checkedMul(problems, call.nOut, "batch entries x nOut"), dim,
                              "nOut x dim"),
                   elementSize, "bytes");
    } catch (const Error &e) {
      invalid(std::string(what) + ": " + e.what());
    }
    if (!pointer && call.nOut > 0 && problems > 0)
      invalid(std::string(what) + " is a null pointer (" +
              (batchShape.empty() ? "" : "batch " + shapeString(batchShape) + " of ") +
              std::to_string(call.nOut) + " output rows of " + std::to_string(dim) + " " + type +
              ")");
  };
  if (checkOutputs) {
    checkOutput(outputs.values, r.valueDim, sizeof(float), "values", "float32");
    checkOutput(outputs.indices, r.indexDim, sizeof(int64_t), "indices", "int64");
  }
  // The kernels carry indices as int32 (KernelABI.h: kMaxGpuRows, the CPU kernels likewise).
  if (r.indexDim > 0 && call.nReduced > kconv::abi::kMaxGpuRows)
    invalid("kind " + r.kind + " returns indices of reduced rows, which must be fewer than 2^31; "
            "got " + std::to_string(call.nReduced));
  int callThreads = options.threads > 0 ? options.threads : threads.load();
  call.threads = callThreads > 0 ? callThreads : defaultThreadCount();

  call.deviceMemory = options.memory == Memory::CudaDevice;
  call.stream = options.stream;
  call.devices = options.devices;
  Device device = options.device;
  if (call.deviceMemory) {
    if (device == Device::Cpu)
      throw Error(ErrorCode::InvalidArgument,
                  "reduction '" + r.name + "': CUDA device memory cannot be read on the CPU "
                  "(device = cpu with memory = device)");
    device = Device::Gpu;
  }
  Backend &backend = selectBackend(index, device);
  if (call.nOut == 0 || problems == 0)
    return nullptr;
  // nReduced = 0 too: the kernels write the kind's empty result (docs/reductions.md).
  return &backend;
}

void Artifact::run(std::string_view reductionName, const std::vector<Input> &inputs,
                   Outputs outputs, int64_t nI, int64_t nJ, const RunOptions &options) const {
  Call call;
  if (Backend *backend = impl_->prepare(impl_->indexOf(reductionName), inputs, outputs, nI, nJ,
                                        options, call))
    backend->run(call);
}

namespace {

/// `inputs` in the argument order of `r`. Every variable of `r` must be given; a name that is not
/// one of its variables is refused unless `others` (runMany: another member's variable).
std::vector<Input> orderByName(const ReductionInfo &r,
                               const std::map<std::string, Input, std::less<>> &inputs,
                               bool others) {
  std::vector<Input> ordered(r.variables.size());
  for (const auto &[name, input] : inputs) {
    auto it = std::find_if(r.variables.begin(), r.variables.end(),
                           [&](const VariableInfo &v) { return v.name == name; });
    if (it != r.variables.end()) {
      ordered[size_t(it - r.variables.begin())] = input;
    } else if (!others) {
      std::string names;
      for (const VariableInfo &v : r.variables)
        names += (names.empty() ? "" : ", ") + v.name;
      throw Error(ErrorCode::InvalidArgument, "reduction '" + r.name + "' has no variable '" +
                                                  name + "' (its variables: " + names + ")");
    }
  }
  for (const VariableInfo &v : r.variables)
    if (!inputs.count(v.name))
      throw Error(ErrorCode::InvalidArgument,
                  "reduction '" + r.name + "': no input given for variable '" + v.name + "'");
  return ordered;
}

template <typename T>
void copyColumns(const T *source, int64_t rows, int64_t sourceDim, int64_t offset, T *target,
                 int64_t dim) {
  for (int64_t row = 0; row < rows; ++row)
    std::copy_n(source + row * sourceDim + offset, dim, target + row * dim);
}

} // namespace

void Artifact::run(std::string_view reductionName,
                   const std::map<std::string, Input, std::less<>> &inputs, Outputs outputs,
                   int64_t nI, int64_t nJ, const RunOptions &options) const {
  run(reductionName, orderByName(reduction(reductionName), inputs, false), outputs, nI, nJ,
      options);
}

const ReductionInfo *Artifact::fusedReduction(const std::vector<std::string> &reductions) const {
  std::vector<std::string> wanted = reductions;
  std::sort(wanted.begin(), wanted.end());
  for (const ReductionInfo &r : impl_->contents.reductions) {
    if (r.fuses.size() != wanted.size())
      continue;
    std::vector<std::string> members = r.fuses;
    std::sort(members.begin(), members.end());
    if (members == wanted)
      return &r;
  }
  return nullptr;
}

std::vector<Artifact::FusedColumns>
Artifact::fusedColumns(const ReductionInfo &fused,
                       const std::vector<std::string> &reductions) const {
  std::vector<FusedColumns> columns(reductions.size());
  FusedColumns next;
  for (const std::string &member : fused.fuses) {
    size_t k = size_t(std::find(reductions.begin(), reductions.end(), member) - reductions.begin());
    if (k == reductions.size())
      throw Error(ErrorCode::InvalidArgument, "reduction '" + fused.name + "' fuses '" + member +
                                                  "', which is not among the reductions given");
    columns[k] = next;
    const ReductionInfo &info = reduction(member);
    next.values += info.valueDim;
    next.indices += info.indexDim;
  }
  return columns;
}

void Artifact::runMany(const std::vector<std::string> &reductions,
                       const std::map<std::string, Input, std::less<>> &inputs,
                       const std::vector<Outputs> &outputs, int64_t nI, int64_t nJ,
                       const RunOptions &options) const {
  auto invalid = [&](const std::string &what) {
    throw Error(ErrorCode::InvalidArgument, impl_->sourceName + ": runMany: " + what);
  };
  if (reductions.empty())
    invalid("no reductions given");
  if (outputs.size() != reductions.size())
    invalid(std::to_string(reductions.size()) + " reductions but " +
            std::to_string(outputs.size()) + " outputs (one Outputs per reduction)");
  std::vector<size_t> indices;
  for (const std::string &name : reductions) {
    indices.push_back(impl_->indexOf(name));
    if (std::count(reductions.begin(), reductions.end(), name) > 1)
      invalid("reduction '" + name + "' is given twice");
  }
  for (const auto &[name, input] : inputs) {
    bool used = false;
    for (size_t index : indices)
      for (const VariableInfo &v : impl_->contents.reductions[index].variables)
        used = used || v.name == name;
    if (!used)
      invalid("no reduction of the call has a variable '" + name + "'");
  }
  // Each member is validated as its own call: the same checks and messages as run().
  std::vector<Call> calls(indices.size());
  std::vector<Backend *> backends(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const ReductionInfo &r = impl_->contents.reductions[indices[k]];
    backends[k] = impl_->prepare(indices[k], orderByName(r, inputs, true), outputs[k], nI, nJ,
                                 options, calls[k]);
  }
  // One kernel for all when the artifact has their fused reduction and the call gives every
  // member the fused call's batch (a member that reads no batched variable would not).
  if (const ReductionInfo *fused = fusedReduction(reductions)) {
    const size_t fusedIndex = size_t(fused - impl_->contents.reductions.data());
    Call call;
    Backend *backend = impl_->prepare(fusedIndex, orderByName(*fused, inputs, true), Outputs{},
                                      nI, nJ, options, call, /*checkOutputs=*/false);
    bool sameBatch = true;
    for (const Call &member : calls)
      sameBatch = sameBatch && member.batchEnd == call.batchEnd;
    if (sameBatch) {
      if (!backend)
        return;
      const std::vector<FusedColumns> columns = fusedColumns(*fused, reductions);
      std::vector<OutputSegment> segments;
      for (size_t k = 0; k < calls.size(); ++k)
        segments.push_back({outputs[k].values, outputs[k].indices, columns[k].values,
                            calls[k].reduction->valueDim, columns[k].indices,
                            calls[k].reduction->indexDim});
      backend->runFused(call, segments);
      return;
    }
  }
  for (size_t k = 0; k < calls.size(); ++k)
    if (backends[k])
      backends[k]->run(calls[k]);
}

void Backend::runFused(const Call &call, const std::vector<OutputSegment> &segments) {
  const ReductionInfo &r = *call.reduction;
  const int64_t rows = (call.batchEnd - call.batchBegin) * call.nOut; // checked by prepare
  std::vector<float> values(size_t(rows * r.valueDim));
  std::vector<int64_t> indices(size_t(rows * r.indexDim));
  Call scratch = call;
  scratch.values = r.valueDim ? values.data() : nullptr;
  scratch.indices = r.indexDim ? indices.data() : nullptr;
  run(scratch);
  for (const OutputSegment &segment : segments) {
    if (segment.valueDim)
      copyColumns(values.data(), rows, r.valueDim, segment.valueOffset, segment.values,
                  segment.valueDim);
    if (segment.indexDim)
      copyColumns(indices.data(), rows, r.indexDim, segment.indexOffset, segment.indices,
                  segment.indexDim);
  }
}

int defaultThreadCount() {
  if (const char *env = std::getenv("KCONV_NUM_THREADS")) {
    char *end = nullptr;
    long value = std::strtol(env, &end, 10);
    if (*env && *end == '\0' && value > 0 && value <= 1024)
      return int(value);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0)
      return count;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? int(hw) : 1;
}

const char *toString(Device device) {
  switch (device) {
  case Device::Cpu:
    return "cpu";
  case Device::Gpu:
    return "gpu";
  case Device::Auto:
    return "auto";
  }
  return "?";
}

Device parseDevice(std::string_view text) {
  if (text == "cpu")
    return Device::Cpu;
  if (text == "gpu")
    return Device::Gpu;
  if (text == "auto")
    return Device::Auto;
  throw Error(ErrorCode::InvalidArgument,
              "unknown device '" + std::string(text) + "' (expected cpu, gpu or auto)");
}

std::string signatureString(const ReductionInfo &r) {
  std::string s;
  for (const VariableInfo &v : r.variables)
    s += (s.empty() ? "" : ", ") + v.name + ": " + toString(v.category) + " " +
         std::to_string(v.dim);
  s += std::string(" -> ") + toString(r.outputCategory());
  if (r.valueDim > 0)
    s += " " + std::to_string(r.valueDim);
  if (r.indexDim > 0)
    s += (r.valueDim > 0 ? " + " : " ") + std::to_string(r.indexDim) + " indices";
  s += " (" + r.kind + " over " + toString(r.reducedCategory()) + ")";
  return s;
}

} // namespace kconv
