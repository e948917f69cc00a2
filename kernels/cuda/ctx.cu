/*
 * ctx.cu — CUDA backend context: device, the compute and copy streams, the
 * cuBLAS handle and its workspace, memory, copies and events.
 *
 * Both streams are non-blocking (they never wait on the legacy default
 * stream). Ops and wk_copy_* run on the compute stream; only
 * wk_copy_h2d_async uses the copy stream, and events order the two.
 */
#include <stdlib.h>
#include <string.h>

#include "wkcu_internal.cuh"

/* A wk_event on this backend. The front only passes the pointer through. */
typedef struct wkcu_event {
  cudaEvent_t ev;
} wkcu_event;

int wkcu__rt(wk_ctx *c, cudaError_t e, const char *where, const char *what) {
  if (e == cudaSuccess) return WK_OK;
  return wk__fail(c, e == cudaErrorMemoryAllocation ? WK_ENOMEM : WK_EDEVICE,
                  "%s: %s failed on cuda:%d: %s (%s)", where, what, c->device,
                  cudaGetErrorString(e), cudaGetErrorName(e));
}

int wkcu__launched(wk_ctx *c, const char *where) {
  cudaError_t e = cudaGetLastError();
  return wkcu__rt(c, e, where, "kernel launch");
}

int wkcu__blas(wk_ctx *c, cublasStatus_t s, const char *where,
               const char *what) {
  if (s == CUBLAS_STATUS_SUCCESS) return WK_OK;
  return wk__fail(c, s == CUBLAS_STATUS_ALLOC_FAILED ? WK_ENOMEM : WK_EDEVICE,
                  "%s: %s failed on cuda:%d: %s (%s)", where, what, c->device,
                  cublasGetStatusString(s), cublasGetStatusName(s));
}

int wkcu__enter(wk_ctx *c, const char *where) {
  if (c->sizing)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: a sizing context (wk_ctx_create_sizing) has no "
                    "device",
                    where);
  return wkcu__rt(c, cudaSetDevice(c->device), where, "cudaSetDevice");
}

/* Never fails: no driver, no device or any other error counts as zero. */
extern "C" int wkcu_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError(); /* clear it so later calls are not poisoned */
    return 0;
  }
  return n;
}

static void wkcu__state_free(wkcu_state *s) {
  if (!s) return;
  if (s->compute) (void)cudaStreamSynchronize(s->compute);
  if (s->copy) (void)cudaStreamSynchronize(s->copy);
  if (s->blas) (void)cublasDestroy(s->blas);
  if (s->blas_ws) (void)cudaFree(s->blas_ws);
  if (s->stage_done) (void)cudaEventDestroy(s->stage_done);
  if (s->stage_dev) (void)cudaFree(s->stage_dev);
  if (s->stage_host) (void)cudaFreeHost(s->stage_host);
  if (s->compute) (void)cudaStreamDestroy(s->compute);
  if (s->copy) (void)cudaStreamDestroy(s->copy);
  free(s);
}

