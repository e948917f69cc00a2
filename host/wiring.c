/*
 * host/wiring.c — the pipeline's facts and the job rules (see wiring.h).
 */
#include "wiring.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ltx2_sched.h"
#include "sampler.h"

static int info_of(wh_component *c, warm_model_info *mi, warm_error *err) {
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  int (*info)(warm_instance *, warm_model_info *, warm_error *) =
      WARM_DESC_OPT(d, info);
  memset(mi, 0, sizeof *mi);
  mi->struct_size = sizeof *mi;
  if (!info)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "component %s: plugin %s does not report its model "
                          "facts (info(), ABI 1.1), so the pipeline cannot "
                          "wire it",
                          c->name, d->name);
  return info(c->inst, mi, err);
}

/* The facts from the encoder's and decoder's info, or why the [pipeline]
 * does not wire when errors were added since `errors`. */
static void facts_finish(const wh_config *cfg, size_t errors,
                         const warm_model_info *ei, const warm_model_info *vi,
                         wh_pipe_facts *out) {
  if (cfg->n_errors != errors) {
    snprintf(out->why, sizeof out->why, "the [pipeline] does not wire: %s",
             cfg->errors[errors]);
    out->temporal_compression = out->spatial_compression = 0;
    return;
  }
  out->valid = 1;
  out->max_tokens = ei->max_tokens;
  out->embed_dim = ei->embed_dim;
  out->latent_channels = vi->latent_channels;
  out->temporal_compression = vi->temporal_compression;
  out->spatial_compression = vi->spatial_compression;
}


void wh_wiring_facts(wh_config *cfg, wh_component *enc,
                     wh_component *const *stages, size_t n_stages,
                     wh_component *dec, wh_pipe_facts *out) {
  const wh_cfg_pipeline *pl = &cfg->pipeline;
  memset(out, 0, sizeof *out);
  size_t errors = cfg->n_errors;
  warm_model_info ei, vi, si;
  warm_error e = {0};
  /* The decoder's compression alone lets the job defaults be checked even
   * when another role is missing (warmd -t reports both). */
  if (dec && info_of(dec, &vi, &e) == 0) {
    out->temporal_compression = vi.temporal_compression;
    out->spatial_compression = vi.spatial_compression;
  }
  int missing = !enc || !dec || !n_stages;
  for (size_t i = 0; i < n_stages; i++)
    missing |= !stages[i];
  if (missing) {
    snprintf(out->why, sizeof out->why,
             "the configuration has no complete [pipeline] (encoder, "
             "stages, decoder)");
    return;
  }
  if (info_of(enc, &ei, &e)) wh_config_error(cfg, pl->encoder_line, "%s", e.msg);
  if (info_of(dec, &vi, &e)) wh_config_error(cfg, pl->decoder_line, "%s", e.msg);
  if (cfg->n_errors != errors) goto out;
  if (!vi.latent_channels || !vi.temporal_compression ||
      !vi.spatial_compression)
    wh_config_error(cfg, pl->decoder_line,
                    "decoder %s reports no latent channels/compression",
                    dec->name);
  for (size_t i = 0; i < n_stages; i++) {
    int seen = 0; /* one component in two stages is checked once */
    for (size_t j = 0; j < i; j++)
      seen |= stages[j] == stages[i];
    if (seen) continue;
    if (info_of(stages[i], &si, &e)) {
      wh_config_error(cfg, pl->stages_line, "%s", e.msg);
      continue;
    }
    if (si.run_inputs == WARM_RUN_AV_TOKENS) {
      wh_config_error(cfg, pl->stages_line,
                      "stage %s is an LTX-2 transformer (two-modality token "
                      "runs); type = ltxv runs latent-grid transformers (set "
                      "[pipeline] type = ltx2, ltx2_distilled or "
                      "ltx2_one_stage)",
                      stages[i]->name);
      continue;
    }
    if (si.latent_channels && vi.latent_channels &&
        si.latent_channels != vi.latent_channels)
      wh_config_error(cfg, pl->stages_line,
                      "stage %s works on %u latent channels but decoder %s "
                      "decodes %u",
                      stages[i]->name, si.latent_channels, dec->name,
                      vi.latent_channels);
    if (si.embed_dim && ei.embed_dim && si.embed_dim != ei.embed_dim)
      wh_config_error(cfg, pl->encoder_line,
                      "encoder %s outputs width %u but stage %s takes "
                      "caption_channels %u",
                      enc->name, ei.embed_dim, stages[i]->name, si.embed_dim);
  }
out:
  facts_finish(cfg, errors, &ei, &vi, out);
}

