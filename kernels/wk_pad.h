/*
 * wk_pad.h — padding index maps shared by the cpu and cuda convolutions:
 * where a padded coordinate reads from, or -1 for a zero.
 */
#ifndef WK_PAD_H
#define WK_PAD_H

#include <stdint.h>

#include "wk.h"

#ifdef __CUDACC__
#define WK__HD __host__ __device__ __forceinline__
#else
#define WK__HD static inline
#endif

/* Source index of coordinate i on an axis of n elements (0 <= result < n),
 * or -1 where the padding is zero. `mode` is a resolved WK_PAD_* (never
 * DEFAULT). Reflect assumes the pad is below n (checked at the front). */
WK__HD int64_t wk__pad_src(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  if (mode == WK_PAD_ZEROS) return -1;
  if (mode == WK_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  int64_t period = 2 * (n - 1);
  int64_t r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

/* The descriptor's modes with DEFAULT resolved. */
WK__HD int wk__tmode(const wk_conv3d *p) {
  return p->tpad ? p->tpad : WK_PAD_REPLICATE;
}
WK__HD int wk__smode(const wk_conv3d *p) {
  return p->spad ? p->spad : WK_PAD_ZEROS;
}
WK__HD int64_t wk__ph_back(const wk_conv3d *p) {
  return p->asym ? p->ph_back : p->ph;
}
WK__HD int64_t wk__pw_back(const wk_conv3d *p) {
  return p->asym ? p->pw_back : p->pw;
}

#endif /* WK_PAD_H */
