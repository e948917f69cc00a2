/*
 * host/retention.h — what happens to finished jobs' files in output_dir:
 * retention by age ([host] job_retention) and count (jobs_kept), and the
 * removal `DELETE /v1/generations/{id}` does for a finished job.
 *
 * A job's files are the folder output_dir/ID (video.y4m, preview.png,
 * memory.png, result.json, or status.json for a job that did not finish).
 * Only folders whose name is a job id are ever touched, never through a
 * symbolic link, and never one whose job is queued or running. A job's age
 * counts from its result.json or status.json (from the folder itself when
 * neither exists: what a crash left).
 */
#ifndef WH_RETENTION_H
#define WH_RETENTION_H

#include <stddef.h>
#include <uv.h>

#include "jobs.h"
#include "runtime.h"

typedef struct wh_sweep_opts {
  const char *dir;  /* output_dir */
  double max_age_s; /* older finished jobs go; 0: no age limit */
  size_t keep;      /* at most this many finished jobs stay; 0: no cap */
  double now;       /* wall clock seconds (time(NULL) in production) */
  /* 1 when the job is queued or running; NULL: none is. */
  int (*active)(void *user, const char *id);
  /* Called after a job's folder is gone; may be NULL. */
  void (*removed)(void *user, const char *id);
  void *user;
} wh_sweep_opts;

/* One pass over o->dir. Blocking (file system): a worker thread's job.
 * Returns 0 (with *removed counted) or a negative code when the folder
 * cannot be read; a folder that cannot be removed is logged and skipped. */
int wh_retention_sweep(const wh_sweep_opts *o, size_t *removed);

/* Removes output_dir/id (id must be a job id). Returns 0, WH_JOBS_ENOTFOUND
 * when there is no such folder, or a negative code with err filled. */
int wh_retention_remove_job(const char *output_dir, const char *id,
                            warm_error *err);
/* 1 when output_dir/id is a finished job's folder (result.json or
 * status.json in it). */
int wh_retention_has_job(const char *output_dir, const char *id);

/* The output folder jobs use: override, else [host] output_dir, else
 * "out" (as jobs.c). */
void wh_retention_base(wh_runtime *rt, const char *override, char *out,
                       size_t n);

/* The sweeper of a running warmd: a timer on loop (interval from the
 * config, re-read at every pass so a reload applies) and a pass after
 * jobs finish (wh_retention_kick), each run on libuv's thread pool. */
typedef struct wh_retention wh_retention;
int wh_retention_start(uv_loop_t *loop, wh_runtime *rt, wh_jobs *jobs,
                       const char *output_dir, wh_retention **out);
/* Loop thread: asks for a pass soon (coalesced with one running). */
void wh_retention_kick(wh_retention *r);
/* Loop thread: stops the timer; once no pass is in flight, frees r and
 * calls done(arg) on the loop thread. jobs must outlive that. */
void wh_retention_stop(wh_retention *r, void (*done)(void *), void *arg);

#endif /* WH_RETENTION_H */
