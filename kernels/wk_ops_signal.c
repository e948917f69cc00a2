/*
 * wk_ops_signal.c — the front of the audio and signal ops (wk.h "audio and
 * signal"): argument checks, then dispatch to the context's backend.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wk_check.h"
#include "wk_internal.h"
#include "wk_pad.h"

/* ---- conv1d -------------------------------------------------------------- */

static int conv1d_ok(wk_ctx *c, const char *op, const wk_conv1d *p) {
  if (!p) return wk__fail(c, WK_EINVAL, "%s: NULL descriptor", op);
  WK__TRY(WK__DIMS(c, op, p->Ci, p->L, p->Co, p->k, p->stride, p->dilation,
                   p->groups, p->pad_front, p->pad_back));
  if (!p->Ci || !p->L || !p->Co || !p->k || !p->stride || !p->dilation ||
      !p->groups)
    return wk__fail(c, WK_EINVAL,
                    "%s: a size, kernel, stride, dilation or "
                    "group count is 0",
                    op);
  if (p->Ci % p->groups || p->Co % p->groups)
    return wk__fail(c, WK_EINVAL,
                    "%s: groups %lld does not divide Ci %lld and Co %lld", op,
                    (long long)p->groups, (long long)p->Ci, (long long)p->Co);
  if (p->pad < WK_PAD_DEFAULT || p->pad > WK_PAD_REPLICATE)
    return wk__fail(c, WK_EINVAL, "%s: padding mode %d is unknown", op, p->pad);
  if (p->pad == WK_PAD_REFLECT && (p->pad_front >= p->L || p->pad_back >= p->L))
    return wk__fail(c, WK_EINVAL,
                    "%s: reflect padding %lld/%lld needs an input longer than "
                    "the pad (L is %lld)",
                    op, (long long)p->pad_front, (long long)p->pad_back,
                    (long long)p->L);
  if (wk_conv1d_out_len(p) < 1)
    return wk__fail(c, WK_EINVAL,
                    "%s: kernel span larger than the padded "
                    "input",
                    op);
  return 0;
}

size_t wk_conv1d_workspace(wk_ctx *c, const wk_conv1d *p, wk_dtype wdt) {
  if (!c || conv1d_ok(c, "wk_conv1d_workspace", p) || !wk__dtype_size(wdt))
    return 0;
  return WK__CALL(c, conv1d_workspace, c, p, wdt);
}

