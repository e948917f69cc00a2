/*
 * host/journal.c — job records on disk (see journal.h).
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsio.h"
#include "job_params.h"
#include "jobs.h"
#include "log.h"

int wh_journal_write(const char *dir, const char *id, const wh_job_params *p,
                     double created, warm_error *err) {
  int rc = wh_mkdir_p(dir, err);
  if (rc) return rc;
  json_t *o = json_pack("{s:s, s:f, s:o*}", "id", id, "created", created,
                        "params", wh_job_params_json(p));
  char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  if (!text) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  char path[4200];
  snprintf(path, sizeof path, "%s/job.json", dir);
  rc = wh_write_atomic(path, text, strlen(text), err);
  free(text);
  return rc;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (cap - len < 4096) {
      char *n = realloc(buf, cap = cap * 2 + 4096);
      if (!n) break;
      buf = n;
    }
    size_t r = fread(buf + len, 1, cap - len - 1, f);
    len += r;
    if (r == 0) break;
  }
  fclose(f);
  if (buf) buf[len] = '\0';
  return buf;
}

static double mtime_of(const char *path) {
  struct stat st;
  if (stat(path, &st)) return 0;
  return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
}

/* One job folder: its entry, or 0 when it holds no record. */
static int load_one(const char *base, const char *id,
                    void (*fn)(void *, const wh_journal_entry *), void *user) {
  char dir[4200], path[4300];
  snprintf(dir, sizeof dir, "%s/%s", base, id);
  snprintf(path, sizeof path, "%s/job.json", dir);
  json_t *job = json_load_file(path, 0, NULL);
  if (!job) return 0;
  json_t *pa = json_object_get(job, "params");
  wh_journal_entry e = {.id = id, .dir = dir};
  e.created = json_number_value(json_object_get(job, "created"));
  wh_job_params_from_json(pa, &e.p);
  char *result = NULL;
  json_t *status = NULL;
  snprintf(path, sizeof path, "%s/result.json", dir);
  if ((result = read_text(path))) {
    e.state = "done";
    e.result = result;
    e.finished = mtime_of(path);
  } else {
    snprintf(path, sizeof path, "%s/status.json", dir);
    status = json_load_file(path, 0, NULL);
    e.state = json_string_value(json_object_get(status, "state"));
    e.error = json_string_value(json_object_get(status, "error"));
    e.finished = mtime_of(path);
    if (!e.state) {
      /* Queued or running when warmd stopped. */
      e.state = "interrupted";
      e.error = "interrupted: warmd stopped before the job finished";
      wh_job_outputs_remove(dir);
      json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "state", e.state,
                            "error", e.error);
      char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
      warm_error err = {0};
      if (!text || wh_write_atomic(path, text, strlen(text), &err))
        wh_warn("job %s: cannot mark it interrupted: %s", id,
                text ? err.msg : "out of memory");
      free(text);
      json_decref(o);
      e.finished = mtime_of(path);
    }
  }
  fn(user, &e);
  free(result);
  json_decref(status);
  json_decref(job);
  return 1;
}

size_t wh_journal_load(const char *base,
                       void (*fn)(void *user, const wh_journal_entry *e),
                       void *user) {
  DIR *d = opendir(base);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (wh_job_id_valid(de->d_name)) n += (size_t)load_one(base, de->d_name, fn, user);
  closedir(d);
  return n;
}
