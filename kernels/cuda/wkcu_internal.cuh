/*
 * wkcu_internal.cuh — what the CUDA backend's .cu files share: the context
 * state, error-checking helpers, and device-side element codecs whose
 * rounding mirrors the host helpers in wk_dtype.c bit for bit.
 */
#ifndef WKCU_INTERNAL_CUH
#define WKCU_INTERNAL_CUH

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <stdint.h>

#include "wk_cuda.h"

/* Fixed cuBLAS workspace per context (NVIDIA's recommendation for Hopper).
 * Passing our own buffer keeps cuBLAS from allocating behind our back and
 * keeps its algorithm choice, hence its bytes, stable run after run. */
#define WKCU_BLAS_WS_BYTES ((size_t)32 << 20)

/* Backend state behind wk_ctx.cu. Created by wkcu_ctx_init, freed by
 * wkcu_ctx_fini. Threads: ops (and the staging buffer they share) belong
 * to one host thread; a second thread may drive the copy stream at the
 * same time (wk_copy_h2d_async, wk_event_record_copy, wk_copy_wait,
 * wk_event_sync), since those touch only CUDA objects, which the runtime
 * makes thread-safe. wk_last_error is then per-context, not per-thread. */
typedef struct wkcu_state {
  cudaStream_t compute; /* all ops and wk_copy_* */
  cudaStream_t copy;    /* wk_copy_h2d_async only */
  cublasHandle_t blas;
  void *blas_ws;
  int sm_count;
  size_t smem_optin; /* max dynamic shared memory per block (opt-in) */
  /* Staging for ops whose inputs live on the host (embedding ids, host
   * table rows): a pinned buffer, its device twin, and an event marking
   * the end of the last kernel that read the device twin. */
  void *stage_host;
  void *stage_dev;
  size_t stage_bytes;
  cudaEvent_t stage_done;
  int stage_pending; /* stage_done was recorded and may be outstanding */
} wkcu_state;

static inline wkcu_state *wkcu__st(wk_ctx *c) {
  return (wkcu_state *)c->cu;
}

/* Makes c's device current on the calling thread. */
int wkcu__enter(wk_ctx *c, const char *where);
/* Turns a failed runtime call into WK_EDEVICE with its name and message. */
int wkcu__rt(wk_ctx *c, cudaError_t e, const char *where, const char *what);
/* Checks the launch just made (configuration errors show up here). */
int wkcu__launched(wk_ctx *c, const char *where);
int wkcu__blas(wk_ctx *c, cublasStatus_t s, const char *where,
               const char *what);
/* Grows the staging buffers to >= bytes after the previous user is done,
 * and returns the host/device halves. Blocks the host on the last staged
 * kernel, so callers fill stage_host only after this returns. */
int wkcu__stage(wk_ctx *c, size_t bytes, const char *where);
/* Marks the end of the kernels that read stage_dev on the compute stream. */
int wkcu__stage_release(wk_ctx *c, const char *where);

/* Grid size for a grid-stride loop over n items with `threads` per block. */
static inline unsigned wkcu__blocks(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return (unsigned)b;
}

static inline size_t wkcu__align(size_t n) {
  return (n + 255) & ~(size_t)255;
}

/* ---- device element codecs (bit-exact with wk_dtype.c) ------------------ */

/* bf16 -> f32 is exact. */
__device__ __forceinline__ float wkcu_bf16_to_f32(uint16_t h) {
  return __uint_as_float((uint32_t)h << 16);
}

/* f32 -> bf16, round to nearest even; a NaN stays a (quiet) NaN. */
__device__ __forceinline__ uint16_t wkcu_f32_to_bf16(float x) {
  uint32_t u = __float_as_uint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* fp8 e4m3fn -> f32 (exact): bias 7, no infinities, S.1111.111 is NaN. */
__device__ __forceinline__ float wkcu_fp8_to_f32(uint8_t b) {
  uint32_t s = (uint32_t)(b & 0x80u) << 24;
  uint32_t e = (b >> 3) & 0xfu, m = b & 7u;
  if (e == 15u && m == 7u) return __uint_as_float(s | 0x7fc00000u);
  if (e == 0u) {
    float v = (float)m * 0.001953125f; /* m * 2^-9 */
    return __uint_as_float(__float_as_uint(v) | s);
  }
  return __uint_as_float(s | ((e + 120u) << 23) | (m << 20));
}

/* f32 -> fp8 e4m3fn, round to nearest even, saturating to +-448 (also for
 * +-inf); NaN -> 0x7F. The sign of values that round to zero is kept. */
__device__ __forceinline__ uint8_t wkcu_f32_to_fp8(float x) {
  uint32_t u = __float_as_uint(x);
  uint8_t s = (uint8_t)((u >> 24) & 0x80u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return 0x7f;
  if (a >= 0x43e00000u) return (uint8_t)(s | 0x7eu); /* >= 448 */
  if (a < 0x3c800000u) {                             /* < 2^-6: subnormal */
    float q = __uint_as_float(a) * 512.0f;           /* exact */
    return (uint8_t)(s | (uint8_t)rintf(q));         /* 8 -> 2^-6 normal */
  }
  uint32_t e = (a >> 23) - 120u; /* fp8 exponent field, 1..15 */
  uint32_t mant = a & 0x7fffffu;
  uint32_t keep = mant >> 20, rem = mant & 0xfffffu;
  if (rem > 0x80000u || (rem == 0x80000u && (keep & 1u))) keep++;
  uint32_t code = (e << 3) + keep; /* a carry into the exponent is right */
  if (code > 0x7eu) code = 0x7eu;
  return (uint8_t)(s | code);
}

/* Element i of a weight operand as f32: decode * scale for fp8. A NaN is
 * returned as decoded: the GPU's multiply would replace it with the
 * canonical NaN and drop its sign, which the host's x86 multiply keeps, and
 * conversions must give the same bytes on both backends. */
__device__ __forceinline__ float wkcu_w_at(const void *p, wk_dtype dt,
                                           float scale, int64_t i) {
  if (dt == WK_F32) return ((const float *)p)[i];
  if (dt == WK_BF16) return wkcu_bf16_to_f32(((const uint16_t *)p)[i]);
  float v = wkcu_fp8_to_f32(((const uint8_t *)p)[i]);
  return isnan(v) ? v : v * scale;
}

/* Deterministic block sum: fixed shuffle tree, then warp 0 over the warp
 * partials in a fixed order. All threads receive the result. `red` must
 * hold 32 floats; blockDim.x must be a multiple of 32. */
__device__ __forceinline__ float wkcu_block_sum(float v, float *red) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int nw = blockDim.x >> 5;
  __syncthreads(); /* red may still be read from a previous call */
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nw ? red[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1)
      v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

__device__ __forceinline__ float wkcu_block_max(float v, float *red) {
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int nw = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nw ? red[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1)
      v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

#endif /* WKCU_INTERNAL_CUH */
