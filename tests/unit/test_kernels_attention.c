/*
 * wk_attention against a float64 reference that does exactly what wk.h
 * documents (masks, GQA, all-masked rows -> zeros) with a full score row.
 * Errors are norm-based relative per output (a weighted average of v rows
 * can be near zero elementwise).
 */
#include "wk_testutil.h"

static void ref_attention(const wk_attn *a, const float *q, const float *k,
                          const float *v, double *out) {
  int64_t g = a->Hq / a->Hkv, off = a->Tk - a->Tq;
  double *s = wt_dalloc(a->Tk);
  for (int64_t b = 0; b < a->B; b++)
    for (int64_t i = 0; i < a->Tq; i++)
      for (int64_t h = 0; h < a->Hq; h++) {
        const float *qr = q + ((b * a->Tq + i) * a->Hq + h) * a->D;
        double mx = -INFINITY;
        for (int64_t j = 0; j < a->Tk; j++) {
          int64_t pos = i + off;
          int masked = (a->kv_mask && !a->kv_mask[b * a->Tk + j]) ||
                       (a->causal &&
                        (j > pos || (a->window > 0 && j <= pos - a->window)));
          if (masked) {
            s[j] = -INFINITY;
            continue;
          }
          const float *kr = k + ((b * a->Tk + j) * a->Hkv + h / g) * a->D;
          double d = 0.0;
          for (int64_t e = 0; e < a->D; e++)
            d += (double)qr[e] * kr[e];
          s[j] = d * a->scale;
          if (s[j] > mx) mx = s[j];
        }
        double *o = out + ((b * a->Tq + i) * a->Hq + h) * a->D;
        for (int64_t e = 0; e < a->D; e++)
          o[e] = 0.0;
        if (mx == -INFINITY) continue;
        double sum = 0.0;
        for (int64_t j = 0; j < a->Tk; j++) {
          double p = s[j] == -INFINITY ? 0.0 : exp(s[j] - mx);
          sum += p;
          if (p == 0.0) continue;
          const float *vr = v + ((b * a->Tk + j) * a->Hkv + h / g) * a->D;
          for (int64_t e = 0; e < a->D; e++)
            o[e] += p * vr[e];
        }
        for (int64_t e = 0; e < a->D; e++)
          o[e] /= sum;
      }
  free(s);
}

/* Runs one configuration; kv_mask_kind: 0 none, 1 random padding, 2 batch 0
 * fully masked. Returns the output (caller frees) for extra checks. */
static float *check_attn(wt_env *e, int64_t B, int64_t Tq, int64_t Tk,
                         int64_t Hq, int64_t Hkv, int64_t D, int causal,
                         int64_t window, int kv_mask_kind) {
  wk_attn a = {B,      Tq,     Tk,  Hq, Hkv, D, 1.0f / sqrtf((float)D),
               causal, window, NULL};
  int64_t nq = B * Tq * Hq * D, nk = B * Tk * Hkv * D;
  float *q = wt_randn(nq, -2, 2), *k = wt_randn(nk, -2, 2);
  float *v = wt_randn(nk, -1, 1), *out = malloc((size_t)(nq + 1) * 4);
  int32_t *mask = NULL;
  if (kv_mask_kind) {
    mask = malloc((size_t)(B * Tk + 1) * 4);
    for (int64_t i = 0; i < B * Tk; i++)
      mask[i] = kv_mask_kind == 2 && i < Tk ? 0 : (wt_next() % 4 != 0);
    a.kv_mask = mask;
  }
  wt_env_ws(e, wk_attention_workspace(e->c, &a));
  int rc = wk_attention(e->c, &a, q, k, v, out);
  WT_CHECK(rc == 0, "wk_attention: %s", wk_last_error(e->c));
  double *want = wt_dalloc(nq);
  ref_attention(&a, q, k, v, want);
  double err = wt_norm_err(out, want, nq);
  WT_CHECK(err <= 1e-5,
           "attention B%lld Tq%lld Tk%lld Hq%lld Hkv%lld D%lld causal%d "
           "window%lld mask%d: err %.3g",
           (long long)B, (long long)Tq, (long long)Tk, (long long)Hq,
           (long long)Hkv, (long long)D, causal, (long long)window,
           kv_mask_kind, err);
  free(q), free(k), free(v), free(mask), free(want);
  return out;
}

static void test_attention_causal_gqa_ratios(wt_env *e) {
  for (int64_t g = 1; g <= 4; g *= 2)
    free(check_attn(e, 2, 67, 67, 4, 4 / g, 16, 1, 0, 0));
  free(check_attn(e, 1, 130, 130, 2, 1, 64, 1, 0, 0));
}

static void test_attention_sliding_window(wt_env *e) {
  free(check_attn(e, 1, 100, 100, 2, 1, 8, 1, 5, 0));
  free(check_attn(e, 2, 70, 70, 4, 2, 16, 1, 64, 1));
  free(check_attn(e, 1, 9, 75, 2, 2, 8, 1, 16, 0)); /* window, Tq < Tk */
  free(check_attn(e, 1, 20, 20, 1, 1, 4, 1, 1, 0)); /* sees only itself */
}

static void test_attention_padding_mask(wt_env *e) {
  free(check_attn(e, 3, 33, 33, 2, 2, 16, 0, 0, 1));
  free(check_attn(e, 2, 50, 50, 4, 1, 8, 1, 0, 1));
}

