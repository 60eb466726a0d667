/*===- fake_cuda.c - a CPU stand-in for libcuda.so.1, for tests -----------===
 *
 * Loaded by the runtime instead of the CUDA driver through $KCONV_LIBCUDA, so that the GPU
 * backend's host-side logic (driver loading, device and module setup, pointer checks, buffers,
 * launch plans, memset + split-j, errors) runs where there is no GPU. "Device memory" is host
 * memory from malloc, tracked so that cuPointerGetAttributes can tell it from other pointers.
 * cuLaunchKernel computes the kernels of the Gaussian reduction (out_i = sum_j exp(-|x_i -
 * y_j|^2) b_j: kernels named kconv_gpu_gaussian_conv*) on the CPU over exactly the rows and the
 * reduced range its grid covers: plain kernels store, split-j kernels add. Kernels named
 * kconv_gpu_nearest* compute min_argmin_j (x_i - y_j) per component (X i 3, Y j 3: the runtime
 * tests' index-kind reduction, test/unit/TestArtifacts.h) into values and indices, in float as
 * the CPU kernel does (ties to the smallest j, +inf / -1 for an empty range); they have no
 * split-j form (a split-j launch of them fails). Rows per thread: 1 for
 * *_r1* kernels, else $FAKE_CUDA_ROWS (default 4); block size $FAKE_CUDA_BLOCK (default 256); a
 * *_small* kernel's block covers block/8 rows and the whole reduced range.
 *
 * $FAKE_CUDA_SMS (default 4) and $FAKE_CUDA_OCCUPANCY (blocks per SM, default 4) shape the device.
 * $FAKE_CUDA_MODE: "ok" (default), "nodevice" (cuInit fails with CUDA_ERROR_NO_DEVICE), "oom"
 * (cuMemAlloc fails), "launchfail" (cuLaunchKernel fails), "badmodule" (module load fails).
 *===----------------------------------------------------------------------===*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

static const char *mode(void) {
  const char *m = getenv("FAKE_CUDA_MODE");
  return m ? m : "ok";
}

/* Allocations, to answer cuPointerGetAttributes. */
#define MAX_ALLOCS 4096
static struct { char *base; size_t size; } allocs[MAX_ALLOCS];
static int used; /* slots [0, used) may hold allocations */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int isDevice(const void *p) {
  int found = 0;
  pthread_mutex_lock(&lock);
  for (int k = 0; k < used; ++k)
    if (allocs[k].base && (const char *)p >= allocs[k].base &&
        (const char *)p < allocs[k].base + allocs[k].size)
      found = 1;
  pthread_mutex_unlock(&lock);
  return found;
}

CUresult cuInit(unsigned flags) { (void)flags; return strcmp(mode(), "nodevice") ? 0 : 100; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }
CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : r == 100 ? "CUDA_ERROR_NO_DEVICE"
       : r == 200 ? "CUDA_ERROR_INVALID_IMAGE" : r == 719 ? "CUDA_ERROR_LAUNCH_FAILED"
                                                         : "CUDA_ERROR_UNKNOWN";
  return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = r == 2 ? "out of memory" : r == 100 ? "no CUDA-capable device is detected"
       : r == 200 ? "device kernel image is invalid" : r == 719 ? "unspecified launch failure"
                                                               : "unknown error";
  return 0;
}
/* $FAKE_CUDA_DEVICES: how many GPUs (default 1, at most 16); the launch log then names each
   launch's device (its current context). */
