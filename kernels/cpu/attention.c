/*
 * attention.c — blocked attention with an online softmax on the cpu. A task
 * is one (batch, head, block of QB queries); it walks the key blocks its
 * rows can see (causal and window limits skip whole blocks), keeping per
 * row the running max m, the running sum l and the unnormalised output o.
 * The Tq x Tk score matrix never exists: a task's scratch is QB x KB scores
 * plus a transposed key block and its q/o rows, one slot per worker in the
 * workspace. The key blocks are visited in the same order whatever the
 * thread count, so results are bitwise stable.
 */
#include <math.h>
#include <string.h>

#include "cpu.h"

#define QB 32 /* query rows per task */
#define KB 64 /* keys per block */

typedef struct attn_slot {
  float *q;  /* [QB, D], pre-scaled */
  float *o;  /* [QB, D] */
  float *kt; /* [D, KB], the key block transposed */
  float *s;  /* [QB, KB] */
  float *m, *l;
} attn_slot;

static size_t slot_bytes(int64_t D) {
  return 2 * wkcpu__align((size_t)(QB * D) * 4) +
         wkcpu__align((size_t)(D * KB) * 4) + wkcpu__align(QB * KB * 4) +
         2 * wkcpu__align(QB * 4);
}

static attn_slot slot_at(void *ws, int64_t D, int tid) {
  char *p = (char *)ws + slot_bytes(D) * (size_t)tid;
  attn_slot s;
  s.q = (float *)p;
  p += wkcpu__align((size_t)(QB * D) * 4);
  s.o = (float *)p;
  p += wkcpu__align((size_t)(QB * D) * 4);
  s.kt = (float *)p;
  p += wkcpu__align((size_t)(D * KB) * 4);
  s.s = (float *)p;
  p += wkcpu__align(QB * KB * 4);
  s.m = (float *)p;
  p += wkcpu__align(QB * 4);
  s.l = (float *)p;
  return s;
}

size_t wkcpu_attention_workspace(wk_ctx *c, const wk_attn *a) {
  return slot_bytes(a->D) * (size_t)wkcpu__threads(c);
}

typedef struct attn_job {
  const wk_attn *a;
  const float *q, *k, *v;
  float *out;
  void *ws;
  int64_t nqb; /* query blocks per (batch, head) */
} attn_job;

/* s[r, jj] = q[r, :] . kt[:, jj] for nr rows, nk keys; four rows at a time
 * so each loaded key column feeds four accumulating rows. */
static void scores(const float *restrict q, const float *restrict kt,
                   float *restrict s, int64_t nr, int64_t nk, int64_t D) {
  int64_t r = 0;
  for (; r + 4 <= nr; r += 4) {
    float *s0 = s + r * KB, *s1 = s0 + KB, *s2 = s1 + KB, *s3 = s2 + KB;
    const float *q0 = q + r * D, *q1 = q0 + D, *q2 = q1 + D, *q3 = q2 + D;
    for (int64_t j = 0; j < nk; j++)
      s0[j] = s1[j] = s2[j] = s3[j] = 0.0f;
    for (int64_t d = 0; d < D; d++) {
      const float *kr = kt + d * KB;
      float a0 = q0[d], a1 = q1[d], a2 = q2[d], a3 = q3[d];
      for (int64_t j = 0; j < nk; j++) {
        float kv = kr[j];
        s0[j] += a0 * kv;
        s1[j] += a1 * kv;
        s2[j] += a2 * kv;
        s3[j] += a3 * kv;
      }
    }
  }
  for (; r < nr; r++) {
    float *s0 = s + r * KB;
    const float *q0 = q + r * D;
    for (int64_t j = 0; j < nk; j++)
      s0[j] = 0.0f;
    for (int64_t d = 0; d < D; d++) {
      const float *kr = kt + d * KB;
      float a0 = q0[d];
      for (int64_t j = 0; j < nk; j++)
        s0[j] += a0 * kr[j];
    }
  }
}

/* o[r, :] += sum_j p[r, j] * v[j, :], v rows `vstride` apart. */
static void accumulate(const float *restrict p, const float *restrict v,
                       int64_t vstride, float *restrict o, int64_t nr,
                       int64_t nk, int64_t D) {
  int64_t r = 0;
  for (; r + 4 <= nr; r += 4) {
    float *o0 = o + r * D, *o1 = o0 + D, *o2 = o1 + D, *o3 = o2 + D;
    const float *p0 = p + r * KB, *p1 = p0 + KB, *p2 = p1 + KB, *p3 = p2 + KB;
    for (int64_t j = 0; j < nk; j++) {
      const float *vr = v + j * vstride;
      float a0 = p0[j], a1 = p1[j], a2 = p2[j], a3 = p3[j];
      for (int64_t d = 0; d < D; d++) {
        float vv = vr[d];
        o0[d] += a0 * vv;
        o1[d] += a1 * vv;
        o2[d] += a2 * vv;
        o3[d] += a3 * vv;
      }
    }
  }
  for (; r < nr; r++) {
    float *o0 = o + r * D;
    const float *p0 = p + r * KB;
    for (int64_t j = 0; j < nk; j++) {
      const float *vr = v + j * vstride;
      float a0 = p0[j];
      for (int64_t d = 0; d < D; d++)
        o0[d] += a0 * vr[d];
    }
  }
}

