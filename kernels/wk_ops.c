/*
 * wk_ops.c — the front of the op library, part 2: argument checks and
 * dispatch for every op in wk.h. A failed check returns WK_EINVAL (or
 * WK_ESPACE for a short workspace) with a message naming the op and the
 * argument; nothing reaches a backend unless the shape rules in wk.h hold.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wk_internal.h"
#include "wk_pad.h"

#include "wk_check.h"

/* ---- dtypes -------------------------------------------------------------- */

int wk_convert(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,
               wk_dtype src_dt, size_t n, float scale) {
  const char *op = "wk_convert";
  if (!c) return WK_EINVAL;
  if (!wk__dtype_size(dst_dt) || !wk__dtype_size(src_dt))
    return wk__fail(c, WK_EINVAL, "%s: unknown dtype (dst %d, src %d)", op,
                    (int)dst_dt, (int)src_dt);
  if (n == 0) return 0;
  if (!dst || !src) return wk__fail(c, WK_EINVAL, "%s: NULL buffer", op);
  if ((dst_dt == WK_FP8_E4M3 || src_dt == WK_FP8_E4M3) && dst_dt != src_dt &&
      !(isfinite(scale) && scale > 0.0f))
    return wk__fail(c, WK_EINVAL,
                    "%s: fp8 scale must be finite and > 0 (got %g)", op,
                    (double)scale);
  if (overlap(dst, (int64_t)(n * wk__dtype_size(dst_dt)), src,
              (int64_t)(n * wk__dtype_size(src_dt))) &&
      dst != src)
    return wk__fail(c, WK_EINVAL, "%s: dst partly overlaps src", op);
  if (dst == src && dst_dt != src_dt)
    return wk__fail(c, WK_EINVAL, "%s: in-place conversion changes size", op);
  return WK__CALL(c, convert, c, dst, dst_dt, src, src_dt, n, scale);
}

/* ---- linear algebra ------------------------------------------------------ */

size_t wk_linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                           wk_dtype wdt) {
  if (!c || M < 0 || K < 0 || N < 0 || M > WK__DIM_MAX || K > WK__DIM_MAX ||
      N > WK__DIM_MAX || !wk__dtype_size(wdt))
    return 0;
  return WK__CALL(c, linear_workspace, c, M, K, N, wdt);
}

int wk_linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,
              wk_w bias, int64_t N, float *y) {
  const char *op = "wk_linear";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, M, K, N));
  WK__TRY(ptr_ok(c, op, "x", x, mul2(M, K)));
  WK__TRY(ptr_ok(c, op, "y", y, mul2(M, N)));
  WK__TRY(w_ok(c, op, "W", W, mul2(N, K), 0));
  WK__TRY(w_ok(c, op, "bias", bias, N, 1));
  if (overlap(x, mul2(M, K) * 4, y, mul2(M, N) * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (M == 0 || N == 0) return 0;
  WK__TRY(ws_ok(c, op, WK__CALL(c, linear_workspace, c, M, K, N, W.dtype)));
  return WK__CALL(c, linear, c, x, M, K, W, bias, N, y);
}

int wk_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,
            int64_t K, float alpha, const float *A, int64_t lda, int64_t sA,
            const float *B, int64_t ldb, int64_t sB, float beta, float *C,
            int64_t ldc, int64_t sC, int64_t batch) {
  const char *op = "wk_gemm";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, M, N, K, lda, ldb, ldc, sA, sB, sC, batch));
  if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1))
    return wk__fail(c, WK_EINVAL, "%s: trans flags must be 0 or 1", op);
  /* Stored shapes: A is [M,K] or [K,M]; B is [K,N] or [N,K]. */
  int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  if (M == 0 || N == 0 || batch == 0) return 0;
  if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) ||
      ldc < N)
    return wk__fail(c, WK_EINVAL,
                    "%s: leading dimension too small (lda %lld ldb %lld ldc "
                    "%lld for M %lld N %lld K %lld)",
                    op, (long long)lda, (long long)ldb, (long long)ldc,
                    (long long)M, (long long)N, (long long)K);
  int64_t c_span = mul2(M - 1, ldc) + N;
  if (batch > 1 && sC < c_span)
    return wk__fail(c, WK_EINVAL, "%s: C batches overlap (sC %lld < %lld)", op,
                    (long long)sC, (long long)c_span);
  if (K > 0) {
    WK__TRY(
        ptr_ok(c, op, "A", A, a_rows > 0 ? mul2(a_rows - 1, lda) + a_cols : 0));
    WK__TRY(
        ptr_ok(c, op, "B", B, b_rows > 0 ? mul2(b_rows - 1, ldb) + b_cols : 0));
  }
  WK__TRY(ptr_ok(c, op, "C", C, c_span));
  if (!isfinite(alpha) || !isfinite(beta))
    return wk__fail(c, WK_EINVAL, "%s: alpha/beta not finite", op);
  return WK__CALL(c, gemm, c, trans_a, trans_b, M, N, K, alpha, A, lda, sA, B,
                  ldb, sB, beta, C, ldc, sC, batch);
}

