/*
 * host/journal.h — the jobs' records on disk, so that jobs survive a
 * restart (kill -9, a crash, a reboot) as records. Each job has a folder
 * <output_dir>/<id>/; the journal is the set of files in those folders:
 *
 *   job.json     written (atomically, fsync'd) when the job is accepted:
 *                {"id", "created", "params": {...}} (the job's
 *                parameters as GET shows them: wh_job_params_json; an
 *                image is recorded by its length, image_bytes)
 *   result.json  the job finished: state done (the pipeline writes it last)
 *   status.json  the job ended otherwise: {"id", "state", "error"} with
 *                state failed, cancelled or interrupted
 *
 * At start warmd reads every folder with a job.json: result.json makes the
 * job done, status.json gives its state, and a folder with neither was
 * queued or running when warmd stopped: it is marked interrupted (its
 * status.json is written then). A folder without job.json is not a job.
 */
#ifndef WH_JOURNAL_H
#define WH_JOURNAL_H

#include "pipeline.h"

typedef struct wh_journal_entry {
  const char *id, *dir;
  const char *state; /* done, failed, cancelled or interrupted */
  const char *error; /* NULL for done */
  const char *result; /* result.json's text for done, else NULL */
  double created, finished;
  wh_job_params p;
} wh_journal_entry;

/* Writes dir/job.json (creating dir). */
int wh_journal_write(const char *dir, const char *id, const wh_job_params *p,
                     double created, warm_error *err);

/* Calls fn for every job record under base (unordered); marks the ones
 * that never finished interrupted on disk first. Returns how many. */
size_t wh_journal_load(const char *base,
                       void (*fn)(void *user, const wh_journal_entry *e),
                       void *user);

#endif /* WH_JOURNAL_H */
