//===- CApi.cpp - the C API over Runtime.h ---------------------------------===//
#include "kconv/Runtime/kconv.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <new>

struct kconv_artifact {
  std::shared_ptr<kconv::Artifact> artifact;
};

namespace {

thread_local std::string lastError;
thread_local std::string lastReason;

static_assert(int(kconv::ErrorCode::InvalidArgument) == KCONV_INVALID_ARGUMENT &&
                  int(kconv::ErrorCode::InvalidArtifact) == KCONV_INVALID_ARTIFACT &&
                  int(kconv::ErrorCode::IoError) == KCONV_IO_ERROR &&
                  int(kconv::ErrorCode::Unsupported) == KCONV_UNSUPPORTED &&
                  int(kconv::ErrorCode::DeviceError) == KCONV_DEVICE_ERROR &&
                  int(kconv::ErrorCode::Internal) == KCONV_INTERNAL,
              "kconv_status and kconv::ErrorCode must agree");

/// Runs `body`, turning any exception into a status and the thread's last error.
template <typename F> kconv_status guarded(const char *function, F &&body) {
  try {
    body();
    return KCONV_OK;
  } catch (const kconv::Error &e) {
    lastError = e.what();
    return kconv_status(int(e.code()));
  } catch (const std::bad_alloc &) {
    lastError = std::string(function) + ": out of memory";
    return KCONV_INTERNAL;
  } catch (const std::exception &e) {
    lastError = std::string(function) + ": internal error: " + e.what();
    return KCONV_INTERNAL;
  } catch (...) {
    lastError = std::string(function) + ": internal error";
    return KCONV_INTERNAL;
  }
}

void require(const void *pointer, const char *function, const char *what) {
  if (!pointer)
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       std::string(function) + ": " + what + " is a null pointer");
}

void fill(const kconv::ReductionInfo &r, kconv_reduction_info *info) {
  info->name = r.name.c_str();
  info->kind = r.kind.c_str();
  info->axis = r.axis;
  info->value_dim = r.valueDim;
  info->index_dim = r.indexDim;
  info->k = r.k;
  info->num_variables = int64_t(r.variables.size());
}

} // namespace

extern "C" {

const char *kconv_last_error(void) { return lastError.c_str(); }

const char *kconv_version(void) { return KCONV_VERSION_STRING; }

int kconv_default_threads(void) { return kconv::defaultThreadCount(); }

kconv_status kconv_load(const char *path, kconv_artifact **artifact) {
  return guarded("kconv_load", [&] {
    require(path, "kconv_load", "path");
    require(artifact, "kconv_load", "artifact");
    auto loaded = kconv::Artifact::load(path);
    *artifact = new kconv_artifact{std::move(loaded)};
  });
}

kconv_status kconv_load_memory(const void *data, size_t size, const char *sourceName,
                               kconv_artifact **artifact) {
  return guarded("kconv_load_memory", [&] {
    require(data, "kconv_load_memory", "data");
    require(artifact, "kconv_load_memory", "artifact");
    auto loaded = kconv::Artifact::fromBytes(
        std::string_view(static_cast<const char *>(data), size),
        sourceName ? sourceName : "<memory>");
    *artifact = new kconv_artifact{std::move(loaded)};
  });
}

void kconv_free(kconv_artifact *artifact) { delete artifact; }

kconv_status kconv_set_threads(kconv_artifact *artifact, int threads) {
  return guarded("kconv_set_threads", [&] {
    require(artifact, "kconv_set_threads", "artifact");
    artifact->artifact->setThreads(threads);
  });
}

kconv_status kconv_num_reductions(const kconv_artifact *artifact, int64_t *count) {
  return guarded("kconv_num_reductions", [&] {
    require(artifact, "kconv_num_reductions", "artifact");
    require(count, "kconv_num_reductions", "count");
    *count = int64_t(artifact->artifact->reductions().size());
  });
}

kconv_status kconv_reduction_at(const kconv_artifact *artifact, int64_t index,
                                     kconv_reduction_info *info) {
  return guarded("kconv_reduction_at", [&] {
    require(artifact, "kconv_reduction_at", "artifact");
    require(info, "kconv_reduction_at", "info");
    const auto &reductions = artifact->artifact->reductions();
    if (index < 0 || index >= int64_t(reductions.size()))
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         "kconv_reduction_at: index " + std::to_string(index) +
                             " out of range [0, " + std::to_string(reductions.size()) + ")");
    fill(reductions[size_t(index)], info);
  });
}

