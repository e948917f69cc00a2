/*
 * host/wiring.h — how the [pipeline]'s components fit together: the facts
 * a job is checked against (latent channels, the decoder's compression),
 * found once when a configuration is prepared (reload, swap, warmd -t) and
 * kept in the runtime, and the rules a job's parameters must follow.
 */
#ifndef WH_WIRING_H
#define WH_WIRING_H

#include "config.h"
#include "pipeline.h"
#include "runtime.h"

/* Reads the model facts of the pipeline's components (info(), on the
 * calling thread) and checks that they agree: the encoder's output width is
 * every stage's caption width, every stage works on the decoder's latent
 * channels. Mismatches are appended to cfg's errors at the role's line. A
 * pipeline without encoder, stages or decoder is not an error: out->valid
 * is 0 and out->why says what is missing. */
void wh_wiring_facts(wh_config *cfg, wh_component *enc,
                     wh_component *const *stages, size_t n_stages,
                     wh_component *dec, wh_pipe_facts *out);

/* The instances of a [pipeline]'s roles (NULL where absent). */
typedef struct wh_wiring_roles {
  wh_component *encoder, *decoder, *upsampler, *audio_decoder;
  wh_component *stages[WH_PIPELINE_MAX_STAGES];
  size_t n_stages;
} wh_wiring_roles;

/* The same for the LTX-2 types: every stage is a
 * two-modality transformer (run_inputs WARM_RUN_AV_TOKENS); the encoder's
 * video and audio context widths are each stage's; the stages, the decoder
 * and the upsampler work on the same latent channels; the audio decoder's
 * latent_channels x audio_latent_bins is the stages' audio token width.
 * Each message names both components and both numbers, at the line of the
 * role found wrong. The roles' kinds are checked by the caller. */
void wh_wiring_facts_ltx2(wh_config *cfg, const wh_wiring_roles *r,
                          wh_pipe_facts *out);

/* Checks the [pipeline] defaults (frames, height, width, steps) against
 * the decoder's compression (known even when the facts are not valid
 * because another role is missing); errors at the keys' lines. */
void wh_wiring_check_defaults(wh_config *cfg, const wh_pipe_facts *f);

/* Fills p's zero fields from pl and checks them against the rules; the
 * message names the parameter first ("frames = 10: ..."). LTX-2 types:
 * frames 8k + 1, height and width multiples of twice the decoder's spatial
 * compression for the two-stage types (stage 1 runs at half size), of the
 * compression for ltx2_one_stage; a field neither the job nor [pipeline]
 * gives stays 0 for the runner to take from the checkpoint's version. */
int wh_wiring_check_job(const wh_pipe_facts *f, const wh_cfg_pipeline *pl,
                        wh_job_params *p, warm_error *err);

#endif /* WH_WIRING_H */
