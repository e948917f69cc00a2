/*
 * test_cuda_ops — every wk op on the CUDA backend against the cpu backend on
 * the same fresh random inputs (seed printed), plus: exact dtype conversion
 * against the host scalar helpers, determinism (each op run twice on the
 * device gives the same bytes; a weight at another device address gives the
 * same bytes), async copy / event ordering, and device-specific refusals.
 *
 * Tolerances (||cuda - cpu|| / ||cpu||): 1e-2 where the CUDA path rounds to
 * bf16 (wk_linear), 2e-5 for f32 ops, exact bytes for copies, conversions,
 * gathers and shuffles. Skips (exit 77) without a CUDA device.
 */
#include "gpu_testutil.h"

static gt_env CPU, CU;
static int dry_run; /* see main */

/* Compares a device result with a host cpu-backend result. */
static void close_to(const char *name, const void *dev, const float *ref,
                     int64_t n, double tol) {
  float *got = (float *)gt_xmalloc((size_t)n * 4);
  gt_down(CU.c, got, dev, (size_t)n * 4);
  double e = gt_rel(got, ref, n);
  GT_CHECK(e <= tol, "%s: rel err %.3g > %.3g (n=%lld)", name, e, tol,
           (long long)n);
  printf("  %-44s rel err %.3g\n", name, e);
  free(got);
}

static void same_bytes(const char *name, const void *dev, const void *ref,
                       size_t bytes) {
  unsigned char *got = (unsigned char *)gt_xmalloc(bytes);
  gt_down(CU.c, got, dev, bytes);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < bytes; i++)
    if (got[i] != ((const unsigned char *)ref)[i] && !bad++) first = i;
  GT_CHECK(bad == 0, "%s: %zu of %zu bytes differ (first at %zu)", name, bad,
           bytes, first);
  if (!bad) printf("  %-44s exact\n", name);
  free(got);
}

/* Runs a CUDA op twice into a poisoned `out` and checks the bytes agree;
 * leaves the second result in out. */
#define TWICE(name, out, bytes, call)                                          \
  do {                                                                         \
    gt_must(CU.c, (call), name);                                               \
    void *h1_ = gt_xmalloc(bytes);                                             \
    gt_down(CU.c, h1_, out, bytes);                                            \
    gt_must(CU.c, wk_memset(CU.c, out, 0xFF, bytes), "wk_memset");             \
    gt_must(CU.c, (call), name);                                               \
    same_bytes(name " (determinism)", out, h1_, bytes);                        \
    free(h1_);                                                                 \
  } while (0)

/* A host copy of f32 values encoded in dtype dt (fp8 with `scale`). */
static void *encode(const float *x, int64_t n, wk_dtype dt, float scale) {
  if (dt == WK_F32) {
    void *p = gt_xmalloc((size_t)n * 4);
    memcpy(p, x, (size_t)n * 4);
    return p;
  }
  if (dt == WK_BF16) {
    uint16_t *p = (uint16_t *)gt_xmalloc((size_t)n * 2);
    for (int64_t i = 0; i < n; i++)
      p[i] = wk_f32_to_bf16(x[i]);
    return p;
  }
  uint8_t *p = (uint8_t *)gt_xmalloc((size_t)n);
  for (int64_t i = 0; i < n; i++)
    p[i] = wk_f32_to_fp8(x[i] / scale);
  return p;
}

static size_t dsize(wk_dtype dt) {
  return dt == WK_F32 ? 4 : dt == WK_BF16 ? 2 : 1;
}

static const char *dname(wk_dtype dt) {
  return dt == WK_F32 ? "f32" : dt == WK_BF16 ? "bf16" : "fp8";
}

/* ---- conversions ----------------------------------------------------------
 */

static void test_convert_matches_host_rounding(void) {
  printf("convert\n");
  const int64_t nr = 20000;
  static const uint32_t special[] = {
      0x00000000u, 0x80000000u, 0x7fc00000u, 0xffc00001u, 0x7f800000u,
      0xff800000u, 0x43e00000u, 0x43e80000u, 0x43e80001u, 0x43f00000u,
      0xc3e40000u, 0x3c800000u, 0x3b000000u, 0x3a800000u, 0x3b400000u,
      0x3f808000u, 0x3f818000u, 0x3f808001u, 0x7f7fffffu, 0x3c7fffffu,
      0x00000001u, 0x3f880000u, 0x3f980000u, 0xbf880000u};
  const int64_t ns = (int64_t)(sizeof special / sizeof special[0]);
  const int64_t n = nr + ns;
  float *x = (float *)gt_xmalloc((size_t)n * 4);
  for (int64_t i = 0; i < nr; i++) /* log-uniform magnitudes 2^-14..2^10 */
    x[i] = (gt_next() & 1 ? -1.0f : 1.0f) *
           ldexpf(gt_uniform(1.0f, 2.0f), (int)gt_int(-14, 10));
  for (int64_t i = 0; i < ns; i++)
    memcpy(&x[nr + i], &special[i], 4);
  const float scale = gt_uniform(0.25f, 2.0f);

  void *dx = gt_dev(CU.c, x, (size_t)n * 4);
  void *dbf = gt_dev(CU.c, NULL, (size_t)n * 2);
  void *d8 = gt_dev(CU.c, NULL, (size_t)n);
  void *df = gt_dev(CU.c, NULL, (size_t)n * 4);
  uint16_t *hbf = (uint16_t *)gt_xmalloc((size_t)n * 2);
  uint8_t *h8 = (uint8_t *)gt_xmalloc((size_t)n);
  for (int64_t i = 0; i < n; i++) {
    hbf[i] = wk_f32_to_bf16(x[i]);
    h8[i] = wk_f32_to_fp8(x[i] / scale);
  }
  gt_must(CU.c, wk_convert(CU.c, dbf, WK_BF16, dx, WK_F32, n, 1.0f), "cvt");
  same_bytes("f32->bf16 == wk_f32_to_bf16", dbf, hbf, (size_t)n * 2);
  gt_must(CU.c, wk_convert(CU.c, d8, WK_FP8_E4M3, dx, WK_F32, n, scale), "cvt");
  same_bytes("f32->fp8 == wk_f32_to_fp8(x/scale)", d8, h8, (size_t)n);

  /* Every bf16 and fp8 pattern back to f32. */
  uint16_t *all16 = (uint16_t *)gt_xmalloc(65536 * 2);
  float *ref = (float *)gt_xmalloc(65536 * 4);
  for (int i = 0; i < 65536; i++) {
    all16[i] = (uint16_t)i;
    ref[i] = wk_bf16_to_f32((uint16_t)i);
  }
  void *d16 = gt_dev(CU.c, all16, 65536 * 2);
  void *d16f = gt_dev(CU.c, NULL, 65536 * 4);
  gt_must(CU.c, wk_convert(CU.c, d16f, WK_F32, d16, WK_BF16, 65536, 1.0f),
          "cvt");
  same_bytes("bf16->f32, all 65536 patterns", d16f, ref, 65536 * 4);
  uint8_t all8[256];
  float ref8[256];
  for (int i = 0; i < 256; i++) {
    all8[i] = (uint8_t)i;
    ref8[i] = wk_fp8_to_f32((uint8_t)i) * scale;
  }
  void *da8 = gt_dev(CU.c, all8, 256);
  void *da8f = gt_dev(CU.c, NULL, 256 * 4);
  gt_must(CU.c, wk_convert(CU.c, da8f, WK_F32, da8, WK_FP8_E4M3, 256, scale),
          "cvt");
  float got8[256];
  gt_down(CU.c, got8, da8f, sizeof got8);
  int bad = 0;
  for (int i = 0; i < 256; i++)
    if (!(isnan(got8[i]) && isnan(ref8[i])) &&
        memcmp(&got8[i], &ref8[i], 4) != 0)
      bad++;
  GT_CHECK(bad == 0, "fp8->f32: %d of 256 patterns differ", bad);

  /* bf16 <-> fp8 directly: same bytes as the cpu backend. */
  uint8_t *c8 = (uint8_t *)gt_xmalloc((size_t)n);
  gt_must(CPU.c, wk_convert(CPU.c, c8, WK_FP8_E4M3, hbf, WK_BF16, n, scale),
          "cpu cvt");
  gt_must(CU.c, wk_convert(CU.c, d8, WK_FP8_E4M3, dbf, WK_BF16, n, scale),
          "cvt");
  same_bytes("bf16->fp8 == cpu backend", d8, c8, (size_t)n);
  uint16_t *c16 = (uint16_t *)gt_xmalloc((size_t)n * 2);
  gt_must(CPU.c, wk_convert(CPU.c, c16, WK_BF16, c8, WK_FP8_E4M3, n, scale),
          "cpu cvt");
  gt_must(CU.c, wk_convert(CU.c, dbf, WK_BF16, d8, WK_FP8_E4M3, n, scale),
          "cvt");
  same_bytes("fp8->bf16 == cpu backend", dbf, c16, (size_t)n * 2);

  void *ptrs[] = {dx, dbf, d8, df, d16, d16f, da8, da8f};
  for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
    wk_dev_free(CU.c, ptrs[i]);
  free(x), free(hbf), free(h8), free(all16), free(ref), free(c8), free(c16);
}

