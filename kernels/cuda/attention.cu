/*
 * attention.cu — flash-style multi-head attention (GQA, causal, sliding
 * window, key padding mask), f32 throughout.
 *
 * A block handles WKCU_BQ consecutive query rows of one (batch, head): each
 * of its 4 warps owns WKCU_R rows. Keys and values stream through shared
 * memory 32 at a time; lane j scores key j of the tile against the warp's
 * rows, the tile's scores are folded into a running (max, sum, output) per
 * row (online softmax), and each lane accumulates D/32 output dimensions.
 * No [Tq, Tk] buffer exists anywhere; every row is reduced by one warp in a
 * fixed order, so results are deterministic. Needs no workspace.
 */
#include "wkcu_internal.cuh"

#define WKCU_WARPS 4
#define WKCU_R 4                      /* query rows per warp */
#define WKCU_BQ (WKCU_WARPS * WKCU_R) /* query rows per block */
#define WKCU_BK 32                    /* keys per tile (one per lane) */

/* Visible keys of query row i: [lo, hi] (empty when lo > hi). Queries are
 * aligned to the end of the keys (offset Tk - Tq); with a window a query
 * sees `window` keys up to and including its own position. */
__device__ __forceinline__ void wkcu_attn_range(int64_t i, int64_t Tq,
                                                int64_t Tk, int causal,
                                                int64_t window, int64_t *lo,
                                                int64_t *hi) {
  int64_t h = Tk - 1, l = 0;
  if (causal) {
    h = i + (Tk - Tq);
    if (h > Tk - 1) h = Tk - 1;
    if (window > 0) {
      l = i + (Tk - Tq) - window + 1;
      if (l < 0) l = 0;
    }
  }
  *lo = l;
  *hi = h;
}

template <int NC>
__global__ void __launch_bounds__(WKCU_WARPS * 32)
    wkcu_attn_k(wk_attn a, const float *__restrict__ q,
                const float *__restrict__ k, const float *__restrict__ v,
                float *__restrict__ out) {
  extern __shared__ float sm[];
  const int64_t D = a.D;
  float *Qs = sm;                     /* [BQ][D] */
  float *Ks = Qs + WKCU_BQ * D;       /* [BK][D + 1] (padded) */
  float *Vs = Ks + WKCU_BK * (D + 1); /* [BK][D] */
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t b = blockIdx.z, h = blockIdx.y;
  const int64_t hk = h / (a.Hq / a.Hkv);
  const int64_t q0 = (int64_t)blockIdx.x * WKCU_BQ;

  for (int64_t e = threadIdx.x; e < WKCU_BQ * D; e += blockDim.x) {
    int64_t r = e / D, d = e % D, i = q0 + r;
    Qs[e] = i < a.Tq ? q[((b * a.Tq + i) * a.Hq + h) * D + d] : 0.0f;
  }

  /* Keys any row of this block may see. */
  int64_t last = q0 + WKCU_BQ - 1 < a.Tq ? q0 + WKCU_BQ - 1 : a.Tq - 1;
  int64_t lo0, hi0, lo1, hi1;
  wkcu_attn_range(q0, a.Tq, a.Tk, a.causal, a.window, &lo0, &hi0);
  wkcu_attn_range(last, a.Tq, a.Tk, a.causal, a.window, &lo1, &hi1);
  const int64_t kbeg = lo0, kend = hi1 + 1;

  int64_t rlo[WKCU_R], rhi[WKCU_R];
  float m[WKCU_R], l[WKCU_R], o[WKCU_R][NC];
#pragma unroll
  for (int r = 0; r < WKCU_R; r++) {
    int64_t i = q0 + warp * WKCU_R + r;
    wkcu_attn_range(i, a.Tq, a.Tk, a.causal, a.window, &rlo[r], &rhi[r]);
    if (i >= a.Tq) rhi[r] = -1; /* no such row: sees nothing */
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int cc = 0; cc < NC; cc++)
      o[r][cc] = 0.0f;
  }

  for (int64_t kt = kbeg; kt < kend; kt += WKCU_BK) {
    __syncthreads(); /* previous tile fully consumed; Qs written */
    for (int64_t e = threadIdx.x; e < WKCU_BK * D; e += blockDim.x) {
      int64_t j = e / D, d = e % D, key = kt + j;
      float kv = 0.0f, vv = 0.0f;
      if (key < a.Tk) {
        int64_t src = ((b * a.Tk + key) * a.Hkv + hk) * D + d;
        kv = k[src];
        vv = v[src];
      }
      Ks[j * (D + 1) + d] = kv;
      Vs[j * D + d] = vv;
    }
    __syncthreads();

    const int64_t key = kt + lane;
    const bool inkeys = key < a.Tk && (!a.kv_mask || a.kv_mask[b * a.Tk + key]);
    float s[WKCU_R];
#pragma unroll
    for (int r = 0; r < WKCU_R; r++)
      s[r] = 0.0f;
    const float *kr = Ks + lane * (D + 1);
    const float *qw = Qs + (warp * WKCU_R) * D;
    for (int64_t d = 0; d < D; d++) {
      float kd = kr[d];
#pragma unroll
      for (int r = 0; r < WKCU_R; r++)
        s[r] += qw[r * D + d] * kd;
    }

#pragma unroll
    for (int r = 0; r < WKCU_R; r++) {
      bool ok = inkeys && key >= rlo[r] && key <= rhi[r];
      float sc = ok ? s[r] * a.scale : -INFINITY;
      float mt = sc;
      for (int w = 16; w > 0; w >>= 1)
        mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, w));
      if (mt == -INFINITY) continue; /* warp-uniform: nothing visible */
      float mn = fmaxf(m[r], mt);
      float corr = expf(m[r] - mn); /* 0 on the first visible tile */
      float p = ok ? expf(sc - mn) : 0.0f;
      float ps = p;
      for (int w = 16; w > 0; w >>= 1)
        ps += __shfl_xor_sync(0xffffffffu, ps, w);
      l[r] = l[r] * corr + ps;
      m[r] = mn;
