/* host/ltx2_sched.c against ltx-core / ltx-pipelines 1.0.0: every value in
 * data/ltx2/sched_golden.safetensors was computed by the reference's own
 * functions (tests/parity/ltx2_sched.py). Schedules, positions, layouts,
 * conditioning, noising, x0 and Euler must agree bit for bit; the guider
 * with rescale within 1e-6 relative (its std accumulates in another order),
 * without rescale bit for bit. The quoted schedules of LTX2.md §5.1 and the
 * pipelines' defaults are checked too. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sdk/check.h"
#include "ltx2_sched.h"
#include "warm/plugin.h"
#include "warm/safetensors.h"

#define GOLDEN WARM_TEST_DATA "/ltx2/sched_golden.safetensors"
#define MAXN 4096

static warm_st *g;

/* The golden tensor `name` of safetensors dtype `dt` with `numel` elements,
 * or NULL (counted as a failure) when absent or of another size. */
static const void *golden(const char *name, warm_st_dtype dt, int64_t numel) {
  const warm_st_entry *e = warm_st_find(g, name);
  if (!e || e->st_dtype != dt ||
      e->nbytes != (uint64_t)numel * warm_st_dtype_size(dt)) {
    fprintf(stderr, "golden %s: missing or not %lld values\n", name,
            (long long)numel);
    check_failures++;
    return NULL;
  }
  return e->data;
}

static int64_t golden_numel(const char *name) {
  const warm_st_entry *e = warm_st_find(g, name);
  return e ? (int64_t)(e->nbytes / warm_st_dtype_size(e->st_dtype)) : -1;
}

static const float *gf32(const char *name, int64_t numel) {
  return golden(name, WARM_ST_F32, numel);
}

/* a and b are the same f32 bits at every index; prints the first miss. */
static int same_bits(const char *what, const float *a, const float *b,
                     int64_t n) {
  if (!b) return 0;
  for (int64_t k = 0; k < n; k++)
    if (memcmp(&a[k], &b[k], sizeof(float)) != 0) {
      fprintf(stderr, "%s[%lld]: %.9g != reference %.9g\n", what, (long long)k,
              (double)a[k], (double)b[k]);
      return 0;
    }
  return 1;
}

static json_t *meta_json(const char *key) {
  const char *s = warm_st_metadata(g, key);
  json_error_t je;
  json_t *j = s ? json_loads(s, 0, &je) : NULL;
  if (!j) {
    fprintf(stderr, "golden metadata %s: missing or not JSON\n", key);
    check_failures++;
  }
  return j;
}

/* ---- schedules ----------------------------------------------------------- */

static void test_sigmas_bit_equal_to_reference(void) {
  static const int steps[] = {1, 3, 8, 30, 40};
  static const int64_t tokens[] = {0, 64, 1024, 6144, 34680};
  float s[WH_LTX2_MAX_STEPS + 1];
  char name[64];
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
    for (size_t j = 0; j < sizeof tokens / sizeof *tokens; j++) {
      snprintf(name, sizeof name, "sigmas_%d_%lld", steps[i],
               (long long)tokens[j]);
      const float *ref = gf32(name, steps[i] + 1);
      if (!ref) continue;
      /* One step is NaN in the reference for most token counts (the
       * stretch divides 0 by 0): refused here. */
      if (isnan(ref[0])) {
        CHECK(steps[i] == 1 && tokens[j] != 0);
        CHECK(wh_ltx2_sigmas(steps[i], tokens[j], s) == WARM_EINVAL);
        continue;
      }
      CHECK(wh_ltx2_sigmas(steps[i], tokens[j], s) == 0);
      CHECK(same_bits(name, s, ref, steps[i] + 1));
    }
  /* Without a latent, one step is {0.1, 0}. */
  CHECK(wh_ltx2_sigmas(1, 0, s) == 0 && s[0] > 0.0999f && s[0] < 0.1001f);
  const float *nan1 = gf32("sigmas_1_1", 2);
  CHECK(nan1 && isnan(nan1[0]));
  CHECK(wh_ltx2_sigmas(1, 1, s) == WARM_EINVAL);
}