static int deviceCount(void) {
  const char *n = getenv("FAKE_CUDA_DEVICES");
  int count = n ? atoi(n) : 1;
  return count < 1 ? 1 : count > 16 ? 16 : count;
}
CUresult cuDeviceGetCount(int *n) { *n = deviceCount(); return 0; }
CUresult cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return ordinal >= 0 && ordinal < deviceCount() ? 0 : 101;
}
CUresult cuDeviceGetName(char *name, int len, int d) {
  (void)d;
  snprintf(name, (size_t)len, "Fake GPU (CPU stand-in)");
  return 0;
}
CUresult cuDeviceGetAttribute(int *v, int attribute, int d) {
  (void)d;
  const char *sms = getenv("FAKE_CUDA_SMS");
  *v = attribute == 16 ? (sms ? atoi(sms) : 4) : attribute == 75 ? 9 : attribute == 76 ? 0 : 49152;
  return 0;
}
static int contexts[16];
CUresult cuDevicePrimaryCtxRetain(void **c, int d) { *c = &contexts[d]; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int d) { (void)d; return 0; }
static __thread void *current;
CUresult cuCtxGetCurrent(void **c) { *c = current; return 0; }
CUresult cuCtxGetDevice(int *d) { *d = current ? (int)((int *)current - contexts) : 0; return 0; }
CUresult cuCtxPushCurrent_v2(void *c) { current = c; return 0; }
CUresult cuCtxPopCurrent_v2(void **c) { if (c) *c = current; current = 0; return 0; }
CUresult cuCtxSynchronize(void) { return 0; }
static int module;
CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned n, int *o, void **v) {
  (void)image; (void)n; (void)o; (void)v;
  if (!strcmp(mode(), "badmodule"))
    return 200;
  *m = &module;
  return 0;
}
CUresult cuModuleUnload(void *m) { (void)m; return 0; }
/* A function handle is its name (strdup'ed, leaked: tests are short). */
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  (void)m;
  *f = strdup(name);
  return 0;
}
CUresult cuFuncGetAttribute(int *v, int a, void *f) { (void)a; (void)f; *v = 32; return 0; }
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, void *f, int b, size_t s) {
  (void)b; (void)s;
  /* $FAKE_CUDA_OCCUPANCY: blocks per SM of the R-row kernels; the one-row kernels get 8. */
  const char *occ = getenv("FAKE_CUDA_OCCUPANCY");
  *n = strstr((const char *)f, "_r1") ? 8 : occ ? atoi(occ) : 4;
  return 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t size) {
  if (!strcmp(mode(), "oom"))
    return 2;
  char *base = malloc(size ? size : 1);
  pthread_mutex_lock(&lock);
  for (int k = 0; k < MAX_ALLOCS; ++k)
    if (!allocs[k].base) {
      allocs[k].base = base;
      allocs[k].size = size;
      if (k >= used)
        used = k + 1;
      break;
    }
  pthread_mutex_unlock(&lock);
  *p = (CUdeviceptr)(uintptr_t)base;
  return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  pthread_mutex_lock(&lock);
  for (int k = 0; k < MAX_ALLOCS; ++k)
    if (allocs[k].base == (char *)(uintptr_t)p)
      allocs[k].base = 0;
  pthread_mutex_unlock(&lock);
  free((void *)(uintptr_t)p);
  return 0;
}
/* Stream-ordered allocation: immediate here (the fake's streams run in order anyway). */
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t size, void *s) { (void)s; return cuMemAlloc_v2(p, size); }
CUresult cuMemFreeAsync(CUdeviceptr p, void *s) { (void)s; return cuMemFree_v2(p); }
/* cuda.h's CUDA_MEMCPY2D; every pointer is a host address here, whatever its memory type. */
typedef struct {
  size_t srcXInBytes, srcY;
  unsigned srcMemoryType;
  const void *srcHost;
  CUdeviceptr srcDevice;
  void *srcArray;
  size_t srcPitch;
  size_t dstXInBytes, dstY;
  unsigned dstMemoryType;
  void *dstHost;
  CUdeviceptr dstDevice;
  void *dstArray;
  size_t dstPitch;
  size_t WidthInBytes, Height;
} FakeMemcpy2D;
CUresult cuMemcpy2DAsync_v2(const FakeMemcpy2D *m, void *s) {
  (void)s;
  const char *src = m->srcMemoryType == 1 ? (const char *)m->srcHost
                                          : (const char *)(uintptr_t)m->srcDevice;
  char *dst = m->dstMemoryType == 1 ? (char *)m->dstHost : (char *)(uintptr_t)m->dstDevice;
  for (size_t row = 0; row < m->Height; ++row)
    memcpy(dst + (m->dstY + row) * m->dstPitch + m->dstXInBytes,
           src + (m->srcY + row) * m->srcPitch + m->srcXInBytes, m->WidthInBytes);
  return 0;
}
CUresult cuMemGetInfo_v2(size_t *f, size_t *t) { *f = 1 << 20; *t = 1 << 30; return 0; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  (void)s;
  if (!isDevice((void *)(uintptr_t)d))
    return 1;
  memcpy((void *)(uintptr_t)d, h, n);
  return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
  (void)s;
  if (!isDevice((void *)(uintptr_t)d))
    return 1;
  memcpy(h, (void *)(uintptr_t)d, n);
  return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *s) {
  (void)s;
  if (!isDevice((void *)(uintptr_t)d))
    return 1;
  for (size_t k = 0; k < n; ++k)
    memcpy((char *)(uintptr_t)d + 4 * k, &v, 4);
  return 0;
}
CUresult cuPointerGetAttributes(unsigned n, int *attributes, void **data, CUdeviceptr p) {
  int device = isDevice((void *)(uintptr_t)p);
  for (unsigned k = 0; k < n; ++k) {
    if (attributes[k] == 2) /* memory type */
      *(unsigned *)data[k] = device ? 2u : 0u;
    else if (attributes[k] == 9) /* device ordinal */
      *(int *)data[k] = device ? 0 : -2;
  }
  return 0;
}
static int stream;
CUresult cuStreamCreate(void **s, unsigned f) { (void)f; *s = &stream; return 0; }
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void *s) { (void)s; return 0; }
static int event;
CUresult cuEventCreate(void **e, unsigned f) { (void)f; *e = &event; return 0; }
CUresult cuEventDestroy_v2(void *e) { (void)e; return 0; }
CUresult cuEventRecord(void *e, void *s) { (void)e; (void)s; return 0; }
CUresult cuEventSynchronize(void *e) { (void)e; return 0; }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 1; return 0; }

