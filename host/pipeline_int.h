/*
 * host/pipeline_int.h — what the pipelines share inside the host: the
 * ledger-driven component call, the encode step, the job's host-memory
 * book and result.json pieces. host/pipeline.c runs LTX-Video jobs with
 * them, host/ltx2_job.c LTX-2 jobs.
 */
#ifndef WH_PIPELINE_INT_H
#define WH_PIPELINE_INT_H

#include <jansson.h>

#include "pipeline.h"

double wh_pc_now(void);

/* The named component of the running runtime, or NULL. */
wh_component *wh_pc_find(wh_runtime *rt, const char *name);

/* The component's info(); an error names the component. */
int wh_pc_info(wh_component *c, warm_model_info *mi, warm_error *err);

/* One call of c's run() on its device executor (or here when the runtime
 * is not live): reserve the estimate for `shape`, place as the placement
 * rule says, run, release. *used receives the placement it ran with. */
int wh_pc_call(wh_runtime *rt, wh_component *c, const warm_job_shape *shape,
               warm_run_args *args, wh_job_ctl *ctl, warm_placement *used,
               warm_error *err);

void wh_pc_free_outputs(warm_run_args *a);
warm_tensor *wh_pc_output(warm_run_args *a, const char *name);

/* The encoder's outputs through the cache: 2 tensors (embeddings, mask) or
 * 3 (video_context, audio_context, mask); *n_out says which. */
int wh_pc_encode(wh_runtime *rt, wh_embcache *cache, const char *component,
                 const char *prompt, warm_tensor out[3], uint32_t *n_out,
                 const char **placement, char fingerprint[65], int *cache_hit,
                 wh_job_ctl *ctl, warm_error *err);

/* result.json pieces: per-device peak and budget; one component's entry. */
void wh_pc_ledger_json(wh_runtime *rt, json_t *peak, json_t *budget);
void wh_pc_component_json(json_t *obj, wh_component *c, const char *used,
                          uint64_t streamed);

/* Adds the fields every result.json ends with (timings, components, cache
 * hit, fingerprint, per-device peak and budget) to r, writes it to
 * out_dir/result.json atomically and hands its text to *result_json when
 * asked. Takes r's reference. */
int wh_pc_finish_result(wh_runtime *rt, json_t *r, json_t *timings,
                        json_t *used, int hit, const char *fp,
                        const char *out_dir, char **result_json,
                        warm_error *err);

int wh_pc_cancelled(wh_job_ctl *ctl);
void wh_pc_progress(wh_job_ctl *ctl, float f);

/* The job's host buffers on the host ledger, under "jobs": booked before
 * they exist, released when they are gone. */
typedef struct wh_hbook {
  warm_ledger *l;
  uint64_t n;
} wh_hbook;

int wh_hbook_add(wh_hbook *h, uint64_t bytes, warm_error *err);
void wh_hbook_sub(wh_hbook *h, uint64_t bytes);

/* The contact sheet's bound: at most 16 tiles of 192 px a side. */
#define WH_SHEET_BOUND (16u * 196u * 196u * 3u + 4096u)

/* An LTX-2 job (ltx2, ltx2_distilled, ltx2_one_stage); wh_pipeline_run
 * calls it for those pipeline types. */
int wh_ltx2_run(wh_runtime *rt, wh_embcache *cache, const char *job_id,
                const wh_job_params *p, const char *out_dir, wh_job_ctl *ctl,
                char **result_json, warm_error *err);

/* Host bytes an LTX-2 job of p (resolved) books at most, for admission. */
uint64_t wh_ltx2_host_bytes(const wh_pipe_facts *f, wh_pipe_type type,
                            const wh_job_params *p);

/* The job shapes an LTX-2 job's calls are estimated with: stage 1 (half
 * size for the two-stage types, up to 4 guidance passes) and the full-size
 * calls (stage 2, upsampler, decoders). Returns whether there is a stage
 * 2. */
int wh_ltx2_call_shapes(wh_pipe_type type, const wh_job_params *p, uint32_t T,
                        warm_job_shape *stage1, warm_job_shape *full);

#endif /* WH_PIPELINE_INT_H */