/* One stage of an LTX-2 pipeline against the encoder, decoder, upsampler
 * and audio decoder whose facts are given (NULL: role absent). */
static void ltx2_stage(wh_config *cfg, const wh_wiring_roles *r, size_t i,
                       const warm_model_info *si, const warm_model_info *ei,
                       const warm_model_info *vi, const warm_model_info *ai) {
  const wh_cfg_pipeline *pl = &cfg->pipeline;
  const char *sn = r->stages[i]->name;
  if (si->run_inputs != WARM_RUN_AV_TOKENS) {
    wh_config_error(cfg, pl->stages_line,
                    "stage %s (plugin %s) runs latent grids; type = %s needs "
                    "an LTX-2 transformer (two-modality token runs, such as "
                    "transformer_ltx2)",
                    sn, wh_plugin_desc(r->stages[i]->plugin)->name,
                    wh_pipe_type_name(pl->type));
    return;
  }
  if (si->embed_dim != ei->embed_dim)
    wh_config_error(cfg, pl->encoder_line,
                    "encoder %s outputs video context width %u but stage %s "
                    "takes video context width %u",
                    r->encoder->name, ei->embed_dim, sn, si->embed_dim);
  if (si->audio_latent_channels && si->audio_embed_dim != ei->audio_embed_dim)
    wh_config_error(cfg, pl->encoder_line,
                    "encoder %s outputs audio context width %u but stage %s "
                    "takes audio context width %u%s",
                    r->encoder->name, ei->audio_embed_dim, sn,
                    si->audio_embed_dim,
                    ei->audio_embed_dim ? ""
                                        : " (an LTX-2 pipeline's encoder is "
                                          "text_encoder_ltx2)");
  if (si->latent_channels != vi->latent_channels)
    wh_config_error(cfg, pl->stages_line,
                    "stage %s works on %u latent channels but decoder %s "
                    "decodes %u",
                    sn, si->latent_channels, r->decoder->name,
                    vi->latent_channels);
  if (!ai) return;
  uint32_t width = ai->latent_channels * ai->audio_latent_bins;
  if (!si->audio_latent_channels)
    wh_config_error(cfg, pl->audio_decoder_line,
                    "audio_decoder %s decodes audio latents of width %u but "
                    "stage %s is video-only (audio latent width 0); leave "
                    "audio_decoder out",
                    r->audio_decoder->name, width, sn);
  else if (si->audio_latent_channels != width)
    wh_config_error(cfg, pl->audio_decoder_line,
                    "audio_decoder %s decodes audio latents of width %u (%u "
                    "channels x %u mel bins) but stage %s makes audio tokens "
                    "of width %u",
                    r->audio_decoder->name, width, ai->latent_channels,
                    ai->audio_latent_bins, sn, si->audio_latent_channels);
}

