/* The flow-matching schedule, the Euler step and the seeded noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

static int failures;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static void test_shift_mu_matches_ltx_endpoints(void) {
  CHECK(fabs(wh_shift_mu(256) - 0.5) < 1e-12);
  CHECK(fabs(wh_shift_mu(4096) - 1.15) < 1e-12);
  CHECK(wh_shift_mu(1024) > 0.5 && wh_shift_mu(1024) < 1.15);
}

static void test_schedule_starts_at_one_ends_at_zero_and_decreases(void) {
  wh_schedule s;
  CHECK(wh_schedule_init(&s, 8, 0.9) == 0);
  CHECK(s.steps == 8);
  CHECK(fabsf(s.sigmas[0] - 1.0f) < 1e-7f);
  CHECK(s.sigmas[8] == 0.0f);
  for (int i = 0; i < 8; i++) CHECK(s.sigmas[i + 1] < s.sigmas[i]);
  /* mu = 0 is the unshifted linspace(1, 1/steps, steps). */
  CHECK(wh_schedule_init(&s, 4, 0.0) == 0);
  CHECK(fabsf(s.sigmas[1] - 0.75f) < 1e-6f && fabsf(s.sigmas[3] - 0.25f) < 1e-6f);
  /* A positive shift keeps sigmas higher for longer. */
  wh_schedule t;
  CHECK(wh_schedule_init(&t, 4, 1.0) == 0);
  CHECK(t.sigmas[1] > s.sigmas[1] && t.sigmas[3] > s.sigmas[3]);
}

static void test_schedule_rejects_bad_steps(void) {
  wh_schedule s;
  CHECK(wh_schedule_init(&s, 0, 0.5) != 0);
  CHECK(wh_schedule_init(&s, WH_SAMPLER_MAX_STEPS + 1, 0.5) != 0);
  CHECK(wh_schedule_init(&s, 4, NAN) != 0);
}

static void test_euler_with_constant_velocity_lands_on_x0_minus_v(void) {
  wh_schedule s;
  wh_schedule_init(&s, 10, 0.7);
  float x[3] = {1.0f, -2.0f, 0.5f}, v[3] = {0.25f, 1.0f, -3.0f};
  for (int i = 0; i < s.steps; i++)
    wh_euler_step(x, v, 3, s.sigmas[i], s.sigmas[i + 1]);
  CHECK(fabsf(x[0] - 0.75f) < 1e-5f);
  CHECK(fabsf(x[1] + 3.0f) < 1e-5f);
  CHECK(fabsf(x[2] - 3.5f) < 1e-5f);
}

static void test_guidance_combines(void) {
  float c[2] = {2.0f, 0.0f}, u[2] = {1.0f, 1.0f};
  wh_guidance(c, u, 2, 3.0f);
  CHECK(c[0] == 4.0f && c[1] == -2.0f);
}

static void test_noise_is_seeded_and_standard_normal(void) {
  const int64_t n = 1 << 20;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  wh_noise(a, n, 42);
  wh_noise(b, n, 42);
  CHECK(memcmp(a, b, n * sizeof *a) == 0);
  wh_noise(b, n, 43);
  CHECK(memcmp(a, b, n * sizeof *a) != 0);
  /* A prefix of a longer draw is the shorter draw (element i depends only
   * on seed and i). */
  wh_noise(b, 1001, 42);
  CHECK(memcmp(a, b, 1001 * sizeof *a) == 0);
  double m = 0, v = 0;
  for (int64_t i = 0; i < n; i++) m += a[i];
  m /= n;
  for (int64_t i = 0; i < n; i++) v += (a[i] - m) * (a[i] - m);
  v /= n;
  CHECK(fabs(m) < 0.01 && fabs(v - 1.0) < 0.01);
  free(a);
  free(b);
}

int main(void) {
  test_shift_mu_matches_ltx_endpoints();
  test_schedule_starts_at_one_ends_at_zero_and_decreases();
  test_schedule_rejects_bad_steps();
  test_euler_with_constant_velocity_lands_on_x0_minus_v();
  test_guidance_combines();
  test_noise_is_seeded_and_standard_normal();
  if (failures) return 1;
  printf("sampler: all checks passed\n");
  return 0;
}