static void logLaunch(const char *log, const char *name, unsigned gx, unsigned gy, int nOut,
                      int nRed, int chunk, unsigned gz, int batchBase) {
  if (!log)
    return;
  FILE *fp = fopen(log, "a");
  if (!fp)
    return;
  if (getenv("FAKE_CUDA_DEVICES"))
    fprintf(fp, "%s %u %u %d %d %d device %d batch %u %d\n", name, gx, gy, nOut, nRed, chunk,
            current ? (int)((int *)current - contexts) : -1, gz, batchBase);
  else
    fprintf(fp, "%s %u %u %d %d %d batch %u %d\n", name, gx, gy, nOut, nRed, chunk, gz,
            batchBase);
  fclose(fp);
}

/* The batch parameters after the V pointers and values, indices, nOut, nRed, jChunk, batchBase
   (KernelABI.h): 4 int32 sizes, then per variable 4 int64 strides. The element offset of
   variable k in entry e (BatchLayout.h). */
static int64_t batchOffset(void **params, int vars, int k, long e) {
  int64_t off = 0;
  for (int d = 3; d >= 0; --d) {
    int size = *(int *)params[vars + 6 + d];
    off += (e % size) * *(int64_t *)params[vars + 10 + 4 * k + d];
    e /= size;
  }
  return off;
}

/* params: X, Y, values, indices (device pointers), nOut, nRed, jChunk, batchBase (int32), the
   batch. */
static CUresult launchNearest(const char *name, unsigned gx, unsigned gy, unsigned gz,
                              unsigned bx, void **params, const char *log) {
  const float *x = *(const float **)params[0], *y = *(const float **)params[1];
  float *values = *(float **)params[2];
  int64_t *indices = *(int64_t **)params[3];
  int nOut = *(int *)params[4], nRed = *(int *)params[5], chunk = *(int *)params[6];
  int batchBase = *(int *)params[7];
  if (strstr(name, "_splitj") || gy != 1 || chunk != nRed)
    return 1; /* no split of the reduced range exists for min_argmin */
  if (!isDevice(values) || !isDevice(indices) || (nOut > 0 && !isDevice(x)) ||
      (nRed > 0 && !isDevice(y)))
    return 1;
  logLaunch(log, name, gx, gy, nOut, nRed, chunk, gz, batchBase);
  int rows = strstr(name, "_r1") ? 1 : (getenv("FAKE_CUDA_ROWS") ? atoi(getenv("FAKE_CUDA_ROWS")) : 4);
  long rowsPerBlock = strstr(name, "_small") ? (long)bx / 8 : (long)bx * rows;
  long end = (long)gx * rowsPerBlock < nOut ? (long)gx * rowsPerBlock : nOut;
  const float *x0 = x, *y0 = y;
  float *values0 = values;
  int64_t *indices0 = indices;
  for (unsigned z = 0; z < gz; ++z) {
  x = x0 + batchOffset(params, 2, 0, batchBase + (long)z);
  y = y0 + batchOffset(params, 2, 1, batchBase + (long)z);
  values = values0 + (long)z * nOut * 3;
  indices = indices0 + (long)z * nOut * 3;
  for (long i = 0; i < end; ++i)
    for (int c = 0; c < 3; ++c) {
      float best = INFINITY;
      int64_t at = -1;
      for (long j = 0; j < nRed; ++j) {
        float v = x[3 * i + c] - y[3 * j + c];
        if (v < best) {
          best = v;
          at = j;
        }
      }
      values[3 * i + c] = best;
      indices[3 * i + c] = at;
    }
  }
  return 0;
}