static void test_sigmas_refuse_bad_arguments(void) {
  float s[WH_LTX2_MAX_STEPS + 2];
  CHECK(wh_ltx2_sigmas(0, 0, s) == WARM_EINVAL);
  CHECK(wh_ltx2_sigmas(-3, 0, s) == WARM_EINVAL);
  CHECK(wh_ltx2_sigmas(WH_LTX2_MAX_STEPS + 1, 0, s) == WARM_EINVAL);
  CHECK(wh_ltx2_sigmas(8, -1, s) == WARM_EINVAL);
  CHECK(wh_ltx2_sigmas(WH_LTX2_MAX_STEPS, 0, s) == 0);
  CHECK(s[WH_LTX2_MAX_STEPS] == 0.0f && s[WH_LTX2_MAX_STEPS - 1] > 0.0999f &&
        s[WH_LTX2_MAX_STEPS - 1] < 0.1001f);
}

/* LTX2.md §5.1 quotes the no-latent schedules to 5 decimals. */
static void test_sigmas_match_quoted_lists(void) {
  static const double q40[41] = {
      1.00000, 0.99645, 0.99274, 0.98885, 0.98478, 0.98051, 0.97603,
      0.97131, 0.96635, 0.96112, 0.95559, 0.94975, 0.94357, 0.93701,
      0.93004, 0.92261, 0.91470, 0.90623, 0.89716, 0.88741, 0.87691,
      0.86556, 0.85327, 0.83991, 0.82532, 0.80934, 0.79176, 0.77231,
      0.75070, 0.72652, 0.69931, 0.66845, 0.63315, 0.59238, 0.54477,
      0.48843, 0.42072, 0.33781, 0.23394, 0.10000, 0.0};
  static const double q30[31] = {
      1.00000, 0.99496, 0.98960, 0.98391, 0.97784, 0.97136, 0.96442, 0.95698,
      0.94897, 0.94034, 0.93099, 0.92085, 0.90981, 0.89774, 0.88448, 0.86986,
      0.85365, 0.83558, 0.81532, 0.79243, 0.76636, 0.73642, 0.70166, 0.66081,
      0.61214, 0.55315, 0.48016, 0.38754, 0.26612, 0.10000, 0.0};
  float s[41];
  CHECK(wh_ltx2_sigmas(40, 0, s) == 0);
  for (int i = 0; i <= 40; i++)
    CHECK(fabs(s[i] - q40[i]) <= 5.01e-6);
  CHECK(wh_ltx2_sigmas(30, 0, s) == 0);
  for (int i = 0; i <= 30; i++)
    CHECK(fabs(s[i] - q30[i]) <= 5.01e-6);
  /* Not exactly 1 at the start: the reference divides via a reciprocal. */
  CHECK(s[0] < 1.0f);
  /* A latent's token count moves the shift: the 34680-token schedule. */
  float t[41];
  CHECK(wh_ltx2_sigmas(40, 34680, t) == 0);
  CHECK(t[20] > s[15] && t[40] == 0.0f);
}

static void test_distilled_lists_exact(void) {
  static const float d[9] = {1.0f,      0.99375f, 0.9875f,   0.98125f, 0.975f,
                             0.909375f, 0.725f,   0.421875f, 0.0f};
  CHECK(same_bits("distilled", wh_ltx2_distilled_sigmas, d, 9));
  CHECK(same_bits("distilled", wh_ltx2_distilled_sigmas,
                  gf32("distilled_sigmas", 9), 9));
  CHECK(same_bits("stage2", wh_ltx2_stage2_sigmas, d + 5, 4));
  CHECK(
      same_bits("stage2", wh_ltx2_stage2_sigmas, gf32("stage2_sigmas", 4), 4));
}

/* ---- layouts and positions ----------------------------------------------- */

static void test_video_positions_and_patchify(void) {
  static float pos[3 * MAXN * 2], tok[MAXN], grid[MAXN];
  char name[64];
  for (int k = 0; k < 4; k++) {
    snprintf(name, sizeof name, "vpos_%d", k);
    json_t *m = meta_json(name);
    if (!m) continue;
    int64_t F = json_integer_value(json_object_get(m, "F"));
    int64_t H = json_integer_value(json_object_get(m, "H"));
    int64_t W = json_integer_value(json_object_get(m, "W"));
    double fps = json_real_value(json_object_get(m, "fps"));
    json_decref(m);
    const int64_t n = F * H * W, C = 3;
    wh_ltx2_video_positions(F, H, W, 8, 32, fps, pos);
    CHECK(same_bits(name, pos, gf32(name, 3 * n * 2), 3 * n * 2));

    snprintf(name, sizeof name, "vgrid_%d", k);
    const float *gg = gf32(name, C * n);
    snprintf(name, sizeof name, "vtokens_%d", k);
    const float *gt = gf32(name, C * n);
    if (!gg || !gt) continue;
    wh_ltx2_video_patchify(gg, C, F, H, W, tok);
    CHECK(same_bits(name, tok, gt, C * n));
    wh_ltx2_video_unpatchify(gt, C, F, H, W, grid);
    CHECK(same_bits("video unpatchify", grid, gg, C * n));
  }
}

