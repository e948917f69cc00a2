/*
 * host/jobs.h — the job table: ids, states, progress and results of
 * generation jobs, a bounded FIFO queue, and ONE job thread that runs the
 * jobs in order through the pipeline (wh_pipeline_run). The pipeline calls
 * each component on its device executor, so jobs interleave correctly with
 * control ops (placement changes, reload and swap commits).
 *
 * States: queued -> running -> done | failed | cancelled; a queued job can
 * go straight to cancelled. Finished jobs are remembered (up to
 * keep_finished, oldest dropped first) so clients can fetch results. Every
 * accepted job is recorded on disk (journal.h); at create the table is
 * filled from those records, so jobs survive a restart: finished ones as
 * they ended, the ones that never finished as interrupted.
 *
 * Threads: every function is thread-safe. The job thread never touches
 * the loop; it calls `notify` after each state change so the owner can
 * post to its loop (uv_async_send).
 */
#ifndef WH_JOBS_H
#define WH_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "embcache.h"
#include "pipeline.h"
#include "runtime.h"

struct json_t;
typedef struct wh_metrics wh_metrics;

/* Host-private codes beside the WARM_E* ones. */
#define WH_JOBS_EFULL (-100)     /* the queue holds max_queue jobs */
#define WH_JOBS_EDRAINING (-101) /* drain: not taking jobs */
#define WH_JOBS_ENOTFOUND (-102) /* no job with that id */
#define WH_JOBS_EFINISHED (-103) /* the job has already finished */
#define WH_JOBS_EACTIVE (-104)   /* the job is queued or running */

#define WH_JOB_ID_LEN 16 /* lowercase hex characters after the instance */
/* A job id is the 16 hex characters, or "INSTANCE.HEX" when [host]
 * instance_id is set, so a front can route by the id alone. Buffers for an
 * id hold WH_JOB_ID_MAX bytes (63 + 1 + 16 + NUL). */
#define WH_JOB_ID_MAX 81

typedef enum wh_job_state {
  WH_JOB_QUEUED = 0,
  WH_JOB_RUNNING,
  WH_JOB_DONE,
  WH_JOB_FAILED,
  WH_JOB_CANCELLED,
  WH_JOB_INTERRUPTED, /* queued or running when warmd stopped (journal.h) */
  WH_JOB_NSTATES
} wh_job_state;

/* How a job runs: wh_pipeline_run's signature plus a user pointer. */
typedef int (*wh_job_run_fn)(void *user, const char *id, const wh_job_params *p,
                             const char *out_dir, wh_job_ctl *ctl,
                             char **result_json, warm_error *err);

typedef struct wh_jobs_opts {
  wh_runtime *rt;
  wh_embcache *cache;     /* may be NULL */
  const char *output_dir; /* job folders go under it (copied) */
  const char *instance_id; /* ids start "INSTANCE." (copied); may be NULL */
  size_t max_queue;       /* queued jobs at most (default 64) */
  size_t keep_finished;   /* finished jobs remembered (default 1024) */
  int restore;            /* start from the job records on disk */
  wh_metrics *metrics;    /* may be NULL: stage timings of done jobs */
  /* NULL: the pipeline. Another runner is for embedding the table in
   * something other than warmd's pipeline (and for tests of ordering). */
  wh_job_run_fn run;
  void *run_user;
  void (*notify)(void *user); /* job thread, no lock held; may be NULL */
  void *notify_user;
} wh_jobs_opts;

typedef struct wh_jobs_stats {
  uint64_t by_state[WH_JOB_NSTATES]; /* jobs in the table now */
  uint64_t finished[WH_JOB_NSTATES]; /* ever, by final state */
  uint64_t submitted, rejected_full, rejected_draining;
  size_t queue_depth, max_queue;
  int draining;
} wh_jobs_stats;

typedef struct wh_jobs wh_jobs;

/* Starts the job thread. */
int wh_jobs_create(const wh_jobs_opts *o, wh_jobs **out, warm_error *err);
/* Cancels what is queued or running, joins the thread, frees the table.
 * Blocks until the running job has noticed its cancellation. */
void wh_jobs_destroy(wh_jobs *j);

/* Queues a job (p is copied; p should be resolved already). Returns 0 and
 * the new id (id must hold WH_JOB_ID_MAX), WH_JOBS_EFULL or
 * WH_JOBS_EDRAINING. */
int wh_jobs_submit(wh_jobs *j, const wh_job_params *p, char *id,
                   warm_error *err);
/* Cancels a queued job at once, or asks the running one to stop between
 * steps (and inside the component call when its plugin checks). Returns 0,
 * WH_JOBS_ENOTFOUND or WH_JOBS_EFINISHED. */
int wh_jobs_cancel(wh_jobs *j, const char *id, warm_error *err);
/* Cancels every queued and the running job, marking them with reason. */
void wh_jobs_cancel_all(wh_jobs *j, const char *reason);

/* A commit that must fall between jobs (a reload or swap that replaces a
 * component the running job holds): hold blocks until no job runs and
 * keeps the job thread from starting the next one until release. Never on
 * the loop thread (it waits for a whole job). Holds nest. */
void wh_jobs_hold(wh_jobs *j);
void wh_jobs_release(wh_jobs *j);

/* Counts a job refused because warmd drains, when the caller refused it
 * before wh_jobs_submit (warmd_jobs_rejected_total{reason="draining"}). */
void wh_jobs_note_draining(wh_jobs *j);
/* Stop / start taking new jobs; queued and running ones carry on. */
void wh_jobs_drain(wh_jobs *j);
void wh_jobs_resume(wh_jobs *j);
/* 1 when nothing is queued or running. */
int wh_jobs_idle(wh_jobs *j);

/* The job as the API shows it: {"id","state","progress","result","error",
 * "created","started","finished","params":{...}}; NULL for an unknown id.
 * The caller owns the reference. */
struct json_t *wh_jobs_get_json(wh_jobs *j, const char *id);
/* Every job in the table, oldest first, with compact fields (no result). */
struct json_t *wh_jobs_list_json(wh_jobs *j);
/* The job's folder when it is done; WH_JOBS_ENOTFOUND (unknown) or
 * WH_JOBS_EFINISHED (not done: state in *state). */
int wh_jobs_done_dir(wh_jobs *j, const char *id, char *dir, size_t n,
                     wh_job_state *state);
void wh_jobs_stats_get(wh_jobs *j, wh_jobs_stats *out);
/* Drops a finished job from the table (its files are the caller's).
 * Returns 0, WH_JOBS_ENOTFOUND, or WH_JOBS_EACTIVE for a job still queued
 * or running. */
int wh_jobs_forget(wh_jobs *j, const char *id);
/* 1 when the table holds id queued or running (not to be removed). */
int wh_jobs_active(wh_jobs *j, const char *id);

const char *wh_job_state_name(wh_job_state s);
/* 1 when s has the shape of a job id: WH_JOB_ID_LEN lowercase hex, with
 * or without an "INSTANCE." prefix. */
int wh_job_id_valid(const char *s);

#endif /* WH_JOBS_H */
