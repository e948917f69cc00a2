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
 * The cuda twins live in libwarm_cuda.so.1 (built when the toolkit is
 * found), reached through the table below.
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
  int sizing; /* wk_ctx_create_sizing: workspace queries only */
  /* wk_set_pack_arena: the caller's arena and the cpu backend's table of
   * what it holds (conv3d_dnnl.c). */
  char *pack;
  size_t pack_bytes, pack_used;
  void *packs;
};

/* Records a message in c->err and returns code. */
int wk__fail(wk_ctx *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Bytes per element of a weight dtype (0 for an unknown dtype). */
static inline size_t wk__dtype_size(wk_dtype dt) {
  return dt == WK_F32 ? 4 : dt == WK_BF16 ? 2 : dt == WK_FP8_E4M3 ? 1 : 0;
}

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
/* The cpu backend's pack arena (conv3d_dnnl.c): the bytes conv p's packed
 * weights take, and freeing the context's table of packed copies. */
size_t wkcpu__conv3d_packed_bytes(const wk_conv3d *p);
void wkcpu__packs_free(wk_ctx *c);
/* wk_channel_rmsnorm on the cpu, in place over channel-first x. */
int wkcpu__channel_rmsnorm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                           float eps, const float *scale, const float *shift,
                           int act, float *y);

/* The backend twins of every device-facing function in wk.h. F maps an op
 * name to the declarator: the prefixed function (wkcpu_X, wkcu_X) or a
 * member of the cuda table ((*X)). Signatures are exactly wk.h's. */