kconv_status kconv_reduction_by_name(const kconv_artifact *artifact, const char *reduction,
                                          kconv_reduction_info *info) {
  return guarded("kconv_reduction_by_name", [&] {
    require(artifact, "kconv_reduction_by_name", "artifact");
    require(reduction, "kconv_reduction_by_name", "reduction");
    require(info, "kconv_reduction_by_name", "info");
    fill(artifact->artifact->reduction(reduction), info);
  });
}

kconv_status kconv_variable_at(const kconv_artifact *artifact, const char *reduction,
                                 int64_t index, kconv_variable_info *info) {
  return guarded("kconv_variable_at", [&] {
    require(artifact, "kconv_variable_at", "artifact");
    require(reduction, "kconv_variable_at", "reduction");
    require(info, "kconv_variable_at", "info");
    const kconv::ReductionInfo &r = artifact->artifact->reduction(reduction);
    if (index < 0 || index >= int64_t(r.variables.size()))
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         "kconv_variable_at: reduction '" + r.name + "' has " +
                             std::to_string(r.variables.size()) + " variables, no index " +
                             std::to_string(index));
    const kconv::VariableInfo &v = r.variables[size_t(index)];
    info->name = v.name.c_str();
    info->category = v.category == kconv::VarCategory::Vi   ? KCONV_CATEGORY_I
                     : v.category == kconv::VarCategory::Vj ? KCONV_CATEGORY_J
                                                            : KCONV_CATEGORY_P;
    info->dim = v.dim;
  });
}

kconv_status kconv_cpu_available(const kconv_artifact *artifact, const char *reduction,
                                 int *available, const char **reason) {
  return guarded("kconv_cpu_available", [&] {
    require(artifact, "kconv_cpu_available", "artifact");
    require(reduction, "kconv_cpu_available", "reduction");
    require(available, "kconv_cpu_available", "available");
    lastReason = artifact->artifact->cpuUnavailableReason(reduction);
    *available = lastReason.empty() ? 1 : 0;
    if (reason)
      *reason = lastReason.c_str();
  });
}

kconv_status kconv_gpu_available(const kconv_artifact *artifact, const char *reduction,
                                 int *available, const char **reason) {
  return guarded("kconv_gpu_available", [&] {
    require(artifact, "kconv_gpu_available", "artifact");
    require(reduction, "kconv_gpu_available", "reduction");
    require(available, "kconv_gpu_available", "available");
    lastReason = artifact->artifact->gpuUnavailableReason(reduction);
    *available = lastReason.empty() ? 1 : 0;
    if (reason)
      *reason = lastReason.c_str();
  });
}

void kconv_run_options_init(kconv_run_options *options) {
  if (!options)
    return;
  options->device = KCONV_DEVICE_AUTO;
  options->threads = 0;
  options->input_rows = nullptr;
  options->input_dims = nullptr;
  options->memory = KCONV_MEMORY_HOST;
  options->stream = nullptr;
  options->devices = nullptr;
  options->num_devices = 0;
  options->input_batch_rank = nullptr;
  options->input_batch = nullptr;
  options->input_batch_strides = nullptr;
}

} // extern "C"

