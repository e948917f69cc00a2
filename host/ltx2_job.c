/*
 * host/ltx2_job.c — one LTX-2 job, as ltx-pipelines 1.0.0 runs it
 * (TI2VidTwoStagesPipeline, DistilledPipeline, TI2VidOneStagePipeline):
 *
 *   encode prompt (+ negative) -> [image -> VAE encode at the stage size]
 *   -> stage 1: noised state, Euler over the sigmas, each step's guidance
 *      passes in ONE batched transformer call, the guider per modality
 *   -> upsample the video latent x2 -> stage 2: re-noise video and audio at
 *      the first stage-2 sigma, unguided Euler with the stage's adapter
 *   -> decode video (tiled by the VAE plugin) and audio -> files.
 *
 * All sampling arithmetic is host/ltx2_sched.c's; this file moves tensors
 * between it and the components. Every host buffer is booked on the host
 * ledger before it exists.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "fsio.h"
#include "image_in.h"
#include "log.h"
#include "ltx2_sched.h"
#include "media.h"
#include "memtrack.h"
#include "mp4.h"
#include "pipeline_int.h"
#include "sampler.h"
#include "wav.h"
#include "warm/safetensors.h"

/* ---- the job's resolved parameters ---------------------------------------- */

typedef struct lx_params {
  uint32_t frames, height, width, steps;
  double fps;
  uint64_t seed;
  wh_ltx2_guide vg, ag;
  const char *negative;
  double strength;
} lx_params;

static void apply_guide(wh_ltx2_guide *g, const wh_job_guide *j) {
  if (j->set & WH_GUIDE_CFG) g->cfg = j->g.cfg;
  if (j->set & WH_GUIDE_STG) g->stg = j->g.stg;
  if (j->set & WH_GUIDE_RESCALE) g->rescale = j->g.rescale;
  if (j->set & WH_GUIDE_MODALITY) g->modality = j->g.modality;
  if (j->set & WH_GUIDE_SKIP_STEP) g->skip_step = j->g.skip_step;
  if (j->set & WH_GUIDE_STG_BLOCKS) {
    g->n_stg_blocks = j->g.n_stg_blocks;
    memcpy(g->stg_blocks, j->g.stg_blocks, sizeof g->stg_blocks);
  }
}

/* Job fields, then [pipeline]'s keys, then the checkpoint version's
 * defaults. */
static int resolve(const wh_cfg_pipeline *pl, const char *version,
                   const wh_job_params *p, uint32_t layers, lx_params *q,
                   warm_error *err) {
  wh_ltx2_defaults d;
  wh_ltx2_defaults_for(version, &d);
  q->frames = p->frames ? p->frames : pl->frames_line ? pl->frames : d.frames;
  q->height = p->height ? p->height : pl->height_line ? pl->height : d.height;
  q->width = p->width ? p->width : pl->width_line ? pl->width : d.width;
  q->steps = p->steps ? p->steps : pl->steps_line ? pl->steps : (uint32_t)d.steps;
  q->fps = p->fps ? (double)p->fps : pl->fps_line ? pl->fps : d.fps;
  q->seed = p->seed;
  q->vg = d.video;
  q->ag = d.audio;
  if (pl->stg_blocks_line) {
    q->vg.n_stg_blocks = q->ag.n_stg_blocks = pl->n_stg_blocks;
    memcpy(q->vg.stg_blocks, pl->stg_blocks, sizeof pl->stg_blocks);
    memcpy(q->ag.stg_blocks, pl->stg_blocks, sizeof pl->stg_blocks);
  }
  if (pl->guidance_line) q->vg.cfg = pl->guidance;
  if (p->guidance > 0) q->vg.cfg = p->guidance;
  apply_guide(&q->vg, &p->video_guidance);
  apply_guide(&q->ag, &p->audio_guidance);
  q->negative = p->negative_prompt ? p->negative_prompt : d.negative_prompt;
  q->strength = p->image_strength > 0 ? p->image_strength
                                      : d.image_strength;
  if (q->steps < 1 || q->steps > WH_LTX2_MAX_STEPS)
    return warm_error_set(err, WARM_EINVAL, "steps = %u: must be 1..%d",
                          q->steps, WH_LTX2_MAX_STEPS);
  if ((q->frames - 1) % 8)
    return warm_error_set(err, WARM_EINVAL,
                          "frames = %u: must be 8k+1 (9, 17, ..., 121)",
                          q->frames);
  uint32_t m = pl->type == WH_PIPE_LTX2_ONE_STAGE ? 32 : 64;
  if (q->height % m || q->width % m || !q->height || !q->width)
    return warm_error_set(err, WARM_EINVAL,
                          "height x width = %u x %u: must be multiples of %u "
                          "for this pipeline",
                          q->height, q->width, m);
  /* The distilled pipeline does not guide: the version's guidance defaults
   * (stg_blocks 29 or 28) do not apply to its transformer. */
  if (pl->type == WH_PIPE_LTX2_DISTILLED) return 0;
  if (q->vg.skip_step != q->ag.skip_step)
    return warm_error_set(err, WARM_EINVAL,
                          "video_guidance.skip_step = %d and "
                          "audio_guidance.skip_step = %d: warmd skips whole "
                          "steps, so both must be equal",
                          q->vg.skip_step, q->ag.skip_step);
  const wh_ltx2_guide *gs[2] = {&q->vg, &q->ag};
  for (int k = 0; k < 2; k++)
    for (uint32_t i = 0; i < gs[k]->n_stg_blocks; i++)
      if (gs[k]->stg_blocks[i] >= layers)
        return warm_error_set(err, WARM_EINVAL,
                              "%s_guidance.stg_blocks: block %u, but the "
                              "transformer has %u blocks (set the job's "
                              "stg_blocks, or [pipeline] stg_blocks)",
                              k ? "audio" : "video", gs[k]->stg_blocks[i],
                              layers);
  return 0;
}

/* ---- wiring ------------------------------------------------------------------ */

typedef struct lx_wiring {
  wh_pipe_type type;
  wh_component *enc, *stage[2], *up, *dec, *aud;
  const char *adapter[2];
  warm_model_info dit, vae, aui;
} lx_wiring;

static int need(wh_runtime *rt, const char *name, const char *role,
                wh_component **out, warm_error *err) {
  if (!name)
    return warm_error_set(err, WARM_EINVAL, "[pipeline] has no %s", role);
  if (!(*out = wh_pc_find(rt, name)))
    return warm_error_set(err, WARM_EINVAL,
                          "[pipeline] %s '%s' is not running", role, name);
  return 0;
}

