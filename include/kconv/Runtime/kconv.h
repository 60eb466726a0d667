/*===- kconv.h - the kconv runtime's C API -------------------------*- C -*-===//
 *
 * A C view of kconv/Runtime/Runtime.h, for C programs and language bindings (python/kconv uses it
 * through ctypes). Every function returns a kconv_status; on failure kconv_last_error() gives the
 * message (thread-local: the last failed call of the calling thread; a successful call leaves it
 * unchanged). Nothing is written to outputs on failure. Strings returned by the query functions
 * belong to the artifact and live as long as it.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KCONV_RUNTIME_KCONV_H
#define KCONV_RUNTIME_KCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as kconv::ErrorCode. */
typedef enum kconv_status {
  KCONV_OK = 0,
  KCONV_INVALID_ARGUMENT = 1, /* null pointer, bad name, wrong input count, dimension mismatch */
  KCONV_INVALID_ARTIFACT = 2, /* not an artifact, truncated, corrupted, unsupported version */
  KCONV_IO_ERROR = 3,         /* file cannot be opened/read */
  KCONV_UNSUPPORTED = 4,      /* backend or feature absent from this artifact, build or host */
  KCONV_DEVICE_ERROR = 5,     /* GPU driver/device errors */
  KCONV_INTERNAL = 6
} kconv_status;

typedef enum kconv_device {
  KCONV_DEVICE_CPU = 0,
  KCONV_DEVICE_GPU = 1,
  KCONV_DEVICE_AUTO = 2
} kconv_device;

/* Where a call's arrays live (see kconv::Memory in Runtime.h). */
typedef enum kconv_memory {
  KCONV_MEMORY_HOST = 0,  /* host memory; a GPU call copies in and out and is synchronous */
  KCONV_MEMORY_DEVICE = 1 /* CUDA device memory; runs on the GPU on `stream`, asynchronously */
} kconv_memory;

typedef enum kconv_category {
  KCONV_CATEGORY_I = 0, /* Vi: indexed by i */
  KCONV_CATEGORY_J = 1, /* Vj: indexed by j */
  KCONV_CATEGORY_P = 2  /* Pm: a parameter */
} kconv_category;

typedef struct kconv_artifact kconv_artifact;

typedef struct kconv_reduction_info {
  const char *name;
  const char *kind;       /* "sum", "min", "argmin", "min_argmin", "kmin", ... (docs/reductions.md) */
  int axis;               /* 1: reduce over j, output rows = i; 0: the other way round */
  /* Components of one output row: float32 values and int64 indices; 0 when the kind has no such
     output (argmin has no values, sum no indices). The k-min kinds lay out K x F, [K][F]. */
  int64_t value_dim;
  int64_t index_dim;
  int64_t k;              /* K of kmin / argkmin / kmin_argkmin, else 1 */
  int64_t num_variables;
} kconv_reduction_info;

typedef struct kconv_variable_info {
  const char *name;
  kconv_category category;
  int64_t dim;
} kconv_variable_info;

/* Options of one call; initialize with kconv_run_options_init (fields may be added at the end). */
typedef struct kconv_run_options {
  int device;  /* a kconv_device; default KCONV_DEVICE_AUTO */
  int threads;         /* 0 (default): the artifact's setting */
  /* Optional shapes the caller states, one entry per input (NULL: not stated; an entry of -1:
     not stated); checked against nI/nJ and the variables' dimensions. */
  const int64_t *input_rows;
  const int64_t *input_dims;
  int memory;   /* a kconv_memory; default KCONV_MEMORY_HOST */
  void *stream; /* a CUstream / cudaStream_t for the GPU work; NULL: see Runtime.h */
  /* GPUs of a GPU call (CUDA ordinals; an entry -1: every visible GPU); the output rows are
     sharded over them (host memory only). NULL / 0 (default): one GPU, or $KCONV_GPU_DEVICES. */
  const int *devices;
  int num_devices;
  /* Batch dimensions (docs/runtime.md, "Batch dimensions"), one entry per input; NULL (default):
     no input has any. Input k holds the arrays of a batch of problems: [batch_k..., rows, dim]
     (a parameter [batch_k..., dim]) with batch_k = input_batch[k][0 .. input_batch_rank[k]-1]
     (rank 0: none, input_batch[k] may then be NULL). input_batch_strides[k] gives the elements
     between consecutive entries of each batch dimension (>= 0, e.g. 0 for an expanded array);
     NULL (the array or an entry): packed. Each problem's own [rows x dim] block is packed. The
     batch shapes broadcast NumPy-style (aligned on the right, 1 or missing against any size)
     into the outputs' batch shape (kconv_broadcast_batch_shape): values are then packed
     [batch..., nOut, value_dim] and indices [batch..., nOut, index_dim]. input_batch and
     input_batch_strides need input_batch_rank. */
  const int64_t *input_batch_rank;
  const int64_t *const *input_batch;
  const int64_t *const *input_batch_strides;
} kconv_run_options;

/* The message of the calling thread's last failed call ("" if none). */
const char *kconv_last_error(void);
/* The runtime's version, e.g. "0.1.0". */
const char *kconv_version(void);
/* Threads used when neither the call nor the artifact says. */
int kconv_default_threads(void);

