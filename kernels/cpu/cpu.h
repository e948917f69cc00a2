/*
 * cpu.h — what the cpu backend files share: the per-context worker pool and
 * weight decoding.
 *
 * The pool splits an index range [0, n) into one contiguous chunk per worker
 * (the calling thread takes chunk 0), the same split for the same n and
 * thread count, and every op computes each output element from its own
 * inputs only — so results do not depend on the thread count at all. A
 * context's ops must be called from one thread at a time; the copy and
 * memory functions touch no pool state and may run on another thread
 * (the weight streamer's copy thread does).
 */
#ifndef WKCPU_H
#define WKCPU_H

#include <stddef.h>
#include <stdint.h>

#include "wk_internal.h"

/* Runs fn(arg, begin, end, tid) over [0, n) split into at most `threads`
 * chunks of at least `grain` indices; returns when every chunk is done. tid
 * (0 .. wkcpu__threads(c) - 1) is the chunk's index: a task may use
 * per-thread scratch slot tid. */
typedef void (*wkcpu__range_fn)(void *arg, int64_t begin, int64_t end, int tid);
void wkcpu__parallel(wk_ctx *c, int64_t n, int64_t grain, wkcpu__range_fn fn,
                     void *arg);
/* Worker count of the context's pool (>= 1, the caller included). */
int wkcpu__threads(const wk_ctx *c);

/* dst[i] = decode(src[off + i]) * (fp8 ? scale : 1) for i < n. */
void wkcpu__decode(float *restrict dst, wk_w w, int64_t off, int64_t n);
/* Decodes rows [r0, r1) of a [rows, cols] weight into dst (threaded). */
void wkcpu__decode_rows(wk_ctx *c, float *dst, wk_w w, int64_t cols, int64_t r0,
                        int64_t r1);

/* y[c * ldy + r] = x[r * ldx + c] for r, c < 8, through AVX2 registers;
 * only where wkcpu__have_avx2() says the cpu has AVX2 (1) or not (0). */
void wkcpu__transpose8(const float *x, int64_t ldx, float *y, int64_t ldy);
int wkcpu__have_avx2(void);
/* Bytes rounded up to the 64-byte alignment workspace slices keep. */
static inline size_t wkcpu__align(size_t b) {
  return (b + 63) & ~(size_t)63;
}

/* The workspace may start at any address: each *_workspace answer adds
 * WKCPU_WS_SLACK bytes and ops use wkcpu__ws, the first 64-byte boundary. */
#define WKCPU_WS_SLACK 64
static inline void *wkcpu__ws(const wk_ctx *c) {
  uintptr_t p = (uintptr_t)c->ws;
  return (void *)((p + 63) & ~(uintptr_t)63);
}

#endif /* WKCPU_H */