static int wire(wh_runtime *rt, const wh_cfg_pipeline *pl, lx_wiring *w,
                warm_error *err) {
  memset(w, 0, sizeof *w);
  w->type = pl->type;
  int rc = need(rt, pl->encoder, "encoder", &w->enc, err);
  if (!rc) rc = need(rt, pl->decoder, "decoder", &w->dec, err);
  if (rc) return rc;
  if (!pl->n_stages)
    return warm_error_set(err, WARM_EINVAL, "[pipeline] has no stages");
  for (size_t i = 0; i < 2; i++) {
    size_t k = i < pl->n_stages ? i : pl->n_stages - 1;
    if ((rc = need(rt, pl->stages[k], "stage", &w->stage[i], err))) return rc;
    w->adapter[i] = pl->stage_adapters[k];
  }
  if (pl->type != WH_PIPE_LTX2_ONE_STAGE &&
      (rc = need(rt, pl->upsampler, "upsampler", &w->up, err)))
    return rc;
  if (pl->audio_decoder &&
      (rc = need(rt, pl->audio_decoder, "audio_decoder", &w->aud, err)))
    return rc;
  if ((rc = wh_pc_info(w->stage[0], &w->dit, err)) ||
      (rc = wh_pc_info(w->dec, &w->vae, err)) ||
      (w->aud && (rc = wh_pc_info(w->aud, &w->aui, err))))
    return rc;
  if (w->dit.run_inputs != WARM_RUN_AV_TOKENS)
    return warm_error_set(err, WARM_EINVAL,
                          "stage %s does not take LTX-2 token runs",
                          w->stage[0]->name);
  if (!w->vae.temporal_compression || !w->vae.spatial_compression ||
      w->vae.latent_channels != w->dit.latent_channels)
    return warm_error_set(err, WARM_EINVAL,
                          "decoder %s (%u latent channels) does not match "
                          "stage %s (%u)",
                          w->dec->name, w->vae.latent_channels,
                          w->stage[0]->name, w->dit.latent_channels);
  if (w->aud && w->aui.latent_channels * w->aui.audio_latent_bins !=
                    w->dit.audio_latent_channels)
    return warm_error_set(err, WARM_EINVAL,
                          "audio_decoder %s takes %u x %u latents but stage "
                          "%s makes audio tokens of %u",
                          w->aud->name, w->aui.latent_channels,
                          w->aui.audio_latent_bins, w->stage[0]->name,
                          w->dit.audio_latent_channels);
  return 0;
}

/* ---- one modality's sampling state (token layout) ---------------------------- */

typedef struct lx_mod {
  const char *name; /* "video" / "audio" */
  int64_t n, c;     /* tokens, token width */
  int axes;         /* position axes: 3 or 1 */
  float *x, *clean, *mask, *pos; /* [n*c], [n*c], [n], [axes*n*2] */
  const warm_tensor *ctx[2];     /* positive, negative [S, E] */
} lx_mod;

static void mod_free(lx_mod *m) {
  free(m->x);
  free(m->clean);
  free(m->mask);
  free(m->pos);
  m->x = m->clean = m->mask = m->pos = NULL;
}

static uint64_t mod_bytes(int64_t n, int64_t c, int axes) {
  return sizeof(float) * (uint64_t)(2 * n * c + n + axes * n * 2);
}

/* Fresh state: x = clean = initial (or zeros), mask 1. */
static int mod_init(lx_mod *m, const char *name, int64_t n, int64_t c,
                    int axes, const float *initial, warm_error *err) {
  memset(m, 0, sizeof *m);
  m->name = name;
  m->n = n;
  m->c = c;
  m->axes = axes;
  m->x = calloc((size_t)(n * c), sizeof(float));
  m->clean = calloc((size_t)(n * c), sizeof(float));
  m->mask = malloc(sizeof(float) * (size_t)n);
  m->pos = malloc(sizeof(float) * (size_t)(axes * n * 2));
  if (!m->x || !m->clean || !m->mask || !m->pos) {
    mod_free(m);
    return warm_error_set(err, WARM_ENOMEM, "out of memory for %s tokens",
                          name);
  }
  if (initial) {
    memcpy(m->x, initial, sizeof(float) * (size_t)(n * c));
    memcpy(m->clean, initial, sizeof(float) * (size_t)(n * c));
  }
  for (int64_t i = 0; i < n; i++)
    m->mask[i] = 1.0f;
  return 0;
}

/* ---- the job ----------------------------------------------------------------------- */

typedef struct lx_job {
  wh_runtime *rt;
  wh_job_ctl *ctl;
  warm_error *err;
  lx_wiring w;
  lx_params q;
  wh_hbook hb;
  wh_memtrack mt;
  warm_st *noise; /* injected noise, or NULL */
  uint32_t T;     /* text tokens */
  json_t *used, *timings, *stages;
  float progress0, progress_span; /* of the current stage */
  int total_steps, steps_done;
} lx_job;

/* The noise of one state: the injected tensor `name` [n, c], or the seeded
 * generator's stream k. */
static int draw_noise(lx_job *J, const char *name, int k, float *out,
                      int64_t n, int64_t c) {
  if (!J->noise) {
    wh_noise(out, n * c, J->q.seed * 8u + (uint64_t)k);
    return 0;
  }
  warm_tensor t;
  int64_t shape[2] = {n, c};
  int rc = warm_st_expect(J->noise, name, 2, shape, &t, J->err);
  if (rc) return rc;
  if (t.dtype != WARM_F32)
    return warm_error_set(J->err, WARM_EFORMAT, "%s: noise '%s' must be f32",
                          warm_st_path(J->noise), name);
  memcpy(out, t.data, sizeof(float) * (size_t)(n * c));
  return 0;
}

/* One run of component c with inputs `in`; the outputs stay in *a. */
static int call(lx_job *J, wh_component *c, const warm_job_shape *shape,
                warm_tensor *in, uint32_t n_in, warm_run_args *a,
                warm_placement *used) {
  memset(a, 0, sizeof *a);
  a->inputs = in;
  a->n_inputs = n_in;
  return wh_pc_call(J->rt, c, shape, a, J->ctl, used, J->err);
}

static void note_component(lx_job *J, wh_component *c, warm_placement u,
                           uint64_t streamed) {
  if (u) wh_pc_component_json(J->used, c, warm_placement_name(u), streamed);
}

/* VAE-encodes prepared pixels [3, 1, H, W] to first-frame tokens
 * [Hl*Wl, C]. */
static int encode_image(lx_job *J, const float *px, uint32_t H, uint32_t W,
                        float **tokens) {
  const int64_t C = J->w.vae.latent_channels, sc = J->w.vae.spatial_compression;
  warm_tensor in = {0};
  int64_t shape[4] = {3, 1, H, W};
  warm_run_args a;
  warm_placement u = 0;
  if (warm_tensor_alloc(&in, "frames", WARM_F32, 4, shape))
    return warm_error_set(J->err, WARM_ENOMEM, "out of memory");
  memcpy(in.data, px, sizeof(float) * 3 * H * W);
  warm_job_shape js = {J->T, 1, H, W, 1};
  int rc = call(J, J->w.dec, &js, &in, 1, &a, &u);
  warm_tensor_free(&in);
  warm_tensor *z = rc ? NULL : wh_pc_output(&a, "latents");
  if (!rc && (!z || z->dtype != WARM_F32 || z->ndim != 4 || z->shape[0] != C ||
              z->shape[1] != 1 || z->shape[2] != H / sc || z->shape[3] != W / sc))
    rc = warm_error_set(J->err, WARM_EFORMAT,
                        "decoder %s encoded the image to no f32 \"latents\" "
                        "[%lld, 1, %lld, %lld]",
                        J->w.dec->name, (long long)C, (long long)(H / sc),
                        (long long)(W / sc));
  if (!rc) {
    int64_t n = (H / sc) * (W / sc);
    *tokens = malloc(sizeof(float) * (size_t)(n * C));
    if (!*tokens) rc = warm_error_set(J->err, WARM_ENOMEM, "out of memory");
    else wh_ltx2_video_patchify(z->data, C, 1, H / sc, W / sc, *tokens);
  }
  wh_pc_free_outputs(&a);
  return rc;
}