extern "C" int wkcu_ctx_init(wk_ctx *c) {
  static const char *W = "wk_ctx_create(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = (wkcu_state *)calloc(1, sizeof *s);
  if (!s) return wk__fail(c, WK_ENOMEM, "%s: out of host memory", W);
  cudaDeviceProp prop;
  rc = wkcu__rt(c, cudaGetDeviceProperties(&prop, c->device), W,
                "cudaGetDeviceProperties");
  if (!rc) {
    s->sm_count = prop.multiProcessorCount;
    s->smem_optin = prop.sharedMemPerBlockOptin;
    rc = wkcu__rt(c,
                  cudaStreamCreateWithFlags(&s->compute, cudaStreamNonBlocking),
                  W, "cudaStreamCreate(compute)");
  }
  if (!rc)
    rc = wkcu__rt(c, cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking),
                  W, "cudaStreamCreate(copy)");
  if (!rc)
    rc = wkcu__rt(
        c, cudaEventCreateWithFlags(&s->stage_done, cudaEventDisableTiming), W,
        "cudaEventCreate");
  if (!rc)
    rc = wkcu__rt(c, cudaMalloc(&s->blas_ws, WKCU_BLAS_WS_BYTES), W,
                  "cudaMalloc(cublas workspace)");
  if (!rc) rc = wkcu__blas(c, cublasCreate(&s->blas), W, "cublasCreate");
  if (!rc)
    rc = wkcu__blas(c, cublasSetStream(s->blas, s->compute), W,
                    "cublasSetStream");
  if (!rc)
    rc = wkcu__blas(c,
                    cublasSetWorkspace(s->blas, s->blas_ws, WKCU_BLAS_WS_BYTES),
                    W, "cublasSetWorkspace");
  /* No TF32 and no reduced-precision reductions; atomics stay disallowed
   * (the default), which keeps every routine deterministic. */
  if (!rc)
    rc = wkcu__blas(
        c,
        cublasSetMathMode(
            s->blas,
            (cublasMath_t)(CUBLAS_DEFAULT_MATH |
                           CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
        W, "cublasSetMathMode");
  if (!rc)
    rc =
        wkcu__blas(c, cublasSetAtomicsMode(s->blas, CUBLAS_ATOMICS_NOT_ALLOWED),
                   W, "cublasSetAtomicsMode");
  if (rc) {
    wkcu__state_free(s);
    return rc;
  }
  c->cu = s;
  return WK_OK;
}

extern "C" void wkcu_ctx_fini(wk_ctx *c) {
  if (!c || !c->cu) return;
  (void)cudaSetDevice(c->device);
  wkcu__state_free(wkcu__st(c));
  c->cu = NULL;
}

/* ---- staging for host-side op inputs ----------------------------------- */

int wkcu__stage(wk_ctx *c, size_t bytes, const char *where) {
  wkcu_state *s = wkcu__st(c);
  if (s->stage_pending) {
    int rc = wkcu__rt(c, cudaEventSynchronize(s->stage_done), where,
                      "cudaEventSynchronize(staging)");
    if (rc) return rc;
    s->stage_pending = 0;
  }
  if (bytes <= s->stage_bytes) return WK_OK;
  size_t want = wkcu__align(bytes < 65536 ? 65536 : bytes);
  if (s->stage_dev) (void)cudaFree(s->stage_dev);
  if (s->stage_host) (void)cudaFreeHost(s->stage_host);
  s->stage_dev = s->stage_host = NULL;
  s->stage_bytes = 0;
  int rc = wkcu__rt(c, cudaMalloc(&s->stage_dev, want), where,
                    "cudaMalloc(staging)");
  if (!rc)
    rc = wkcu__rt(c, cudaHostAlloc(&s->stage_host, want, cudaHostAllocDefault),
                  where, "cudaHostAlloc(staging)");
  if (rc) {
    if (s->stage_dev) (void)cudaFree(s->stage_dev);
    s->stage_dev = NULL;
    return rc;
  }
  s->stage_bytes = want;
  return WK_OK;
}

int wkcu__stage_release(wk_ctx *c, const char *where) {
  wkcu_state *s = wkcu__st(c);
  int rc = wkcu__rt(c, cudaEventRecord(s->stage_done, s->compute), where,
                    "cudaEventRecord(staging)");
  if (!rc) s->stage_pending = 1;
  return rc;
}

/* ---- memory ------------------------------------------------------------- */

extern "C" int wkcu_dev_mem_info(wk_ctx *c, size_t *free_bytes,
                                 size_t *total_bytes) {
  static const char *W = "wk_dev_mem_info(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  cudaError_t e = cudaMemGetInfo(free_bytes, total_bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return wk__fail(c, WK_EDEVICE, "%s: cudaMemGetInfo on cuda:%d: %s", W,
                    c->device, cudaGetErrorString(e));
  }
  return 0;
}