static void test_audio_positions_and_patchify(void) {
  static const int64_t Ts[] = {1, 2, 7, 126, 251};
  static float pos[MAXN], tok[MAXN], lat[MAXN];
  char name[64];
  for (int k = 0; k < 5; k++) {
    const int64_t T = Ts[k], Z = 2, M = 3;
    snprintf(name, sizeof name, "apos_%d", k);
    wh_ltx2_audio_positions(T, pos);
    CHECK(same_bits(name, pos, gf32(name, T * 2), T * 2));
    snprintf(name, sizeof name, "alat_%d", k);
    const float *gl = gf32(name, Z * T * M);
    snprintf(name, sizeof name, "atokens_%d", k);
    const float *gt = gf32(name, Z * T * M);
    if (!gl || !gt) continue;
    wh_ltx2_audio_patchify(gl, Z, T, M, tok);
    CHECK(same_bits(name, tok, gt, Z * T * M));
    wh_ltx2_audio_unpatchify(gt, Z, T, M, lat);
    CHECK(same_bits("audio unpatchify", lat, gl, Z * T * M));
  }
}

static void test_audio_frames_round_half_even(void) {
  const int64_t n = golden_numel("aframes_in");
  const int64_t *in = golden("aframes_in", WARM_ST_I64, n);
  const double *fps = golden("aframes_fps", WARM_ST_F64, n);
  const int64_t *out = golden("aframes_out", WARM_ST_I64, n);
  CHECK(n >= 5);
  if (!in || !fps || !out) return;
  for (int64_t k = 0; k < n; k++) {
    int64_t got = wh_ltx2_audio_frames((uint32_t)in[k], fps[k]);
    if (got != out[k])
      fprintf(stderr, "audio frames for %lld at %g: %lld != %lld\n",
              (long long)in[k], fps[k], (long long)got, (long long)out[k]);
    CHECK(got == out[k]);
  }
  CHECK(wh_ltx2_audio_frames(121, 0.0) == -1);
  CHECK(wh_ltx2_audio_frames(121, -24.0) == -1);
  CHECK(wh_ltx2_audio_frames(121, NAN) == -1);
  CHECK(wh_ltx2_audio_frames(121, INFINITY) == -1);
  CHECK(wh_ltx2_audio_frames(UINT32_MAX, 1e-300) == -1);
}

/* ---- state --------------------------------------------------------------- */

/* Stage 2's initial state (clean latent, image at index 0 with strength
 * 0.65, noise at 0.909375) and stage 1's (zeros, 0.7, scale 1). */
static void test_first_frame_condition_then_noise(void) {
  const int64_t C = 4, F = 3, H = 2, W = 3, n = F * H * W, n_img = H * W;
  static const char *stage[] = {"s1", "s2"};
  float img[64], x[256], clean[256], mask[64];
  char name[64];
  const float *gi = gf32("cond_image", C * n_img);
  if (!gi) return;
  wh_ltx2_video_patchify(gi, C, 1, H, W, img);
  for (int s = 0; s < 2; s++) {
    snprintf(name, sizeof name, "noise_%s_x_in", stage[s]);
    const float *xin = gf32(name, n * C);
    snprintf(name, sizeof name, "noise_%s_scale", stage[s]);
    const double *scale = golden(name, WARM_ST_F64, 1);
    snprintf(name, sizeof name, "noise_%s_strength", stage[s]);
    const double *strength = golden(name, WARM_ST_F64, 1);
    if (!xin || !scale || !strength) continue;
    memcpy(x, xin, sizeof(float) * (size_t)(n * C));
    memcpy(clean, xin, sizeof(float) * (size_t)(n * C));
    for (int64_t t = 0; t < n; t++)
      mask[t] = 1.0f;

    wh_ltx2_condition_first_frame(x, clean, mask, img, n_img, C, *strength);
    snprintf(name, sizeof name, "noise_%s_x_cond", stage[s]);
    CHECK(same_bits(name, x, gf32(name, n * C), n * C));
    snprintf(name, sizeof name, "noise_%s_clean", stage[s]);
    CHECK(same_bits(name, clean, gf32(name, n * C), n * C));
    snprintf(name, sizeof name, "noise_%s_mask", stage[s]);
    CHECK(same_bits(name, mask, gf32(name, n), n));

    snprintf(name, sizeof name, "noise_%s_noise", stage[s]);
    const float *noise = gf32(name, n * C);
    if (!noise) continue;
    wh_ltx2_noise_state(x, noise, mask, n, C, (float)*scale);
    snprintf(name, sizeof name, "noise_%s_x_out", stage[s]);
    CHECK(same_bits(name, x, gf32(name, n * C), n * C));
  }
}