/* The job's image at a stage's size as first-frame tokens [Hl*Wl, C]
 * (load_image_conditioning, then the VAE encoder), or NULL without one. */
static int image_tokens(lx_job *J, const wh_job_params *p, uint32_t H,
                        uint32_t W, float **tokens) {
  *tokens = NULL;
  if (!p->image_len) return 0;
  wh_image_format fmt;
  uint32_t sw = 0, sh = 0;
  int rc = wh_image_probe(p->image, p->image_len, &fmt, &sw, &sh, J->err);
  if (rc) return rc;
  const uint64_t C = J->w.vae.latent_channels, sc = J->w.vae.spatial_compression;
  const uint64_t bytes = wh_image_prepare_bytes(sw, sh, W, H) +
                         sizeof(float) * C * (H / sc) * (W / sc);
  if ((rc = wh_hbook_add(&J->hb, bytes, J->err))) return rc;
  float *px = NULL;
  rc = wh_image_prepare(p->image, p->image_len, H, W, &px, J->err);
  if (!rc) rc = encode_image(J, px, H, W, tokens);
  free(px);
  /* The pixels are gone; the tokens stay booked until the job ends. */
  wh_hbook_sub(&J->hb, wh_image_prepare_bytes(sw, sh, W, H));
  return rc;
}

/* ---- one stage: Euler over the sigmas with batched guidance passes ------------- */

enum { P_COND, P_UNCOND, P_PERT, P_ISO, P_MAX };

typedef struct lx_batch {
  int B, kind[P_MAX], at[P_MAX]; /* at[kind] = pass index or -1 */
  warm_perturbation pert[4];
  uint32_t n_pert;
} lx_batch;

static void plan_batch(const wh_ltx2_guide *vg, const wh_ltx2_guide *ag,
                       int guided, int audio, lx_batch *b) {
  memset(b, 0, sizeof *b);
  for (int k = 0; k < P_MAX; k++)
    b->at[k] = -1;
  unsigned bits = WH_LTX2_PASS_COND;
  if (guided) {
    bits |= wh_ltx2_guide_passes(vg);
    if (audio) bits |= wh_ltx2_guide_passes(ag);
  }
  static const unsigned flag[P_MAX] = {WH_LTX2_PASS_COND, WH_LTX2_PASS_UNCOND,
                                       WH_LTX2_PASS_PERTURBED,
                                       WH_LTX2_PASS_ISOLATED};
  for (int k = 0; k < P_MAX; k++)
    if (bits & flag[k]) {
      b->at[k] = b->B;
      b->kind[b->B++] = k;
    }
  if (b->at[P_PERT] >= 0) {
    /* An empty block list perturbs nothing, as in the reference. */
    if (wh_ltx2_guide_passes(vg) & WH_LTX2_PASS_PERTURBED && vg->n_stg_blocks)
      b->pert[b->n_pert++] = (warm_perturbation){
          (uint32_t)b->at[P_PERT], WARM_PERTURB_SKIP_VIDEO_SELF_ATTN,
          vg->stg_blocks, vg->n_stg_blocks};
    if (audio && wh_ltx2_guide_passes(ag) & WH_LTX2_PASS_PERTURBED &&
        ag->n_stg_blocks)
      b->pert[b->n_pert++] = (warm_perturbation){
          (uint32_t)b->at[P_PERT], WARM_PERTURB_SKIP_AUDIO_SELF_ATTN,
          ag->stg_blocks, ag->n_stg_blocks};
  }
  if (b->at[P_ISO] >= 0) {
    b->pert[b->n_pert++] = (warm_perturbation){
        (uint32_t)b->at[P_ISO], WARM_PERTURB_SKIP_A2V_CROSS_ATTN, NULL, 0};
    b->pert[b->n_pert++] = (warm_perturbation){
        (uint32_t)b->at[P_ISO], WARM_PERTURB_SKIP_V2A_CROSS_ATTN, NULL, 0};
  }
}

/* The five inputs of one modality for B passes; positions and contexts are
 * filled once, latents / timesteps / sigmas per step. */
typedef struct lx_inputs {
  warm_tensor t[5]; /* latent, timesteps, sigma, positions, context */
} lx_inputs;

static const char *const in_suffix[5] = {"latent", "timesteps", "sigma",
                                         "positions", "context"};

static uint64_t inputs_bytes(const lx_mod *m, int B) {
  const warm_tensor *cx = m->ctx[0];
  return sizeof(float) * (uint64_t)B *
         (uint64_t)(m->n * m->c + m->n + 1 + m->axes * m->n * 2 +
                    cx->shape[0] * cx->shape[1]);
}

static int inputs_make(lx_inputs *in, const lx_mod *m, const lx_batch *b,
                       char names[5][32], warm_error *err) {
  const int64_t B = b->B, S = m->ctx[0]->shape[0], E = m->ctx[0]->shape[1];
  int64_t s0[3] = {B, m->n, m->c}, s1[2] = {B, m->n}, s2[1] = {B},
          s3[4] = {B, m->axes, m->n, 2}, s4[3] = {B, S, E};
  const int64_t *shapes[5] = {s0, s1, s2, s3, s4};
  const int nd[5] = {3, 2, 1, 4, 3};
  memset(in, 0, sizeof *in);
  for (int k = 0; k < 5; k++) {
    snprintf(names[k], 32, "%s_%s", m->name, in_suffix[k]);
    if (warm_tensor_alloc(&in->t[k], names[k], WARM_F32, nd[k], shapes[k]))
      return warm_error_set(err, WARM_ENOMEM, "out of memory for %s inputs",
                            m->name);
  }
  const size_t pn = (size_t)(m->axes * m->n * 2), cn = (size_t)(S * E);
  for (int64_t p = 0; p < B; p++) {
    memcpy((float *)in->t[3].data + p * pn, m->pos, sizeof(float) * pn);
    const warm_tensor *cx = m->ctx[b->kind[p] == P_UNCOND ? 1 : 0];
    memcpy((float *)in->t[4].data + p * cn, cx->data, sizeof(float) * cn);
  }
  return 0;
}

static void inputs_step(lx_inputs *in, const lx_mod *m, int B, float sigma) {
  const size_t xn = (size_t)(m->n * m->c);
  for (int p = 0; p < B; p++) {
    memcpy((float *)in->t[0].data + p * xn, m->x, sizeof(float) * xn);
    wh_ltx2_timesteps(m->mask, m->n, sigma,
                      (float *)in->t[1].data + (size_t)p * m->n);
    ((float *)in->t[2].data)[p] = sigma;
  }
}

static void inputs_free(lx_inputs *in) {
  for (int k = 0; k < 5; k++)
    warm_tensor_free(&in->t[k]);
}

/* The guided x0 of one modality from the passes' velocities, into x0
 * [n*c] (v is overwritten). */
static void guided_x0(const lx_mod *m, const lx_batch *b, float *v,
                      const float *ts, const wh_ltx2_guide *g, int guided,
                      float *x0) {
  const int64_t xn = m->n * m->c;
  for (int p = 0; p < b->B; p++)
    wh_ltx2_velocity_to_x0(v + p * xn, m->x, ts, m->n, m->c);
  float *pass[P_MAX] = {0};
  for (int k = 0; k < P_MAX; k++)
    if (b->at[k] >= 0) pass[k] = v + b->at[k] * xn;
  if (guided)
    wh_ltx2_guide_apply(g, pass[P_COND], pass[P_UNCOND], pass[P_PERT],
                        pass[P_ISO], xn);
  memcpy(x0, pass[P_COND], sizeof(float) * (size_t)xn);
}

