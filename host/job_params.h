/*
 * host/job_params.h — what a job's parameters are outside the pipeline:
 * the rules every front end checks them by (HTTP, `warmd --once`), the
 * owned copy a queued job keeps, and the JSON view that GET shows and the
 * job record (job.json) stores.
 *
 * Ownership: wh_job_params itself points at memory it does not own. A
 * copy made by wh_job_params_copy owns its strings and image bytes, and
 * wh_job_params_free releases exactly those.
 */
#ifndef WH_JOB_PARAMS_H
#define WH_JOB_PARAMS_H

#include <stddef.h>

#include "pipeline.h"

struct json_t;

/* Longest prompt or negative prompt, bytes. */
#define WH_JOB_MAX_PROMPT 16384

/* The guidance sub-fields, in the order the rules and the JSON list them. */
typedef enum wh_guide_key {
  WH_GK_CFG = 0,
  WH_GK_STG,
  WH_GK_RESCALE,
  WH_GK_MODALITY,
  WH_GK_SKIP_STEP,
  WH_GK_STG_BLOCKS,
  WH_GK_N
} wh_guide_key;

/* The sub-field's name ("cfg", ...); -1 from wh_guide_key_find for an
 * unknown one. */
const char *wh_guide_key_name(wh_guide_key k);
int wh_guide_key_find(const char *name);

/* Checks and stores one numeric guidance field (not stg_blocks) into g
 * and sets its bit. `what` names the field in the message ("video_guidance
 * .cfg", "--video-cfg"). Returns 0 or WARM_EINVAL with "WHAT = V: must be
 * LO..HI" (or "must be a whole number" for skip_step). */
int wh_guide_set_number(wh_job_guide *g, wh_guide_key k, double v,
                        const char *what, warm_error *err);
/* Checks and stores the STG block list (n <= WH_LTX2_MAX_STG_BLOCKS, each
 * 0..WH_GUIDE_MAX_BLOCK) and sets its bit. */
#define WH_GUIDE_MAX_BLOCK 1023
int wh_guide_set_blocks(wh_job_guide *g, const long long *blocks, size_t n,
                        const char *what, warm_error *err);

/* image_strength: (0, 1]. */
int wh_job_check_strength(double s, const char *what, warm_error *err);

/* Deep copy of src into dst: prompt, negative_prompt, noise_file and the
 * image bytes become dst's own (an image_len without bytes, as a restored
 * record has, is kept as a length). On failure dst holds nothing to free. */
int wh_job_params_copy(wh_job_params *dst, const wh_job_params *src,
                       warm_error *err);
/* Frees what wh_job_params_copy allocated and clears those fields. */
void wh_job_params_free(wh_job_params *p);
/* Frees only the image bytes of an owned copy (image_len stays, so the
 * view still says how large the image was). */
void wh_job_params_drop_image(wh_job_params *p);

/* The parameters as GET shows them and job.json stores them: today's
 * fields, plus the LTX-2 ones a job was given (negative_prompt,
 * image_bytes — the length, never the bytes —, image_strength,
 * video_guidance / audio_guidance with the sub-fields that were set,
 * noise_file). New reference, NULL when out of memory. */
struct json_t *wh_job_params_json(const wh_job_params *p);
/* The inverse, for a record read back: fills p with pointers into o (valid
 * while o lives); fields o lacks stay zero, and an image comes back as its
 * length only. */
void wh_job_params_from_json(const struct json_t *o, wh_job_params *p);

#endif /* WH_JOB_PARAMS_H */