extern "C" int wkcu_dev_alloc(wk_ctx *c, size_t bytes, void **out) {
  static const char *W = "wk_dev_alloc(cuda)";
  *out = NULL;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  if (bytes == 0) bytes = 1; /* a distinct, freeable pointer */
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return wk__fail(c, e == cudaErrorMemoryAllocation ? WK_ENOMEM : WK_EDEVICE,
                    "%s: cudaMalloc(%zu bytes) on cuda:%d: %s", W, bytes,
                    c->device, cudaGetErrorString(e));
  }
  *out = p;
  return WK_OK;
}

/* cudaFree waits for the device to be idle, so a buffer still read by a
 * queued op is never freed under it. */
extern "C" void wkcu_dev_free(wk_ctx *c, void *ptr) {
  if (!ptr) return;
  (void)cudaSetDevice(c->device);
  (void)cudaFree(ptr);
}

extern "C" int wkcu_host_alloc_pinned(wk_ctx *c, size_t bytes, void **out) {
  static const char *W = "wk_host_alloc_pinned(cuda)";
  *out = NULL;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  if (bytes == 0) bytes = 1;
  void *p = NULL;
  cudaError_t e = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return wk__fail(c, WK_ENOMEM, "%s: cudaHostAlloc(%zu bytes): %s", W, bytes,
                    cudaGetErrorString(e));
  }
  *out = p;
  return WK_OK;
}

extern "C" void wkcu_host_free_pinned(wk_ctx *c, void *ptr) {
  if (!ptr) return;
  (void)cudaSetDevice(c->device);
  (void)cudaFreeHost(ptr);
}

/* Tries a plain registration first; a read-only mapping (an mmap'd weight
 * file) is refused by that, so it is retried as read-only where the device
 * supports it. */
extern "C" int wkcu_host_register(wk_ctx *c, void *ptr, size_t bytes) {
  static const char *W = "wk_host_register(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  if (bytes == 0) return WK_OK;
  cudaError_t e = cudaHostRegister(ptr, bytes, cudaHostRegisterPortable);
  if (e == cudaSuccess) return WK_OK;
  (void)cudaGetLastError();
  int ro = 0;
  if (cudaDeviceGetAttribute(&ro, cudaDevAttrHostRegisterReadOnlySupported,
                             c->device) == cudaSuccess &&
      ro) {
    cudaError_t e2 = cudaHostRegister(
        ptr, bytes, cudaHostRegisterPortable | cudaHostRegisterReadOnly);
    if (e2 == cudaSuccess) return WK_OK;
    (void)cudaGetLastError();
  }
  return wk__fail(c, WK_EDEVICE, "%s: cudaHostRegister(%p, %zu bytes): %s", W,
                  ptr, bytes, cudaGetErrorString(e));
}

extern "C" int wkcu_host_unregister(wk_ctx *c, void *ptr) {
  static const char *W = "wk_host_unregister(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c, cudaHostUnregister(ptr), W, "cudaHostUnregister");
}

/* ---- copies ------------------------------------------------------------- */

/* Ordered on the compute stream and complete on return: the source may be
 * pageable memory the caller reuses at once. */
extern "C" int wkcu_copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  static const char *W = "wk_copy_h2d(cuda)";
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = wkcu__st(c);
  rc = wkcu__rt(
      c, cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, s->compute), W,
      "cudaMemcpyAsync");
  if (rc) return rc;
  return wkcu__rt(c, cudaStreamSynchronize(s->compute), W,
                  "cudaStreamSynchronize");
}

/* Waits for every op queued before it, then copies; complete on return. */
extern "C" int wkcu_copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n) {
  static const char *W = "wk_copy_d2h(cuda)";
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = wkcu__st(c);
  rc = wkcu__rt(
      c, cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, s->compute), W,
      "cudaMemcpyAsync");
  if (rc) return rc;
  return wkcu__rt(c, cudaStreamSynchronize(s->compute), W,
                  "cudaStreamSynchronize");
}