typedef struct lx_stage {
  const char *label; /* "stage1" / "stage2" */
  wh_component *c;
  const char *adapter;
  const float *sigmas;
  int steps, guided;
  uint32_t height, width; /* pixel size of this stage */
} lx_stage;

static int run_stage(lx_job *J, const lx_stage *st, lx_mod *v, lx_mod *a) {
  warm_error *err = J->err;
  const int audio = a->n > 0;
  lx_batch b;
  plan_batch(&J->q.vg, &J->q.ag, st->guided, audio, &b);
  lx_inputs vin, ain;
  char vnames[5][32], anames[5][32];
  memset(&vin, 0, sizeof vin);
  memset(&ain, 0, sizeof ain);
  const uint64_t xn_v = (uint64_t)(v->n * v->c), xn_a = (uint64_t)(a->n * a->c);
  /* inputs + the plugin's velocities + last x0 (skip_step) + x0 scratch */
  uint64_t bytes = inputs_bytes(v, b.B) + (audio ? inputs_bytes(a, b.B) : 0) +
                   sizeof(float) * (uint64_t)b.B * (xn_v + xn_a) +
                   2 * sizeof(float) * (xn_v + xn_a);
  int rc = wh_hbook_add(&J->hb, bytes, err);
  if (rc) return rc;
  float *x0v = malloc(sizeof(float) * xn_v),
        *x0a = malloc(sizeof(float) * (xn_a ? xn_a : 1)),
        *lastv = malloc(sizeof(float) * xn_v),
        *lasta = malloc(sizeof(float) * (xn_a ? xn_a : 1));
  if (!x0v || !x0a || !lastv || !lasta) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = inputs_make(&vin, v, &b, vnames, err)) ||
      (audio && (rc = inputs_make(&ain, a, &b, anames, err))))
    goto out;
  warm_tensor in[10];
  for (int k = 0; k < 5; k++) {
    in[k] = vin.t[k];
    if (audio) in[5 + k] = ain.t[k];
  }
  warm_job_shape shape = {J->T, J->q.frames, st->height, st->width,
                          (uint32_t)b.B};
  warm_placement used = 0;
  uint64_t streamed0 = J->ctl->streamed_bytes;
  int have_last = 0;
  for (int i = 0; i < st->steps; i++) {
    if (wh_pc_cancelled(J->ctl)) {
      rc = warm_error_set(err, WARM_ECANCELED, "cancelled at %s step %d",
                          st->label, i);
      goto out;
    }
    const float sigma = st->sigmas[i], next = st->sigmas[i + 1];
    if (st->guided && have_last && wh_ltx2_guide_skips(&J->q.vg, i) &&
        wh_ltx2_guide_skips(&J->q.ag, i)) {
      memcpy(x0v, lastv, sizeof(float) * xn_v);
      if (audio) memcpy(x0a, lasta, sizeof(float) * xn_a);
    } else {
      inputs_step(&vin, v, b.B, sigma);
      if (audio) inputs_step(&ain, a, b.B, sigma);
      warm_run_args ra;
      memset(&ra, 0, sizeof ra);
      ra.inputs = in;
      ra.n_inputs = audio ? 10 : 5;
      ra.perturbations = b.n_pert ? b.pert : NULL;
      ra.n_perturbations = b.n_pert;
      ra.adapter = st->adapter;
      rc = wh_pc_call(J->rt, st->c, &shape, &ra, J->ctl, &used, err);
      warm_tensor *vv = rc ? NULL : wh_pc_output(&ra, "video_velocity");
      warm_tensor *av = rc || !audio ? NULL : wh_pc_output(&ra, "audio_velocity");
      if (!rc && (!vv || vv->dtype != WARM_F32 ||
                  warm_tensor_numel(vv) != (int64_t)(b.B * xn_v) ||
                  (audio && (!av || av->dtype != WARM_F32 ||
                             warm_tensor_numel(av) != (int64_t)(b.B * xn_a)))))
        rc = warm_error_set(err, WARM_EFORMAT,
                            "stage %s returned no f32 \"video_velocity\"%s "
                            "shaped like its %d passes' latents",
                            st->c->name, audio ? "/\"audio_velocity\"" : "",
                            b.B);
      if (!rc) {
        guided_x0(v, &b, vv->data, vin.t[1].data, &J->q.vg, st->guided, x0v);
        if (audio)
          guided_x0(a, &b, av->data, ain.t[1].data, &J->q.ag, st->guided, x0a);
        memcpy(lastv, x0v, sizeof(float) * xn_v);
        if (audio) memcpy(lasta, x0a, sizeof(float) * xn_a);
        have_last = 1;
      }
      wh_pc_free_outputs(&ra);
      if (rc) goto out;
    }
    wh_ltx2_euler(v->x, x0v, v->clean, v->mask, v->n, v->c, sigma, next);
    if (audio)
      wh_ltx2_euler(a->x, x0a, a->clean, a->mask, a->n, a->c, sigma, next);
    J->steps_done++;
    wh_pc_progress(J->ctl, 0.05f + 0.85f * (float)J->steps_done /
                                       (float)J->total_steps);
  }
  note_component(J, st->c, used, J->ctl->streamed_bytes - streamed0);
  json_t *o = json_object(), *sg = json_array();
  for (int i = 0; i <= st->steps; i++)
    json_array_append_new(sg, json_real(st->sigmas[i]));
  json_object_set_new(o, "component", json_string(st->c->name));
  json_object_set_new(o, "adapter",
                      st->adapter ? json_string(st->adapter) : json_null());
  json_object_set_new(o, "passes", json_integer(b.B));
  json_object_set_new(o, "steps", json_integer(st->steps));
  json_object_set_new(o, "sigmas", sg);
  json_object_set_new(o, "height", json_integer(st->height));
  json_object_set_new(o, "width", json_integer(st->width));
  json_object_set_new(J->stages, st->label, o);
out:
  inputs_free(&vin);
  inputs_free(&ain);
  free(x0v);
  free(x0a);
  free(lastv);
  free(lasta);
  wh_hbook_sub(&J->hb, bytes);
  return rc;
}

/* ---- decoding ----------------------------------------------------------------- */

