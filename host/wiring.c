/*
 * host/wiring.c — the pipeline's facts and the job rules (see wiring.h).
 */
#include "wiring.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
    if (info_of(stages[i], &si, &e)) {
      wh_config_error(cfg, pl->stages_line, "%s", e.msg);
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
  if (cfg->n_errors != errors) {
    snprintf(out->why, sizeof out->why, "the [pipeline] does not wire: %s",
             cfg->errors[errors]);
    out->temporal_compression = out->spatial_compression = 0;
    return;
  }
  out->valid = 1;
  out->max_tokens = ei.max_tokens;
  out->embed_dim = ei.embed_dim;
  out->latent_channels = vi.latent_channels;
  out->temporal_compression = vi.temporal_compression;
  out->spatial_compression = vi.spatial_compression;
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
    if (pl->height_line && check_side(f, "height", pl->height, &e))
      wh_config_error(cfg, pl->height_line, "[pipeline] %s", e.msg);
    if (pl->width_line && check_side(f, "width", pl->width, &e))
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

int wh_wiring_check_job(const wh_pipe_facts *f, const wh_cfg_pipeline *pl,
                        wh_job_params *p, warm_error *err) {
  if (!f->valid) return warm_error_set(err, WARM_EINVAL, "%s", f->why);
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
