/*
 * host/ltx2_sched.c — the LTX-2 sampler's arithmetic (see ltx2_sched.h).
 *
 * Every float expression below follows the order and the precision of the
 * torch expression it reproduces in ltx-core / ltx-pipelines 1.0.0, so that
 * f32 results agree bit for bit (tests/unit/test_ltx2_sched.c checks them
 * against goldens the reference wrote). Two torch habits matter:
 *   - a python scalar meets an f32 tensor as an f32 value (cast first);
 *   - `scalar / tensor` is `tensor.reciprocal() * scalar` (torch's
 *     __rtruediv__), two roundings, while `tensor / scalar` is one division.
 * The file is built with -ffp-contract=off (host/CMakeLists.txt): a fused
 * multiply-add would change bits. Where torch itself fuses (its linspace
 * kernel), fmaf() says so explicitly.
 */
#include "ltx2_sched.h"

#include <math.h>
#include <string.h>

#include "warm/plugin.h"

/* ---- sigma schedules ----------------------------------------------------- */

const float wh_ltx2_distilled_sigmas[9] = {1.0f,     0.99375f,  0.9875f,
                                           0.98125f, 0.975f,    0.909375f,
                                           0.725f,   0.421875f, 0.0f};
const float wh_ltx2_stage2_sigmas[4] = {0.909375f, 0.725f, 0.421875f, 0.0f};

/* torch.linspace(1.0, 0.0, n) in f32 on the cpu: the first half counts up
 * from the start, the second half down from the end, each a fused
 * multiply-add (what the AVX-512 build computes; verified for n <= 1001). */
static void linspace_1_0(int64_t n, float *out) {
  const float start = 1.0f, end = 0.0f;
  const float step = (end - start) / (float)(n - 1);
  const int64_t half = n / 2;
  for (int64_t i = 0; i < n; i++)
    out[i] = i < half ? fmaf(step, (float)i, start)
                      : fmaf(-step, (float)(n - i - 1), end);
}

int wh_ltx2_sigmas(int steps, int64_t tokens, float *sigmas) {
  if (steps < 1 || steps > WH_LTX2_MAX_STEPS || tokens < 0) return WARM_EINVAL;
  if (tokens == 0) tokens = 4096; /* default_number_of_tokens */
  const int64_t n = (int64_t)steps + 1;
  linspace_1_0(n, sigmas);

  /* The shift, in python doubles: a line through (1024, 0.95) and
   * (4096, 2.05). */
  const double max_shift = 2.05, base_shift = 0.95, terminal = 0.1;
  const double mm = (max_shift - base_shift) / (4096 - 1024);
  const double b = base_shift - mm * 1024;
  const double sigma_shift = (double)tokens * mm + b;
  const float e = (float)exp(sigma_shift);

  /* exp(shift) / (exp(shift) + (1/sigma - 1)), zero kept at zero. */
  for (int64_t i = 0; i < n; i++) {
    if (sigmas[i] == 0.0f) continue;
    /* 1 / sigma is reciprocal() * 1: one rounding. */
    float den = (1.0f / sigmas[i] - 1.0f) + e;
    sigmas[i] = (1.0f / den) * e;
  }

  /* Stretch so the last non-zero sigma becomes `terminal`. */
  int64_t last = -1;
  for (int64_t i = 0; i < n; i++)
    if (sigmas[i] != 0.0f) last = i;
  if (last >= 0) {
    const float scale = (1.0f - sigmas[last]) / (float)(1.0 - terminal);
    for (int64_t i = 0; i < n; i++) {
      if (sigmas[i] == 0.0f) continue;
      sigmas[i] = 1.0f - (1.0f - sigmas[i]) / scale;
    }
  }
  /* One step at a token count whose shifted sigma rounds to exactly 1
   * stretches 0/0: the reference returns NaN there. */
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(sigmas[i])) return WARM_EINVAL;
  return 0;
}

/* ---- layout and positions ------------------------------------------------ */

void wh_ltx2_video_patchify(const float *grid, int64_t C, int64_t F, int64_t H,
                            int64_t W, float *tokens) {
  const int64_t n = F * H * W;
  for (int64_t c = 0; c < C; c++)
    for (int64_t t = 0; t < n; t++)
      tokens[t * C + c] = grid[c * n + t];
}

void wh_ltx2_video_unpatchify(const float *tokens, int64_t C, int64_t F,
                              int64_t H, int64_t W, float *grid) {
  const int64_t n = F * H * W;
  for (int64_t c = 0; c < C; c++)
    for (int64_t t = 0; t < n; t++)
      grid[c * n + t] = tokens[t * C + c];
}

void wh_ltx2_audio_patchify(const float *lat, int64_t Z, int64_t T, int64_t M,
                            float *tokens) {
  for (int64_t z = 0; z < Z; z++)
    for (int64_t t = 0; t < T; t++)
      memcpy(tokens + t * Z * M + z * M, lat + (z * T + t) * M,
             (size_t)M * sizeof(float));
}