/* The upsampler: grid [C, F, H, W] -> [C, F, 2H, 2W] (malloc'd). */
static int upsample(lx_job *J, const float *grid, int64_t F, int64_t H,
                    int64_t W, float **out) {
  const int64_t C = J->w.vae.latent_channels;
  if (!J->w.vae.latent_mean || !J->w.vae.latent_std)
    return warm_error_set(J->err, WARM_EINVAL,
                          "decoder %s reports no latent statistics for the "
                          "upsampler",
                          J->w.dec->name);
  warm_tensor in[3] = {{0}};
  int64_t s0[4] = {C, F, H, W}, s1[1] = {C};
  if (warm_tensor_alloc(&in[0], "latents", WARM_F32, 4, s0) ||
      warm_tensor_alloc(&in[1], "latent_mean", WARM_F32, 1, s1) ||
      warm_tensor_alloc(&in[2], "latent_std", WARM_F32, 1, s1)) {
    for (int k = 0; k < 3; k++)
      warm_tensor_free(&in[k]);
    return warm_error_set(J->err, WARM_ENOMEM, "out of memory");
  }
  memcpy(in[0].data, grid, sizeof(float) * (size_t)(C * F * H * W));
  memcpy(in[1].data, J->w.vae.latent_mean, sizeof(float) * (size_t)C);
  memcpy(in[2].data, J->w.vae.latent_std, sizeof(float) * (size_t)C);
  warm_run_args a;
  warm_placement u = 0;
  warm_job_shape js = {J->T, J->q.frames, J->q.height, J->q.width, 1};
  uint64_t s = J->ctl->streamed_bytes;
  int rc = call(J, J->w.up, &js, in, 3, &a, &u);
  for (int k = 0; k < 3; k++)
    warm_tensor_free(&in[k]);
  warm_tensor *z = rc ? NULL : wh_pc_output(&a, "latents");
  if (!rc && (!z || z->dtype != WARM_F32 || z->ndim != 4 || z->shape[0] != C ||
              z->shape[1] != F || z->shape[2] != 2 * H || z->shape[3] != 2 * W))
    rc = warm_error_set(J->err, WARM_EFORMAT,
                        "upsampler %s returned no f32 \"latents\" [%lld, %lld, "
                        "%lld, %lld]",
                        J->w.up->name, (long long)C, (long long)F,
                        (long long)(2 * H), (long long)(2 * W));
  if (!rc) {
    *out = z->data;
    z->data = NULL;
    note_component(J, J->w.up, u, J->ctl->streamed_bytes - s);
  }
  wh_pc_free_outputs(&a);
  return rc;
}

/* Runs a decoder-like component on one f32 input, keeping the named
 * output's tensor (moved into *out). */
static int decode_one(lx_job *J, wh_component *c, const warm_tensor *in,
                      const char *out_name, warm_tensor *out,
                      warm_tensor *extra, const char *extra_name) {
  warm_run_args a;
  warm_placement u = 0;
  warm_job_shape js = {J->T, J->q.frames, J->q.height, J->q.width, 1};
  uint64_t s = J->ctl->streamed_bytes;
  warm_tensor tmp = *in;
  int rc = call(J, c, &js, &tmp, 1, &a, &u);
  warm_tensor *o = rc ? NULL : wh_pc_output(&a, out_name);
  if (!rc && (!o || o->dtype != WARM_F32))
    rc = warm_error_set(J->err, WARM_EFORMAT, "%s returned no f32 \"%s\"",
                        c->name, out_name);
  if (!rc) {
    *out = *o;
    o->data = NULL;
    if (extra) {
      warm_tensor *e = wh_pc_output(&a, extra_name);
      if (e) {
        *extra = *e;
        e->data = NULL;
      }
    }
    note_component(J, c, u, J->ctl->streamed_bytes - s);
  }
  wh_pc_free_outputs(&a);
  return rc;
}

/* ---- the whole job ----------------------------------------------------------- */

static json_t *guide_json(const wh_ltx2_guide *g) {
  json_t *o = json_object(), *bl = json_array();
  json_object_set_new(o, "cfg", json_real(g->cfg));
  json_object_set_new(o, "stg", json_real(g->stg));
  json_object_set_new(o, "rescale", json_real(g->rescale));
  json_object_set_new(o, "modality", json_real(g->modality));
  json_object_set_new(o, "skip_step", json_integer(g->skip_step));
  for (uint32_t i = 0; i < g->n_stg_blocks; i++)
    json_array_append_new(bl, json_integer(g->stg_blocks[i]));
  json_object_set_new(o, "stg_blocks", bl);
  return o;
}

/* Named f32 tensors for tensors.safetensors (the test-only dump). */
#define LX_DUMP_MAX 8
typedef struct lx_dump {
  warm_tensor t[LX_DUMP_MAX];
  uint32_t n;
} lx_dump;

static int dump_add(lx_dump *d, const char *name, const float *data, int nd,
                    const int64_t *shape, warm_error *err) {
  if (d->n == LX_DUMP_MAX) return 0;
  warm_tensor *t = &d->t[d->n];
  if (warm_tensor_alloc(t, name, WARM_F32, nd, shape))
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  memcpy(t->data, data, sizeof(float) * (size_t)warm_tensor_numel(t));
  d->n++;
  return 0;
}

static void dump_free(lx_dump *d) {
  for (uint32_t i = 0; i < d->n; i++)
    warm_tensor_free(&d->t[i]);
  d->n = 0;
}

static int write_files(lx_job *J, const char *out_dir, const warm_tensor *fr,
                       const warm_tensor *wave, uint32_t rate, int y4m,
                       const lx_dump *dump) {
  warm_error *err = J->err;
  char path[4096];
  int rc = 0;
  const int64_t F = fr->shape[1], H = fr->shape[2], W = fr->shape[3];
  const uint32_t fps = (uint32_t)lround(J->q.fps);
  wh_mp4_audio au = {0}, *aup = NULL;
  if (wave) {
    au.pcm = wave->data;
    au.channels = (uint32_t)wave->shape[0];
    au.samples = wave->shape[1];
    au.sample_rate = rate;
    aup = &au;
  }
  if (y4m) {
    snprintf(path, sizeof path, "%s/video.y4m", out_dir);
    rc = wh_write_y4m(path, fr->data, F, H, W, fps, err);
  }
  snprintf(path, sizeof path, "%s/video.mp4", out_dir);
  if (!rc) rc = wh_write_mp4(path, fr->data, F, H, W, fps, aup, err);
  snprintf(path, sizeof path, "%s/audio.wav", out_dir);
  if (!rc && wave)
    rc = wh_write_wav(path, wave->data, (uint32_t)wave->shape[0],
                      wave->shape[1], rate, err);
  wh_image sheet = {0};
  if (!rc) rc = wh_contact_sheet(fr->data, F, H, W, 16, 192, &sheet, err);
  snprintf(path, sizeof path, "%s/preview.png", out_dir);
  if (!rc) rc = wh_write_png(path, &sheet, err);
  wh_image_free(&sheet);
  snprintf(path, sizeof path, "%s/memory.png", out_dir);
  if (!rc) rc = wh_memtrack_plot(&J->mt, path, err);
  if (!rc && dump->n) {
    snprintf(path, sizeof path, "%s/tensors.safetensors", out_dir);
    rc = warm_st_write_file(path, dump->t, dump->n, NULL, 0, err);
  }
  return rc;
}