kconv_status kconv_load(const char *path, kconv_artifact **artifact);
kconv_status kconv_load_memory(const void *data, size_t size, const char *source_name,
                               kconv_artifact **artifact);
/* NULL is accepted. No call on the artifact may be running. */
void kconv_free(kconv_artifact *artifact);

/* Default threads for the artifact's calls; 0: kconv_default_threads(). */
kconv_status kconv_set_threads(kconv_artifact *artifact, int threads);

kconv_status kconv_num_reductions(const kconv_artifact *artifact, int64_t *count);
/* By index (0 <= index < count) ... */
kconv_status kconv_reduction_at(const kconv_artifact *artifact, int64_t index,
                                     kconv_reduction_info *info);
/* ... or by name. */
kconv_status kconv_reduction_by_name(const kconv_artifact *artifact, const char *reduction,
                                          kconv_reduction_info *info);
kconv_status kconv_variable_at(const kconv_artifact *artifact, const char *reduction,
                                 int64_t index, kconv_variable_info *info);
/* *available = 1 if `reduction` can run on this host's CPU, else 0 and *reason (owned by the
   calling thread, valid until its next call of this function) says why. reason may be NULL. */
kconv_status kconv_cpu_available(const kconv_artifact *artifact, const char *reduction,
                                 int *available, const char **reason);

/* *available = 1 if `reduction` can run on a GPU of this host (the artifact has GPU code, a CUDA
   driver and a GPU are present), else 0 and *reason says why (as kconv_cpu_available). */
kconv_status kconv_gpu_available(const kconv_artifact *artifact, const char *reduction,
                                 int *available, const char **reason);

void kconv_run_options_init(kconv_run_options *options);

/* Runs `reduction` (see Artifact::run in Runtime.h): inputs[k] is variable k (argument order,
   row-major float32); values is [nOut x value_dim] float32 and indices [nOut x index_dim] int64,
   nOut = nI (axis 1) or nJ (axis 0), each with the leading batch dimensions of the call when
   options give input batch shapes (kconv_run_options.input_batch_rank). Each output pointer must
   be non-NULL (when nOut > 0) exactly when the kind has that output (value_dim > 0,
   index_dim > 0) and NULL when it has not (KCONV_INVALID_ARGUMENT otherwise). With KCONV_MEMORY_DEVICE both are device pointers.
   options may be NULL (defaults). nOut = 0 writes nothing; nReduced = 0 writes the kind's empty
   result (sum 0, min +inf, argmin -1, logsumexp -inf, ...: docs/reductions.md). */
kconv_status kconv_run_outputs(const kconv_artifact *artifact, const char *reduction,
                               const float *const *inputs, int64_t num_inputs, float *values,
                               int64_t *indices, int64_t nI, int64_t nJ,
                               const kconv_run_options *options);

/* The batch shape of the outputs of a call whose inputs (argument order) have the batch shapes
   batch[k][0 .. rank[k]-1] (as kconv_run_options.input_batch / input_batch_rank; rank NULL: no
   batch dimensions): their NumPy-style broadcast, of rank *rank_out (0: one problem). shape may be
   NULL to ask for the rank only; else it must hold `capacity` >= *rank_out entries.
   KCONV_INVALID_ARGUMENT, naming both inputs, when two batch shapes do not broadcast. */
kconv_status kconv_broadcast_batch_shape(const kconv_artifact *artifact, const char *reduction,
                                         int64_t num_inputs, const int64_t *const *batch,
                                         const int64_t *rank, int64_t *shape, int64_t capacity,
                                         int64_t *rank_out);

/* kconv_run_outputs with indices = NULL, for kinds whose only output is values (sum, min, max,
   kmin, logsumexp, ...): out is [nOut x value_dim]. */
kconv_status kconv_run(const kconv_artifact *artifact, const char *reduction,
                       const float *const *inputs, int64_t num_inputs, float *out, int64_t nI,
                       int64_t nJ, const kconv_run_options *options);

/* Runs several reductions on one set of inputs (Artifact::runMany in Runtime.h): input k is the
   variable named input_names[k] (the union of the reductions' variables, each once, all with the
   same nI and nJ; the per-input arrays of options are in this order); values[r] and indices[r]
   are the outputs of reductions[r] as for kconv_run_outputs (values or indices may be NULL when
   no reduction has that output). When the artifact has a fused reduction of exactly these
   (kconv_fused_reduction) one kernel computes them all, each output getting its columns;
   otherwise they run one after the other. */
kconv_status kconv_run_many(const kconv_artifact *artifact, int64_t num_reductions,
                            const char *const *reductions, int64_t num_inputs,
                            const char *const *input_names, const float *const *inputs,
                            float *const *values, int64_t *const *indices, int64_t nI,
                            int64_t nJ, const kconv_run_options *options);

/* *fused = the name (owned by the artifact) of its fused reduction of exactly `reductions` (in
   any order; kconv-fuse-reductions), or NULL when it has none. When there is one and
   value_offsets / index_offsets are not NULL (num_reductions entries each), entry k is the first
   column of reductions[k]'s values / indices in the fused reduction's outputs. */
kconv_status kconv_fused_reduction(const kconv_artifact *artifact, int64_t num_reductions,
                                   const char *const *reductions, const char **fused,
                                   int64_t *value_offsets, int64_t *index_offsets);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KCONV_RUNTIME_KCONV_H */