/* ---- linear and gemm --------------------------------------------------------
 */

static void linear_case(int64_t M, int64_t K, int64_t N, wk_dtype wdt,
                        wk_dtype bdt, int with_bias) {
  char name[96];
  snprintf(name, sizeof name, "linear %lldx%lldx%lld w=%s bias=%s",
           (long long)M, (long long)K, (long long)N, dname(wdt),
           with_bias ? dname(bdt) : "none");
  float *x = gt_rand(M * K, -1, 1), *w = gt_rand(N * K, -1, 1);
  float *b = gt_rand(N, -1, 1);
  float scale = 1.0f / 448.0f; /* |w| < 1 maps onto the fp8 range */
  void *hw = encode(w, N * K, wdt, scale), *hb = encode(b, N, bdt, 0.01f);
  wk_w Wc = {hw, wdt, scale}, Bc = {with_bias ? hb : NULL, bdt, 0.01f};
  float *ref = (float *)gt_xmalloc((size_t)(M * N) * 4);
  gt_ws(&CPU, wk_linear_workspace(CPU.c, M, K, N, wdt));
  gt_must(CPU.c, wk_linear(CPU.c, x, M, K, Wc, Bc, N, ref), "cpu linear");

  void *dx = gt_dev(CU.c, x, (size_t)(M * K) * 4);
  void *dw = gt_dev(CU.c, hw, (size_t)(N * K) * dsize(wdt));
  void *db = gt_dev(CU.c, hb, (size_t)N * dsize(bdt));
  void *dy = gt_dev(CU.c, NULL, (size_t)(M * N) * 4);
  wk_w Wd = {dw, wdt, scale}, Bd = {with_bias ? db : NULL, bdt, 0.01f};
  size_t need = wk_linear_workspace(CU.c, M, K, N, wdt);
  gt_ws(&CU, need);
  TWICE("linear", dy, (size_t)(M * N) * 4,
        wk_linear(CU.c, (const float *)dx, M, K, Wd, Bd, N, (float *)dy));
  close_to(name, dy, ref, M * N, 1e-2);

  /* The same weight bytes at another (256-aligned) device address, as in a
   * stream window: identical output bytes. */
  size_t wbytes = (size_t)(N * K) * dsize(wdt);
  char *win = (char *)gt_dev(CU.c, NULL, wbytes + 4096);
  gt_must(CU.c, wk_copy_d2d(CU.c, win + 4096, dw, wbytes), "d2d");
  float *first = (float *)gt_xmalloc((size_t)(M * N) * 4);
  gt_down(CU.c, first, dy, (size_t)(M * N) * 4);
  wk_w Ww = {win + 4096, wdt, scale};
  gt_must(CU.c,
          wk_linear(CU.c, (const float *)dx, M, K, Ww, Bd, N, (float *)dy),
          "linear (window)");
  same_bytes("  ...weight at another address", dy, first, (size_t)(M * N) * 4);

  if (need > 0) { /* a short workspace is refused, not overrun */
    wk_set_workspace(CU.c, CU.ws, need - 1);
    int rc = wk_linear(CU.c, (const float *)dx, M, K, Wd, Bd, N, (float *)dy);
    GT_CHECK(rc == WK_ESPACE, "linear with a short workspace returned %d", rc);
    wk_set_workspace(CU.c, CU.ws, CU.ws_bytes);
  }
  wk_dev_free(CU.c, win);
  wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dw), wk_dev_free(CU.c, db);
  wk_dev_free(CU.c, dy);
  free(x), free(w), free(b), free(hw), free(hb), free(ref), free(first);
}

static void test_linear_matches_cpu(void) {
  printf("linear\n");
  const wk_dtype dts[] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  for (int i = 0; i < 3; i++)
    linear_case(gt_int(1, 70), gt_int(1, 300), gt_int(1, 200), dts[i],
                dts[gt_int(0, 1)], (int)gt_int(0, 1));
  linear_case(7, 3840, 256, WK_BF16, WK_F32, 1); /* Gemma-width input */
  linear_case(129, 64, 1, WK_FP8_E4M3, WK_BF16, 1);
  linear_case(256, 512, 384, WK_BF16, WK_BF16, 1); /* tensor-core tiles */
}