static void attn_task(const attn_job *J, attn_slot S, int64_t task) {
  const wk_attn *a = J->a;
  int64_t D = a->D, Hq = a->Hq, Hkv = a->Hkv, Tq = a->Tq, Tk = a->Tk;
  int64_t qb = task % J->nqb, bh = task / J->nqb;
  int64_t h = bh % Hq, b = bh / Hq, kvh = h / (Hq / Hkv);
  int64_t i0 = qb * QB, nr = Tq - i0 < QB ? Tq - i0 : QB;
  int64_t off = Tk - Tq; /* query i sits at key position i + off */
  int64_t kstride = Hkv * D;
  const int32_t *kvm = a->kv_mask ? a->kv_mask + b * Tk : NULL;

  for (int64_t r = 0; r < nr; r++) {
    const float *src = J->q + ((b * Tq + i0 + r) * Hq + h) * D;
    for (int64_t d = 0; d < D; d++)
      S.q[r * D + d] = src[d] * a->scale;
    S.m[r] = -INFINITY;
    S.l[r] = 0.0f;
  }
  memset(S.o, 0, (size_t)(nr * D) * 4);

  /* Keys any row of the block can see. */
  int64_t jlo = 0, jhi = Tk;
  if (a->causal) {
    jhi = i0 + nr - 1 + off + 1;
    if (jhi > Tk) jhi = Tk;
    if (a->window > 0) {
      jlo = i0 + off - a->window + 1;
      if (jlo < 0) jlo = 0;
    }
  }
  const float *kb_base = J->k + (b * Tk * Hkv + kvh) * D;
  const float *vb_base = J->v + (b * Tk * Hkv + kvh) * D;
  for (int64_t j0 = jlo; j0 < jhi; j0 += KB) {
    int64_t nk = jhi - j0 < KB ? jhi - j0 : KB;
    for (int64_t jj = 0; jj < nk; jj++) {
      const float *kr = kb_base + (j0 + jj) * kstride;
      for (int64_t d = 0; d < D; d++)
        S.kt[d * KB + jj] = kr[d];
    }
    scores(S.q, S.kt, S.s, nr, nk, D);
    for (int64_t r = 0; r < nr; r++) {
      float *s = S.s + r * KB;
      int64_t pos = i0 + r + off;
      float bm = -INFINITY;
      for (int64_t jj = 0; jj < nk; jj++) {
        int64_t j = j0 + jj;
        int masked =
            (kvm && kvm[j] == 0) ||
            (a->causal && (j > pos || (a->window > 0 && j <= pos - a->window)));
        if (masked) s[jj] = -INFINITY;
        bm = s[jj] > bm ? s[jj] : bm;
      }
      if (bm == -INFINITY) { /* nothing visible in this block */
        for (int64_t jj = 0; jj < nk; jj++)
          s[jj] = 0.0f;
        continue;
      }
      float mnew = bm > S.m[r] ? bm : S.m[r];
      float corr = S.m[r] == -INFINITY ? 0.0f : expf(S.m[r] - mnew);
      float sum = 0.0f;
      for (int64_t jj = 0; jj < nk; jj++) {
        float p = s[jj] == -INFINITY ? 0.0f : expf(s[jj] - mnew);
        s[jj] = p;
        sum += p;
      }
      S.l[r] = S.l[r] * corr + sum;
      S.m[r] = mnew;
      if (corr != 1.0f) {
        float *o = S.o + r * D;
        for (int64_t d = 0; d < D; d++)
          o[d] *= corr;
      }
    }
    accumulate(S.s, vb_base + j0 * kstride, kstride, S.o, nr, nk, D);
  }

  for (int64_t r = 0; r < nr; r++) {
    float *dst = J->out + ((b * Tq + i0 + r) * Hq + h) * D;
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

static void attn_tasks(void *v, int64_t t0, int64_t t1, int tid) {
  const attn_job *J = v;
  attn_slot S = slot_at(J->ws, J->a->D, tid);
  for (int64_t t = t0; t < t1; t++)
    attn_task(J, S, t);
}

int wkcpu_attention(wk_ctx *c, const wk_attn *a, const float *q, const float *k,
                    const float *v, float *out) {
  attn_job J = {a, q, k, v, out, c->ws, (a->Tq + QB - 1) / QB};
  int64_t tasks = a->B * a->Hq * J.nqb;
  wkcpu__parallel(c, tasks, 1, attn_tasks, &J);
  return 0;
}
