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

/* Checks the [pipeline] defaults (frames, height, width, steps) against
 * the decoder's compression (known even when the facts are not valid
 * because another role is missing); errors at the keys' lines. */
void wh_wiring_check_defaults(wh_config *cfg, const wh_pipe_facts *f);

/* Fills p's zero fields from pl and checks them against the rules; the
 * message names the parameter first ("frames = 10: ..."). */
int wh_wiring_check_job(const wh_pipe_facts *f, const wh_cfg_pipeline *pl,
                        wh_job_params *p, warm_error *err);

#endif /* WH_WIRING_H */