static void test_gemm_matches_cpu(void) {
  printf("gemm (f32, batched, transposes)\n");
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      int64_t M = gt_int(1, 80), N = gt_int(1, 80), K = gt_int(1, 80);
      int64_t batch = gt_int(1, 3);
      int64_t ar = ta ? K : M, ac = ta ? M : K; /* stored A [ar, lda] */
      int64_t br = tb ? N : K, bc = tb ? K : N;
      int64_t lda = ac + gt_int(0, 3), ldb = bc + gt_int(0, 3);
      int64_t ldc = N + gt_int(0, 3);
      int64_t sA = ar * lda + gt_int(0, 5), sB = br * ldb + gt_int(0, 5);
      int64_t sC = M * ldc + gt_int(0, 5);
      float alpha = gt_uniform(-2, 2), beta = gt_uniform(-1, 1);
      float *A = gt_rand(sA * batch, -1, 1), *B = gt_rand(sB * batch, -1, 1);
      float *C = gt_rand(sC * batch, -1, 1);
      float *ref = (float *)gt_xmalloc((size_t)(sC * batch) * 4);
      memcpy(ref, C, (size_t)(sC * batch) * 4);
      gt_must(CPU.c,
              wk_gemm(CPU.c, ta, tb, M, N, K, alpha, A, lda, sA, B, ldb, sB,
                      beta, ref, ldc, sC, batch),
              "cpu gemm");
      void *dA = gt_dev(CU.c, A, (size_t)(sA * batch) * 4);
      void *dB = gt_dev(CU.c, B, (size_t)(sB * batch) * 4);
      void *dC = gt_dev(CU.c, C, (size_t)(sC * batch) * 4);
      gt_must(CU.c,
              wk_gemm(CU.c, ta, tb, M, N, K, alpha, (const float *)dA, lda, sA,
                      (const float *)dB, ldb, sB, beta, (float *)dC, ldc, sC,
                      batch),
              "gemm");
      char name[96];
      snprintf(name, sizeof name, "gemm ta=%d tb=%d %lldx%lldx%lld b=%lld", ta,
               tb, (long long)M, (long long)N, (long long)K, (long long)batch);
      close_to(name, dC, ref, sC * batch, 2e-5);
      wk_dev_free(CU.c, dA), wk_dev_free(CU.c, dB), wk_dev_free(CU.c, dC);
      free(A), free(B), free(C), free(ref);
    }
}

/* ---- norms and softmax ------------------------------------------------------
 */

static void test_norms_match_cpu(void) {
  printf("rmsnorm / layernorm / softmax\n");
  const wk_dtype dts[] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  for (int v = 0; v < 4; v++) {
    int64_t rows = gt_int(1, 40), dim = v == 3 ? 3840 : gt_int(1, 3000);
    wk_dtype wdt = dts[v % 3];
    float *x = gt_rand(rows * dim, -3, 3), *w = gt_rand(dim, -1, 1);
    float *b = gt_rand(dim, -1, 1);
    void *hw = encode(w, dim, wdt, 0.01f), *hb = encode(b, dim, WK_F32, 1);
    float *ref = (float *)gt_xmalloc((size_t)(rows * dim) * 4);
    void *dx = gt_dev(CU.c, x, (size_t)(rows * dim) * 4);
    void *dy = gt_dev(CU.c, NULL, (size_t)(rows * dim) * 4);
    void *dw = gt_dev(CU.c, hw, (size_t)dim * dsize(wdt));
    void *db = gt_dev(CU.c, hb, (size_t)dim * 4);
    int plus_one = (int)gt_int(0, 1), affine = v != 2;
    wk_w Wc = {affine ? hw : NULL, wdt, 0.01f},
         Wd = {affine ? dw : NULL, wdt, 0.01f};
    char name[96];
    snprintf(name, sizeof name, "rmsnorm %lldx%lld w=%s plus_one=%d",
             (long long)rows, (long long)dim, affine ? dname(wdt) : "none",
             plus_one);
    gt_must(CPU.c, wk_rmsnorm(CPU.c, x, Wc, rows, dim, 1e-6f, plus_one, ref),
            "cpu");
    TWICE("rmsnorm", dy, (size_t)(rows * dim) * 4,
          wk_rmsnorm(CU.c, (const float *)dx, Wd, rows, dim, 1e-6f, plus_one,
                     (float *)dy));
    close_to(name, dy, ref, rows * dim, 2e-5);

    wk_w Bc = {affine ? hb : NULL, WK_F32, 1},
         Bd = {affine ? db : NULL, WK_F32, 1};
    snprintf(name, sizeof name, "layernorm %lldx%lld affine=%d",
             (long long)rows, (long long)dim, affine);
    gt_must(CPU.c, wk_layernorm(CPU.c, x, Wc, Bc, rows, dim, 1e-5f, ref),
            "cpu");
    TWICE("layernorm", dy, (size_t)(rows * dim) * 4,
          wk_layernorm(CU.c, (const float *)dx, Wd, Bd, rows, dim, 1e-5f,
                       (float *)dy));
    close_to(name, dy, ref, rows * dim, 2e-5);

    /* softmax with masked (-inf) entries and one fully masked row */
    for (int64_t i = 0; i < rows * dim; i++)
      if (gt_int(0, 9) == 0) x[i] = -INFINITY;
    for (int64_t i = 0; i < dim; i++)
      x[i] = -INFINITY;
    gt_must(CU.c, wk_copy_h2d(CU.c, dx, x, (size_t)(rows * dim) * 4), "h2d");
    gt_must(CPU.c, wk_softmax(CPU.c, x, rows, dim, ref), "cpu");
    TWICE("softmax", dy, (size_t)(rows * dim) * 4,
          wk_softmax(CU.c, (const float *)dx, rows, dim, (float *)dy));
    snprintf(name, sizeof name, "softmax %lldx%lld (masked entries)",
             (long long)rows, (long long)dim);
    close_to(name, dy, ref, rows * dim, 2e-5);
    /* in place (y aliases x) */
    gt_must(CU.c, wk_softmax(CU.c, (const float *)dx, rows, dim, (float *)dx),
            "softmax in place");
    close_to("softmax in place", dx, ref, rows * dim, 2e-5);

    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dy), wk_dev_free(CU.c, dw);
    wk_dev_free(CU.c, db);
    free(x), free(w), free(b), free(hw), free(hb), free(ref);
  }
}

/* ---- elementwise ------------------------------------------------------------
 */