void wh_wiring_facts_ltx2(wh_config *cfg, const wh_wiring_roles *r,
                          wh_pipe_facts *out) {
  const wh_cfg_pipeline *pl = &cfg->pipeline;
  memset(out, 0, sizeof *out);
  size_t errors = cfg->n_errors;
  warm_model_info ei, vi, ui, ai, si;
  warm_error e = {0};
  if (r->decoder && info_of(r->decoder, &vi, &e) == 0) {
    out->temporal_compression = vi.temporal_compression;
    out->spatial_compression = vi.spatial_compression;
  }
  int two = pl->type != WH_PIPE_LTX2_ONE_STAGE;
  int missing = !r->encoder || !r->decoder || !r->n_stages ||
                (two && !r->upsampler) ||
                (pl->audio_decoder && !r->audio_decoder);
  for (size_t i = 0; i < r->n_stages; i++)
    missing |= !r->stages[i];
  if (missing) {
    snprintf(out->why, sizeof out->why,
             "the [pipeline] (type = %s) lacks a component it names",
             wh_pipe_type_name(pl->type));
    return;
  }
  if (info_of(r->encoder, &ei, &e))
    wh_config_error(cfg, pl->encoder_line, "%s", e.msg);
  if (info_of(r->decoder, &vi, &e))
    wh_config_error(cfg, pl->decoder_line, "%s", e.msg);
  if (r->upsampler && info_of(r->upsampler, &ui, &e))
    wh_config_error(cfg, pl->upsampler_line, "%s", e.msg);
  if (r->audio_decoder && info_of(r->audio_decoder, &ai, &e))
    wh_config_error(cfg, pl->audio_decoder_line, "%s", e.msg);
  if (cfg->n_errors != errors) goto out;
  if (!vi.latent_channels || !vi.temporal_compression ||
      !vi.spatial_compression)
    wh_config_error(cfg, pl->decoder_line,
                    "decoder %s reports no latent channels/compression",
                    r->decoder->name);
  if (r->upsampler && ui.latent_channels != vi.latent_channels)
    wh_config_error(cfg, pl->upsampler_line,
                    "upsampler %s works on %u latent channels but decoder %s "
                    "decodes %u",
                    r->upsampler->name, ui.latent_channels, r->decoder->name,
                    vi.latent_channels);
  if (r->audio_decoder && (!ai.latent_channels || !ai.audio_latent_bins))
    wh_config_error(cfg, pl->audio_decoder_line,
                    "audio_decoder %s reports no latent channels/mel bins",
                    r->audio_decoder->name);
  for (size_t i = 0; i < r->n_stages; i++) {
    int seen = 0; /* one component in both stages is checked once */
    for (size_t j = 0; j < i; j++)
      seen |= r->stages[j] == r->stages[i];
    if (seen) continue;
    if (info_of(r->stages[i], &si, &e)) {
      wh_config_error(cfg, pl->stages_line, "%s", e.msg);
      continue;
    }
    ltx2_stage(cfg, r, i, &si, &ei, &vi, r->audio_decoder ? &ai : NULL);
    if (i == 0) {
      snprintf(out->model_version, sizeof out->model_version, "%s",
               si.model_version ? si.model_version : "");
      out->layers = si.layers;
      out->audio_latent_channels = si.audio_latent_channels;
    }
  }
out:
  facts_finish(cfg, errors, &ei, &vi, out);
}

static int check_frames(const wh_pipe_facts *f, uint32_t frames,
                        warm_error *err) {
  uint32_t tc = f->temporal_compression;
  if (frames < 1 || frames > 1025 || (frames - 1) % tc)
    return warm_error_set(err, WARM_EINVAL,
                          "frames = %u: must be 1 + a multiple of %u (the "
                          "decoder's temporal compression), at most 1025",
                          frames, tc);
  return 0;
}

static int check_side(const wh_pipe_facts *f, const char *name, uint32_t v,
                      warm_error *err) {
  uint32_t sc = f->spatial_compression;
  if (v < sc || v > 4096 || v % sc)
    return warm_error_set(err, WARM_EINVAL,
                          "%s = %u: must be a multiple of %u (the decoder's "
                          "spatial compression), %u..4096",
                          name, v, sc, sc);
  return 0;
}

/* LTX-2: the two-stage types run stage 1 at half the size, so a side is a
 * multiple of twice the decoder's spatial compression. */
