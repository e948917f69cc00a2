/*
 * Dtype conversions: the host scalar helpers against brute-force nearest-
 * value references (ties to even), exact rounding cases, full round trips,
 * wk_convert against the scalar helpers, and the 1-D RoPE table.
 */
#include "wk_testutil.h"

static float f_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t u_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Reference f32 -> bf16: nearest of the two neighbouring bf16 values in
 * float64, ties to the even pattern; 2^128 stands for infinity. */
static uint16_t ref_bf16(float x) {
  uint32_t u = u_of(x), sign = u & 0x80000000u, a = u & 0x7FFFFFFFu;
  uint32_t lo = a & 0xFFFF0000u, hi = lo + 0x10000u;
  double va = fabs((double)x), vlo = fabs((double)f_of(lo));
  double vhi = hi >= 0x7F800000u ? ldexp(1.0, 128) : fabs((double)f_of(hi));
  double dl = va - vlo, dh = vhi - va;
  uint32_t pick = dl < dh ? lo : dh < dl ? hi : (((lo >> 16) & 1u) ? hi : lo);
  return (uint16_t)((sign | pick) >> 16);
}

/* Reference f32 -> fp8 e4m3fn by search over the 127 finite codes. */
static uint8_t ref_fp8(float x) {
  if (isnan(x)) return 0x7F;
  uint8_t sign = signbit(x) ? 0x80 : 0;
  double a = fabs((double)x);
  if (a >= 448.0) return sign | 0x7E;
  int best = 0;
  double bd = INFINITY;
  for (int code = 0; code <= 0x7E; code++) {
    double v = wk_fp8_to_f32((uint8_t)code);
    double d = fabs(v - a);
    if (d < bd || (d == bd && (code & 1) == 0 && (best & 1))) {
      bd = d;
      best = code;
    }
  }
  return (uint8_t)(sign | best);
}

static void test_bf16_exact_cases(void) {
  WT_CHECK(wk_f32_to_bf16(1.0f) == 0x3F80, "1.0");
  WT_CHECK(wk_f32_to_bf16(f_of(0x3F808000u)) == 0x3F80, "tie rounds to even");
  WT_CHECK(wk_f32_to_bf16(f_of(0x3F818000u)) == 0x3F82,
           "tie rounds up to even");
  WT_CHECK(wk_f32_to_bf16(f_of(0x3F808001u)) == 0x3F81, "above tie rounds up");
  WT_CHECK(wk_f32_to_bf16(f_of(0x7F7FFFFFu)) == 0x7F80, "max float -> inf");
  WT_CHECK(wk_f32_to_bf16(INFINITY) == 0x7F80, "inf");
  WT_CHECK(wk_f32_to_bf16(-0.0f) == 0x8000, "-0");
  uint16_t n = wk_f32_to_bf16(NAN);
  WT_CHECK((n & 0x7F80) == 0x7F80 && (n & 0x7F) != 0, "NaN stays NaN: %04x", n);
  WT_CHECK(wk_f32_to_bf16(f_of(0x7F800001u)) & 0x40, "sNaN becomes quiet");
  WT_CHECK(wk_f32_to_bf16(f_of(0x00000001u)) == 0x0000, "tiny subnormal");
}

static void test_bf16_round_trip_all_patterns(void) {
  for (uint32_t b = 0; b < 65536; b++) {
    float f = wk_bf16_to_f32((uint16_t)b);
    uint16_t back = wk_f32_to_bf16(f);
    if (isnan(f))
      WT_CHECK(isnan(wk_bf16_to_f32(back)), "NaN %04x round trip", b);
    else
      WT_CHECK(back == b, "bf16 %04x -> %04x", b, back);
  }
}

static void test_bf16_matches_reference_on_random_floats(void) {
  for (int i = 0; i < 200000; i++) {
    uint32_t u = (uint32_t)wt_next();
    if ((u & 0x7F800000u) == 0x7F800000u) continue; /* inf/NaN done above */
    float x = f_of(u);
    uint16_t got = wk_f32_to_bf16(x), want = ref_bf16(x);
    if (got != want) {
      WT_CHECK(0, "bf16(%a): got %04x want %04x", (double)x, got, want);
      break;
    }
  }
}