namespace {

[[noreturn]] void invalidArgument(const char *function, const std::string &what) {
  throw kconv::Error(kconv::ErrorCode::InvalidArgument, std::string(function) + ": " + what);
}

/// Sets the batch shapes (and strides, when `strides` is given) of `in` from the C arrays of
/// kconv_run_options / kconv_broadcast_batch_shape: `rank` one entry per input (NULL: none).
void setBatches(const char *function, std::vector<kconv::Input> &in, const int64_t *rank,
                const int64_t *const *batch, const int64_t *const *strides,
                const char *rankName, const char *batchName, const char *stridesName) {
  if (!rank) {
    if (batch)
      invalidArgument(function, std::string(batchName) + " given without " + rankName);
    if (strides)
      invalidArgument(function, std::string(stridesName) + " given without " + rankName);
    return;
  }
  for (size_t k = 0; k < in.size(); ++k) {
    const int64_t n = rank[k];
    if (n < 0)
      invalidArgument(function, std::string(rankName) + "[" + std::to_string(k) +
                                    "] must be >= 0, got " + std::to_string(n));
    if (n == 0)
      continue;
    if (!batch || !batch[k])
      invalidArgument(function, "input " + std::to_string(k) + " has batch rank " +
                                    std::to_string(n) + " but " + batchName +
                                    (batch ? "[" + std::to_string(k) + "]" : std::string()) +
                                    " is a null pointer");
    in[k].batch.assign(batch[k], batch[k] + n);
    if (strides && strides[k])
      in[k].batchStrides.assign(strides[k], strides[k] + n);
  }
}

/// The inputs (data pointers, then the per-input shapes of `options`) and the options of a call
/// (`function` names the C entry point in messages).
std::vector<kconv::Input> callInputs(const char *function, const float *const *inputs,
                                     int64_t numInputs, const kconv_run_options *options,
                                     kconv::RunOptions &runOptions) {
  if (numInputs < 0)
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       std::string(function) + ": num_inputs must be >= 0, got " + std::to_string(numInputs));
  if (numInputs > 0)
    require(inputs, function, "inputs");
  std::vector<kconv::Input> in(static_cast<size_t>(numInputs));
  for (int64_t k = 0; k < numInputs; ++k)
    in[size_t(k)].data = inputs[k];
  if (options) {
    switch (options->device) {
    case KCONV_DEVICE_CPU: runOptions.device = kconv::Device::Cpu; break;
    case KCONV_DEVICE_GPU: runOptions.device = kconv::Device::Gpu; break;
    case KCONV_DEVICE_AUTO: runOptions.device = kconv::Device::Auto; break;
    default:
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         std::string(function) + ": unknown device " + std::to_string(int(options->device)));
    }
    runOptions.threads = options->threads;
    switch (options->memory) {
    case KCONV_MEMORY_HOST: runOptions.memory = kconv::Memory::Host; break;
    case KCONV_MEMORY_DEVICE: runOptions.memory = kconv::Memory::CudaDevice; break;
    default:
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         std::string(function) + ": unknown memory kind " + std::to_string(options->memory));
    }
    runOptions.stream = options->stream;
    if (options->num_devices < 0 || (options->num_devices > 0 && !options->devices))
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         std::string(function) + ": devices must hold num_devices (>= 0) ordinals");
    runOptions.devices.assign(options->devices, options->devices + options->num_devices);
    for (int64_t k = 0; k < numInputs; ++k) {
      if (options->input_rows)
        in[size_t(k)].rows = options->input_rows[k];
      if (options->input_dims)
        in[size_t(k)].dim = options->input_dims[k];
    }
    setBatches(function, in, options->input_batch_rank, options->input_batch,
               options->input_batch_strides, "input_batch_rank", "input_batch",
               "input_batch_strides");
  }
  return in;
}

/// kconv_run and kconv_run_outputs (`function` names the entry in messages).
kconv_status runOutputs(const char *function, const kconv_artifact *artifact,
                        const char *reduction, const float *const *inputs, int64_t numInputs,
                        kconv::Outputs outputs, int64_t nI, int64_t nJ,
                        const kconv_run_options *options) {
  return guarded(function, [&] {
    require(artifact, function, "artifact");
    require(reduction, function, "reduction");
    kconv::RunOptions runOptions;
    std::vector<kconv::Input> in = callInputs(function, inputs, numInputs, options, runOptions);
    artifact->artifact->run(reduction, in, outputs, nI, nJ, runOptions);
  });
}

/// The reduction names of a kconv_run_many / kconv_fused_reduction call.
std::vector<std::string> reductionNames(const char *function, int64_t count,
                                        const char *const *names) {
  if (count < 1)
    invalidArgument(function, "num_reductions must be >= 1, got " + std::to_string(count));
  require(names, function, "reductions");
  std::vector<std::string> result;
  for (int64_t k = 0; k < count; ++k) {
    if (!names[k])
      invalidArgument(function, "reductions[" + std::to_string(k) + "] is NULL");
    result.push_back(names[k]);
  }
  return result;
}

} // namespace

