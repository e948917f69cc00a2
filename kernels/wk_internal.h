/*
 * wk_internal.h — what the op front (wk.c, wk_ops.c) and the two backends
 * share.
 *
 * Every public function wk_X in wk.h that touches the device has a twin in
 * each backend with the identical signature: wkcpu_X (cpu/) and wkcu_X
 * (cuda/). The twins are declared once below through WK__BACKEND_DECLS so the
 * two lists cannot drift apart. wk.c / wk_ops.c check the arguments that are
 * backend-independent (NULLs, negative sizes, strides, GQA divisibility,
 * workspace size) and dispatch on c->backend, so a backend may assume:
 *   - c is non-NULL and of its own backend;
 *   - pointers an op reads or writes are non-NULL when their size is > 0;
 *   - sizes are >= 0 and the shape rules written in wk.h hold;
 *   - the workspace is at least the backend's own *_workspace() answer.
 * The cuda twins exist only when WK_HAVE_CUDA is defined (the toolkit was
 * found at build time and kernels/cuda/ has sources).
 *
 * The host-side scalar helpers (wk_f32_to_bf16, wk_bf16_to_f32,
 * wk_f32_to_fp8, wk_fp8_to_f32, wk_rope_table_1d) are backend-independent
 * and live in wk_dtype.c; device code mirrors their rounding.
 */
#ifndef WK_INTERNAL_H
#define WK_INTERNAL_H

#include "wk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WK_ERR_MAX 256

struct wk_ctx {
  wk_backend backend;
  int device;  /* cuda ordinal */
  int threads; /* cpu worker threads */
  int bf16_act; /* wk_set_bf16_activations */
  void *ws;    /* caller-provided workspace */
  size_t ws_bytes;
  char err[WK_ERR_MAX];
  void *cpu; /* cpu backend state (thread pool), owned by cpu/ */
  void *cu;  /* cuda backend state (streams, handles), owned by cuda/ */
};