static void test_fp8_exact_cases(void) {
  WT_CHECK(wk_f32_to_fp8(1.0f) == 0x38, "1.0");
  WT_CHECK(wk_f32_to_fp8(1.0625f) == 0x38, "tie 1.0625 -> even 1.0");
  WT_CHECK(wk_f32_to_fp8(1.1875f) == 0x3A, "tie 1.1875 -> even 1.25");
  WT_CHECK(wk_f32_to_fp8(448.0f) == 0x7E, "448");
  WT_CHECK(wk_f32_to_fp8(447.0f) == 0x7E, "447 -> 448");
  WT_CHECK(wk_f32_to_fp8(1e6f) == 0x7E, "saturates");
  WT_CHECK(wk_f32_to_fp8(-1e6f) == 0xFE, "saturates negative");
  WT_CHECK(wk_f32_to_fp8(INFINITY) == 0x7E, "inf saturates");
  WT_CHECK(wk_f32_to_fp8(-INFINITY) == 0xFE, "-inf saturates");
  WT_CHECK(wk_f32_to_fp8(NAN) == 0x7F, "NaN");
  WT_CHECK(wk_f32_to_fp8(-NAN) == 0x7F, "-NaN");
  WT_CHECK(wk_f32_to_fp8(ldexpf(1, -9)) == 0x01, "min subnormal");
  WT_CHECK(wk_f32_to_fp8(ldexpf(1, -10)) == 0x00, "half min subnormal -> 0");
  WT_CHECK(wk_f32_to_fp8(3 * ldexpf(1, -10)) == 0x02, "1.5 units -> 2");
  WT_CHECK(wk_f32_to_fp8(15 * ldexpf(1, -10)) == 0x08, "7.5 units -> normal");
  WT_CHECK(wk_f32_to_fp8(-0.0f) == 0x80, "-0");
  WT_CHECK(wk_fp8_to_f32(0x7E) == 448.0f, "decode 448");
  WT_CHECK(isnan(wk_fp8_to_f32(0x7F)) && isnan(wk_fp8_to_f32(0xFF)), "NaN");
  WT_CHECK(wk_fp8_to_f32(0x01) == ldexpf(1, -9), "decode subnormal");
}

static void test_fp8_round_trip_all_codes(void) {
  for (int b = 0; b < 256; b++) {
    float f = wk_fp8_to_f32((uint8_t)b);
    uint8_t back = wk_f32_to_fp8(f);
    if (isnan(f))
      WT_CHECK(back == 0x7F, "NaN code %02x -> %02x", b, back);
    else
      WT_CHECK(back == b, "fp8 %02x -> %g -> %02x", b, (double)f, back);
  }
}

static void test_fp8_matches_reference_on_random_floats(void) {
  for (int i = 0; i < 20000; i++) {
    /* Magnitudes spread over the whole fp8 range and a little past it. */
    float x = ldexpf(wt_uniform(1.0f, 2.0f), (int)wt_int(-12, 9));
    if (wt_next() & 1) x = -x;
    if (i % 7 == 0) /* exact midpoints between neighbouring codes */
      x = (wk_fp8_to_f32((uint8_t)(i % 126)) +
           wk_fp8_to_f32((uint8_t)(i % 126 + 1))) *
          0.5f;
    uint8_t got = wk_f32_to_fp8(x), want = ref_fp8(x);
    if (got != want) {
      WT_CHECK(0, "fp8(%a): got %02x want %02x", (double)x, got, want);
      break;
    }
  }
}