/* ---- normalisation and elementwise --------------------------------------- */

int wk_rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim,
               float eps, int plus_one, float *y) {
  const char *op = "wk_rmsnorm";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, rows, dim));
  if (rows > 0 && dim == 0) return wk__fail(c, WK_EINVAL, "%s: dim is 0", op);
  if (!(eps >= 0.0f) || !isfinite(eps))
    return wk__fail(c, WK_EINVAL, "%s: eps must be finite and >= 0", op);
  WK__TRY(ptr_ok(c, op, "x", x, mul2(rows, dim)));
  WK__TRY(ptr_ok(c, op, "y", y, mul2(rows, dim)));
  WK__TRY(w_ok(c, op, "w", w, dim, 1));
  if (rows == 0) return 0;
  return WK__CALL(c, rmsnorm, c, x, w, rows, dim, eps, plus_one ? 1 : 0, y);
}

int wk_layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,
                 int64_t dim, float eps, float *y) {
  const char *op = "wk_layernorm";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, rows, dim));
  if (rows > 0 && dim == 0) return wk__fail(c, WK_EINVAL, "%s: dim is 0", op);
  if (!(eps >= 0.0f) || !isfinite(eps))
    return wk__fail(c, WK_EINVAL, "%s: eps must be finite and >= 0", op);
  WK__TRY(ptr_ok(c, op, "x", x, mul2(rows, dim)));
  WK__TRY(ptr_ok(c, op, "y", y, mul2(rows, dim)));
  WK__TRY(w_ok(c, op, "w", w, dim, 1));
  WK__TRY(w_ok(c, op, "b", b, dim, 1));
  if (rows == 0) return 0;
  return WK__CALL(c, layernorm, c, x, w, b, rows, dim, eps, y);
}

int wk_softmax(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
               float *y) {
  const char *op = "wk_softmax";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, rows, cols));
  if (rows > 0 && cols == 0) return wk__fail(c, WK_EINVAL, "%s: cols is 0", op);
  WK__TRY(ptr_ok(c, op, "x", x, mul2(rows, cols)));
  WK__TRY(ptr_ok(c, op, "y", y, mul2(rows, cols)));
  if (rows == 0) return 0;
  return WK__CALL(c, softmax, c, x, rows, cols, y);
}

