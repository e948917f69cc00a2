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
#include "log.h"
#include "ltx2_int.h"
#include "media.h"
#include "mp4.h"
#include "wav.h"

/* ---- the job's resolved parameters ----------------------------------------
 */

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
  q->steps = p->steps         ? p->steps
             : pl->steps_line ? pl->steps
                              : (uint32_t)d.steps;
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
  q->strength = p->image_strength > 0 ? p->image_strength : d.image_strength;
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

/* ---- wiring
 * ------------------------------------------------------------------ */

static int need(wh_runtime *rt, const char *name, const char *role,
                wh_component **out, warm_error *err) {
  if (!name)
    return warm_error_set(err, WARM_EINVAL, "[pipeline] has no %s", role);
  if (!(*out = wh_pc_find(rt, name)))
    return warm_error_set(err, WARM_EINVAL, "[pipeline] %s '%s' is not running",
                          role, name);
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

/* ---- the whole job
 * ----------------------------------------------------------- */

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
  const wh_cfg_pipeline pl =
      rt->config ? rt->config->pipeline : (wh_cfg_pipeline){0};
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
  lx_plan_batch(&J.q.vg, &J.q.ag, !distilled, Ca > 0, &b1);
  const int want_neg = b1.at[P_UNCOND] >= 0;
  t = wh_pc_now();
  wh_memtrack_mark(&J.mt, "encode");
  uint64_t s0 = ctl->streamed_bytes;
  rc = wh_pc_encode(rt, cache, J.w.enc->name, p->prompt, pos, &n_out, &enc_used,
                    fp, &hit, ctl, err);
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
  if ((rc = wh_hbook_add(
           &J.hb,
           (uint64_t)(want_neg ? 2 : 1) *
               (warm_tensor_numel(&pos[0]) + warm_tensor_numel(&pos[1]) + J.T) *
               4,
           err)))
    goto out;
  wh_pc_component_json(J.used, J.w.enc, enc_used, ctl->streamed_bytes - s0);
  wh_pc_progress(ctl, 0.05f);

  /* The image, encoded at each stage's size (the reference encodes the
   * stage-2 one after stage 1; the order changes nothing). */
  if (p->image_len) {
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "image");
    rc = lx_image_tokens(&J, p, H1, W1, &img1);
    if (!rc && two) rc = lx_image_tokens(&J, p, J.q.height, J.q.width, &img2);
    json_object_set_new(J.timings, "image", json_real(wh_pc_now() - t));
    if (rc) goto out;
  }

  /* 2. Stage 1 on a fresh noised state. */
  const int64_t n1 = F * h1 * w1, nmax = F * h2 * w2;
  if ((rc = wh_hbook_add(&J.hb,
                         lx_mod_bytes(n1, C, 3) + lx_mod_bytes(Ta, Ca, 1) +
                             sizeof(float) * (uint64_t)(nmax * C + Ta * Ca),
                         err)))
    goto out;
  noise = malloc(sizeof(float) * (size_t)(nmax * C + Ta * Ca + 1));
  if (!noise) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = lx_mod_init(&v, "video", n1, C, 3, NULL, err)) ||
      (rc = lx_mod_init(&a, "audio", Ta, Ca, 1, NULL, err)))
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
  if ((rc = lx_draw_noise(&J, "stage1.video", 0, noise, n1, C))) goto out;
  wh_ltx2_noise_state(v.x, noise, v.mask, n1, C, 1.0f);
  if (Ta) {
    if ((rc = lx_draw_noise(&J, "stage1.audio", 1, noise, Ta, Ca))) goto out;
    wh_ltx2_noise_state(a.x, noise, a.mask, Ta, Ca, 1.0f);
  }
  t = wh_pc_now();
  wh_memtrack_mark(&J.mt, "stage1");
  lx_stage st1 = {
      "stage1", J.w.stage[0], J.w.adapter[0], sig1, steps1, !distilled, H1, W1};
  rc = lx_run_stage(&J, &st1, &v, &a);
  json_object_set_new(J.timings, "stage1", json_real(wh_pc_now() - t));
  if (rc) goto out;

  /* The stage's latents as grids. */
  if ((rc = wh_hbook_add(
           &J.hb, sizeof(float) * (uint64_t)(2 * nmax * C + Ta * Ca), err)))
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
    if ((rc = wh_hbook_add(
             &J.hb, sizeof(float) * 2 * (uint64_t)(n1 * C + Ta * Ca), err)) ||
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
    rc = lx_upsample(&J, grid, F, h1, w1, &up);
    json_object_set_new(J.timings, "upsample", json_real(wh_pc_now() - t));
    if (rc) goto out;
    wh_ltx2_video_patchify(up, C, F, h2, w2, grid);
    lx_mod v2, a2;
    if ((rc = wh_hbook_add(
             &J.hb, lx_mod_bytes(n2, C, 3) + lx_mod_bytes(Ta, Ca, 1), err)))
      goto out;
    if ((rc = lx_mod_init(&v2, "video", n2, C, 3, grid, err))) goto out;
    if ((rc = lx_mod_init(&a2, "audio", Ta, Ca, 1, a.x, err))) {
      lx_mod_free(&v2);
      goto out;
    }
    lx_mod_free(&v);
    lx_mod_free(&a);
    wh_hbook_sub(&J.hb, lx_mod_bytes(n1, C, 3) + lx_mod_bytes(Ta, Ca, 1));
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
    if ((rc = lx_draw_noise(&J, "stage2.video", 2, noise, n2, C))) goto out;
    wh_ltx2_noise_state(v.x, noise, v.mask, n2, C, s);
    if (Ta) {
      if ((rc = lx_draw_noise(&J, "stage2.audio", 3, noise, Ta, Ca))) goto out;
      wh_ltx2_noise_state(a.x, noise, a.mask, Ta, Ca, s);
    }
    t = wh_pc_now();
    wh_memtrack_mark(&J.mt, "stage2");
    lx_stage st2 = {
        "stage2", J.w.stage[1], J.w.adapter[1], wh_ltx2_stage2_sigmas, 3,
        0,        J.q.height,   J.q.width};
    rc = lx_run_stage(&J, &st2, &v, &a);
    json_object_set_new(J.timings, "stage2", json_real(wh_pc_now() - t));
    if (rc) goto out;
    wh_ltx2_video_unpatchify(v.x, C, F, h2, w2, grid);
    if (Ta) wh_ltx2_audio_unpatchify(a.x, Z, Ta, M, agrid);
    if (J.noise) {
      int64_t vs[4] = {C, F, h2, w2}, as[3] = {Z, Ta, M};
      if ((rc = wh_hbook_add(
               &J.hb, sizeof(float) * (uint64_t)(n2 * C + Ta * Ca), err)) ||
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
    rc = lx_decode_one(&J, J.w.dec, &dl, "frames", &fr, NULL, NULL);
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
  if (J.noise && (rc = dump_add(&dump, "frames", fr.data, 4, fr.shape, err)))
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
    rc = lx_decode_one(&J, J.w.aud, &al, "waveform", &wave, &rate,
                       "sample_rate");
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
    if ((rc = wh_hbook_add(
             &J.hb,
             sizeof(float) * (uint64_t)warm_tensor_numel(&wave) *
                     (J.noise ? 2 : 1) +
                 wh_wav_bytes((uint32_t)wave.shape[0], wave.shape[1]),
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
  if ((rc = write_files(&J, out_dir, &fr, wave.data ? &wave : NULL, sample_rate,
                        pl.y4m, &dump)))
    goto out;
  json_object_set_new(J.timings, "total", json_real(wh_pc_now() - t0));
  {
    static const char *const type_names[] = {"ltxv", "ltx2", "ltx2_distilled",
                                             "ltx2_one_stage"};
    json_t *r = json_object();
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
    json_object_set_new(
        r, "noise", p->noise_file ? json_string(p->noise_file) : json_null());
    rc = wh_pc_finish_result(rt, r, J.timings, J.used, hit, fp, out_dir,
                             result_json, err);
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
  lx_mod_free(&v);
  lx_mod_free(&a);
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

/* ---- admission
 * ------------------------------------------------------------------ */

uint64_t wh_ltx2_host_bytes(const wh_pipe_facts *f, wh_pipe_type type,
                            const wh_job_params *p) {
  if (!f->temporal_compression || !f->spatial_compression || !p->frames ||
      !p->fps)
    return 0;
  const int two = type != WH_PIPE_LTX2_ONE_STAGE;
  const uint64_t C = f->latent_channels, sc = f->spatial_compression,
                 F = (p->frames - 1) / f->temporal_compression + 1,
                 n2 = F * (p->height / sc) * (p->width / sc),
                 n1 = two ? n2 / 4 : n2, T = f->max_tokens, E = f->embed_dim,
                 Ca = f->audio_latent_channels,
                 Ta =
                     Ca ? (uint64_t)wh_ltx2_audio_frames(p->frames, p->fps) : 0,
                 B = 4, px = 3ull * p->frames * p->height * p->width;
  /* Every booking of wh_ltx2_run, none released: an upper bound. Audio
   * contexts are never wider than video ones in LTX-2. */
  uint64_t enc = 2 * T * (2 * E + 1) * 4;
  uint64_t state = lx_mod_bytes((int64_t)n1, (int64_t)C, 3) +
                   lx_mod_bytes((int64_t)n2, (int64_t)C, 3) +
                   2 * lx_mod_bytes((int64_t)Ta, (int64_t)Ca, 1) +
                   4 * (n2 * C + Ta * Ca);
  uint64_t step = 4 * B * (n2 * C + 7 * n2 + 1 + T * E) +
                  4 * B * (Ta * Ca + 3 * Ta + 1 + T * E) +
                  4 * B * (n2 * C + Ta * Ca) + 8 * (n2 * C + Ta * Ca);
  uint64_t grids = 4 * (3 * n2 * C + 2 * Ta * Ca) + 8 * (n2 * C + Ta * Ca);
  uint64_t image =
      p->image_len ? 2 * (4 * C * n2 + 64ull * p->height * p->width) : 0;
  uint64_t decode =
      2 * 4 * px + 2 * 4 * 2 * 48000ull * (p->frames / p->fps + 1);
  return enc + state + step + grids + image + decode +
         2ull * p->height * p->width + WH_SHEET_BOUND;
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