int wh_ltx2_run(wh_runtime *rt, wh_embcache *cache, const char *job_id,
                const wh_job_params *p, const char *out_dir, wh_job_ctl *ctl,
                char **result_json, warm_error *err) {
  wh_job_ctl own_ctl = {0};
  if (!ctl) ctl = &own_ctl;
  lx_job J;
  memset(&J, 0, sizeof J);
  J.rt = rt;
  J.ctl = ctl;
  J.err = err;
  pthread_mutex_lock(&rt->lock);
  const wh_cfg_pipeline pl = rt->config ? rt->config->pipeline
                                        : (wh_cfg_pipeline){0};
  pthread_mutex_unlock(&rt->lock);
  int rc = wire(rt, &pl, &J.w, err);
  if (!rc)
    rc = resolve(&pl, J.w.dit.model_version, p, J.w.dit.layers, &J.q, err);
  if (!rc) {
    /* Checked again now: a set or reload since the POST may have taken
     * the room; a job that cannot fit fails here, before any work. */
    wh_job_params rp = *p;
    rp.frames = J.q.frames;
    rp.height = J.q.height;
    rp.width = J.q.width;
    rp.steps = J.q.steps;
    rp.fps = (uint32_t)lround(J.q.fps);
    rc = wh_admission_check(rt, &rp, err);
  }
  if (!rc) rc = wh_mkdir_p(out_dir, err);
  if (!rc && p->noise_file) rc = warm_st_open(p->noise_file, &J.noise, err);
  if (rc) {
    warm_st_close(J.noise);
    return rc;
  }
  const int two = pl.type != WH_PIPE_LTX2_ONE_STAGE,
            distilled = pl.type == WH_PIPE_LTX2_DISTILLED;
  const int64_t tc = J.w.vae.temporal_compression,
                sc = J.w.vae.spatial_compression, C = J.w.vae.latent_channels;
  const uint32_t H1 = two ? J.q.height / 2 : J.q.height,
                 W1 = two ? J.q.width / 2 : J.q.width;
  const int64_t F = (J.q.frames - 1) / tc + 1, h1 = H1 / sc, w1 = W1 / sc,
                h2 = J.q.height / sc, w2 = J.q.width / sc;
  const int64_t Ca = J.w.dit.audio_latent_channels,
                Ta = Ca ? wh_ltx2_audio_frames(J.q.frames, J.q.fps) : 0,
                Z = J.w.aud ? J.w.aui.latent_channels : Ca,
                M = J.w.aud ? J.w.aui.audio_latent_bins : 1;
  float s1buf[WH_LTX2_MAX_STEPS + 1];
  const float *sig1 = s1buf;
  int steps1 = (int)J.q.steps;
  if (distilled) {
    sig1 = wh_ltx2_distilled_sigmas;
    steps1 = 8;
  } else {
    wh_ltx2_sigmas(steps1, 0, s1buf);
  }
  J.total_steps = steps1 + (two ? 3 : 0);

  pthread_mutex_lock(&rt->lock);
  for (size_t k = 0; k < rt->n_devices; k++)
    warm_ledger_mark_reset(rt->devices[k]->ledger);
  warm_ledger_mark_reset(rt->host->ledger);
  pthread_mutex_unlock(&rt->lock);
  J.hb = (wh_hbook){rt->host->ledger, 0};
  if ((rc = wh_memtrack_start(&J.mt, rt))) {
    warm_st_close(J.noise);
    return warm_error_set(err, rc, "cannot start the memory timeline");
  }
  J.used = json_object();
  J.timings = json_object();
  J.stages = json_object();
  warm_tensor pos[3] = {{0}}, neg[3] = {{0}}, fr = {0}, wave = {0}, rate = {0};
  lx_mod v = {0}, a = {0};
  lx_dump dump = {0};
  float *noise = NULL, *grid = NULL, *up = NULL, *agrid = NULL, *img1 = NULL,
        *img2 = NULL;
  const char *enc_used = "none";
  char fp[65];
  int hit = 0;
  uint32_t n_out = 0;
  double t0 = wh_pc_now(), t;

  /* 1. Encode the prompt, and the negative prompt when a pass needs it. */
  lx_batch b1;
  plan_batch(&J.q.vg, &J.q.ag, !distilled, Ca > 0, &b1);
  const int want_neg = b1.at[P_UNCOND] >= 0;
  t = wh_pc_now();
  wh_memtrack_mark(&J.mt, "encode");
  uint64_t s0 = ctl->streamed_bytes;
  rc = wh_pc_encode(rt, cache, J.w.enc->name, p->prompt, pos, &n_out,
                    &enc_used, fp, &hit, ctl, err);
  if (!rc && n_out != 3)
    rc = warm_error_set(err, WARM_EINVAL,
                        "encoder %s gives \"embeddings\", not the LTX-2 "
                        "video_context and audio_context",
                        J.w.enc->name);
  if (!rc && want_neg) {
    int hit2;
    const char *u2;
    rc = wh_pc_encode(rt, cache, J.w.enc->name, J.q.negative, neg, &n_out, &u2,
                      fp, &hit2, ctl, err);
  }
  json_object_set_new(J.timings, "encode", json_real(wh_pc_now() - t));
  if (rc) goto out;
  J.T = (uint32_t)pos[0].shape[0];
  if ((rc = wh_hbook_add(&J.hb,
                         (uint64_t)(want_neg ? 2 : 1) *
                             (warm_tensor_numel(&pos[0]) +
                              warm_tensor_numel(&pos[1]) + J.T) * 4,
                         err)))
    goto out;
  wh_pc_component_json(J.used, J.w.enc, enc_used, ctl->streamed_bytes - s0);
  wh_pc_progress(ctl, 0.05f);

  /* The image, encoded at each stage's size (the reference encodes the
   * stage-2 one after stage 1; the order changes nothing). */
  if (p->image_len) {
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "image");
    rc = image_tokens(&J, p, H1, W1, &img1);
    if (!rc && two) rc = image_tokens(&J, p, J.q.height, J.q.width, &img2);
    json_object_set_new(J.timings, "image", json_real(wh_pc_now() - t));
    if (rc) goto out;
  }

  /* 2. Stage 1 on a fresh noised state. */
  const int64_t n1 = F * h1 * w1, nmax = F * h2 * w2;
  if ((rc = wh_hbook_add(&J.hb,
                         mod_bytes(n1, C, 3) + mod_bytes(Ta, Ca, 1) +
                             sizeof(float) * (uint64_t)(nmax * C + Ta * Ca),
                         err)))
    goto out;
  noise = malloc(sizeof(float) * (size_t)(nmax * C + Ta * Ca + 1));
  if (!noise) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = mod_init(&v, "video", n1, C, 3, NULL, err)) ||
      (rc = mod_init(&a, "audio", Ta, Ca, 1, NULL, err)))
    goto out;
  wh_ltx2_video_positions(F, h1, w1, (int)tc, (int)sc, J.q.fps, v.pos);
  wh_ltx2_audio_positions(Ta, a.pos);
  v.ctx[0] = &pos[0];
  v.ctx[1] = want_neg ? &neg[0] : &pos[0];
  a.ctx[0] = &pos[1];
  a.ctx[1] = want_neg ? &neg[1] : &pos[1];
  if (img1)
    wh_ltx2_condition_first_frame(v.x, v.clean, v.mask, img1, h1 * w1, C,
                                  J.q.strength);
  if ((rc = draw_noise(&J, "stage1.video", 0, noise, n1, C))) goto out;
  wh_ltx2_noise_state(v.x, noise, v.mask, n1, C, 1.0f);
  if (Ta) {
    if ((rc = draw_noise(&J, "stage1.audio", 1, noise, Ta, Ca))) goto out;
    wh_ltx2_noise_state(a.x, noise, a.mask, Ta, Ca, 1.0f);
  }
  t = wh_pc_now();
  wh_memtrack_mark(&J.mt, "stage1");
  lx_stage st1 = {"stage1", J.w.stage[0], J.w.adapter[0], sig1, steps1,
                  !distilled, H1, W1};
  rc = run_stage(&J, &st1, &v, &a);
  json_object_set_new(J.timings, "stage1", json_real(wh_pc_now() - t));
  if (rc) goto out;

  /* The stage's latents as grids. */
  if ((rc = wh_hbook_add(&J.hb,
                         sizeof(float) * (uint64_t)(2 * nmax * C + Ta * Ca),
                         err)))
    goto out;
  grid = malloc(sizeof(float) * (size_t)(nmax * C));
  agrid = malloc(sizeof(float) * (size_t)(Ta * Ca + 1));
  if (!grid || !agrid) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  wh_ltx2_video_unpatchify(v.x, C, F, h1, w1, grid);
  if (Ta) wh_ltx2_audio_unpatchify(a.x, Z, Ta, M, agrid);
  if (J.noise) {
    int64_t vs[4] = {C, F, h1, w1}, as[3] = {Z, Ta, M};
    if ((rc = wh_hbook_add(&J.hb, sizeof(float) * 2 * (uint64_t)(n1 * C + Ta * Ca), err)) ||
        (rc = dump_add(&dump, "stage1.video", grid, 4, vs, err)) ||
        (Ta && (rc = dump_add(&dump, "stage1.audio", agrid, 3, as, err))))
      goto out;
  }

  if (two) {
    /* 3. Upsample, then stage 2 re-noises video and audio at its first
     * sigma and refines both without guidance. */
    if (wh_pc_cancelled(ctl)) {
      rc = warm_error_set(err, WARM_ECANCELED, "cancelled before upsampling");
      goto out;
    }
    const int64_t n2 = F * h2 * w2;
    if ((rc = wh_hbook_add(&J.hb, sizeof(float) * (uint64_t)(n2 * C), err)))
      goto out;
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "upsample");
    rc = upsample(&J, grid, F, h1, w1, &up);
    json_object_set_new(J.timings, "upsample", json_real(wh_pc_now() - t));
    if (rc) goto out;
    wh_ltx2_video_patchify(up, C, F, h2, w2, grid);
    lx_mod v2, a2;
    if ((rc = wh_hbook_add(&J.hb, mod_bytes(n2, C, 3) + mod_bytes(Ta, Ca, 1),
                           err)))
      goto out;
    if ((rc = mod_init(&v2, "video", n2, C, 3, grid, err))) goto out;
    if ((rc = mod_init(&a2, "audio", Ta, Ca, 1, a.x, err))) {
      mod_free(&v2);
      goto out;
    }
    mod_free(&v);
    mod_free(&a);
    wh_hbook_sub(&J.hb, mod_bytes(n1, C, 3) + mod_bytes(Ta, Ca, 1));
    v = v2;
    a = a2;
    wh_ltx2_video_positions(F, h2, w2, (int)tc, (int)sc, J.q.fps, v.pos);
    wh_ltx2_audio_positions(Ta, a.pos);
    v.ctx[0] = v.ctx[1] = &pos[0];
    a.ctx[0] = a.ctx[1] = &pos[1];
    if (img2)
      wh_ltx2_condition_first_frame(v.x, v.clean, v.mask, img2, h2 * w2, C,
                                    J.q.strength);
    const float s = wh_ltx2_stage2_sigmas[0];
    if ((rc = draw_noise(&J, "stage2.video", 2, noise, n2, C))) goto out;
    wh_ltx2_noise_state(v.x, noise, v.mask, n2, C, s);
    if (Ta) {
      if ((rc = draw_noise(&J, "stage2.audio", 3, noise, Ta, Ca))) goto out;
      wh_ltx2_noise_state(a.x, noise, a.mask, Ta, Ca, s);
    }
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "stage2");
    lx_stage st2 = {"stage2", J.w.stage[1], J.w.adapter[1],
                    wh_ltx2_stage2_sigmas, 3, 0, J.q.height, J.q.width};
    rc = run_stage(&J, &st2, &v, &a);
    json_object_set_new(J.timings, "stage2", json_real(wh_pc_now() - t));
    if (rc) goto out;
    wh_ltx2_video_unpatchify(v.x, C, F, h2, w2, grid);
    if (Ta) wh_ltx2_audio_unpatchify(a.x, Z, Ta, M, agrid);
    if (J.noise) {
      int64_t vs[4] = {C, F, h2, w2}, as[3] = {Z, Ta, M};
      if ((rc = wh_hbook_add(&J.hb, sizeof(float) * (uint64_t)(n2 * C + Ta * Ca), err)) ||
          (rc = dump_add(&dump, "stage2.video", grid, 4, vs, err)) ||
          (Ta && (rc = dump_add(&dump, "stage2.audio", agrid, 3, as, err))))
        goto out;
    }
  }

  /* 4. Decode video, then sound. */
  if (wh_pc_cancelled(ctl)) {
    rc = warm_error_set(err, WARM_ECANCELED, "cancelled before decode");
    goto out;
  }
  t = wh_pc_now();
  wh_memtrack_mark(&J.mt, "decode");
  {
    const int64_t hh = two ? h2 : h1, ww = two ? w2 : w1;
    int64_t ds[4] = {C, F, hh, ww};
    warm_tensor dl = {0};
    uint64_t fb = sizeof(float) * 3ull * J.q.frames * J.q.height * J.q.width;
    if ((rc = wh_hbook_add(&J.hb, fb * (J.noise ? 2 : 1), err))) goto out;
    if (warm_tensor_alloc(&dl, "latents", WARM_F32, 4, ds)) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
      goto out;
    }
    memcpy(dl.data, grid, sizeof(float) * (size_t)(C * F * hh * ww));
    rc = decode_one(&J, J.w.dec, &dl, "frames", &fr, NULL, NULL);
    warm_tensor_free(&dl);
  }
  json_object_set_new(J.timings, "decode", json_real(wh_pc_now() - t));
  if (rc) goto out;
  if (fr.ndim != 4 || fr.shape[0] != 3 || fr.shape[1] != J.q.frames ||
      fr.shape[2] != J.q.height || fr.shape[3] != J.q.width) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "decoder %s returned frames not [3, %u, %u, %u]",
                        J.w.dec->name, J.q.frames, J.q.height, J.q.width);
    goto out;
  }
  if (J.noise &&
      (rc = dump_add(&dump, "frames", fr.data, 4, fr.shape, err)))
    goto out;
  uint32_t sample_rate = 0;
  if (J.w.aud && Ta) {
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "audio");
    int64_t as[3] = {Z, Ta, M};
    warm_tensor al = {0};
    if (warm_tensor_alloc(&al, "latents", WARM_F32, 3, as)) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
      goto out;
    }
    memcpy(al.data, agrid, sizeof(float) * (size_t)(Z * Ta * M));
    rc = decode_one(&J, J.w.aud, &al, "waveform", &wave, &rate, "sample_rate");
    warm_tensor_free(&al);
    json_object_set_new(J.timings, "audio", json_real(wh_pc_now() - t));
    if (rc) goto out;
    if (wave.ndim != 2 || wave.shape[0] < 1 || wave.shape[0] > 2 ||
        !rate.data || rate.dtype != WARM_I32) {
      rc = warm_error_set(err, WARM_EFORMAT,
                          "audio_decoder %s returned no \"waveform\" [1|2, "
                          "samples] with an i32 \"sample_rate\"",
                          J.w.aud->name);
      goto out;
    }
    sample_rate = (uint32_t)((int32_t *)rate.data)[0];
    if ((rc = wh_hbook_add(&J.hb,
                           sizeof(float) * (uint64_t)warm_tensor_numel(&wave) *
                                   (J.noise ? 2 : 1) +
                               wh_wav_bytes((uint32_t)wave.shape[0],
                                            wave.shape[1]),
                           err)))
      goto out;
    if (J.noise &&
        (rc = dump_add(&dump, "waveform", wave.data, 2, wave.shape, err)))
      goto out;
  }
  wh_pc_progress(ctl, 0.95f);

  /* 5. Files. */
  if (wh_pc_cancelled(ctl)) {
    rc = warm_error_set(err, WARM_ECANCELED, "cancelled before the files");
    goto out;
  }
  wh_memtrack_stop(&J.mt);
  if ((rc = wh_hbook_add(&J.hb, 2ull * J.q.height * J.q.width + WH_SHEET_BOUND,
                         err)))
    goto out;
  if ((rc = write_files(&J, out_dir, &fr, wave.data ? &wave : NULL,
                        sample_rate, pl.y4m, &dump)))
    goto out;
  json_object_set_new(J.timings, "total", json_real(wh_pc_now() - t0));
  {
    static const char *const type_names[] = {"ltxv", "ltx2", "ltx2_distilled",
                                             "ltx2_one_stage"};
    json_t *r = json_object(), *peak = json_object(), *budget = json_object();
    wh_pc_ledger_json(rt, peak, budget);
    json_object_set_new(r, "id", json_string(job_id));
    json_object_set_new(r, "pipeline", json_string(type_names[pl.type]));
    json_object_set_new(r, "model_version",
                        J.w.dit.model_version
                            ? json_string(J.w.dit.model_version)
                            : json_null());
    json_object_set_new(r, "prompt", json_string(p->prompt));
    json_object_set_new(r, "negative_prompt",
                        want_neg ? json_string(J.q.negative) : json_null());
    json_object_set_new(r, "seed", json_integer((json_int_t)J.q.seed));
    json_object_set_new(r, "frames", json_integer(J.q.frames));
    json_object_set_new(r, "height", json_integer(J.q.height));
    json_object_set_new(r, "width", json_integer(J.q.width));
    json_object_set_new(r, "steps", json_integer(steps1));
    json_object_set_new(r, "fps", json_real(J.q.fps));
    json_object_set_new(r, "video_guidance", guide_json(&J.q.vg));
    json_object_set_new(r, "audio_guidance", guide_json(&J.q.ag));
    json_object_set_new(r, "image", p->image_len ? json_true() : json_false());
    if (p->image_len)
      json_object_set_new(r, "image_strength", json_real(J.q.strength));
    json_object_set(r, "stages", J.stages);
    if (wave.data) {
      json_t *au = json_object();
      json_object_set_new(au, "sample_rate", json_integer(sample_rate));
      json_object_set_new(au, "channels", json_integer(wave.shape[0]));
      json_object_set_new(au, "seconds",
                          json_real((double)wave.shape[1] / sample_rate));
      json_object_set_new(r, "audio", au);
    } else {
      json_object_set_new(r, "audio", json_null());
    }
    json_object_set_new(r, "noise", p->noise_file ? json_string(p->noise_file)
                                                  : json_null());
    json_object_set(r, "timings", J.timings);
    json_object_set(r, "components", J.used);
    json_object_set_new(r, "cache_hit", json_boolean(hit));
    json_object_set_new(r, "encoder_fingerprint", json_string(fp));
    json_object_set_new(r, "peak_bytes", peak);
    json_object_set_new(r, "budget_bytes", budget);
    char *text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(r);
    char path[4096];
    snprintf(path, sizeof path, "%s/result.json", out_dir);
    rc = text ? wh_write_atomic(path, text, strlen(text), err)
              : warm_error_set(err, WARM_ENOMEM, "out of memory");
    if (rc == 0 && result_json) *result_json = text;
    else free(text);
  }
  wh_pc_progress(ctl, rc ? 0.95f : 1.0f);