#define WK__UNARY(name)                                                        \
  int wk_##name(wk_ctx *c, const float *x, int64_t n, float *y) {              \
    if (!c) return WK_EINVAL;                                                  \
    WK__TRY(WK__DIMS(c, "wk_" #name, n));                                      \
    WK__TRY(ptr_ok(c, "wk_" #name, "x", x, n));                                \
    WK__TRY(ptr_ok(c, "wk_" #name, "y", y, n));                                \
    if (n == 0) return 0;                                                      \
    return WK__CALL(c, name, c, x, n, y);                                      \
  }
WK__UNARY(gelu_tanh)
WK__UNARY(silu)

#define WK__BINARY(name)                                                       \
  int wk_##name(wk_ctx *c, const float *a, const float *b, int64_t n,          \
                float *y) {                                                    \
    if (!c) return WK_EINVAL;                                                  \
    WK__TRY(WK__DIMS(c, "wk_" #name, n));                                      \
    WK__TRY(ptr_ok(c, "wk_" #name, "a", a, n));                                \
    WK__TRY(ptr_ok(c, "wk_" #name, "b", b, n));                                \
    WK__TRY(ptr_ok(c, "wk_" #name, "y", y, n));                                \
    if (n == 0) return 0;                                                      \
    return WK__CALL(c, name, c, a, b, n, y);                                   \
  }
WK__BINARY(add)
WK__BINARY(mul)

int wk_scale(wk_ctx *c, const float *x, float s, int64_t n, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, "wk_scale", n));
  WK__TRY(ptr_ok(c, "wk_scale", "x", x, n));
  WK__TRY(ptr_ok(c, "wk_scale", "y", y, n));
  if (n == 0) return 0;
  return WK__CALL(c, scale, c, x, s, n, y);
}

/* Row-broadcast ops: x/y [rows, cols], vectors [cols]. */
static int rowop_ok(wk_ctx *c, const char *op, const float *x, int64_t rows,
                    int64_t cols, const float *y) {
  WK__TRY(WK__DIMS(c, op, rows, cols));
  WK__TRY(ptr_ok(c, op, "x", x, mul2(rows, cols)));
  return ptr_ok(c, op, "y", y, mul2(rows, cols));
}

int wk_add_row(wk_ctx *c, const float *x, const float *v, int64_t rows,
               int64_t cols, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, "wk_add_row", x, rows, cols, y));
  WK__TRY(ptr_ok(c, "wk_add_row", "v", v, rows > 0 ? cols : 0));
  if (rows == 0 || cols == 0) return 0;
  return WK__CALL(c, add_row, c, x, v, rows, cols, y);
}

int wk_modulate(wk_ctx *c, const float *x, const float *scale,
                const float *shift, int64_t rows, int64_t cols, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, "wk_modulate", x, rows, cols, y));
  WK__TRY(ptr_ok(c, "wk_modulate", "scale", scale, rows > 0 ? cols : 0));
  WK__TRY(ptr_ok(c, "wk_modulate", "shift", shift, rows > 0 ? cols : 0));
  if (rows == 0 || cols == 0) return 0;
  return WK__CALL(c, modulate, c, x, scale, shift, rows, cols, y);
}

int wk_channel_rmsnorm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                       float eps, const float *scale, const float *shift,
                       int act, float *tmp, float *y) {
  const char *op = "wk_channel_rmsnorm";
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, op, x, C, S, y));
  if (!(eps >= 0.0f)) return wk__fail(c, WK_EINVAL, "%s: bad eps", op);
  if (!scale != !shift)
    return wk__fail(c, WK_EINVAL, "%s: scale and shift go together", op);
  WK__TRY(ptr_ok(c, op, "scale", scale, scale ? C : 0));
  WK__TRY(ptr_ok(c, op, "shift", shift, shift ? C : 0));
  if (C == 0 || S == 0) return 0;
  if (c->backend == WK_BACKEND_CPU)
    return wkcpu__channel_rmsnorm(c, x, C, S, eps, scale, shift, act, y);
  /* CUDA: channel-last through tmp, with the row ops. */
  WK__TRY(ptr_ok(c, op, "tmp", tmp, mul2(C, S)));
  wk_w none = {NULL, WK_F32, 1.0f};
  WK__TRY(WK__CALL(c, transpose, c, x, C, S, tmp));
  WK__TRY(WK__CALL(c, rmsnorm, c, tmp, none, S, C, eps, 0, tmp));
  if (scale) WK__TRY(WK__CALL(c, modulate, c, tmp, scale, shift, S, C, tmp));
  if (act) WK__TRY(WK__CALL(c, silu, c, tmp, mul2(S, C), tmp));
  return WK__CALL(c, transpose, c, tmp, S, C, y);
}

int wk_gate_add(wk_ctx *c, const float *res, const float *gate, const float *h,
                int64_t rows, int64_t cols, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, "wk_gate_add", res, rows, cols, y));
  WK__TRY(ptr_ok(c, "wk_gate_add", "gate", gate, rows > 0 ? cols : 0));
  WK__TRY(ptr_ok(c, "wk_gate_add", "h", h, mul2(rows, cols)));
  if (rows == 0 || cols == 0) return 0;
  return WK__CALL(c, gate_add, c, res, gate, h, rows, cols, y);
}

int wk_transpose(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                 float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, "wk_transpose", x, rows, cols, y));
  if (overlap(x, mul2(rows, cols) * 4, y, mul2(rows, cols) * 4))
    return wk__fail(c, WK_EINVAL, "wk_transpose: y overlaps x");
  if (rows == 0 || cols == 0) return 0;
  return WK__CALL(c, transpose, c, x, rows, cols, y);
}