static void test_elementwise_matches_cpu(void) {
  printf("elementwise\n");
  int64_t rows = gt_int(1, 300), cols = gt_int(1, 700), n = rows * cols;
  size_t nb = (size_t)n * 4;
  float *a = gt_rand(n, -6, 6), *b = gt_rand(n, -2, 2);
  float *v = gt_rand(cols, -1, 1), *u = gt_rand(cols, -1, 1);
  float *ref = (float *)gt_xmalloc(nb);
  float s = gt_uniform(-3, 3);
  void *da = gt_dev(CU.c, a, nb), *db = gt_dev(CU.c, b, nb);
  void *dv = gt_dev(CU.c, v, (size_t)cols * 4);
  void *du = gt_dev(CU.c, u, (size_t)cols * 4);
  void *dy = gt_dev(CU.c, NULL, nb);
  const float *A = (const float *)da, *B = (const float *)db;
  const float *V = (const float *)dv, *U = (const float *)du;
  float *Y = (float *)dy;
#define EW(label, cpu_call, cu_call)                                           \
  do {                                                                         \
    gt_must(CPU.c, (cpu_call), "cpu " label);                                  \
    TWICE(label, dy, nb, (cu_call));                                           \
    close_to(label, dy, ref, n, 2e-5);                                         \
  } while (0)
  EW("gelu_tanh", wk_gelu_tanh(CPU.c, a, n, ref), wk_gelu_tanh(CU.c, A, n, Y));
  EW("silu", wk_silu(CPU.c, a, n, ref), wk_silu(CU.c, A, n, Y));
  EW("add", wk_add(CPU.c, a, b, n, ref), wk_add(CU.c, A, B, n, Y));
  EW("mul", wk_mul(CPU.c, a, b, n, ref), wk_mul(CU.c, A, B, n, Y));
  EW("scale", wk_scale(CPU.c, a, s, n, ref), wk_scale(CU.c, A, s, n, Y));
  EW("add_row", wk_add_row(CPU.c, a, v, rows, cols, ref),
     wk_add_row(CU.c, A, V, rows, cols, Y));
  EW("modulate", wk_modulate(CPU.c, a, v, u, rows, cols, ref),
     wk_modulate(CU.c, A, V, U, rows, cols, Y));
  EW("gate_add", wk_gate_add(CPU.c, a, v, b, rows, cols, ref),
     wk_gate_add(CU.c, A, V, B, rows, cols, Y));
  int64_t row0 = gt_int(0, rows - 1);
  EW("range_norm", wk_range_norm(CPU.c, a, rows, cols, row0, 1e-6f, ref),
     wk_range_norm(CU.c, A, rows, cols, row0, 1e-6f, Y));
  EW("head_gate", wk_head_gate(CPU.c, a, b, rows, 1, cols, ref),
     wk_head_gate(CU.c, A, B, rows, 1, cols, Y));
#undef EW
  /* head_gate works in place: each run starts from a fresh copy of a. */
  {
    int64_t H = gt_int(1, 8), D = gt_int(1, 64), R = gt_int(1, 50);
    int64_t hn = R * H * D;
    float *x = gt_rand(hn, -3, 3), *g = gt_rand(R * H, -5, 5);
    void *dx = gt_dev(CU.c, x, (size_t)hn * 4),
         *dg = gt_dev(CU.c, g, (size_t)(R * H) * 4);
    gt_must(CPU.c, wk_head_gate(CPU.c, x, g, R, H, D, x), "cpu head_gate");
    gt_must(CU.c,
            wk_head_gate(CU.c, (float *)dx, (const float *)dg, R, H, D,
                         (float *)dx),
            "head_gate");
    close_to("head_gate", dx, x, hn, 2e-5);
    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dg);
    free(x), free(g);
  }
  /* y aliasing an input */
  gt_must(CPU.c, wk_add(CPU.c, a, b, n, ref), "cpu add");
  gt_must(CU.c, wk_add(CU.c, A, B, n, (float *)da), "add in place");
  close_to("add in place (y == a)", da, ref, n, 2e-5);

  /* transpose and depth-to-space move values: exact */
  gt_must(CPU.c, wk_transpose(CPU.c, b, rows, cols, ref), "cpu transpose");
  TWICE("transpose", dy, nb, wk_transpose(CU.c, B, rows, cols, Y));
  same_bytes("transpose", dy, ref, nb);
  int pt = (int)gt_int(1, 2), ph = (int)gt_int(1, 2), pw = (int)gt_int(1, 3);
  int64_t C = gt_int(1, 4), T = gt_int(1, 3), H = gt_int(1, 9),
          W = gt_int(1, 9);
  int64_t m = C * pt * ph * pw * T * H * W;
  float *x = gt_rand(m, -1, 1), *r2 = (float *)gt_xmalloc((size_t)m * 4);
  void *dx = gt_dev(CU.c, x, (size_t)m * 4),
       *dz = gt_dev(CU.c, NULL, (size_t)m * 4);
  gt_must(CPU.c, wk_depth_to_space3d(CPU.c, x, C, T, H, W, pt, ph, pw, r2),
          "cpu d2s");
  gt_must(CU.c,
          wk_depth_to_space3d(CU.c, (const float *)dx, C, T, H, W, pt, ph, pw,
                              (float *)dz),
          "d2s");
  same_bytes("depth_to_space3d", dz, r2, (size_t)m * 4);
  wk_dev_free(CU.c, da), wk_dev_free(CU.c, db), wk_dev_free(CU.c, dv);
  wk_dev_free(CU.c, du), wk_dev_free(CU.c, dy), wk_dev_free(CU.c, dx);
  wk_dev_free(CU.c, dz);
  free(a), free(b), free(v), free(u), free(ref), free(x), free(r2);
}

/* ---- embeddings and rope
 * ----------------------------------------------------- */