extern "C" int wkcu_copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  static const char *W = "wk_copy_d2d(cuda)";
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c,
                  cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice,
                                  wkcu__st(c)->compute),
                  W, "cudaMemcpyAsync");
}

extern "C" int wkcu_memset(wk_ctx *c, void *dst, int value, size_t n) {
  static const char *W = "wk_memset(cuda)";
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c, cudaMemsetAsync(dst, value, n, wkcu__st(c)->compute), W,
                  "cudaMemsetAsync");
}

/* Queued on the copy stream and returns at once. The source must stay
 * untouched until an event recorded after it (wk_event_record_copy) has
 * completed; only a pinned/registered source truly overlaps compute. */
extern "C" int wkcu_copy_h2d_async(wk_ctx *c, void *dst, const void *src,
                                   size_t n) {
  static const char *W = "wk_copy_h2d_async(cuda)";
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(
      c,
      cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, wkcu__st(c)->copy),
      W, "cudaMemcpyAsync(copy stream)");
}

/* ---- events ------------------------------------------------------------- */

extern "C" int wkcu_event_create(wk_ctx *c, wk_event **out) {
  static const char *W = "wk_event_create(cuda)";
  *out = NULL;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_event *e = (wkcu_event *)calloc(1, sizeof *e);
  if (!e) return wk__fail(c, WK_ENOMEM, "%s: out of host memory", W);
  rc = wkcu__rt(c, cudaEventCreateWithFlags(&e->ev, cudaEventDisableTiming), W,
                "cudaEventCreateWithFlags");
  if (rc) {
    free(e);
    return rc;
  }
  *out = (wk_event *)e;
  return WK_OK;
}

extern "C" void wkcu_event_destroy(wk_ctx *c, wk_event *ev) {
  if (!ev) return;
  wkcu_event *e = (wkcu_event *)ev;
  (void)cudaSetDevice(c->device);
  (void)cudaEventDestroy(e->ev);
  free(e);
}

static int wkcu__record(wk_ctx *c, wk_event *ev, cudaStream_t st,
                        const char *W) {
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c, cudaEventRecord(((wkcu_event *)ev)->ev, st), W,
                  "cudaEventRecord");
}

static int wkcu__wait(wk_ctx *c, wk_event *ev, cudaStream_t st, const char *W) {
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c, cudaStreamWaitEvent(st, ((wkcu_event *)ev)->ev, 0), W,
                  "cudaStreamWaitEvent");
}

extern "C" int wkcu_event_record_copy(wk_ctx *c, wk_event *e) {
  return wkcu__record(c, e, wkcu__st(c)->copy, "wk_event_record_copy(cuda)");
}

extern "C" int wkcu_event_record_compute(wk_ctx *c, wk_event *e) {
  return wkcu__record(c, e, wkcu__st(c)->compute,
                      "wk_event_record_compute(cuda)");
}

extern "C" int wkcu_compute_wait(wk_ctx *c, wk_event *e) {
  return wkcu__wait(c, e, wkcu__st(c)->compute, "wk_compute_wait(cuda)");
}

extern "C" int wkcu_copy_wait(wk_ctx *c, wk_event *e) {
  return wkcu__wait(c, e, wkcu__st(c)->copy, "wk_copy_wait(cuda)");
}

extern "C" int wkcu_event_sync(wk_ctx *c, wk_event *ev) {
  static const char *W = "wk_event_sync(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  return wkcu__rt(c, cudaEventSynchronize(((wkcu_event *)ev)->ev), W,
                  "cudaEventSynchronize");
}

/* Waits for both streams; also surfaces errors of kernels that faulted
 * after their launch returned. */
extern "C" int wkcu_sync(wk_ctx *c) {
  static const char *W = "wk_sync(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = wkcu__st(c);
  rc = wkcu__rt(c, cudaStreamSynchronize(s->copy), W,
                "cudaStreamSynchronize(copy)");
  if (rc) return rc;
  return wkcu__rt(c, cudaStreamSynchronize(s->compute), W,
                  "cudaStreamSynchronize(compute)");
}