#define WK__BACKEND_FNS(F)                                                     \
  int F(dev_alloc)(wk_ctx *c, size_t bytes, void **out);                      \
  int F(dev_mem_info)(wk_ctx *c, size_t *free_bytes, size_t *total_bytes);    \
  void F(dev_free)(wk_ctx *c, void *ptr);                                     \
  int F(host_alloc_pinned)(wk_ctx *c, size_t bytes, void **out);              \
  void F(host_free_pinned)(wk_ctx *c, void *ptr);                             \
  int F(host_register)(wk_ctx *c, void *ptr, size_t bytes);                   \
  int F(host_unregister)(wk_ctx *c, void *ptr);                               \
  int F(copy_h2d)(wk_ctx *c, void *dst, const void *src, size_t n);           \
  int F(copy_d2h)(wk_ctx *c, void *dst, const void *src, size_t n);           \
  int F(copy_d2d)(wk_ctx *c, void *dst, const void *src, size_t n);           \
  int F(memset)(wk_ctx *c, void *dst, int value, size_t n);                   \
  int F(copy_h2d_async)(wk_ctx *c, void *dst, const void *src, size_t n);     \
  int F(event_create)(wk_ctx *c, wk_event **out);                             \
  void F(event_destroy)(wk_ctx *c, wk_event *e);                              \
  int F(event_record_copy)(wk_ctx *c, wk_event *e);                           \
  int F(event_record_compute)(wk_ctx *c, wk_event *e);                        \
  int F(compute_wait)(wk_ctx *c, wk_event *e);                                \
  int F(copy_wait)(wk_ctx *c, wk_event *e);                                   \
  int F(event_sync)(wk_ctx *c, wk_event *e);                                  \
  int F(sync)(wk_ctx *c);                                                     \
  int F(convert)(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,      \
                 wk_dtype src_dt, size_t n, float scale);                     \
  int F(linear)(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,      \
                wk_w bias, int64_t N, float *y);                              \
  size_t F(linear_workspace)(wk_ctx *c, int64_t M, int64_t K, int64_t N,      \
                             wk_dtype wdt);                                   \
  int F(gemm)(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,      \
              int64_t K, float alpha, const float *A, int64_t lda, int64_t sA, \
              const float *B, int64_t ldb, int64_t sB, float beta, float *C,  \
              int64_t ldc, int64_t sC, int64_t batch);                        \
  int F(rmsnorm)(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim, \
                 float eps, int plus_one, float *y);                          \
  int F(layernorm)(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,   \
                   int64_t dim, float eps, float *y);                         \
  int F(softmax)(wk_ctx *c, const float *x, int64_t rows, int64_t cols,       \
                 float *y);                                                   \
  int F(gelu_tanh)(wk_ctx *c, const float *x, int64_t n, float *y);           \
  int F(silu)(wk_ctx *c, const float *x, int64_t n, float *y);                \
  int F(add)(wk_ctx *c, const float *a, const float *b, int64_t n, float *y); \
  int F(mul)(wk_ctx *c, const float *a, const float *b, int64_t n, float *y); \
  int F(scale)(wk_ctx *c, const float *x, float s, int64_t n, float *y);      \
  int F(add_row)(wk_ctx *c, const float *x, const float *v, int64_t rows,     \
                 int64_t cols, float *y);                                     \
  int F(modulate)(wk_ctx *c, const float *x, const float *scale,              \
                  const float *shift, int64_t rows, int64_t cols, float *y);  \
  int F(gate_add)(wk_ctx *c, const float *res, const float *gate,             \
                  const float *h, int64_t rows, int64_t cols, float *y);      \
  int F(transpose)(wk_ctx *c, const float *x, int64_t rows, int64_t cols,     \
                   float *y);                                                 \
  int F(embed_gather)(wk_ctx *c, wk_w table, int64_t V, int64_t C,            \
                      const int32_t *ids, int64_t T, float mult, float *out); \
  int F(embed_gather_host)(wk_ctx *c, wk_w table, int64_t V, int64_t C,       \
                           const int32_t *ids, int64_t T, float mult,         \
                           float *out);                                       \
  int F(rope)(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,           \
              const float *cos, const float *sin, int mode);                  \
  int F(attention)(wk_ctx *c, const wk_attn *a, const float *q,               \
                   const float *k, const float *v, float *out);               \
  size_t F(attention_workspace)(wk_ctx *c, const wk_attn *a);                 \
  int F(conv3d_fwd)(wk_ctx *c, const wk_conv3d *p, const float *x,            \
                    wk_w weight, wk_w bias, float *y);                        \
  size_t F(conv3d_workspace)(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt);    \
  int F(depth_to_space3d)(wk_ctx *c, const float *x, int64_t C, int64_t T,    \
                          int64_t H, int64_t W, int pt, int ph, int pw,       \
                          float *y);                                           \
  int F(range_norm)(wk_ctx *c, const float *x, int64_t rows, int64_t cols,    \
                    int64_t row0, float eps, float *y);                        \
  int F(head_gate)(wk_ctx *c, const float *x, const float *g, int64_t rows,   \
                   int64_t H, int64_t D, float *y);                            \
  int F(conv1d_fwd)(wk_ctx *c, const wk_conv1d *p, const float *x,            \
                    wk_w weight, wk_w bias, float *y);                         \
  size_t F(conv1d_workspace)(wk_ctx *c, const wk_conv1d *p, wk_dtype wdt);    \
  int F(conv_transpose1d)(wk_ctx *c, const wk_convt1d *p, const float *x,     \
                          wk_w weight, wk_w bias, float *y);                   \
  int F(upsample_nearest)(wk_ctx *c, const float *x, int64_t C, int64_t T,    \
                          int64_t H, int64_t W, int ft, int fh, int fw,        \
                          float *y);                                           \
  int F(group_norm)(wk_ctx *c, const float *x, int64_t C, int64_t S,          \
                    int64_t groups, wk_w w, wk_w b, float eps, float *y);      \
  int F(leaky_relu)(wk_ctx *c, const float *x, int64_t n, float slope,        \
                    float *y);                                                 \
  int F(tanh)(wk_ctx *c, const float *x, int64_t n, float *y);                \
  int F(snake)(wk_ctx *c, const float *x, int64_t C, int64_t L, wk_w alpha,   \
               wk_w beta, int logscale, float *y);                             \
  int F(space_to_depth3d)(wk_ctx *c, const float *x, int64_t C, int64_t T,    \
                          int64_t H, int64_t W, int pt, int ph, int pw,        \
                          int64_t group, float *y);                            \
  int F(pad1d)(wk_ctx *c, const float *x, int64_t C, int64_t L, int64_t front, \
               int64_t back, int mode, float *y);                              \
  int F(complex_abs)(wk_ctx *c, const float *x, int64_t N, int64_t T,         \
                     float *y);                                                \
  int F(clamp)(wk_ctx *c, const float *x, int64_t n, float lo, float hi,      \
               int take_log, float *y);