int wk_conv1d_fwd(wk_ctx *c, const wk_conv1d *p, const float *x, wk_w weight,
                  wk_w bias, float *y) {
  const char *op = "wk_conv1d_fwd";
  if (!c) return WK_EINVAL;
  WK__TRY(conv1d_ok(c, op, p));
  int64_t nx = mul2(p->Ci, p->L), ny = mul2(p->Co, wk_conv1d_out_len(p));
  int64_t nw = mul2(
      mul2(p->shared ? p->Co / p->groups : p->Co, p->Ci / p->groups), p->k);
  WK__TRY(ptr_ok(c, op, "x", x, nx));
  WK__TRY(ptr_ok(c, op, "y", y, ny));
  WK__TRY(w_ok(c, op, "weight", weight, nw, 0));
  WK__TRY(w_ok(c, op, "bias", bias, p->Co, 1));
  if (overlap(x, nx * 4, y, ny * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  WK__TRY(ws_ok(c, op, WK__CALL(c, conv1d_workspace, c, p, weight.dtype)));
  return WK__CALL(c, conv1d_fwd, c, p, x, weight, bias, y);
}

/* ---- conv_transpose1d ---------------------------------------------------- */

int wk_conv_transpose1d(wk_ctx *c, const wk_convt1d *p, const float *x,
                        wk_w weight, wk_w bias, float *y) {
  const char *op = "wk_conv_transpose1d";
  if (!c) return WK_EINVAL;
  if (!p) return wk__fail(c, WK_EINVAL, "%s: NULL descriptor", op);
  WK__TRY(WK__DIMS(c, op, p->Ci, p->L, p->Co, p->k, p->stride, p->padding,
                   p->groups));
  if (!p->Ci || !p->L || !p->Co || !p->k || !p->stride || !p->groups)
    return wk__fail(c, WK_EINVAL,
                    "%s: a size, kernel, stride or group count "
                    "is 0",
                    op);
  if (p->Ci % p->groups || p->Co % p->groups)
    return wk__fail(c, WK_EINVAL,
                    "%s: groups %lld does not divide Ci %lld and Co %lld", op,
                    (long long)p->groups, (long long)p->Ci, (long long)p->Co);
  int64_t Lo = wk_convt1d_out_len(p);
  if (Lo < 1)
    return wk__fail(c, WK_EINVAL, "%s: padding %lld leaves no output", op,
                    (long long)p->padding);
  int64_t nx = mul2(p->Ci, p->L), ny = mul2(p->Co, Lo);
  int64_t nw = mul2(
      mul2(p->shared ? p->Ci / p->groups : p->Ci, p->Co / p->groups), p->k);
  WK__TRY(ptr_ok(c, op, "x", x, nx));
  WK__TRY(ptr_ok(c, op, "y", y, ny));
  WK__TRY(w_ok(c, op, "weight", weight, nw, 0));
  WK__TRY(w_ok(c, op, "bias", bias, p->Co, 1));
  if (overlap(x, nx * 4, y, ny * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  return WK__CALL(c, conv_transpose1d, c, p, x, weight, bias, y);
}

/* ---- resampling and normalisation ---------------------------------------- */

int wk_space_to_depth3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int pt, int ph, int pw,
                        int64_t group, float *y) {
  const char *op = "wk_space_to_depth3d";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, T, H, W, group));
  if (pt < 1 || ph < 1 || pw < 1)
    return wk__fail(c, WK_EINVAL, "%s: factors must be >= 1 (%d, %d, %d)", op,
                    pt, ph, pw);
  int64_t cs = mul2(C, (int64_t)pt * ph * pw);
  if (group < 1 || cs < 0 || cs % group)
    return wk__fail(c, WK_EINVAL,
                    "%s: group %lld does not divide %lld "
                    "channels",
                    op, (long long)group, (long long)cs);
  int64_t n = mul2(cs, mul2(T, mul2(H, W)));
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n < 0 ? n : n / group));
  if (overlap(x, n * 4, y, n / group * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (n == 0) return 0;
  return WK__CALL(c, space_to_depth3d, c, x, C, T, H, W, pt, ph, pw, group, y);
}

int wk_upsample_nearest(wk_ctx *c, const float *x, int64_t C, int64_t T,
                        int64_t H, int64_t W, int ft, int fh, int fw,
                        float *y) {
  const char *op = "wk_upsample_nearest";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, T, H, W));
  if (ft < 1 || fh < 1 || fw < 1)
    return wk__fail(c, WK_EINVAL, "%s: factors must be >= 1 (%d, %d, %d)", op,
                    ft, fh, fw);
  int64_t n = mul2(mul2(C, T), mul2(H, W));
  int64_t ny = mul2(n, (int64_t)ft * fh * fw);
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, ny));
  if (overlap(x, n * 4, y, ny * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (n == 0) return 0;
  return WK__CALL(c, upsample_nearest, c, x, C, T, H, W, ft, fh, fw, y);
}

int wk_group_norm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                  int64_t groups, wk_w w, wk_w b, float eps, float *y) {
  const char *op = "wk_group_norm";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, S, groups));
  if (!groups || C % groups)
    return wk__fail(c, WK_EINVAL, "%s: groups %lld does not divide C %lld", op,
                    (long long)groups, (long long)C);
  if (!(eps >= 0.0f)) return wk__fail(c, WK_EINVAL, "%s: eps must be >= 0", op);
  int64_t n = mul2(C, S);
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  WK__TRY(w_ok(c, op, "w", w, C, 1));
  WK__TRY(w_ok(c, op, "b", b, C, 1));
  if (n == 0) return 0;
  return WK__CALL(c, group_norm, c, x, C, S, groups, w, b, eps, y);
}

/* ---- activations --------------------------------------------------------- */

int wk_leaky_relu(wk_ctx *c, const float *x, int64_t n, float slope, float *y) {
  const char *op = "wk_leaky_relu";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, n));
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  if (!isfinite(slope))
    return wk__fail(c, WK_EINVAL, "%s: slope is not finite", op);
  if (n == 0) return 0;
  return WK__CALL(c, leaky_relu, c, x, n, slope, y);
}