static void test_embed_and_rope_match_cpu(void) {
  printf("embed_gather / rope\n");
  const int64_t V = 1000, C = gt_int(1, 200), T = gt_int(1, 64);
  float *tab = gt_rand(V * C, -1, 1);
  int32_t *ids = (int32_t *)gt_xmalloc((size_t)T * 4);
  for (int64_t t = 0; t < T; t++)
    ids[t] = (int32_t)gt_int(0, V - 1);
  float mult = gt_uniform(0.5f, 70.0f),
        *ref = (float *)gt_xmalloc((size_t)(T * C) * 4);
  void *dy = gt_dev(CU.c, NULL, (size_t)(T * C) * 4);
  const wk_dtype dts[] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  for (int i = 0; i < 3; i++) {
    void *ht = encode(tab, V * C, dts[i], 1.0f / 256);
    void *dt = gt_dev(CU.c, ht, (size_t)(V * C) * dsize(dts[i]));
    wk_w Th = {ht, dts[i], 1.0f / 256}, Td = {dt, dts[i], 1.0f / 256};
    char name[64];
    gt_must(CPU.c, wk_embed_gather(CPU.c, Th, V, C, ids, T, mult, ref), "cpu");
    TWICE("embed_gather", dy, (size_t)(T * C) * 4,
          wk_embed_gather(CU.c, Td, V, C, ids, T, mult, (float *)dy));
    snprintf(name, sizeof name, "embed_gather table=%s", dname(dts[i]));
    same_bytes(name, dy, ref, (size_t)(T * C) * 4);
    gt_must(CU.c, wk_memset(CU.c, dy, 0xFF, (size_t)(T * C) * 4), "memset");
    gt_must(CU.c,
            wk_embed_gather_host(CU.c, Th, V, C, ids, T, mult, (float *)dy),
            "embed_gather_host");
    snprintf(name, sizeof name, "embed_gather_host table=%s", dname(dts[i]));
    same_bytes(name, dy, ref, (size_t)(T * C) * 4);
    if (i == 0) { /* an id out of range is refused with its position */
      int32_t keep = ids[T - 1];
      ids[T - 1] = (int32_t)V;
      int rc = wk_embed_gather(CU.c, Td, V, C, ids, T, mult, (float *)dy);
      GT_CHECK(rc == WK_EINVAL, "embed_gather with id %lld returned %d",
               (long long)V, rc);
      ids[T - 1] = keep;
    }
    wk_dev_free(CU.c, dt);
    free(ht);
  }
  wk_dev_free(CU.c, dy);
  free(tab), free(ids), free(ref);

  for (int mode = 0; mode < 2; mode++) {
    int64_t Tr = gt_int(1, 40), H = gt_int(1, 4), D = 2 * gt_int(1, 64);
    float *x = gt_rand(Tr * H * D, -2, 2), *cs = gt_rand(Tr * D, -1, 1);
    float *sn = gt_rand(Tr * D, -1, 1);
    if (mode == WK_ROPE_HALF) {
      float *pos = gt_rand(Tr, 0, 500);
      wk_rope_table_1d(pos, Tr, D, 10000.0, gt_uniform(1, 8), cs, sn);
      free(pos);
    }
    void *dx = gt_dev(CU.c, x, (size_t)(Tr * H * D) * 4);
    void *dc = gt_dev(CU.c, cs, (size_t)(Tr * D) * 4);
    void *ds = gt_dev(CU.c, sn, (size_t)(Tr * D) * 4);
    gt_must(CPU.c, wk_rope(CPU.c, x, Tr, H, D, cs, sn, mode), "cpu rope");
    gt_must(CU.c,
            wk_rope(CU.c, (float *)dx, Tr, H, D, (const float *)dc,
                    (const float *)ds, mode),
            "rope");
    close_to(mode == WK_ROPE_HALF ? "rope half" : "rope interleaved", dx, x,
             Tr * H * D, 2e-5);
    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dc), wk_dev_free(CU.c, ds);
    free(x), free(cs), free(sn);
  }
}

/* ---- attention --------------------------------------------------------------
 */

static void attn_case(int64_t B, int64_t Tq, int64_t Tk, int64_t Hq,
                      int64_t Hkv, int64_t D, int causal, int64_t window,
                      int with_mask) {
  int64_t nq = B * Tq * Hq * D, nk = B * Tk * Hkv * D;
  float *q = gt_rand(nq, -1, 1), *k = gt_rand(nk, -1, 1);
  float *v = gt_rand(nk, -1, 1), *ref = (float *)gt_xmalloc((size_t)nq * 4);
  int32_t *mask = (int32_t *)gt_xmalloc((size_t)(B * Tk) * 4);
  for (int64_t i = 0; i < B * Tk; i++)
    mask[i] = gt_int(0, 3) != 0;
  if (with_mask && B > 1) /* batch 1: every key masked */
    for (int64_t j = 0; j < Tk; j++)
      mask[Tk + j] = 0;
  wk_attn a = {B,
               Tq,
               Tk,
               Hq,
               Hkv,
               D,
               1.0f / sqrtf((float)D),
               causal,
               window,
               with_mask ? mask : NULL};
  gt_ws(&CPU, wk_attention_workspace(CPU.c, &a));
  gt_must(CPU.c, wk_attention(CPU.c, &a, q, k, v, ref), "cpu attention");
  void *dq = gt_dev(CU.c, q, (size_t)nq * 4),
       *dk = gt_dev(CU.c, k, (size_t)nk * 4);
  void *dv = gt_dev(CU.c, v, (size_t)nk * 4),
       *dout = gt_dev(CU.c, NULL, (size_t)nq * 4);
  void *dm = gt_dev(CU.c, mask, (size_t)(B * Tk) * 4);
  wk_attn ad = a;
  ad.kv_mask = with_mask ? (const int32_t *)dm : NULL;
  gt_ws(&CU, wk_attention_workspace(CU.c, &ad));
  TWICE("attention", dout, (size_t)nq * 4,
        wk_attention(CU.c, &ad, (const float *)dq, (const float *)dk,
                     (const float *)dv, (float *)dout));
  char name[128];
  snprintf(name, sizeof name,
           "attention B%lld Tq%lld Tk%lld H%lld/%lld D%lld c%d w%lld m%d",
           (long long)B, (long long)Tq, (long long)Tk, (long long)Hq,
           (long long)Hkv, (long long)D, causal, (long long)window, with_mask);
  close_to(name, dout, ref, nq, 2e-5);
  if (with_mask && B > 1) { /* the fully masked batch is exactly zero */
    float *got = (float *)gt_xmalloc((size_t)nq * 4);
    gt_down(CU.c, got, dout, (size_t)nq * 4);
    int64_t nz = 0;
    for (int64_t i = Tq * Hq * D; i < 2 * Tq * Hq * D; i++)
      nz += got[i] != 0;
    GT_CHECK(nz == 0, "%s: %lld outputs of a fully masked batch are nonzero",
             name, (long long)nz);
    free(got);
  }
  wk_dev_free(CU.c, dq), wk_dev_free(CU.c, dk), wk_dev_free(CU.c, dv);
  wk_dev_free(CU.c, dout), wk_dev_free(CU.c, dm);
  free(q), free(k), free(v), free(ref), free(mask);
}

static void test_attention_matches_cpu(void) {
  printf("attention\n");
  attn_case(2, 77, 77, 4, 2, 64, 1, 0, 0);     /* causal, GQA */
  attn_case(1, 100, 100, 2, 1, 256, 1, 16, 0); /* sliding window */
  attn_case(2, 13, 50, 3, 3, 40, 0, 0, 1);     /* cross + padding */
  attn_case(1, 5, 33, 8, 2, 128, 1, 0, 0);     /* queries at end */
  attn_case(1, 40, 9, 2, 2, 32, 1, 0, 0);      /* Tq > Tk */
  attn_case(2, gt_int(1, 90), gt_int(1, 90), 4, 1, 2 * gt_int(1, 40),
            (int)gt_int(0, 1), gt_int(0, 20), (int)gt_int(0, 1));
  attn_case(1, 3, 3, 1, 1, 300, 0, 0, 0); /* D > 256 */

  if (dry_run) return; /* the cpu backend has no such limit */
  /* A head dim the device cannot hold in shared memory is refused. */
  wk_attn a = {1, 1, 1, 1, 1, 4096, 1.0f, 0, 0, NULL};
  void *d = gt_dev(CU.c, NULL, 4096 * 4);
  int rc = wk_attention(CU.c, &a, (const float *)d, (const float *)d,
                        (const float *)d, (float *)d);
  GT_CHECK(rc == WK_EUNSUPPORTED && strstr(wk_last_error(CU.c), "head dim"),
           "attention D=4096 returned %d (%s)", rc, wk_last_error(CU.c));
  wk_dev_free(CU.c, d);
}