static int check_side_ltx2(const wh_pipe_facts *f, wh_pipe_type t,
                           const char *name, uint32_t v, warm_error *err) {
  uint32_t sc = f->spatial_compression;
  if (t == WH_PIPE_LTX2_ONE_STAGE) return check_side(f, name, v, err);
  uint32_t m = 2 * sc;
  if (v < m || v > 4096 || v % m)
    return warm_error_set(err, WARM_EINVAL,
                          "%s = %u: must be a multiple of %u (twice the "
                          "decoder's spatial compression %u: stage 1 runs at "
                          "half size), %u..4096",
                          name, v, m, sc, m);
  return 0;
}

static int check_steps(uint32_t steps, warm_error *err) {
  if (steps < 1 || steps > WH_SAMPLER_MAX_STEPS)
    return warm_error_set(err, WARM_EINVAL, "steps = %u: must be 1..%d", steps,
                          WH_SAMPLER_MAX_STEPS);
  return 0;
}

void wh_wiring_check_defaults(wh_config *cfg, const wh_pipe_facts *f) {
  const wh_cfg_pipeline *pl = &cfg->pipeline;
  if (!f->temporal_compression || !f->spatial_compression) return;
  int line = pl->line;
  warm_error e = {0};
  /* An LTX-2 default the file leaves out is the checkpoint's, checked when
   * a job resolves it. */
  if (wh_pipe_type_is_ltx2(pl->type)) {
    if (pl->frames_line && check_frames(f, pl->frames, &e))
      wh_config_error(cfg, pl->frames_line, "[pipeline] %s", e.msg);
    if (pl->height_line &&
        check_side_ltx2(f, pl->type, "height", pl->height, &e))
      wh_config_error(cfg, pl->height_line, "[pipeline] %s", e.msg);
    if (pl->width_line && check_side_ltx2(f, pl->type, "width", pl->width, &e))
      wh_config_error(cfg, pl->width_line, "[pipeline] %s", e.msg);
    if (pl->steps_line && check_steps(pl->steps, &e))
      wh_config_error(cfg, pl->steps_line, "[pipeline] %s", e.msg);
    return;
  }
  if (check_frames(f, pl->frames, &e))
    wh_config_error(cfg, pl->frames_line ? pl->frames_line : line,
                    "[pipeline] %s", e.msg);
  if (check_side(f, "height", pl->height, &e))
    wh_config_error(cfg, pl->height_line ? pl->height_line : line,
                    "[pipeline] %s", e.msg);
  if (check_side(f, "width", pl->width, &e))
    wh_config_error(cfg, pl->width_line ? pl->width_line : line,
                    "[pipeline] %s", e.msg);
  if (check_steps(pl->steps, &e))
    wh_config_error(cfg, pl->steps_line ? pl->steps_line : line,
                    "[pipeline] %s", e.msg);
}

/* LTX-2: [pipeline]'s defaults where the file gave them; a field still 0
 * is the checkpoint version's, filled by the runner. */