static void test_convert_matches_scalar_helpers(wt_env *e) {
  const int64_t n = 5003; /* odd, crosses the threaded split */
  float *x = wt_randn(n, -900.0f, 900.0f);
  x[0] = NAN;
  x[1] = INFINITY;
  uint16_t *b = malloc(n * 2);
  uint8_t *q = malloc(n);
  float *f = malloc(n * 4);
  const float scale = 0.37f;
  WT_RC(wk_convert(e->c, b, WK_BF16, x, WK_F32, n, 1.0f), 0);
  for (int64_t i = 0; i < n; i++)
    if (b[i] != wk_f32_to_bf16(x[i])) {
      WT_CHECK(0, "f32->bf16 [%lld]", (long long)i);
      break;
    }
  WT_RC(wk_convert(e->c, q, WK_FP8_E4M3, x, WK_F32, n, scale), 0);
  for (int64_t i = 0; i < n; i++)
    if (q[i] != wk_f32_to_fp8(x[i] / scale)) {
      WT_CHECK(0, "f32->fp8 [%lld]: %02x vs %02x", (long long)i, q[i],
               wk_f32_to_fp8(x[i] / scale));
      break;
    }
  WT_RC(wk_convert(e->c, f, WK_F32, q, WK_FP8_E4M3, n, scale), 0);
  for (int64_t i = 2; i < n; i++)
    if (f[i] != wk_fp8_to_f32(q[i]) * scale) {
      WT_CHECK(0, "fp8->f32 [%lld]", (long long)i);
      break;
    }
  WT_RC(wk_convert(e->c, f, WK_F32, b, WK_BF16, n, 1.0f), 0);
  for (int64_t i = 2; i < n; i++)
    if (f[i] != wk_bf16_to_f32(b[i])) {
      WT_CHECK(0, "bf16->f32 [%lld]", (long long)i);
      break;
    }
  /* bf16 -> fp8 goes through f32: byte = fp8(bf16 value / scale). */
  WT_RC(wk_convert(e->c, q, WK_FP8_E4M3, b, WK_BF16, n, scale), 0);
  for (int64_t i = 0; i < n; i++)
    if (q[i] != wk_f32_to_fp8(wk_bf16_to_f32(b[i]) / scale)) {
      WT_CHECK(0, "bf16->fp8 [%lld]", (long long)i);
      break;
    }
  uint16_t *b2 = malloc(n * 2);
  WT_RC(wk_convert(e->c, b2, WK_BF16, q, WK_FP8_E4M3, n, scale), 0);
  for (int64_t i = 0; i < n; i++)
    if (b2[i] != wk_f32_to_bf16(wk_fp8_to_f32(q[i]) * scale)) {
      WT_CHECK(0, "fp8->bf16 [%lld]", (long long)i);
      break;
    }
  WT_RC(wk_convert(e->c, b2, WK_BF16, b, WK_BF16, n, 1.0f), 0);
  WT_CHECK(memcmp(b2, b, n * 2) == 0, "same-dtype convert copies");
  WT_RC(wk_convert(e->c, b, WK_BF16, b, WK_BF16, n, 1.0f), 0);
  WT_RC(wk_convert(e->c, q, WK_FP8_E4M3, x, WK_F32, n, 0.0f), WK_EINVAL);
  WT_RC(wk_convert(e->c, q, (wk_dtype)9, x, WK_F32, n, 1.0f), WK_EINVAL);
  WT_RC(wk_convert(e->c, x, WK_BF16, x, WK_F32, n, 1.0f), WK_EINVAL);
  free(x), free(b), free(b2), free(q), free(f);
}

static void test_rope_table_matches_formula(void) {
  const int64_t T = 7, D = 10;
  float pos[7], cs[70], sn[70];
  for (int t = 0; t < T; t++)
    pos[t] = (float)(t * 37 + 3);
  wk_rope_table_1d(pos, T, D, 10000.0, 8.0, cs, sn);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < D; i++) {
      int k = i % (D / 2);
      double ang = pos[t] / 8.0 * pow(10000.0, -2.0 * k / (double)D);
      WT_CHECK(fabs(cs[t * D + i] - cos(ang)) < 1e-6 &&
                   fabs(sn[t * D + i] - sin(ang)) < 1e-6,
               "rope table t=%d i=%d", t, i);
    }
}

int main(void) {
  wt_seed("test_kernels_dtype");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_bf16_exact_cases();
  test_bf16_round_trip_all_patterns();
  test_bf16_matches_reference_on_random_floats();
  test_fp8_exact_cases();
  test_fp8_round_trip_all_codes();
  test_fp8_matches_reference_on_random_floats();
  test_convert_matches_scalar_helpers(&e);
  test_rope_table_matches_formula();
  wt_env_fini(&e);
  return wt_finish("test_kernels_dtype");
}