out:
  if (rc) wh_job_outputs_remove(out_dir);
  wh_hbook_sub(&J.hb, J.hb.n);
  wh_memtrack_stop(&J.mt);
  wh_memtrack_free(&J.mt);
  for (int k = 0; k < 3; k++) {
    warm_tensor_free(&pos[k]);
    warm_tensor_free(&neg[k]);
  }
  warm_tensor_free(&fr);
  warm_tensor_free(&wave);
  warm_tensor_free(&rate);
  mod_free(&v);
  mod_free(&a);
  dump_free(&dump);
  free(noise);
  free(grid);
  free(agrid);
  free(up);
  free(img1);
  free(img2);
  warm_st_close(J.noise);
  json_decref(J.used);
  json_decref(J.timings);
  json_decref(J.stages);
  return rc;
}

/* ---- admission ------------------------------------------------------------------ */

uint64_t wh_ltx2_host_bytes(const wh_pipe_facts *f, wh_pipe_type type,
                            const wh_job_params *p) {
  if (!f->temporal_compression || !f->spatial_compression || !p->frames ||
      !p->fps)
    return 0;
  const int two = type != WH_PIPE_LTX2_ONE_STAGE;
  const uint64_t C = f->latent_channels, sc = f->spatial_compression,
                 F = (p->frames - 1) / f->temporal_compression + 1,
                 n2 = F * (p->height / sc) * (p->width / sc),
                 n1 = two ? n2 / 4 : n2, T = f->max_tokens,
                 E = f->embed_dim, Ca = f->audio_latent_channels,
                 Ta = Ca ? (uint64_t)wh_ltx2_audio_frames(p->frames, p->fps)
                         : 0,
                 B = 4, px = 3ull * p->frames * p->height * p->width;
  /* Every booking of wh_ltx2_run, none released: an upper bound. Audio
   * contexts are never wider than video ones in LTX-2. */
  uint64_t enc = 2 * T * (2 * E + 1) * 4;
  uint64_t state = mod_bytes((int64_t)n1, (int64_t)C, 3) +
                   mod_bytes((int64_t)n2, (int64_t)C, 3) +
                   2 * mod_bytes((int64_t)Ta, (int64_t)Ca, 1) +
                   4 * (n2 * C + Ta * Ca);
  uint64_t step = 4 * B * (n2 * C + 7 * n2 + 1 + T * E) +
                  4 * B * (Ta * Ca + 3 * Ta + 1 + T * E) +
                  4 * B * (n2 * C + Ta * Ca) + 8 * (n2 * C + Ta * Ca);
  uint64_t grids = 4 * (3 * n2 * C + 2 * Ta * Ca) + 8 * (n2 * C + Ta * Ca);
  uint64_t image = p->image_len ? 2 * (4 * C * n2 + 64ull * p->height * p->width) : 0;
  uint64_t decode = 2 * 4 * px + 2 * 4 * 2 * 48000ull * (p->frames / p->fps + 1);
  return enc + state + step + grids + image + decode + 2ull * p->height * p->width +
         WH_SHEET_BOUND;
}

int wh_ltx2_call_shapes(wh_pipe_type type, const wh_job_params *p, uint32_t T,
                        warm_job_shape *stage1, warm_job_shape *full) {
  const int two = type != WH_PIPE_LTX2_ONE_STAGE;
  *full = (warm_job_shape){T, p->frames, p->height, p->width, 1};
  *stage1 = (warm_job_shape){T, p->frames, two ? p->height / 2 : p->height,
                             two ? p->width / 2 : p->width,
                             type == WH_PIPE_LTX2_DISTILLED ? 1 : 4};
  return two;
}