/* ---- LTX-2 text conditioning ---------------------------------------------- */

int wk_range_norm(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                  int64_t row0, float eps, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(rowop_ok(c, "wk_range_norm", x, rows, cols, y));
  if (row0 < 0 || row0 >= rows)
    return wk__fail(c, WK_EINVAL,
                    "wk_range_norm: row0 %lld outside [0, rows %lld)",
                    (long long)row0, (long long)rows);
  if (!(eps >= 0.0f) || !isfinite(eps))
    return wk__fail(c, WK_EINVAL, "wk_range_norm: eps must be finite, >= 0");
  if (cols == 0) return 0;
  return WK__CALL(c, range_norm, c, x, rows, cols, row0, eps, y);
}

int wk_head_gate(wk_ctx *c, const float *x, const float *g, int64_t rows,
                 int64_t H, int64_t D, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, "wk_head_gate", rows, H, D));
  WK__TRY(rowop_ok(c, "wk_head_gate", x, rows, mul2(H, D), y));
  WK__TRY(ptr_ok(c, "wk_head_gate", "g", g, mul2(rows, H)));
  if (rows == 0 || H == 0 || D == 0) return 0;
  return WK__CALL(c, head_gate, c, x, g, rows, H, D, y);
}

/* ---- embeddings and positions -------------------------------------------- */

static int gather_ok(wk_ctx *c, const char *op, wk_w table, int64_t V,
                     int64_t C, const int32_t *ids, int64_t T, float mult,
                     float *out) {
  WK__TRY(WK__DIMS(c, op, V, C, T));
  WK__TRY(w_ok(c, op, "table", table, T > 0 ? mul2(V, C) : 0, 0));
  WK__TRY(ptr_ok(c, op, "ids", ids, T));
  WK__TRY(ptr_ok(c, op, "out", out, mul2(T, C)));
  if (!isfinite(mult))
    return wk__fail(c, WK_EINVAL, "%s: mult is not finite", op);
  for (int64_t t = 0; t < T; t++)
    if (ids[t] < 0 || ids[t] >= V)
      return wk__fail(c, WK_EINVAL, "%s: ids[%lld] = %d is outside [0, %lld)",
                      op, (long long)t, (int)ids[t], (long long)V);
  return 0;
}

int wk_embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                    const int32_t *ids, int64_t T, float mult, float *out) {
  if (!c) return WK_EINVAL;
  WK__TRY(gather_ok(c, "wk_embed_gather", table, V, C, ids, T, mult, out));
  if (T == 0 || C == 0) return 0;
  return WK__CALL(c, embed_gather, c, table, V, C, ids, T, mult, out);
}

int wk_embed_gather_host(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                         const int32_t *ids, int64_t T, float mult,
                         float *out) {
  if (!c) return WK_EINVAL;
  WK__TRY(gather_ok(c, "wk_embed_gather_host", table, V, C, ids, T, mult, out));
  if (T == 0 || C == 0) return 0;
  return WK__CALL(c, embed_gather_host, c, table, V, C, ids, T, mult, out);
}