/* ---- conv3d
 * ------------------------------------------------------------------ */

static void test_conv3d_matches_cpu(void) {
  printf("conv3d\n");
  const wk_dtype dts[] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  /* Cases 3..6 add the padding modes: reflect / replicate / zeros in space
   * and time, and an asymmetric causal 2-D conv. */
  for (int i = 0; i < 7; i++) {
    wk_conv3d p;
    memset(&p, 0, sizeof p);
    p.Ci = gt_int(1, 6), p.T = gt_int(1, 5), p.H = gt_int(3, 12);
    p.W = gt_int(3, 12), p.Co = gt_int(1, 20);
    p.kt = gt_int(1, 3), p.kh = gt_int(1, 3), p.kw = gt_int(1, 3);
    p.pt_front = i == 0 ? p.kt - 1 : gt_int(0, 2);
    p.pt_back = i == 0 ? 0 : gt_int(0, 2);
    p.ph = p.kh / 2, p.pw = p.kw / 2;
    if (i == 3) p.spad = WK_PAD_REFLECT, p.tpad = WK_PAD_ZEROS;
    if (i == 4) p.spad = WK_PAD_REPLICATE, p.tpad = WK_PAD_REPLICATE;
    if (i == 5) {
      p.spad = WK_PAD_REFLECT, p.tpad = WK_PAD_REFLECT;
      p.T = gt_int(3, 5), p.pt_front = gt_int(0, 2), p.pt_back = gt_int(0, 2);
    }
    if (i == 6) {
      p.T = 1, p.kt = 1, p.pt_front = p.pt_back = 0, p.kh = 3, p.kw = 3;
      p.asym = 1, p.ph = 2, p.ph_back = 0, p.pw = 1, p.pw_back = 1;
    }
    if (p.T + p.pt_front + p.pt_back < p.kt) p.pt_front = p.kt - 1;
    if (p.tpad == WK_PAD_REFLECT && p.pt_front >= p.T) p.pt_front = p.T - 1;
    int64_t To = wk_conv3d_out_t(&p), Ho = wk_conv3d_out_h(&p),
            Wo = wk_conv3d_out_w(&p);
    int64_t nx = p.Ci * p.T * p.H * p.W, nw = p.Co * p.Ci * p.kt * p.kh * p.kw;
    int64_t ny = p.Co * To * Ho * Wo;
    float *x = gt_rand(nx, -1, 1), *w = gt_rand(nw, -1, 1);
    float *b = gt_rand(p.Co, -1, 1), *ref = (float *)gt_xmalloc((size_t)ny * 4);
    wk_dtype dt = dts[i % 3];
    void *hw = encode(w, nw, dt, 1.0f / 448);
    wk_w Wc = {hw, dt, 1.0f / 448}, Bc = {b, WK_F32, 1};
    gt_ws(&CPU, wk_conv3d_workspace(CPU.c, &p, dt));
    gt_must(CPU.c, wk_conv3d_fwd(CPU.c, &p, x, Wc, Bc, ref), "cpu conv3d");
    void *dx = gt_dev(CU.c, x, (size_t)nx * 4);
    void *dw = gt_dev(CU.c, hw, (size_t)nw * dsize(dt));
    void *db = gt_dev(CU.c, b, (size_t)p.Co * 4);
    void *dy = gt_dev(CU.c, NULL, (size_t)ny * 4);
    wk_w Wd = {dw, dt, 1.0f / 448}, Bd = {db, WK_F32, 1};
    gt_ws(&CU, wk_conv3d_workspace(CU.c, &p, dt));
    TWICE("conv3d", dy, (size_t)ny * 4,
          wk_conv3d_fwd(CU.c, &p, (const float *)dx, Wd, Bd, (float *)dy));
    char name[160];
    snprintf(name, sizeof name,
             "conv3d %lld->%lld %lldx%lldx%lld k%lld%lld%lld pt%lld/%lld "
             "pad t%d s%d asym%d w=%s",
             (long long)p.Ci, (long long)p.Co, (long long)p.T, (long long)p.H,
             (long long)p.W, (long long)p.kt, (long long)p.kh, (long long)p.kw,
             (long long)p.pt_front, (long long)p.pt_back, p.tpad, p.spad,
             p.asym, dname(dts[i % 3]));
    close_to(name, dy, ref, ny, 2e-5);
    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dw), wk_dev_free(CU.c, db);
    wk_dev_free(CU.c, dy);
    free(x), free(w), free(b), free(ref), free(hw);
  }
}

/* ---- audio and signal ops
 * ------------------------------------------------------------------ */