/* The same names, for filling the table. */
#define WK__BACKEND_NAMES(X) X(dev_alloc) X(dev_mem_info) X(dev_free)         \
  X(host_alloc_pinned) X(host_free_pinned) X(host_register)                   \
  X(host_unregister) X(copy_h2d) X(copy_d2h) X(copy_d2d) X(memset)            \
  X(copy_h2d_async) X(event_create) X(event_destroy) X(event_record_copy)     \
  X(event_record_compute) X(compute_wait) X(copy_wait) X(event_sync) X(sync)  \
  X(convert) X(linear) X(linear_workspace) X(gemm) X(rmsnorm) X(layernorm)    \
  X(softmax) X(gelu_tanh) X(silu) X(add) X(mul) X(scale) X(add_row)           \
  X(modulate) X(gate_add) X(transpose) X(embed_gather) X(embed_gather_host)   \
  X(rope) X(attention) X(attention_workspace) X(conv3d_fwd)                   \
  X(conv3d_workspace) X(depth_to_space3d) \
  X(range_norm) X(head_gate) X(conv1d_fwd) X(conv1d_workspace)               \
  X(conv_transpose1d) X(upsample_nearest) X(group_norm) X(leaky_relu)         \
  X(tanh) X(snake) X(space_to_depth3d) X(pad1d) X(complex_abs) X(clamp)
#define WK__N_BACKEND_FNS 58

#define WK__CPU_FN(n) wkcpu_##n
WK__BACKEND_FNS(WK__CPU_FN)

/* The CUDA backend is its own library, libwarm_cuda.so.1 (cuda/), loaded
 * on demand the first time a CUDA device is asked about, so a cpu-only
 * machine, and a plugin that never touches CUDA, need no CUDA runtime.
 * It exports one function, wkcu_backend_table, returning this table. */
#define WK__PTR_FN(n) (*n)
typedef struct wk__cuda_table {
  int abi; /* WK__CUDA_TABLE_ABI: front and library built together */
  int (*device_count)(void);
  int (*ctx_init)(wk_ctx *c);
  void (*ctx_fini)(wk_ctx *c);
  WK__BACKEND_FNS(WK__PTR_FN)
} wk__cuda_table;
#define WK__CUDA_TABLE_ABI (1000 + WK__N_BACKEND_FNS)

/* The loaded table, or NULL (no library, or no CUDA runtime behind it; the
 * reason is then in *why). Thread-safe; loads once. */
const wk__cuda_table *wk__cuda(const char **why);

#ifdef WK_HAVE_CUDA /* compiling the CUDA library itself */
int wkcu_device_count(void);
int wkcu_ctx_init(wk_ctx *c);
void wkcu_ctx_fini(wk_ctx *c);
#define WK__CU_FN(n) wkcu_##n
WK__BACKEND_FNS(WK__CU_FN)
#endif

/* Front dispatch: calls the twin of the context's backend. A cuda context
 * exists only once the table has loaded. */
#define WK__CALL(c, name, ...)                                                 \
  ((c)->backend == WK_BACKEND_CUDA ? wk__cuda(NULL)->name(__VA_ARGS__)         \
                                   : wkcpu_##name(__VA_ARGS__))

#ifdef __cplusplus
}
#endif

#endif /* WK_INTERNAL_H */
