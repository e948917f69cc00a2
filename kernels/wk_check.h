/*
 * wk_check.h — the argument checks every op front (wk_ops*.c) applies
 * before dispatching to a backend: sizes, pointers, weight operands,
 * workspace, overlap.
 */
#ifndef WK_CHECK_H
#define WK_CHECK_H

#include <math.h>
#include <stdint.h>

#include "wk_internal.h"

/* Sizes beyond this are refused outright: keeps every product of two sizes
 * far from int64 overflow and catches garbage (uninitialised) arguments. */
#define WK__DIM_MAX ((int64_t)1 << 40)

static int dims_ok(wk_ctx *c, const char *op, const char *names,
                   const int64_t *v, int n) {
  for (int i = 0; i < n; i++)
    if (v[i] < 0 || v[i] > WK__DIM_MAX)
      return wk__fail(c, WK_EINVAL, "%s: size %d of (%s) is %lld", op, i, names,
                      (long long)v[i]);
  return 0;
}
#define WK__DIMS(c, op, ...)                                                   \
  dims_ok((c), (op), #__VA_ARGS__, (const int64_t[]){__VA_ARGS__},             \
          (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* a * b, or -1 when it would pass WK__DIM_MAX^1.5 (never a valid buffer). */
static int64_t mul2(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > ((int64_t)1 << 60)) return -1;
  return r;
}

static int ptr_ok(wk_ctx *c, const char *op, const char *name, const void *p,
                  int64_t elems) {
  if (elems < 0)
    return wk__fail(c, WK_EINVAL, "%s: %s size overflows", op, name);
  if (elems > 0 && !p)
    return wk__fail(c, WK_EINVAL, "%s: %s is NULL", op, name);
  return 0;
}

/* A weight operand: a known dtype, data present when `elems` > 0 (or
 * optional == 1 and data NULL), a finite fp8 scale. */
static int w_ok(wk_ctx *c, const char *op, const char *name, wk_w w,
                int64_t elems, int optional) {
  if (optional && !w.data) return 0;
  if (wk__dtype_size(w.dtype) == 0)
    return wk__fail(c, WK_EINVAL, "%s: %s has unknown dtype %d", op, name,
                    (int)w.dtype);
  if (w.dtype == WK_FP8_E4M3 && !isfinite(w.scale))
    return wk__fail(c, WK_EINVAL, "%s: %s fp8 scale is not finite", op, name);
  return ptr_ok(c, op, name, w.data, elems);
}

static int ws_ok(wk_ctx *c, const char *op, size_t need) {
  if (need > c->ws_bytes)
    return wk__fail(c, WK_ESPACE, "%s: workspace is %zu bytes, needs %zu", op,
                    c->ws_bytes, need);
  if (need > 0 && !c->ws)
    return wk__fail(c, WK_ESPACE, "%s: no workspace set, needs %zu bytes", op,
                    need);
  return 0;
}

static int overlap(const void *a, int64_t abytes, const void *b,
                   int64_t bbytes) {
  uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  if (!a || !b || abytes <= 0 || bbytes <= 0) return 0;
  return pa < pb + (uintptr_t)bbytes && pb < pa + (uintptr_t)abytes;
}

#define WK__TRY(x)                                                             \
  do {                                                                         \
    int rc_ = (x);                                                             \
    if (rc_) return rc_;                                                       \
  } while (0)

#endif /* WK_CHECK_H */