int wk_tanh(wk_ctx *c, const float *x, int64_t n, float *y) {
  const char *op = "wk_tanh";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, n));
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  if (n == 0) return 0;
  return WK__CALL(c, tanh, c, x, n, y);
}

int wk_snake(wk_ctx *c, const float *x, int64_t C, int64_t L, wk_w alpha,
             wk_w beta, int logscale, float *y) {
  const char *op = "wk_snake";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, L));
  int64_t n = mul2(C, L);
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  WK__TRY(w_ok(c, op, "alpha", alpha, C, 0));
  WK__TRY(w_ok(c, op, "beta", beta, C, 1));
  if (alpha.dtype != WK_F32 || (beta.data && beta.dtype != WK_F32))
    return wk__fail(c, WK_EINVAL, "%s: alpha and beta must be f32", op);
  if (n == 0) return 0;
  return WK__CALL(c, snake, c, x, C, L, alpha, beta, logscale, y);
}

/* ---- STFT pieces and clamps ---------------------------------------------- */

int wk_pad1d(wk_ctx *c, const float *x, int64_t C, int64_t L, int64_t front,
             int64_t back, int mode, float *y) {
  const char *op = "wk_pad1d";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, C, L, front, back));
  if (mode < WK_PAD_DEFAULT || mode > WK_PAD_REPLICATE)
    return wk__fail(c, WK_EINVAL, "%s: padding mode %d is unknown", op, mode);
  if (C > 0 && L == 0 && (front || back) && mode != WK_PAD_ZEROS &&
      mode != WK_PAD_DEFAULT)
    return wk__fail(c, WK_EINVAL,
                    "%s: cannot replicate or reflect an empty "
                    "row",
                    op);
  if (mode == WK_PAD_REFLECT && (front >= L || back >= L))
    return wk__fail(c, WK_EINVAL,
                    "%s: reflect padding %lld/%lld needs rows longer than the "
                    "pad (L is %lld)",
                    op, (long long)front, (long long)back, (long long)L);
  int64_t nx = mul2(C, L), ny = mul2(C, L + front + back);
  WK__TRY(ptr_ok(c, op, "x", x, nx));
  WK__TRY(ptr_ok(c, op, "y", y, ny));
  if (overlap(x, nx * 4, y, ny * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (ny == 0) return 0;
  return WK__CALL(c, pad1d, c, x, C, L, front, back, mode, y);
}

int wk_complex_abs(wk_ctx *c, const float *x, int64_t N, int64_t T, float *y) {
  const char *op = "wk_complex_abs";
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, N, T));
  int64_t n = mul2(N, T);
  WK__TRY(ptr_ok(c, op, "x", x, mul2(2, n)));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  if (overlap(x, 2 * n * 4, y, n * 4))
    return wk__fail(c, WK_EINVAL, "%s: y overlaps x", op);
  if (n == 0) return 0;
  return WK__CALL(c, complex_abs, c, x, N, T, y);
}

static int clamp_front(wk_ctx *c, const char *op, const float *x, int64_t n,
                       float lo, float hi, int take_log, float *y) {
  if (!c) return WK_EINVAL;
  WK__TRY(WK__DIMS(c, op, n));
  WK__TRY(ptr_ok(c, op, "x", x, n));
  WK__TRY(ptr_ok(c, op, "y", y, n));
  if (isnan(lo) || isnan(hi) || lo > hi)
    return wk__fail(c, WK_EINVAL, "%s: bounds [%g, %g]", op, (double)lo,
                    (double)hi);
  if (n == 0) return 0;
  return WK__CALL(c, clamp, c, x, n, lo, hi, take_log, y);
}

int wk_log_clamp(wk_ctx *c, const float *x, int64_t n, float lo, float *y) {
  return clamp_front(c, "wk_log_clamp", x, n, lo, INFINITY, 1, y);
}

int wk_clamp(wk_ctx *c, const float *x, int64_t n, float lo, float hi,
             float *y) {
  return clamp_front(c, "wk_clamp", x, n, lo, hi, 0, y);
}