static void test_attention_cross_tq_ne_tk(wt_env *e) {
  free(check_attn(e, 2, 13, 100, 4, 2, 32, 0, 0, 1));
  free(check_attn(e, 1, 5, 70, 4, 4, 16, 1, 0, 0)); /* causal, end-aligned */
  free(check_attn(e, 1, 200, 7, 2, 1, 8, 0, 0, 0));
}

static void test_attention_all_masked_rows_are_zero(wt_env *e) {
  /* Causal with Tq > Tk: the first Tq - Tk rows see nothing. */
  int64_t B = 1, Tq = 40, Tk = 10, H = 2, D = 8;
  float *out = check_attn(e, B, Tq, Tk, H, H, D, 1, 0, 0);
  int zeros = 1;
  for (int64_t i = 0; i < (Tq - Tk) * H * D; i++)
    zeros &= out[i] == 0.0f;
  WT_CHECK(zeros, "rows before the first key must be zero");
  free(out);
  /* Batch 0 fully padded. */
  out = check_attn(e, 2, 9, 9, 2, 2, 4, 0, 0, 2);
  zeros = 1;
  for (int64_t i = 0; i < 9 * 2 * 4; i++)
    zeros &= out[i] == 0.0f;
  WT_CHECK(zeros, "fully padded batch must be zero");
  free(out);
}

static void test_attention_edge_sizes(wt_env *e) {
  free(check_attn(e, 1, 1, 1, 1, 1, 1, 0, 0, 0));
  free(check_attn(e, 1, 1, 1, 1, 1, 1, 1, 0, 0));
  free(check_attn(e, 1, 33, 65, 3, 1, 3, 0, 0, 0)); /* odd D, odd heads */
  free(check_attn(e, 1, 31, 31, 2, 2, 5, 1, 3, 1));
  free(check_attn(e, 2, 1, 129, 2, 1, 16, 1, 0, 1)); /* one query, decode */
}

/* Several query blocks (128) and key blocks (512), window edges falling
 * inside and across key blocks. */
static void test_attention_many_blocks(wt_env *e) {
  free(check_attn(e, 1, 600, 600, 2, 1, 8, 1, 0, 1));
  free(check_attn(e, 1, 700, 1100, 2, 2, 4, 1, 300, 0));
  free(check_attn(e, 2, 3, 1100, 2, 1, 8, 0, 0, 1));
  free(check_attn(e, 1, 1030, 1030, 1, 1, 2, 0, 0, 0));
}

static void test_attention_deterministic_across_threads(wt_env *e) {
  wk_attn a = {2, 77, 77, 4, 2, 32, 0.17f, 1, 20, NULL};
  int64_t nq = a.B * a.Tq * a.Hq * a.D, nk = a.B * a.Tk * a.Hkv * a.D;
  float *q = wt_randn(nq, -2, 2), *k = wt_randn(nk, -2, 2);
  float *v = wt_randn(nk, -1, 1);
  float *o1 = malloc(nq * 4), *o2 = malloc(nq * 4), *o3 = malloc(nq * 4);
  wt_env e1;
  wt_env_init(&e1, 1);
  wt_env_ws(&e1, wk_attention_workspace(e1.c, &a));
  wt_env_ws(e, wk_attention_workspace(e->c, &a));
  WT_RC(wk_attention(e->c, &a, q, k, v, o1), 0);
  WT_RC(wk_attention(e->c, &a, q, k, v, o2), 0);
  WT_RC(wk_attention(e1.c, &a, q, k, v, o3), 0);
  WT_CHECK(memcmp(o1, o2, nq * 4) == 0, "two runs differ");
  WT_CHECK(memcmp(o1, o3, nq * 4) == 0, "1 vs 3 threads differ");
  wt_env_fini(&e1);
  free(q), free(k), free(v), free(o1), free(o2), free(o3);
}

static void test_attention_workspace_and_gqa_errors(wt_env *e) {
  wk_attn a = {1, 8, 8, 4, 3, 8, 1.0f, 0, 0, NULL};
  float buf[1024] = {0}, out[256];
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, out), WK_EINVAL);
  a.Hkv = 2;
  size_t need = wk_attention_workspace(e->c, &a);
  WT_CHECK(need > 0, "attention needs scratch");
  char *ws = malloc(need);
  wk_set_workspace(e->c, ws, need - 64);
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, out), WK_ESPACE);
  wk_set_workspace(e->c, ws, need);
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, out), 0);
  a.Hkv = 0;
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, out), WK_EINVAL);
  a.Hkv = 2;
  a.window = -1;
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, out), WK_EINVAL);
  a.window = 0;
  WT_RC(wk_attention(e->c, &a, buf, buf, buf, buf), WK_EINVAL); /* out = k */
  WT_RC(wk_attention(e->c, NULL, buf, buf, buf, out), WK_EINVAL);
  free(ws);
  wt_env_ws(e, 0);
}

int main(void) {
  wt_seed("test_kernels_attention");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_attention_causal_gqa_ratios(&e);
  test_attention_sliding_window(&e);
  test_attention_padding_mask(&e);
  test_attention_cross_tq_ne_tk(&e);
  test_attention_all_masked_rows_are_zero(&e);
  test_attention_edge_sizes(&e);
  test_attention_many_blocks(&e);
  test_attention_deterministic_across_threads(&e);
  test_attention_workspace_and_gqa_errors(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_attention");
}