#pragma unroll
      for (int cc = 0; cc < NC; cc++)
        o[r][cc] *= corr;
      for (int j = 0; j < WKCU_BK; j++) {
        float pj = __shfl_sync(0xffffffffu, p, j);
        if (pj == 0.0f) continue; /* uniform across the warp */
        const float *vr = Vs + j * D;
#pragma unroll
        for (int cc = 0; cc < NC; cc++) {
          int64_t d = lane + 32 * cc;
          if (d < D) o[r][cc] += pj * vr[d];
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < WKCU_R; r++) {
    int64_t i = q0 + warp * WKCU_R + r;
    if (i >= a.Tq) continue;
    float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f; /* all masked -> zeros */
    float *orow = out + ((b * a.Tq + i) * a.Hq + h) * D;
#pragma unroll
    for (int cc = 0; cc < NC; cc++) {
      int64_t d = lane + 32 * cc;
      if (d < D) orow[d] = o[r][cc] * inv;
    }
  }
}

extern "C" size_t wkcu_attention_workspace(wk_ctx *c, const wk_attn *a) {
  (void)c;
  (void)a;
  return 0;
}

template <int NC>
static int wkcu__attn_launch(wk_ctx *c, const char *W, const wk_attn *a,
                             const float *q, const float *k, const float *v,
                             float *out) {
  wkcu_state *s = wkcu__st(c);
  size_t smem = ((size_t)WKCU_BQ * a->D + (size_t)WKCU_BK * (a->D + 1) +
                 (size_t)WKCU_BK * a->D) *
                sizeof(float);
  if (smem > s->smem_optin)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: head dim %lld needs %zu bytes of shared memory, the "
                    "device allows %zu",
                    W, (long long)a->D, smem, s->smem_optin);
  int rc = wkcu__rt(c,
                    cudaFuncSetAttribute(
                        wkcu_attn_k<NC>,
                        cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                    W, "cudaFuncSetAttribute");
  if (rc) return rc;
  dim3 grid((unsigned)((a->Tq + WKCU_BQ - 1) / WKCU_BQ), (unsigned)a->Hq,
            (unsigned)a->B);
  wkcu_attn_k<NC>
      <<<grid, WKCU_WARPS * 32, smem, s->compute>>>(*a, q, k, v, out);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_attention(wk_ctx *c, const wk_attn *a, const float *q,
                              const float *k, const float *v, float *out) {
  static const char *W = "wk_attention(cuda)";
  if (a->B == 0 || a->Tq == 0 || a->Hq == 0 || a->D == 0) return WK_OK;
  if (a->Hkv <= 0 || a->Hq % a->Hkv)
    return wk__fail(c, WK_EINVAL, "%s: Hq=%lld is not a multiple of Hkv=%lld",
                    W, (long long)a->Hq, (long long)a->Hkv);
  if (a->Hq > 65535 || a->B > 65535 ||
      (a->Tq + WKCU_BQ - 1) / WKCU_BQ > 0x7fffffff)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: B=%lld Hq=%lld Tq=%lld exceeds the launch grid", W,
                    (long long)a->B, (long long)a->Hq, (long long)a->Tq);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  if (a->Tk == 0) /* no keys at all: every row is fully masked */
    return wkcu__rt(
        c,
        cudaMemsetAsync(out, 0,
                        (size_t)(a->B * a->Tq * a->Hq * a->D) * sizeof(float),
                        wkcu__st(c)->compute),
        W, "cudaMemsetAsync");
  if (a->D <= 32) return wkcu__attn_launch<1>(c, W, a, q, k, v, out);
  if (a->D <= 64) return wkcu__attn_launch<2>(c, W, a, q, k, v, out);
  if (a->D <= 128) return wkcu__attn_launch<4>(c, W, a, q, k, v, out);
  if (a->D <= 256) return wkcu__attn_launch<8>(c, W, a, q, k, v, out);
  if (a->D <= 512) return wkcu__attn_launch<16>(c, W, a, q, k, v, out);
  return wk__fail(c, WK_EUNSUPPORTED, "%s: head dim %lld > 512", W,
                  (long long)a->D);
}
