/*
 * wk_cuda.h — the CUDA backend's twins of the wk.h ops.
 *
 * Each wkcu_X has exactly the signature of wk_X in wk.h. The front (wk.c)
 * has already checked backend-independent arguments (NULL pointers, negative
 * sizes) before it calls here; these functions check what is CUDA-specific
 * (workspace size, launch limits) and every driver/library return code, and
 * report failures through wk__fail. All ops are asynchronous on the
 * context's compute stream unless their comment says otherwise.
 *
 * Included by the front only when WK_HAVE_CUDA is defined. C linkage: the
 * definitions live in .cu files compiled as C++.
 */
#ifndef WK_CUDA_H
#define WK_CUDA_H

/* wk_internal.h has no extern "C" guard of its own: include it inside ours
 * so that wk__fail and the wkcu_ lifecycle declarations it holds get C
 * linkage when a .cu file includes this header. wk.h (and the C headers it
 * pulls in) come first, outside the block, under their own guard. */
#include <stddef.h>
#include <stdint.h>
#include "wk.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "wk_internal.h"

/* ---- contexts, memory, copies ------------------------------------------- */

/* Number of visible CUDA devices; 0 when none or when the driver is absent
 * (never fails). */
int wkcu_device_count(void);
/* Selects c->device, creates the compute and copy streams and the cuBLAS /
 * cuBLASLt handles, stores the state in c->cu. On failure c->cu stays NULL
 * and everything created so far is released. */
int wkcu_ctx_init(wk_ctx *c);
/* Waits for both streams, then releases everything wkcu_ctx_init made. */
void wkcu_ctx_fini(wk_ctx *c);

int wkcu_dev_alloc(wk_ctx *c, size_t bytes, void **out);
int wkcu_dev_mem_info(wk_ctx *c, size_t *free_bytes, size_t *total_bytes);
void wkcu_dev_free(wk_ctx *c, void *ptr);
int wkcu_host_alloc_pinned(wk_ctx *c, size_t bytes, void **out);
void wkcu_host_free_pinned(wk_ctx *c, void *ptr);
int wkcu_host_register(wk_ctx *c, void *ptr, size_t bytes);
int wkcu_host_unregister(wk_ctx *c, void *ptr);

int wkcu_copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n);
int wkcu_copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n);
int wkcu_copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n);
int wkcu_memset(wk_ctx *c, void *dst, int value, size_t n);
int wkcu_copy_h2d_async(wk_ctx *c, void *dst, const void *src, size_t n);

int wkcu_event_create(wk_ctx *c, wk_event **out);
void wkcu_event_destroy(wk_ctx *c, wk_event *e);
int wkcu_event_record_copy(wk_ctx *c, wk_event *e);
int wkcu_event_record_compute(wk_ctx *c, wk_event *e);
int wkcu_compute_wait(wk_ctx *c, wk_event *e);
int wkcu_copy_wait(wk_ctx *c, wk_event *e);
int wkcu_event_sync(wk_ctx *c, wk_event *e);
int wkcu_sync(wk_ctx *c);

/* ---- dtypes ---------------------------------------------------------------
 */

int wkcu_convert(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,
                 wk_dtype src_dt, size_t n, float scale);

/* ---- linear algebra -------------------------------------------------------
 */

int wkcu_linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,
                wk_w bias, int64_t N, float *y);
size_t wkcu_linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                             wk_dtype wdt);
int wkcu_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,
              int64_t K, float alpha, const float *A, int64_t lda, int64_t sA,
              const float *B, int64_t ldb, int64_t sB, float beta, float *C,
              int64_t ldc, int64_t sC, int64_t batch);

/* ---- normalisation and elementwise ----------------------------------------
 */

int wkcu_rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim,
                 float eps, int plus_one, float *y);
int wkcu_layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,
                   int64_t dim, float eps, float *y);
int wkcu_softmax(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                 float *y);
int wkcu_gelu_tanh(wk_ctx *c, const float *x, int64_t n, float *y);
int wkcu_silu(wk_ctx *c, const float *x, int64_t n, float *y);
int wkcu_add(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);
int wkcu_mul(wk_ctx *c, const float *a, const float *b, int64_t n, float *y);
int wkcu_scale(wk_ctx *c, const float *x, float s, int64_t n, float *y);
int wkcu_add_row(wk_ctx *c, const float *x, const float *v, int64_t rows,
                 int64_t cols, float *y);
int wkcu_modulate(wk_ctx *c, const float *x, const float *scale,
                  const float *shift, int64_t rows, int64_t cols, float *y);
int wkcu_gate_add(wk_ctx *c, const float *res, const float *gate,
                  const float *h, int64_t rows, int64_t cols, float *y);
int wkcu_transpose(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                   float *y);

/* ---- embeddings and positions ---------------------------------------------
 */

int wkcu_embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                      const int32_t *ids, int64_t T, float mult, float *out);
int wkcu_embed_gather_host(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                           const int32_t *ids, int64_t T, float mult,
                           float *out);
int wkcu_rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,
              const float *cos, const float *sin, int mode);

/* ---- attention ------------------------------------------------------------
 */

int wkcu_attention(wk_ctx *c, const wk_attn *a, const float *q, const float *k,
                   const float *v, float *out);
size_t wkcu_attention_workspace(wk_ctx *c, const wk_attn *a);

/* ---- video ----------------------------------------------------------------
 */

int wkcu_conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x, wk_w weight,
                    wk_w bias, float *y);
size_t wkcu_conv3d_workspace(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt);
int wkcu_depth_to_space3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                          int64_t H, int64_t W, int pt, int ph, int pw,
                          float *y);

/* ---- LTX-2 text conditioning ---------------------------------------------- */

int wkcu_range_norm(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                    int64_t row0, float eps, float *y);
int wkcu_head_gate(wk_ctx *c, const float *x, const float *g, int64_t rows,
                   int64_t H, int64_t D, float *y);

#ifdef __cplusplus
}
#endif
#endif /* WK_CUDA_H */