static void test_signal_matches_cpu(void) {
  printf("signal\n");
  const wk_dtype dts[] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  for (int i = 0; i < 6; i++) {
    wk_dtype dt = dts[i % 3];
    wk_conv1d p;
    memset(&p, 0, sizeof p);
    p.groups = gt_int(1, 3);
    p.Ci = p.groups * gt_int(1, 8), p.Co = p.groups * gt_int(1, 8);
    p.L = gt_int(8, 300), p.k = gt_int(1, 9), p.stride = gt_int(1, 3);
    p.dilation = gt_int(1, 3), p.pad = (int)gt_int(0, 3);
    p.pad_front = gt_int(0, 5), p.pad_back = gt_int(0, 5);
    p.shared = (int)(i & 1);
    if (wk_conv1d_out_len(&p) < 1) p.pad_back += p.dilation * p.k;
    if (p.pad == WK_PAD_REFLECT && p.pad_back >= p.L) p.pad = WK_PAD_ZEROS;
    int64_t Lo = wk_conv1d_out_len(&p), nx = p.Ci * p.L;
    int64_t nw = (p.shared ? p.Co / p.groups : p.Co) * (p.Ci / p.groups) * p.k;
    int64_t ny = p.Co * Lo;
    float *x = gt_rand(nx, -1, 1), *w = gt_rand(nw, -1, 1);
    float *b = gt_rand(p.Co, -1, 1), *ref = (float *)gt_xmalloc((size_t)ny * 4);
    void *hw = encode(w, nw, dt, 1.0f / 448);
    wk_w Wc = {hw, dt, 1.0f / 448}, Bc = {b, WK_F32, 1};
    gt_ws(&CPU, wk_conv1d_workspace(CPU.c, &p, dt));
    gt_must(CPU.c, wk_conv1d_fwd(CPU.c, &p, x, Wc, Bc, ref), "cpu conv1d");
    void *dx = gt_dev(CU.c, x, (size_t)nx * 4);
    void *dw = gt_dev(CU.c, hw, (size_t)nw * dsize(dt));
    void *db = gt_dev(CU.c, b, (size_t)p.Co * 4);
    void *dy = gt_dev(CU.c, NULL, (size_t)ny * 4);
    wk_w Wd = {dw, dt, 1.0f / 448}, Bd = {db, WK_F32, 1};
    gt_ws(&CU, wk_conv1d_workspace(CU.c, &p, dt));
    TWICE("conv1d", dy, (size_t)ny * 4,
          wk_conv1d_fwd(CU.c, &p, (const float *)dx, Wd, Bd, (float *)dy));
    close_to("conv1d", dy, ref, ny, 2e-5);
    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dw), wk_dev_free(CU.c, db);
    wk_dev_free(CU.c, dy);
    free(x), free(w), free(b), free(ref), free(hw);

    wk_convt1d q;
    q.shared = (int)(i & 1);
    q.groups = gt_int(1, 2);
    q.Ci = q.groups * gt_int(1, 8), q.Co = q.groups * gt_int(1, 8);
    q.L = gt_int(1, 100), q.k = gt_int(1, 16), q.stride = gt_int(1, 6);
    q.padding = gt_int(0, (q.k - 1) / 2);
    Lo = wk_convt1d_out_len(&q), nx = q.Ci * q.L;
    nw = (q.shared ? q.Ci / q.groups : q.Ci) * (q.Co / q.groups) * q.k;
    ny = q.Co * Lo;
    x = gt_rand(nx, -1, 1), w = gt_rand(nw, -1, 1), b = gt_rand(q.Co, -1, 1);
    ref = (float *)gt_xmalloc((size_t)ny * 4);
    hw = encode(w, nw, dt, 1.0f / 448);
    wk_w Wq = {hw, dt, 1.0f / 448}, Bq = {b, WK_F32, 1};
    gt_must(CPU.c, wk_conv_transpose1d(CPU.c, &q, x, Wq, Bq, ref),
            "cpu conv_transpose1d");
    dx = gt_dev(CU.c, x, (size_t)nx * 4);
    dw = gt_dev(CU.c, hw, (size_t)nw * dsize(dt));
    db = gt_dev(CU.c, b, (size_t)q.Co * 4);
    dy = gt_dev(CU.c, NULL, (size_t)ny * 4);
    wk_w Wqd = {dw, dt, 1.0f / 448}, Bqd = {db, WK_F32, 1};
    TWICE("conv_transpose1d", dy, (size_t)ny * 4,
          wk_conv_transpose1d(CU.c, &q, (const float *)dx, Wqd, Bqd,
                              (float *)dy));
    close_to("conv_transpose1d", dy, ref, ny, 2e-5);
    wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dw), wk_dev_free(CU.c, db);
    wk_dev_free(CU.c, dy);
    free(x), free(w), free(b), free(ref), free(hw);
  }
  /* Nearest upsampling, GroupNorm, LeakyReLU, tanh, Snake. */
  int64_t C = 32 * gt_int(1, 3), T = gt_int(1, 3), H = gt_int(1, 20),
          Wd = gt_int(1, 20), n = C * T * H * Wd;
  float *x = gt_rand(n, -3, 3), *al = gt_rand(C, -1, 1), *be = gt_rand(C, -1, 1);
  float *gw = gt_rand(C, -1, 1), *gb = gt_rand(C, -1, 1);
  float *ref = (float *)gt_xmalloc((size_t)n * 8 * 4);
  void *dx = gt_dev(CU.c, x, (size_t)n * 4), *dal = gt_dev(CU.c, al, C * 4);
  void *dbe = gt_dev(CU.c, be, C * 4), *dgw = gt_dev(CU.c, gw, C * 4);
  void *dgb = gt_dev(CU.c, gb, C * 4);
  void *dy = gt_dev(CU.c, NULL, (size_t)n * 8 * 4);
  const float *X = (const float *)dx;
  float *Y = (float *)dy;
  gt_must(CPU.c, wk_upsample_nearest(CPU.c, x, C, T, H, Wd, 2, 2, 2, ref),
          "cpu upsample");
  TWICE("upsample_nearest", dy, (size_t)n * 32,
        wk_upsample_nearest(CU.c, X, C, T, H, Wd, 2, 2, 2, Y));
  close_to("upsample_nearest", dy, ref, n * 8, 0);
  /* x read as [C/8, 2T, 2H, 2W]: space to depth back with a group mean. */
  gt_must(CPU.c, wk_space_to_depth3d(CPU.c, x, C / 8, T, H / 2 ? H / 2 : 1,
                                     Wd / 2 ? Wd / 2 : 1, 1, 1, 1, 2, ref),
          "cpu space_to_depth");
  {
    int64_t Hs = H / 2 ? H / 2 : 1, Ws = Wd / 2 ? Wd / 2 : 1;
    int64_t ns = C / 8 * T * Hs * Ws / 2;
    TWICE("space_to_depth3d", dy, (size_t)ns * 4,
          wk_space_to_depth3d(CU.c, X, C / 8, T, Hs, Ws, 1, 1, 1, 2, Y));
    close_to("space_to_depth3d", dy, ref, ns, 0);
  }
  wk_w GW = {gw, WK_F32, 1}, GB = {gb, WK_F32, 1};
  wk_w GWd = {dgw, WK_F32, 1}, GBd = {dgb, WK_F32, 1};
  gt_must(CPU.c, wk_group_norm(CPU.c, x, C, T * H * Wd, 32, GW, GB, 1e-5f, ref),
          "cpu group_norm");
  TWICE("group_norm", dy, (size_t)n * 4,
        wk_group_norm(CU.c, X, C, T * H * Wd, 32, GWd, GBd, 1e-5f, Y));
  close_to("group_norm", dy, ref, n, 2e-5);
  gt_must(CPU.c, wk_leaky_relu(CPU.c, x, n, 0.1f, ref), "cpu leaky_relu");
  TWICE("leaky_relu", dy, (size_t)n * 4, wk_leaky_relu(CU.c, X, n, 0.1f, Y));
  close_to("leaky_relu", dy, ref, n, 0);
  gt_must(CPU.c, wk_tanh(CPU.c, x, n, ref), "cpu tanh");
  TWICE("tanh", dy, (size_t)n * 4, wk_tanh(CU.c, X, n, Y));
  close_to("tanh", dy, ref, n, 2e-6);
  wk_w A = {al, WK_F32, 1}, B = {be, WK_F32, 1};
  wk_w Ad = {dal, WK_F32, 1}, Bd = {dbe, WK_F32, 1};
  gt_must(CPU.c, wk_snake(CPU.c, x, C, n / C, A, B, 1, ref), "cpu snake");
  TWICE("snakebeta", dy, (size_t)n * 4, wk_snake(CU.c, X, C, n / C, Ad, Bd, 1, Y));
  close_to("snakebeta", dy, ref, n, 2e-5);
  int64_t half = n / 2;
  gt_must(CPU.c, wk_complex_abs(CPU.c, x, half / T ? half / T : 1, T, ref),
          "cpu complex_abs");
  {
    int64_t N2 = half / T ? half / T : 1;
    TWICE("complex_abs", dy, (size_t)(N2 * T) * 4,
          wk_complex_abs(CU.c, X, N2, T, Y));
    close_to("complex_abs", dy, ref, N2 * T, 2e-6);
  }
  gt_must(CPU.c, wk_log_clamp(CPU.c, x, n, 1e-5f, ref), "cpu log_clamp");
  TWICE("log_clamp", dy, (size_t)n * 4, wk_log_clamp(CU.c, X, n, 1e-5f, Y));
  close_to("log_clamp", dy, ref, n, 2e-6);
  gt_must(CPU.c, wk_pad1d(CPU.c, x, C, n / C, 5, 6, WK_PAD_REPLICATE, ref),
          "cpu pad1d");
  TWICE("pad1d", dy, (size_t)(n + 11 * C) * 4,
        wk_pad1d(CU.c, X, C, n / C, 5, 6, WK_PAD_REPLICATE, Y));
  close_to("pad1d", dy, ref, n + 11 * C, 0);
  wk_dev_free(CU.c, dx), wk_dev_free(CU.c, dal), wk_dev_free(CU.c, dbe);
  wk_dev_free(CU.c, dgw), wk_dev_free(CU.c, dgb), wk_dev_free(CU.c, dy);
  free(x), free(al), free(be), free(gw), free(gb), free(ref);
}