void wh_ltx2_audio_unpatchify(const float *tokens, int64_t Z, int64_t T,
                              int64_t M, float *lat) {
  for (int64_t z = 0; z < Z; z++)
    for (int64_t t = 0; t < T; t++)
      memcpy(lat + (z * T + t) * M, tokens + t * Z * M + z * M,
             (size_t)M * sizeof(float));
}

void wh_ltx2_video_positions(int64_t F, int64_t H, int64_t W, int tc, int sc,
                             double fps, float *pos) {
  const int64_t n = F * H * W;
  float *pt = pos, *ph = pos + 2 * n, *pw = pos + 4 * n;
  const float ffps = (float)fps;
  int64_t k = 0;
  for (int64_t f = 0; f < F; f++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t w = 0; w < W; w++, k++) {
        /* Integer pixel bounds; the causal fix on time; then seconds. */
        int64_t t0 = f * tc + 1 - tc, t1 = (f + 1) * tc + 1 - tc;
        pt[2 * k] = (float)(t0 < 0 ? 0 : t0) / ffps;
        pt[2 * k + 1] = (float)(t1 < 0 ? 0 : t1) / ffps;
        ph[2 * k] = (float)(h * sc);
        ph[2 * k + 1] = (float)((h + 1) * sc);
        pw[2 * k] = (float)(w * sc);
        pw[2 * k + 1] = (float)((w + 1) * sc);
      }
}

/* _get_audio_latent_time_in_sec for one latent index, in f32: mel frame
 * index*4 + 1 - 4 clipped at 0, times hop 160, divided by 16000 Hz. */
static float audio_time(int64_t i) {
  float mel = (float)i * 4.0f;
  mel = (mel + 1.0f) - 4.0f;
  if (mel < 0.0f) mel = 0.0f;
  return (mel * 160.0f) / 16000.0f;
}

void wh_ltx2_audio_positions(int64_t T, float *pos) {
  for (int64_t t = 0; t < T; t++) {
    pos[2 * t] = audio_time(t);
    pos[2 * t + 1] = audio_time(t + 1);
  }
}

int64_t wh_ltx2_audio_frames(uint32_t frames, double fps) {
  /* from_duration: round(frames / fps * (16000 / 160 / 4)), python's round
   * (half to even), which nearbyint gives in the default rounding mode. */
  const double latents_per_second = 16000.0 / 160.0 / 4.0;
  if (!(fps > 0.0) || !isfinite(fps)) return -1;
  const double r = nearbyint((double)frames / fps * latents_per_second);
  return r < 0x1p62 ? (int64_t)r : -1;
}

/* ---- state --------------------------------------------------------------- */

void wh_ltx2_noise_state(float *x, const float *noise, const float *mask,
                         int64_t n, int64_t c, float scale) {
  for (int64_t t = 0; t < n; t++) {
    const float sm = mask[t] * scale;
    const float keep = 1.0f - sm;
    for (int64_t j = 0; j < c; j++) {
      const int64_t k = t * c + j;
      x[k] = noise[k] * sm + x[k] * keep;
    }
  }
}

void wh_ltx2_condition_first_frame(float *x, float *clean, float *mask,
                                   const float *img_tokens, int64_t n_img,
                                   int64_t C, double strength) {
  memcpy(x, img_tokens, (size_t)(n_img * C) * sizeof(float));
  memcpy(clean, img_tokens, (size_t)(n_img * C) * sizeof(float));
  const float m = (float)(1.0 - strength);
  for (int64_t t = 0; t < n_img; t++)
    mask[t] = m;
}

void wh_ltx2_timesteps(const float *mask, int64_t n, float sigma, float *out) {
  for (int64_t t = 0; t < n; t++)
    out[t] = mask[t] * sigma;
}

void wh_ltx2_velocity_to_x0(float *v, const float *x, const float *ts,
                            int64_t n, int64_t c) {
  for (int64_t t = 0; t < n; t++)
    for (int64_t j = 0; j < c; j++) {
      const int64_t k = t * c + j;
      v[k] = x[k] - v[k] * ts[t];
    }
}

void wh_ltx2_euler(float *x, float *x0, const float *clean, const float *mask,
                   int64_t n, int64_t c, float sigma, float sigma_next) {
  const float dt = sigma_next - sigma;
  for (int64_t t = 0; t < n; t++) {
    const float m = mask[t], keep = 1.0f - m;
    for (int64_t j = 0; j < c; j++) {
      const int64_t k = t * c + j;
      x0[k] = x0[k] * m + clean[k] * keep;      /* post_process_latent */
      const float vel = (x[k] - x0[k]) / sigma; /* to_velocity */
      x[k] = x[k] + vel * dt;
    }
  }
}

/* ---- guidance ------------------------------------------------------------ */

/* Python's math.isclose(a, b) with its defaults (rel_tol 1e-9, abs 0). */
static int isclose(double a, double b) {
  if (a == b) return 1;
  if (isinf(a) || isinf(b)) return 0;
  const double diff = fabs(b - a), rel = 1e-9;
  return diff <= fabs(rel * b) || diff <= fabs(rel * a);
}