int wk_rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,
            const float *cos, const float *sin, int mode) {
  const char *op = "wk_rope";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, T, H, D));
  if (D % 2)
    return wk__fail(c, WK_EINVAL, "%s: D = %lld is odd", op, (long long)D);
  if (mode != WK_ROPE_HALF && mode != WK_ROPE_INTERLEAVED)
    return wk__fail(c, WK_EINVAL, "%s: unknown mode %d", op, mode);
  WK__TRY(ptr_ok(c, op, "x", x, mul2(T, mul2(H, D))));
  WK__TRY(ptr_ok(c, op, "cos", cos, H > 0 ? mul2(T, D) : 0));
  WK__TRY(ptr_ok(c, op, "sin", sin, H > 0 ? mul2(T, D) : 0));
  if (T == 0 || H == 0 || D == 0) return 0;
  return WK__CALL(c, rope, c, x, T, H, D, cos, sin, mode);
}

/* ---- attention ----------------------------------------------------------- */

static int attn_ok(wk_ctx *c, const char *op, const wk_attn *a) {
  if (!a) return wk__fail(c, WK_EINVAL, "%s: NULL descriptor", op);
  WK__TRY(WK__DIMS(c, op, a->B, a->Tq, a->Tk, a->Hq, a->Hkv, a->D, a->window));
  if (a->Hkv == 0 || a->Hq % a->Hkv != 0)
    return wk__fail(c, WK_EINVAL,
                    "%s: Hq = %lld is not a multiple of Hkv = %lld", op,
                    (long long)a->Hq, (long long)a->Hkv);
  if (!isfinite(a->scale))
    return wk__fail(c, WK_EINVAL, "%s: scale is not finite", op);
  return 0;
}

size_t wk_attention_workspace(wk_ctx *c, const wk_attn *a) {
  if (!c || !a || a->B < 0 || a->Tq < 0 || a->Tk < 0 || a->Hq < 0 ||
      a->Hkv <= 0 || a->D < 0 || a->B > WK__DIM_MAX || a->Tq > WK__DIM_MAX ||
      a->Tk > WK__DIM_MAX || a->Hq > WK__DIM_MAX || a->D > WK__DIM_MAX)
    return 0;
  return WK__CALL(c, attention_workspace, c, a);
}

int wk_attention(wk_ctx *c, const wk_attn *a, const float *q, const float *k,
                 const float *v, float *out) {
  const char *op = "wk_attention";
  if (!c) return WK_EINVAL;
  WK__TRY(attn_ok(c, op, a));
  int64_t nq = mul2(mul2(a->B, a->Tq), mul2(a->Hq, a->D));
  int64_t nk = mul2(mul2(a->B, a->Tk), mul2(a->Hkv, a->D));
  WK__TRY(ptr_ok(c, op, "q", q, nq));
  WK__TRY(ptr_ok(c, op, "out", out, nq));
  WK__TRY(ptr_ok(c, op, "k", k, nq > 0 ? nk : 0));
  WK__TRY(ptr_ok(c, op, "v", v, nq > 0 ? nk : 0));
  if (overlap(out, nq * 4, k, nk * 4) || overlap(out, nq * 4, v, nk * 4))
    return wk__fail(c, WK_EINVAL, "%s: out overlaps k or v", op);
  if (nq == 0) return 0;
  WK__TRY(ws_ok(c, op, WK__CALL(c, attention_workspace, c, a)));
  return WK__CALL(c, attention, c, a, q, k, v, out);
}

/* ---- video --------------------------------------------------------------- */

static int pad_mode_ok(wk_ctx *c, const char *op, const char *what, int mode,
                       int64_t pad0, int64_t pad1, int64_t n) {
  if (mode < WK_PAD_DEFAULT || mode > WK_PAD_REPLICATE)
    return wk__fail(c, WK_EINVAL, "%s: %s padding mode %d is unknown", op,
                    what, mode);
  if (mode == WK_PAD_REFLECT && (pad0 >= n || pad1 >= n))
    return wk__fail(c, WK_EINVAL,
                    "%s: reflect padding %lld/%lld needs an axis longer than "
                    "the pad (%s is %lld)",
                    op, (long long)pad0, (long long)pad1, what, (long long)n);
  return 0;
}