/* ---- copies and events
 * -------------------------------------------------------- */

/* The copy stream is ordered against compute only through events: a memset
 * on compute, then (after copy_wait) an async upload that must land after
 * it, then (after compute_wait) an op that must read the uploaded data. */
static void test_async_copy_ordered_by_events(void) {
  printf("copies and events\n");
  const int64_t n = (int64_t)8 << 20; /* 32 MiB: long enough to race */
  size_t nb = (size_t)n * 4;
  float *pin = NULL;
  gt_must(CU.c, wk_host_alloc_pinned(CU.c, nb, (void **)&pin), "pinned");
  for (int64_t i = 0; i < n; i++)
    pin[i] = gt_uniform(-1, 1);
  void *da = gt_dev(CU.c, NULL, nb), *db = gt_dev(CU.c, NULL, nb);
  wk_event *e0 = NULL, *e1 = NULL;
  gt_must(CU.c, wk_event_create(CU.c, &e0), "event");
  gt_must(CU.c, wk_event_create(CU.c, &e1), "event");
  for (int round = 0; round < 3; round++) {
    gt_must(CU.c, wk_memset(CU.c, da, 0, nb), "memset");
    gt_must(CU.c, wk_event_record_compute(CU.c, e0), "record compute");
    gt_must(CU.c, wk_copy_wait(CU.c, e0), "copy_wait");
    gt_must(CU.c, wk_copy_h2d_async(CU.c, da, pin, nb), "h2d async");
    gt_must(CU.c, wk_event_record_copy(CU.c, e1), "record copy");
    gt_must(CU.c, wk_compute_wait(CU.c, e1), "compute_wait");
    gt_must(CU.c, wk_scale(CU.c, (const float *)da, 1.0f, n, (float *)db),
            "scale");
    gt_must(CU.c, wk_event_sync(CU.c, e1), "event_sync");
    same_bytes("async h2d -> event -> op", db, pin, nb);
  }
  /* pageable source, d2d, and a partial memset */
  float *pg = gt_rand(1 << 16, -1, 1);
  gt_must(CU.c, wk_copy_h2d_async(CU.c, da, pg, 1 << 18), "h2d pageable");
  gt_must(CU.c, wk_sync(CU.c), "sync");
  gt_must(CU.c, wk_copy_d2d(CU.c, db, da, 1 << 18), "d2d");
  same_bytes("pageable async h2d + d2d", db, pg, 1 << 18);
  /* registered host memory */
  /* page-aligned, as an mmap'd range would be */
  float *reg = (float *)aligned_alloc(4096, 1 << 18);
  if (!reg) gt_must(CU.c, WK_ENOMEM, "aligned_alloc");
  for (int i = 0; i < (1 << 16); i++)
    reg[i] = gt_uniform(-1, 1);
  int rr = wk_host_register(CU.c, reg, 1 << 18);
  GT_CHECK(rr == 0, "host_register: %s", wk_last_error(CU.c));
  gt_must(CU.c, wk_copy_h2d_async(CU.c, da, reg, 1 << 18), "h2d registered");
  gt_must(CU.c, wk_sync(CU.c), "sync");
  same_bytes("registered async h2d", da, reg, 1 << 18);
  if (!rr) GT_CHECK(wk_host_unregister(CU.c, reg) == 0, "host_unregister");
  wk_event_destroy(CU.c, e0), wk_event_destroy(CU.c, e1);
  wk_dev_free(CU.c, da), wk_dev_free(CU.c, db);
  wk_host_free_pinned(CU.c, pin);
  free(pg), free(reg);
}

/* WK_TEST_CUDA_AS_CPU=1 runs everything with a cpu context in place of
 * the cuda one: no GPU needed, so the harness itself (shapes, front checks,
 * buffer sizes, under ASan) is exercised in every build before the test
 * meets a real device. */
int main(void) {
  const char *dry = getenv("WK_TEST_CUDA_AS_CPU");
  dry_run = dry && *dry && strcmp(dry, "0") != 0;
  if (!dry_run && wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  gt_seed("test_cuda_ops");
  if (dry_run) printf("DRY RUN: the \"cuda\" context is a cpu context\n");
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 0, &CPU.c) ||
      wk_ctx_create(dry_run ? WK_BACKEND_CPU : WK_BACKEND_CUDA, 0, 0, &CU.c)) {
    fprintf(stderr, "FATAL: context creation failed: %s\n",
            wk_last_error(NULL));
    return 1;
  }
  test_convert_matches_host_rounding();
  test_linear_matches_cpu();
  test_gemm_matches_cpu();
  test_norms_match_cpu();
  test_elementwise_matches_cpu();
  test_embed_and_rope_match_cpu();
  test_attention_matches_cpu();
  test_conv3d_matches_cpu();
  test_signal_matches_cpu();
  test_async_copy_ordered_by_events();
  gt_must(CU.c, wk_sync(CU.c), "final sync");
  gt_env_fini(&CU);
  gt_env_fini(&CPU);
  if (gt_failures) {
    fprintf(stderr, "test_cuda_ops: %d failure(s)\n", gt_failures);
    return 1;
  }
  printf("test_cuda_ops: all passed\n");
  return 0;
}