unsigned wh_ltx2_guide_passes(const wh_ltx2_guide *g) {
  unsigned p = WH_LTX2_PASS_COND;
  if (!isclose(g->cfg, 1.0)) p |= WH_LTX2_PASS_UNCOND;
  if (!isclose(g->stg, 0.0)) p |= WH_LTX2_PASS_PERTURBED;
  if (!isclose(g->modality, 1.0)) p |= WH_LTX2_PASS_ISOLATED;
  return p;
}

int wh_ltx2_guide_skips(const wh_ltx2_guide *g, int step) {
  if (g->skip_step <= 0) return 0;
  return (int64_t)step % ((int64_t)g->skip_step + 1) != 0;
}

/* Unbiased standard deviation over n values, accumulated in double (two
 * passes), rounded to f32 as torch's std of an f32 tensor is. */
static float std_f32(const float *a, int64_t n) {
  if (n < 2) return NAN;
  double sum = 0.0;
  for (int64_t k = 0; k < n; k++)
    sum += a[k];
  const double mean = sum / (double)n;
  double ss = 0.0;
  for (int64_t k = 0; k < n; k++) {
    const double d = (double)a[k] - mean;
    ss += d * d;
  }
  return (float)sqrt(ss / (double)(n - 1));
}

void wh_ltx2_guide_apply(const wh_ltx2_guide *g, float *cond, const float *u,
                         const float *p, const float *i, int64_t n) {
  const float s_cfg = (float)(g->cfg - 1.0), s_stg = (float)g->stg;
  const float s_mod = (float)(g->modality - 1.0);
  /* The rescale needs std(cond) before cond is overwritten. */
  const float std_c = g->rescale != 0.0 ? std_f32(cond, n) : 0.0f;
  for (int64_t k = 0; k < n; k++) {
    const float c = cond[k];
    /* An absent pass is the reference's 0.0 placeholder. */
    const float du = c - (u ? u[k] : 0.0f);
    const float dp = c - (p ? p[k] : 0.0f);
    const float di = c - (i ? i[k] : 0.0f);
    float pred = c + s_cfg * du;
    pred = pred + s_stg * dp;
    pred = pred + s_mod * di;
    cond[k] = pred;
  }
  if (g->rescale == 0.0) return;
  float factor = std_c / std_f32(cond, n);
  factor = (float)g->rescale * factor + (float)(1.0 - g->rescale);
  for (int64_t k = 0; k < n; k++)
    cond[k] = cond[k] * factor;
}

/* ---- per-version defaults ------------------------------------------------ */

/* ltx_pipelines/utils/constants.py, DEFAULT_NEGATIVE_PROMPT, verbatim. */
static const char NEGATIVE_PROMPT[] =
    "blurry, out of focus, overexposed, underexposed, low contrast, washed "
    "out colors, excessive noise, grainy texture, poor lighting, flickering, "
    "motion blur, distorted proportions, unnatural skin tones, deformed "
    "facial features, asymmetrical face, missing facial features, extra "
    "limbs, disfigured hands, wrong hand count, artifacts around text, "
    "inconsistent perspective, camera shake, incorrect depth of field, "
    "background too sharp, background clutter, distracting reflections, "
    "harsh shadows, inconsistent lighting direction, color banding, "
    "cartoonish rendering, 3D CGI look, unrealistic materials, uncanny "
    "valley effect, incorrect ethnicity, wrong gender, exaggerated "
    "expressions, wrong gaze direction, mismatched lip sync, silent or muted "
    "audio, distorted voice, robotic voice, echo, background noise, off-sync "
    "audio, incorrect dialogue, added dialogue, repetitive speech, jittery "
    "movement, awkward pauses, incorrect timing, unnatural transitions, "
    "inconsistent framing, tilted camera, flat lighting, inconsistent tone, "
    "cinematic oversaturation, stylized filters, or AI artifacts.";

static void guide_set(wh_ltx2_guide *g, double cfg, uint32_t stg_block) {
  memset(g, 0, sizeof *g);
  g->cfg = cfg;
  g->stg = 1.0;
  g->rescale = 0.7;
  g->modality = 3.0;
  g->skip_step = 0;
  g->stg_blocks[0] = stg_block;
  g->n_stg_blocks = 1;
}

void wh_ltx2_defaults_for(const char *model_version, wh_ltx2_defaults *d) {
  /* detect_params: a version starting with "2.3" takes LTX_2_3_PARAMS,
   * anything else (missing, empty, "2.0.0", unknown) LTX_2_PARAMS. */
  const int v23 = model_version && strncmp(model_version, "2.3", 3) == 0;
  memset(d, 0, sizeof *d);
  d->steps = v23 ? 30 : 40;
  d->frames = 121;
  d->height = 1024; /* stage_1 512 x 768, doubled for two stages */
  d->width = 1536;
  d->fps = 24.0;
  d->seed = 10;
  guide_set(&d->video, 3.0, v23 ? 28 : 29);
  guide_set(&d->audio, 7.0, v23 ? 28 : 29);
  d->image_strength = 1.0;
  d->negative_prompt = NEGATIVE_PROMPT;
}