/* Two steps of the 8-step schedule: timesteps, x0 from the velocity,
 * post-process against a mask with conditioned (0.3) and frozen (0) tokens,
 * Euler. */
static void test_x0_and_euler_steps(void) {
  const int64_t n = 12, c = 5;
  float x[60], v[60], ts[12], sig[9];
  char name[64];
  const float *gx = gf32("euler_x", n * c), *gv = gf32("euler_v", n * c);
  const float *clean = gf32("euler_clean", n * c);
  const float *mask = gf32("euler_mask", n);
  if (!gx || !gv || !clean || !mask) return;
  CHECK(wh_ltx2_sigmas(8, 0, sig) == 0);
  CHECK(same_bits("euler_sigmas", sig, gf32("euler_sigmas", 9), 9));
  memcpy(x, gx, sizeof x);
  for (int k = 0; k < 2; k++) {
    memcpy(v, gv, sizeof v);
    wh_ltx2_timesteps(mask, n, sig[k], ts);
    snprintf(name, sizeof name, "euler_ts_%d", k);
    CHECK(same_bits(name, ts, gf32(name, n), n));
    wh_ltx2_velocity_to_x0(v, x, ts, n, c);
    snprintf(name, sizeof name, "euler_x0_%d", k);
    CHECK(same_bits(name, v, gf32(name, n * c), n * c));
    wh_ltx2_euler(x, v, clean, mask, n, c, sig[k], sig[k + 1]);
    snprintf(name, sizeof name, "euler_out_%d", k);
    CHECK(same_bits(name, x, gf32(name, n * c), n * c));
  }
}

/* ---- guidance ------------------------------------------------------------ */

static void test_guider_matches_reference(void) {
  static const char *cases[] = {"video", "audio",      "norescale", "cfgonly",
                                "off",   "offpresent", "nearoff"};
  const int64_t n = 48 * 8;
  float out[48 * 8];
  char name[64];
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    snprintf(name, sizeof name, "guide_%s", cases[k]);
    json_t *m = meta_json(name);
    if (!m) continue;
    wh_ltx2_guide gd = {0};
    gd.cfg = json_number_value(json_object_get(m, "cfg"));
    gd.stg = json_number_value(json_object_get(m, "stg"));
    gd.rescale = json_number_value(json_object_get(m, "rescale"));
    gd.modality = json_number_value(json_object_get(m, "modality"));
    json_decref(m);
    const float *t[4];
    static const char *part[] = {"c", "u", "p", "i"};
    for (int j = 0; j < 4; j++) {
      snprintf(name, sizeof name, "guide_%s_%s", cases[k], part[j]);
      t[j] = warm_st_find(g, name) ? gf32(name, n) : NULL;
    }
    snprintf(name, sizeof name, "guide_%s_out", cases[k]);
    const float *ref = gf32(name, n);
    if (!t[0] || !ref) continue;
    memcpy(out, t[0], sizeof out);
    wh_ltx2_guide_apply(&gd, out, t[1], t[2], t[3], n);
    if (gd.rescale == 0.0) {
      CHECK(same_bits(name, out, ref, n));
      continue;
    }
    double worst = 0.0, scale = 0.0;
    for (int64_t i = 0; i < n; i++)
      scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++) {
      double e =
          fabs((double)out[i] - ref[i]) / fmax(fabs(ref[i]), 1e-3 * scale);
      worst = fmax(worst, e);
    }
    printf("  %s: relative error %.3g\n", name, worst);
    CHECK(worst <= 1e-6);
  }
}

