/*
 * attention.c — blocked attention with an online softmax on the cpu. The
 * tasks — (batch, head, block of QB queries) — are spread over the pool,
 * each on one thread with its own scratch slot; a task visits the key
 * blocks its rows can see in order (causal and window limits skip whole
 * blocks):
 *   S = scale * Q_blk K_blk^T      sgemm (dnnl.c), [QB, KB]
 *   mask, online softmax per row   running max m, running sum l, vector exp
 *   O = corr * O + P V_blk         sgemm, [QB, D]
 * and at the end out = O / l (zeros where l == 0: every key masked). Only a
 * QB x KB score block per thread exists, never Tq x Tk. A task's work
 * depends on the shape only, so the result is bitwise stable run to run and
 * whatever the thread count.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "dnnl.h"
#include "vmath.h"

#define QB 64  /* query rows per block (and per task) */
#define KB 512 /* keys per block */

typedef struct attn_scratch {
  float *s;     /* [QB, KB] scores, then probabilities */
  float *o;     /* [QB, D] unnormalised output */
  float *m, *l; /* [QB] */
} attn_scratch;

static size_t scratch_bytes(int64_t D) {
  return wkcpu__align((size_t)QB * KB * 4) +
         wkcpu__align((size_t)(QB * D) * 4) + 2 * wkcpu__align(QB * 4);
}

static attn_scratch scratch_at(void *ws, int64_t D) {
  char *p = ws;
  attn_scratch s;
  s.s = (float *)p;
  p += wkcpu__align((size_t)QB * KB * 4);
  s.o = (float *)p;
  p += wkcpu__align((size_t)(QB * D) * 4);
  s.m = (float *)p;
  p += wkcpu__align(QB * 4);
  s.l = (float *)p;
  return s;
}

size_t wkcpu_attention_workspace(wk_ctx *c, const wk_attn *a) {
  return (size_t)wkcpu__threads(c) * scratch_bytes(a->D) + WKCPU_WS_SLACK;
}

/* One score block's softmax step, over the block's rows. */
typedef struct block_job {
  const wk_attn *a;
  attn_scratch S;
  const int32_t *kvm; /* this batch's key mask or NULL */
  int64_t i0, j0, nk; /* first query, first key, keys in the block */
} block_job;

static void softmax_rows(const block_job *J, int64_t r0, int64_t r1) {
  const wk_attn *a = J->a;
  int64_t off = a->Tk - a->Tq; /* query i sits at key position i + off */
  for (int64_t r = r0; r < r1; r++) {
    float *s = J->S.s + r * KB;
    int64_t pos = J->i0 + r + off;
    float bm = -INFINITY;
    for (int64_t jj = 0; jj < J->nk; jj++) {
      int64_t j = J->j0 + jj;
      int masked =
          (J->kvm && J->kvm[j] == 0) ||
          (a->causal && (j > pos || (a->window > 0 && j <= pos - a->window)));
      if (masked) s[jj] = -INFINITY;
      bm = s[jj] > bm ? s[jj] : bm;
    }
    float m = J->S.m[r];
    if (bm == -INFINITY) { /* nothing visible here: contributes nothing */
      memset(s, 0, (size_t)J->nk * 4);
      continue;
    }
    float mnew = bm > m ? bm : m;
    float corr = m == -INFINITY ? 0.0f : expf(m - mnew);
    float sum = wkcpu__exp_shift_sum(s, J->nk, mnew);
    J->S.l[r] = J->S.l[r] * corr + sum;
    J->S.m[r] = mnew;
    if (corr != 1.0f) {
      float *o = J->S.o + r * a->D;
      for (int64_t d = 0; d < a->D; d++)
        o[d] *= corr;
    }
  }
}

/* Queries [i0, i0 + nr) of head h in batch b. */
static void attn_block(const wk_attn *a, attn_scratch S, const float *q,
                       const float *k, const float *v, float *out, int64_t b,
                       int64_t h, int64_t i0, int64_t nr) {
  int64_t D = a->D, Hq = a->Hq, Hkv = a->Hkv, Tq = a->Tq, Tk = a->Tk;
  int64_t kvh = h / (Hq / Hkv), off = Tk - Tq;
  int qs = (int)(Hq * D), ks = (int)(Hkv * D);
  const float *qb = q + ((b * Tq + i0) * Hq + h) * D;
  const float *kb = k + (b * Tk * Hkv + kvh) * D;
  const float *vb = v + (b * Tk * Hkv + kvh) * D;

  for (int64_t r = 0; r < nr; r++) {
    S.m[r] = -INFINITY;
    S.l[r] = 0.0f;
  }
  memset(S.o, 0, (size_t)(nr * D) * 4);
  /* Keys any row of the block can see. */
  int64_t jlo = 0, jhi = Tk;
  if (a->causal) {
    jhi = i0 + nr + off < Tk ? i0 + nr + off : Tk;
    if (a->window > 0 && i0 + off - a->window + 1 > 0)
      jlo = i0 + off - a->window + 1;
  }
  block_job J = {a, S, a->kv_mask ? a->kv_mask + b * Tk : NULL, i0, 0, 0};
  for (int64_t j0 = jlo; j0 < jhi; j0 += KB) {
    int64_t nk = jhi - j0 < KB ? jhi - j0 : KB;
    wkcpu__sgemm(0, 1, nr, nk, D, a->scale, qb, qs, kb + j0 * ks, ks, 0.0f, S.s,
                 KB);
    J.j0 = j0;
    J.nk = nk;
    softmax_rows(&J, 0, nr);
    wkcpu__sgemm(0, 0, nr, D, nk, 1.0f, S.s, KB, vb + j0 * ks, ks, 1.0f, S.o,
                 D);
  }
  for (int64_t r = 0; r < nr; r++) {
    float *dst = out + ((b * Tq + i0 + r) * Hq + h) * D;
    const float *o = S.o + r * D;
    if (S.l[r] > 0.0f) {
      float inv = 1.0f / S.l[r];
      for (int64_t d = 0; d < D; d++)
        dst[d] = o[d] * inv;
    } else { /* every key masked */
      memset(dst, 0, (size_t)D * 4);
    }
  }
}

typedef struct attn_job {
  const wk_attn *a;
  const float *q, *k, *v;
  float *out;
  char *ws;
  int64_t qblocks;
} attn_job;

/* Task t: batch t / (Hq * qblocks), head, query block. */
static void attn_tasks(void *v, int64_t t0, int64_t t1, int tid) {
  const attn_job *j = v;
  const wk_attn *a = j->a;
  attn_scratch S = scratch_at(j->ws + (size_t)tid * scratch_bytes(a->D), a->D);
  for (int64_t t = t0; t < t1; t++) {
    int64_t b = t / (a->Hq * j->qblocks), r = t % (a->Hq * j->qblocks);
    int64_t h = r / j->qblocks, i0 = r % j->qblocks * QB;
    int64_t nr = a->Tq - i0 < QB ? a->Tq - i0 : QB;
    attn_block(a, S, j->q, j->k, j->v, j->out, b, h, i0, nr);
  }
}

int wkcpu_attention(wk_ctx *c, const wk_attn *a, const float *q, const float *k,
                    const float *v, float *out) {
  if (a->Hq * a->D > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "wk_attention: Hq * D exceeds the BLAS int range");
  attn_job j = {a, q, k, v, out, wkcpu__ws(c), (a->Tq + QB - 1) / QB};
  wkcpu__parallel(c, a->B * a->Hq * j.qblocks, 1, attn_tasks, &j);
  return 0;
}
