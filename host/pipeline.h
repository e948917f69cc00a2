/*
 * host/pipeline.h — one generation job: encode (through the embedding
 * cache) -> denoise (flow-matching Euler, one transformer call per step) ->
 * decode, with ledger-driven placement before every component call, then
 * the job's files: video.y4m, preview.png, memory.png, result.json.
 *
 * Placement per call: the component's estimate for the placement it will
 * run in is reserved in its device's ledger first. A component configured
 * `auto` runs resident when that reservation fits now, else it is moved to
 * stream (its device weights are freed first) and the stream estimate is
 * reserved; an `auto` component found streamed is promoted back when the
 * resident reservation fits again. A call whose reservation cannot fit
 * fails with a message naming the device budget, what is in use and what
 * the call needs.
 *
 * Threads: blocking. Every plugin call runs on the component's device
 * executor when the runtime is live (so it is ordered with control ops), or
 * on the calling thread otherwise (warmd --once, --encode). Never call it
 * on an executor thread.
 */
#ifndef WH_PIPELINE_H
#define WH_PIPELINE_H

#include <stdint.h>

#include "embcache.h"
#include "runtime.h"

#include "ltx2_sched.h"

/* One modality's guidance as a job gives it: a field left unset keeps the
 * pipeline's default (the checkpoint version's, or [pipeline]'s). */
typedef struct wh_job_guide {
  unsigned set; /* WH_GUIDE_* bits of the fields given */
  wh_ltx2_guide g;
} wh_job_guide;

enum {
  WH_GUIDE_CFG = 1,
  WH_GUIDE_STG = 2,
  WH_GUIDE_RESCALE = 4,
  WH_GUIDE_MODALITY = 8,
  WH_GUIDE_SKIP_STEP = 16,
  WH_GUIDE_STG_BLOCKS = 32,
};

typedef struct wh_job_params {
  const char *prompt;
  uint32_t frames, height, width, steps, fps; /* 0 = [pipeline] default */
  uint64_t seed;
  double guidance; /* <= 0: [pipeline] default; 1 = no guidance. LTX-2:
                      the video cfg scale (video_guidance.cfg wins) */
  /* ---- LTX-2 pipelines (ignored by ltxv) ---- */
  const char *negative_prompt; /* NULL: the checkpoint version's default */
  const uint8_t *image;        /* PNG or JPEG bytes for the first frame */
  size_t image_len;            /* 0: no image conditioning */
  double image_strength;       /* <= 0: 1.0 */
  wh_job_guide video_guidance, audio_guidance;
  /* Test-only: a safetensors file of the noise to start from instead of
   * the seeded generator (see docs/ltx2.md, "Injected noise"). */
  const char *noise_file;
} wh_job_params;

/* Shared between the job and whoever watches it. */
typedef struct wh_job_ctl {
  int cancel;     /* set (atomically) to 1 to cancel between steps */
  float progress; /* 0..1, written by the job */
  wh_component *current; /* the component being called, for cancellation */
  uint64_t streamed_bytes; /* bytes the job's calls moved through windows */
} wh_job_ctl;

/* Fills zero fields of p from the running config's [pipeline] defaults and
 * checks them against the decoder's compression (frames = k*tc + 1, sizes
 * multiples of the spatial compression, sane bounds). On error the message
 * names the parameter and the rule. */
int wh_pipeline_resolve(wh_runtime *rt, wh_job_params *p, warm_error *err);

/* Host bytes a job of p needs at most (its buffers, the plugins' outputs,
 * the frames and the files' buffers), as the job books them on the host
 * ledger; 0 when f does not know the decoder. */
uint64_t wh_pipeline_host_bytes(const wh_pipe_facts *f, const wh_job_params *p);

/* Runs one job and writes its files into out_dir (created if missing).
 * On success *result_json (malloc'd, caller frees) holds result.json's
 * text. */
int wh_pipeline_run(wh_runtime *rt, wh_embcache *cache, const char *job_id,
                    const wh_job_params *p, const char *out_dir,
                    wh_job_ctl *ctl, char **result_json, warm_error *err);

/* The encode step alone, as --encode and jobs use it: the prompt's
 * embeddings [T, C] (last hidden state) and mask [T] from the named
 * component, through the cache when one is given. `placement` receives the
 * placement the run used ("cache" on a hit); fingerprint (65 bytes) the
 * encoder's fingerprint. out[0..1] are the caller's to free. */
int wh_pipeline_encode(wh_runtime *rt, wh_embcache *cache,
                       const char *component, const char *prompt,
                       warm_tensor out[2], const char **placement,
                       char fingerprint[65], int *cache_hit, wh_job_ctl *ctl,
                       warm_error *err);

/* warmd --encode: encodes one prompt and writes the embeddings and mask to a
 * safetensors file whose __metadata__ records prompt, token count,
 * fingerprint and the placement used. */
int wh_pipeline_encode_to_file(wh_runtime *rt, const char *component,
                               const char *prompt, const char *path,
                               warm_error *err);

#endif /* WH_PIPELINE_H */