static void test_guider_passes_and_skips(void) {
  const int64_t np = golden_numel("pass_flags") / 3;
  const double *pp = golden("pass_params", WARM_ST_F64, np * 3);
  const int64_t *pf = golden("pass_flags", WARM_ST_I64, np * 3);
  CHECK(np >= 4);
  for (int64_t k = 0; pp && pf && k < np; k++) {
    wh_ltx2_guide gd = {
        .cfg = pp[3 * k], .stg = pp[3 * k + 1], .modality = pp[3 * k + 2]};
    unsigned want = WH_LTX2_PASS_COND | (pf[3 * k] ? WH_LTX2_PASS_UNCOND : 0) |
                    (pf[3 * k + 1] ? WH_LTX2_PASS_PERTURBED : 0) |
                    (pf[3 * k + 2] ? WH_LTX2_PASS_ISOLATED : 0);
    CHECK_EQ_U64(wh_ltx2_guide_passes(&gd), want);
  }
  const int64_t ns = golden_numel("skip_params");
  const int64_t *sp = golden("skip_params", WARM_ST_I64, ns);
  const int64_t *sf = golden("skip_flags", WARM_ST_I64, ns * 10);
  for (int64_t k = 0; sp && sf && k < ns; k++) {
    wh_ltx2_guide gd = {.skip_step = (int)sp[k]};
    for (int step = 0; step < 10; step++)
      CHECK(wh_ltx2_guide_skips(&gd, step) == (int)sf[k * 10 + step]);
  }
  /* The largest skip_step skips every step but 0, without overflow. */
  wh_ltx2_guide big = {.skip_step = INT32_MAX};
  CHECK(!wh_ltx2_guide_skips(&big, 0) && wh_ltx2_guide_skips(&big, 1000));
}

/* ---- defaults ------------------------------------------------------------ */

static void check_guide(const wh_ltx2_guide *gd, json_t *j) {
  CHECK(gd->cfg == json_number_value(json_object_get(j, "cfg")));
  CHECK(gd->stg == json_number_value(json_object_get(j, "stg")));
  CHECK(gd->rescale == json_number_value(json_object_get(j, "rescale")));
  CHECK(gd->modality == json_number_value(json_object_get(j, "modality")));
  CHECK(gd->skip_step == json_integer_value(json_object_get(j, "skip_step")));
  json_t *b = json_object_get(j, "stg_blocks");
  CHECK_EQ_U64(gd->n_stg_blocks, json_array_size(b));
  for (size_t i = 0; i < json_array_size(b) && i < gd->n_stg_blocks; i++)
    CHECK(gd->stg_blocks[i] == json_integer_value(json_array_get(b, i)));
}

static void test_defaults_follow_model_version(void) {
  json_t *all = meta_json("defaults");
  CHECK(json_array_size(all) >= 4);
  size_t i;
  json_t *e;
  json_array_foreach(all, i, e) {
    const char *ver = json_string_value(json_object_get(e, "model_version"));
    wh_ltx2_defaults d;
    wh_ltx2_defaults_for(ver, &d);
    CHECK(d.steps == json_integer_value(json_object_get(e, "steps")));
    CHECK(d.frames == json_integer_value(json_object_get(e, "frames")));
    CHECK(d.height == json_integer_value(json_object_get(e, "height")));
    CHECK(d.width == json_integer_value(json_object_get(e, "width")));
    CHECK(d.fps == json_number_value(json_object_get(e, "fps")));
    CHECK(d.seed == (uint64_t)json_integer_value(json_object_get(e, "seed")));
    check_guide(&d.video, json_object_get(e, "video"));
    check_guide(&d.audio, json_object_get(e, "audio"));
    CHECK(d.image_strength == 1.0);
    CHECK(d.negative_prompt &&
          strcmp(d.negative_prompt, warm_st_metadata(g, "negative_prompt")
                                        ? warm_st_metadata(g, "negative_prompt")
                                        : "") == 0);
  }
  json_decref(all);
  /* No version at all: 2.0's. */
  wh_ltx2_defaults d;
  wh_ltx2_defaults_for(NULL, &d);
  CHECK(d.steps == 40 && d.video.stg_blocks[0] == 29 &&
        d.audio.stg_blocks[0] == 29 && d.audio.cfg == 7.0);
  wh_ltx2_defaults_for("2.3.0", &d);
  CHECK(d.steps == 30 && d.video.stg_blocks[0] == 28);
}

int main(void) {
  warm_error err = {0};
  if (warm_st_open(GOLDEN, &g, &err)) {
    fprintf(stderr, "%s: %s\n", GOLDEN, err.msg);
    return 1;
  }
  RUN(test_sigmas_bit_equal_to_reference);
  RUN(test_sigmas_refuse_bad_arguments);
  RUN(test_sigmas_match_quoted_lists);
  RUN(test_distilled_lists_exact);
  RUN(test_video_positions_and_patchify);
  RUN(test_audio_positions_and_patchify);
  RUN(test_audio_frames_round_half_even);
  RUN(test_first_frame_condition_then_noise);
  RUN(test_x0_and_euler_steps);
  RUN(test_guider_matches_reference);
  RUN(test_guider_passes_and_skips);
  RUN(test_defaults_follow_model_version);
  warm_st_close(g);
  return check_result();
}