static int conv_ok(wk_ctx *c, const char *op, const wk_conv3d *p) {
  if (!p) return wk__fail(c, WK_EINVAL, "%s: NULL descriptor", op);
  WK__TRY(WK__DIMS(c, op, p->Ci, p->T, p->H, p->W, p->Co, p->kt, p->kh, p->kw,
                   p->pt_front, p->pt_back, p->ph, p->pw, p->ph_back,
                   p->pw_back));
  if (!p->Ci || !p->T || !p->H || !p->W || !p->Co || !p->kt || !p->kh || !p->kw)
    return wk__fail(c, WK_EINVAL, "%s: a size or kernel extent is 0", op);
  WK__TRY(pad_mode_ok(c, op, "temporal", p->tpad, p->pt_front, p->pt_back,
                      p->T));
  WK__TRY(pad_mode_ok(c, op, "height", p->spad, p->ph, wk__ph_back(p), p->H));
  WK__TRY(pad_mode_ok(c, op, "width", p->spad, p->pw, wk__pw_back(p), p->W));
  if (wk_conv3d_out_t(p) < 1 || wk_conv3d_out_h(p) < 1 ||
      wk_conv3d_out_w(p) < 1)
    return wk__fail(c, WK_EINVAL, "%s: kernel larger than the padded input",
                    op);
  return 0;
}

size_t wk_conv3d_workspace(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt) {
  if (!c || conv_ok(c, "wk_conv3d_workspace", p) || !wk__dtype_size(wdt))
    return 0;
  return WK__CALL(c, conv3d_workspace, c, p, wdt);
}

size_t wk_conv3d_packed_bytes(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt) {
  if (!c || conv_ok(c, "wk_conv3d_packed_bytes", p) || !wk__dtype_size(wdt) ||
      c->backend != WK_BACKEND_CPU)
    return 0;
  return wkcpu__conv3d_packed_bytes(p);
}

int wk_conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x, wk_w weight,
                  wk_w bias, float *y) {
  const char *op = "wk_conv3d_fwd";
  if (!c) return WK_EINVAL;
  WK__TRY(conv_ok(c, op, p));
  int64_t To = wk_conv3d_out_t(p), Ho = wk_conv3d_out_h(p),
          Wo = wk_conv3d_out_w(p);
  int64_t nx = mul2(mul2(p->Ci, p->T), mul2(p->H, p->W));
  int64_t ny = mul2(mul2(p->Co, To), mul2(Ho, Wo));
  int64_t nw = mul2(mul2(p->Co, p->Ci), mul2(p->kt, mul2(p->kh, p->kw)));
  WK__TRY(ptr_ok(c, op, "x", x, nx));
  WK__TRY(ptr_ok(c, op, "y", y, ny));
  WK__TRY(w_ok(c, op, "weight", weight, nw, 0));
  WK__TRY(w_ok(c, op, "bias", bias, p->Co, 1));
  if (overlap(x, nx * 4, y, ny * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  WK__TRY(ws_ok(c, op, WK__CALL(c, conv3d_workspace, c, p, weight.dtype)));
  return WK__CALL(c, conv3d_fwd, c, p, x, weight, bias, y);
}

int wk_depth_to_space3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int pt, int ph, int pw,
                        float *y) {
  const char *op = "wk_depth_to_space3d";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, T, H, W));
  if (pt < 1 || ph < 1 || pw < 1)
    return wk__fail(c, WK_EINVAL, "%s: factors must be >= 1 (%d, %d, %d)", op,
                    pt, ph, pw);
  int64_t n = mul2(mul2(mul2(C, T), mul2(H, W)), (int64_t)pt * ph * pw);
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  if (overlap(x, n * 4, y, n * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (n == 0) return 0;
  return WK__CALL(c, depth_to_space3d, c, x, C, T, H, W, pt, ph, pw, y);
}