/* The launches log here ($FAKE_CUDA_LOG), one line each: kernel gridX gridY nOut nRed chunk. */
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared, void *s, void **params, void **extra) {
  (void)by; (void)bz; (void)shared; (void)s; (void)extra;
  const char *name = (const char *)f;
  if (!strcmp(mode(), "launchfail"))
    return 719;
  const char *log = getenv("FAKE_CUDA_LOG");
  if (strstr(name, "nearest"))
    return launchNearest(name, gx, gy, gz, bx, params, log);
  if (strstr(name, "gaussian_conv") == NULL)
    return 0; /* other kernels: accepted, not computed */
  /* params: X, Y, B, values, indices (device pointers), nOut, nRed, jChunk, batchBase (int32),
     the batch. */
  const float *x0 = *(const float **)params[0], *y0 = *(const float **)params[1],
              *b0 = *(const float **)params[2];
  float *out0 = *(float **)params[3];
  int nOut = *(int *)params[5], nRed = *(int *)params[6], chunk = *(int *)params[7];
  int batchBase = *(int *)params[8];
  if (!isDevice(x0) || !isDevice(y0) || !isDevice(b0) || !isDevice(out0))
    return 1; /* CUDA_ERROR_INVALID_VALUE: not device memory */
  logLaunch(log, name, gx, gy, nOut, nRed, chunk, gz, batchBase);
  int rows = strstr(name, "_r1") ? 1 : (getenv("FAKE_CUDA_ROWS") ? atoi(getenv("FAKE_CUDA_ROWS")) : 4);
  int block = getenv("FAKE_CUDA_BLOCK") ? atoi(getenv("FAKE_CUDA_BLOCK")) : 256;
  if ((int)bx != block)
    return 1;
  long rowsPerBlock = (long)block * rows;
  if (strstr(name, "_small")) /* 8 slices of 32 rows (block 256) */
    rowsPerBlock = block / 8;
  int splitj = strstr(name, "_splitj") != NULL;
  if (getenv("FAKE_CUDA_NOCOMPUTE"))
    return 0; /* plan inspection only ($FAKE_CUDA_NOCOMPUTE) */
  for (unsigned z = 0; z < gz; ++z) {
  const float *x = x0 + batchOffset(params, 3, 0, batchBase + (long)z),
              *y = y0 + batchOffset(params, 3, 1, batchBase + (long)z),
              *b = b0 + batchOffset(params, 3, 2, batchBase + (long)z);
  float *out = out0 + (long)z * nOut;
  for (unsigned gyy = 0; gyy < gy; ++gyy)
    for (unsigned gxx = 0; gxx < gx; ++gxx) {
      long rowBegin = (long)gxx * rowsPerBlock, rowEnd = rowBegin + rowsPerBlock;
      long j0 = (long)gyy * chunk, j1 = j0 + chunk;
      if (j1 > nRed)
        j1 = nRed;
      for (long i = rowBegin; i < rowEnd && i < nOut; ++i) {
        double acc = 0;
        for (long j = j0; j < j1; ++j) {
          double d0 = x[3 * i] - y[3 * j], d1 = x[3 * i + 1] - y[3 * j + 1],
                 d2 = x[3 * i + 2] - y[3 * j + 2];
          acc += exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
        }
        if (splitj)
          out[i] += (float)acc;
        else
          out[i] = (float)acc;
      }
    }
  }
  return 0;
}