extern "C" {

kconv_status kconv_run_outputs(const kconv_artifact *artifact, const char *reduction,
                               const float *const *inputs, int64_t numInputs, float *values,
                               int64_t *indices, int64_t nI, int64_t nJ,
                               const kconv_run_options *options) {
  return runOutputs("kconv_run_outputs", artifact, reduction, inputs, numInputs,
                    kconv::Outputs{values, indices}, nI, nJ, options);
}

kconv_status kconv_broadcast_batch_shape(const kconv_artifact *artifact, const char *reduction,
                                         int64_t numInputs, const int64_t *const *batch,
                                         const int64_t *rank, int64_t *shape, int64_t capacity,
                                         int64_t *rankOut) {
  const char *function = "kconv_broadcast_batch_shape";
  return guarded(function, [&] {
    require(artifact, function, "artifact");
    require(reduction, function, "reduction");
    require(rankOut, function, "rank_out");
    if (numInputs < 0)
      invalidArgument(function, "num_inputs must be >= 0, got " + std::to_string(numInputs));
    if (capacity < 0)
      invalidArgument(function, "capacity must be >= 0, got " + std::to_string(capacity));
    std::vector<kconv::Input> in(static_cast<size_t>(numInputs));
    setBatches(function, in, rank, batch, nullptr, "rank", "batch", "strides");
    const std::vector<int64_t> result = artifact->artifact->broadcastBatchShape(reduction, in);
    if (shape && int64_t(result.size()) > capacity)
      invalidArgument(function, "the broadcast batch shape has rank " +
                                    std::to_string(result.size()) + ", shape holds " +
                                    std::to_string(capacity));
    if (shape)
      std::copy(result.begin(), result.end(), shape);
    *rankOut = int64_t(result.size());
  });
}

kconv_status kconv_run(const kconv_artifact *artifact, const char *reduction,
                       const float *const *inputs, int64_t numInputs, float *out, int64_t nI,
                       int64_t nJ, const kconv_run_options *options) {
  return runOutputs("kconv_run", artifact, reduction, inputs, numInputs,
                    kconv::Outputs{out, nullptr}, nI, nJ, options);
}


kconv_status kconv_run_many(const kconv_artifact *artifact, int64_t numReductions,
                            const char *const *reductions, int64_t numInputs,
                            const char *const *inputNames, const float *const *inputs,
                            float *const *values, int64_t *const *indices, int64_t nI,
                            int64_t nJ, const kconv_run_options *options) {
  const char *function = "kconv_run_many";
  return guarded(function, [&] {
    require(artifact, function, "artifact");
    std::vector<std::string> names = reductionNames(function, numReductions, reductions);
    kconv::RunOptions runOptions;
    std::vector<kconv::Input> in = callInputs(function, inputs, numInputs, options, runOptions);
    if (numInputs > 0)
      require(inputNames, function, "input_names");
    std::map<std::string, kconv::Input, std::less<>> byName;
    for (int64_t k = 0; k < numInputs; ++k) {
      if (!inputNames[k])
        invalidArgument(function, "input_names[" + std::to_string(k) + "] is NULL");
      if (!byName.emplace(inputNames[k], in[size_t(k)]).second)
        invalidArgument(function, "input '" + std::string(inputNames[k]) + "' is given twice");
    }
    std::vector<kconv::Outputs> outputs(names.size());
    for (size_t k = 0; k < names.size(); ++k)
      outputs[k] = {values ? values[k] : nullptr, indices ? indices[k] : nullptr};
    artifact->artifact->runMany(names, byName, outputs, nI, nJ, runOptions);
  });
}

kconv_status kconv_fused_reduction(const kconv_artifact *artifact, int64_t numReductions,
                                   const char *const *reductions, const char **fused,
                                   int64_t *valueOffsets, int64_t *indexOffsets) {
  const char *function = "kconv_fused_reduction";
  return guarded(function, [&] {
    require(artifact, function, "artifact");
    require(fused, function, "fused");
    std::vector<std::string> names = reductionNames(function, numReductions, reductions);
    const kconv::ReductionInfo *r = artifact->artifact->fusedReduction(names);
    *fused = r ? r->name.c_str() : nullptr;
    if (!r)
      return;
    const auto columns = artifact->artifact->fusedColumns(*r, names);
    for (size_t k = 0; k < columns.size(); ++k) {
      if (valueOffsets)
        valueOffsets[k] = columns[k].values;
      if (indexOffsets)
        indexOffsets[k] = columns[k].indices;
    }
  });
}

} // extern "C"