static int check_job_ltx2(const wh_pipe_facts *f, const wh_cfg_pipeline *pl,
                          wh_job_params *p, warm_error *err) {
  /* The job's fields, else [pipeline]'s, else the checkpoint version's. */
  wh_ltx2_defaults d;
  wh_ltx2_defaults_for(f->model_version[0] ? f->model_version : NULL, &d);
  if (!p->frames) p->frames = pl->frames_line ? pl->frames : d.frames;
  if (!p->height) p->height = pl->height_line ? pl->height : d.height;
  if (!p->width) p->width = pl->width_line ? pl->width : d.width;
  if (!p->steps) p->steps = pl->steps_line ? pl->steps : (uint32_t)d.steps;
  if (!p->fps)
    p->fps = (uint32_t)lround(pl->fps_line ? pl->fps : d.fps);
  if (!(p->guidance > 0) && pl->guidance_line && pl->guidance > 0)
    p->guidance = pl->guidance;
  if (!p->prompt || !*p->prompt)
    return warm_error_set(err, WARM_EINVAL, "prompt: must not be empty");
  int rc;
  if ((p->frames && (rc = check_frames(f, p->frames, err))) ||
      (p->height &&
       (rc = check_side_ltx2(f, pl->type, "height", p->height, err))) ||
      (p->width &&
       (rc = check_side_ltx2(f, pl->type, "width", p->width, err))) ||
      (p->steps && (rc = check_steps(p->steps, err))))
    return rc;
  if (p->fps && p->fps > 240)
    return warm_error_set(err, WARM_EINVAL, "fps = %u: must be 1..240", p->fps);
  if (p->guidance > 0 && !(p->guidance >= 1.0 && p->guidance <= 30.0))
    return warm_error_set(err, WARM_EINVAL,
                          "guidance = %g: must be 1 (off) .. 30", p->guidance);
  /* The STG blocks a guided stage will perturb must exist: the job's, else
   * [pipeline]'s, else the version's (29 / 28, past a small model's end). */
  if (pl->type == WH_PIPE_LTX2_DISTILLED || !f->layers) return 0;
  const wh_job_guide *jg[2] = {&p->video_guidance, &p->audio_guidance};
  const wh_ltx2_guide *dg[2] = {&d.video, &d.audio};
  for (int k = 0; k < 2; k++) {
    const uint32_t *b = dg[k]->stg_blocks;
    uint32_t n = dg[k]->n_stg_blocks;
    const char *from = "the checkpoint version's default; set the job's "
                       "stg_blocks or [pipeline] stg_blocks";
    if (jg[k]->set & WH_GUIDE_STG_BLOCKS) {
      b = jg[k]->g.stg_blocks;
      n = jg[k]->g.n_stg_blocks;
      from = "given";
    } else if (pl->stg_blocks_line) {
      b = pl->stg_blocks;
      n = pl->n_stg_blocks;
      from = "[pipeline] stg_blocks";
    }
    for (uint32_t i = 0; i < n; i++)
      if (b[i] >= f->layers)
        return warm_error_set(err, WARM_EINVAL,
                              "%s_guidance.stg_blocks: block %u (%s), but "
                              "the transformer has %u blocks",
                              k ? "audio" : "video", b[i], from, f->layers);
  }
  return 0;
}

int wh_wiring_check_job(const wh_pipe_facts *f, const wh_cfg_pipeline *pl,
                        wh_job_params *p, warm_error *err) {
  if (!f->valid) return warm_error_set(err, WARM_EINVAL, "%s", f->why);
  if (wh_pipe_type_is_ltx2(pl->type)) return check_job_ltx2(f, pl, p, err);
  if (!p->frames) p->frames = pl->frames;
  if (!p->height) p->height = pl->height;
  if (!p->width) p->width = pl->width;
  if (!p->steps) p->steps = pl->steps;
  if (!p->fps) p->fps = pl->fps > 0 ? (uint32_t)lround(pl->fps) : 24;
  if (!(p->guidance > 0)) p->guidance = pl->guidance > 0 ? pl->guidance : 1.0;
  if (!p->prompt || !*p->prompt)
    return warm_error_set(err, WARM_EINVAL, "prompt: must not be empty");
  int rc;
  if ((rc = check_frames(f, p->frames, err)) ||
      (rc = check_side(f, "height", p->height, err)) ||
      (rc = check_side(f, "width", p->width, err)) ||
      (rc = check_steps(p->steps, err)))
    return rc;
  if (p->fps < 1 || p->fps > 240)
    return warm_error_set(err, WARM_EINVAL, "fps = %u: must be 1..240", p->fps);
  if (!(p->guidance >= 1.0 && p->guidance <= 30.0))
    return warm_error_set(err, WARM_EINVAL,
                          "guidance = %g: must be 1 (off) .. 30", p->guidance);
  return 0;
}