/* Records a message in c->err and returns code. */
int wk__fail(wk_ctx *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Bytes per element of a weight dtype (0 for an unknown dtype). */
size_t wk__dtype_size(wk_dtype dt);

/*
 * Scalar dtype conversions: the rounding both backends reproduce bit for bit.
 *   f32 -> bf16: round to nearest, ties to even; NaN stays a (quiet) NaN.
 *   f32 -> fp8 e4m3fn: round to nearest, ties to even, saturating to +-448
 *                      (infinities too); NaN -> 0x7F.
 * No fenv state is read, so results never depend on the rounding mode.
 * (__builtin_memcpy: this header is also compiled as C++ inside extern "C".)
 */
static inline uint32_t wk__f32_bits(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  return u;
}

static inline float wk__bits_f32(uint32_t u) {
  float x;
  __builtin_memcpy(&x, &u, 4);
  return x;
}

static inline uint16_t wk__f32_to_bf16(float x) {
  uint32_t u = wk__f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: keep sign, force quiet bit */
    return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline float wk__bf16_to_f32(uint16_t x) {
  return wk__bits_f32((uint32_t)x << 16);
}

static inline uint8_t wk__f32_to_fp8(float x) {
  uint32_t u = wk__f32_bits(x);
  uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7F;                    /* NaN */
  if (a >= 0x43E00000u) return (uint8_t)(sign | 0x7E); /* |x| >= 448 */
  if (a < 0x3C800000u) { /* |x| < 2^-6: subnormal, units of 2^-9 (exact) */
    float q = wk__bits_f32(a) * 512.0f;
    uint32_t i = (uint32_t)q;
    float r = q - (float)i;
    if (r > 0.5f || (r == 0.5f && (i & 1u))) i++;
    return (uint8_t)(sign | i); /* i == 8 is the smallest normal, 0x08 */
  }
  /* Normal: keep 3 mantissa bits, ties to even, then rebias 127 -> 7. */
  a += 0x7FFFFu + ((a >> 20) & 1u);
  uint32_t code = (a >> 20) - ((127u - 7u) << 3);
  if (code > 0x7Eu) code = 0x7E;
  return (uint8_t)(sign | code);
}

static inline float wk__fp8_to_f32(uint8_t x) {
  uint32_t sign = (uint32_t)(x & 0x80u) << 24;
  uint32_t e = (x >> 3) & 0xFu, m = x & 7u;
  if (e == 0xF && m == 7) return wk__bits_f32(0x7FC00000u | sign);
  if (e == 0) {
    float v = (float)m * (1.0f / 512.0f);
    return sign ? -v : v;
  }
  return wk__bits_f32(sign | ((e + 127u - 7u) << 23) | (m << 20));
}

/* Backend lifecycle: fill c->cpu / c->cu; fini frees them. */
int wkcpu_ctx_init(wk_ctx *c);
void wkcpu_ctx_fini(wk_ctx *c);
#ifdef WK_HAVE_CUDA
int wkcu_device_count(void);
int wkcu_ctx_init(wk_ctx *c);
void wkcu_ctx_fini(wk_ctx *c);
#endif

/* The backend twins of every device-facing function in wk.h. P is the
 * prefix (wkcpu_ or wkcu_). Signatures are exactly wk.h's. */
#define WK__BACKEND_DECLS(P)                                                   \
  int P##dev_alloc(wk_ctx *c, size_t bytes, void **out);                       \
  int P##dev_mem_info(wk_ctx *c, size_t *free_bytes, size_t *total_bytes);     \
  void P##dev_free(wk_ctx *c, void *ptr);                                      \
  int P##host_alloc_pinned(wk_ctx *c, size_t bytes, void **out);               \
  void P##host_free_pinned(wk_ctx *c, void *ptr);                              \
  int P##host_register(wk_ctx *c, void *ptr, size_t bytes);                    \
  int P##host_unregister(wk_ctx *c, void *ptr);                                \
  int P##copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n);            \
  int P##copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n);            \
  int P##copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n);            \
  int P##memset(wk_ctx *c, void *dst, int value, size_t n);                    \
  int P##copy_h2d_async(wk_ctx *c, void *dst, const void *src, size_t n);      \
  int P##event_create(wk_ctx *c, wk_event **out);                              \
  void P##event_destroy(wk_ctx *c, wk_event *e);                               \
  int P##event_record_copy(wk_ctx *c, wk_event *e);                            \
  int P##event_record_compute(wk_ctx *c, wk_event *e);                         \
  int P##compute_wait(wk_ctx *c, wk_event *e);                                 \
  int P##copy_wait(wk_ctx *c, wk_event *e);                                    \
  int P##event_sync(wk_ctx *c, wk_event *e);                                   \
  int P##sync(wk_ctx *c);                                                      \
  int P##convert(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,       \
                 wk_dtype src_dt, size_t n, float scale);                      \
  int P##linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,       \
                wk_w bias, int64_t N, float *y);                               \
  size_t P##linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,       \
                             wk_dtype wdt);                                    \
  int P##gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,       \
              int64_t K, float alpha, const float *A, int64_t lda, int64_t sA, \
              const float *B, int64_t ldb, int64_t sB, float beta, float *C,   \
              int64_t ldc, int64_t sC, int64_t batch);                         \
  int P##rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim, \
                 float eps, int plus_one, float *y);                           \
  int P##layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,    \
                   int64_t dim, float eps, float *y);                          \
  int P##softmax(wk_ctx *c, const float *x, int64_t rows, int64_t cols,        \
                 float *y);                                                    \
  int P##gelu_tanh(wk_ctx *c, const float *x, int64_t n, float *y);            \
  int P##silu(wk_ctx *c, const float *x, int64_t n, float *y);                 \
  int P##add(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);  \
  int P##mul(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);  \
  int P##scale(wk_ctx *c, const float *x, float s, int64_t n, float *y);       \
  int P##add_row(wk_ctx *c, const float *x, const float *v, int64_t rows,      \
                 int64_t cols, float *y);                                      \
  int P##modulate(wk_ctx *c, const float *x, const float *scale,               \
                  const float *shift, int64_t rows, int64_t cols, float *y);   \
  int P##gate_add(wk_ctx *c, const float *res, const float *gate,              \
                  const float *h, int64_t rows, int64_t cols, float *y);       \
  int P##transpose(wk_ctx *c, const float *x, int64_t rows, int64_t cols,      \
                   float *y);                                                  \
  int P##embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,             \
                      const int32_t *ids, int64_t T, float mult, float *out);  \
  int P##embed_gather_host(wk_ctx *c, wk_w table, int64_t V, int64_t C,        \
                           const int32_t *ids, int64_t T, float mult,          \
                           float *out);                                        \
  int P##rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,            \
              const float *cos, const float *sin, int mode);                   \
  int P##attention(wk_ctx *c, const wk_attn *a, const float *q,                \
                   const float *k, const float *v, float *out);                \
  size_t P##attention_workspace(wk_ctx *c, const wk_attn *a);                  \
  int P##conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x,             \
                    wk_w weight, wk_w bias, float *y);                         \
  size_t P##conv3d_workspace(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt);     \
  int P##depth_to_space3d(wk_ctx *c, const float *x, int64_t C, int64_t T,     \
                          int64_t H, int64_t W, int pt, int ph, int pw,        \
                          float *y);

WK__BACKEND_DECLS(wkcpu_)
#ifdef WK_HAVE_CUDA
WK__BACKEND_DECLS(wkcu_)
#endif

/* Front dispatch: calls the twin of the context's backend. */
#ifdef WK_HAVE_CUDA
#define WK__CALL(c, name, ...)                                                 \
  ((c)->backend == WK_BACKEND_CUDA ? wkcu_##name(__VA_ARGS__)                  \
                                   : wkcpu_##name(__VA_ARGS__))
#else
#define WK__CALL(c, name, ...) wkcpu_##name(__VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif

#endif /* WK_INTERNAL_H */
