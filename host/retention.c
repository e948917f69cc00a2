/*
 * host/retention.c — removing finished jobs' folders from output_dir (see
 * retention.h).
 */
#include "retention.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* ---- removing one folder ------------------------------------------------ */

/* Removes everything inside the folder open as dfd, then nothing else:
 * entries are unlinked relative to dfd and sub-folders opened with
 * O_NOFOLLOW, so a link inside never leads out. depth bounds recursion. */
static int clear_dir(int dfd, int depth) {
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return -errno;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
      rc = -errno;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = depth > 0
                    ? openat(dirfd(d), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
      int r = sub < 0 ? -ELOOP : clear_dir(sub, depth - 1);
      if (r == 0 && unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR)) r = -errno;
      if (r) rc = r;
    } else if (unlinkat(dirfd(d), e->d_name, 0)) {
      rc = -errno;
    }
  }
  closedir(d);
  return rc;
}

int wh_retention_remove_job(const char *output_dir, const char *id,
                            warm_error *err) {
  if (!wh_job_id_valid(id))
    return warm_error_set(err, WARM_EINVAL, "'%s' is not a job id", id);
  int base = open(output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) {
    if (errno == ENOENT) return WH_JOBS_ENOTFOUND;
    return warm_error_set(err, WARM_EIO, "%s: %s", output_dir, strerror(errno));
  }
  int dfd = openat(base, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    close(base);
    if (e == ENOENT) return WH_JOBS_ENOTFOUND;
    return warm_error_set(err, WARM_EIO, "%s/%s: %s", output_dir, id,
                          strerror(e));
  }
  int rc = clear_dir(dfd, 2);
  if (rc == 0 && unlinkat(base, id, AT_REMOVEDIR)) rc = -errno;
  close(base);
  if (rc)
    return warm_error_set(err, WARM_EIO, "cannot remove %s/%s: %s", output_dir,
                          id, strerror(-rc));
  return 0;
}

/* The time a job finished: its result.json or status.json, else the
 * folder's own mtime. *marked is 1 when one of the two files exists. */
static double finished_at(int base, const char *id, int *marked) {
  static const char *const files[] = {"result.json", "status.json"};
  char p[WH_JOB_ID_MAX + 16];
  struct stat st;
  *marked = 0;
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", id, files[i]);
    if (fstatat(base, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      *marked = 1;
      return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
    }
  }
  if (fstatat(base, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
  return 0;
}

int wh_retention_has_job(const char *output_dir, const char *id) {
  if (!wh_job_id_valid(id)) return 0;
  int base = open(output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) return 0;
  int marked = 0;
  finished_at(base, id, &marked);
  close(base);
  return marked;
}

/* ---- one pass ----------------------------------------------------------- */

typedef struct entry {
  char id[WH_JOB_ID_MAX];
  double t;
} entry;

static int newest_first(const void *a, const void *b) {
  double x = ((const entry *)a)->t, y = ((const entry *)b)->t;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void remove_one(const wh_sweep_opts *o, const char *id, size_t *n) {
  warm_error err = {0};
  int rc = wh_retention_remove_job(o->dir, id, &err);
  if (rc && rc != WH_JOBS_ENOTFOUND) {
    wh_log_job(1, "retention", id, "%s", err.msg);
    return;
  }
  (*n)++;
  if (o->removed) o->removed(o->user, id);
}

int wh_retention_sweep(const wh_sweep_opts *o, size_t *removed) {
  *removed = 0;
  if (o->max_age_s <= 0 && o->keep == 0) return 0;
  int base = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base < 0) return errno == ENOENT ? 0 : WARM_EIO;
  DIR *d = fdopendir(dup(base));
  if (!d) {
    close(base);
    return WARM_EIO;
  }
  entry *list = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!wh_job_id_valid(e->d_name)) continue;
    struct stat st;
    if (fstatat(base, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
        !S_ISDIR(st.st_mode))
      continue;
    if (o->active && o->active(o->user, e->d_name)) continue;
    if (n == cap) {
      entry *a = realloc(list, (cap = cap ? cap * 2 : 64) * sizeof *a);
      if (!a) {
        rc = WARM_ENOMEM;
        break;
      }
      list = a;
    }
    int marked;
    snprintf(list[n].id, sizeof list[n].id, "%.80s", e->d_name);
    list[n].t = finished_at(base, e->d_name, &marked);
    n++;
  }
  closedir(d);
  close(base);
  if (!rc && n) {
    qsort(list, n, sizeof *list, newest_first);
    for (size_t i = 0; i < n; i++) {
      int too_old = o->max_age_s > 0 && o->now - list[i].t > o->max_age_s;
      int too_many = o->keep > 0 && i >= o->keep;
      if (too_old || too_many) remove_one(o, list[i].id, removed);
    }
  }
  free(list);
  return rc;
}

void wh_retention_base(wh_runtime *rt, const char *override, char *out,
                       size_t n) {
  if (override) {
    snprintf(out, n, "%s", override);
    return;
  }
  pthread_mutex_lock(&rt->lock);
  const char *d =
      rt->config && rt->config->output_dir ? rt->config->output_dir : "out";
  snprintf(out, n, "%s", d);
  pthread_mutex_unlock(&rt->lock);
}

/* ---- the sweeper of a running warmd ------------------------------------- */

struct wh_retention {
  uv_loop_t *loop;
  uv_timer_t timer;
  uv_work_t work;
  wh_runtime *rt;
  wh_jobs *jobs;
  char *override;
  int busy, again, stopping;
  size_t removed;
  wh_sweep_opts o; /* the pass in flight */
  char dir[4096];
  void (*done)(void *);
  void *done_arg;
};

static int is_active(void *user, const char *id) {
  return wh_jobs_active(((wh_retention *)user)->jobs, id);
}

static void forget(void *user, const char *id) {
  wh_retention *r = user;
  wh_jobs_forget(r->jobs, id);
  wh_log_job(2, "retention", id,
             "removed its files (job_retention %g s, "
             "jobs_kept %zu)",
             r->o.max_age_s, r->o.keep);
}

static void work_cb(uv_work_t *w) {
  wh_retention *r = w->data;
  if (wh_retention_sweep(&r->o, &r->removed))
    wh_log(1, "retention", "cannot read %s", r->o.dir);
}

static void timer_closed(uv_handle_t *h) {
  wh_retention *r = h->data;
  void (*done)(void *) = r->done;
  void *arg = r->done_arg;
  free(r->override);
  free(r);
  if (done) done(arg);
}

static void schedule(wh_retention *r);
static void after_cb(uv_work_t *w, int status);

static void start_pass(wh_retention *r) {
  if (r->busy || r->stopping) {
    r->again = !r->stopping;
    return;
  }
  wh_retention_base(r->rt, r->override, r->dir, sizeof r->dir);
  pthread_mutex_lock(&r->rt->lock);
  double age = r->rt->config ? r->rt->config->job_retention : 0;
  size_t keep = r->rt->config ? r->rt->config->jobs_kept : 0;
  pthread_mutex_unlock(&r->rt->lock);
  if (age <= 0 && keep == 0) {
    schedule(r);
    return;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r->o = (wh_sweep_opts){.dir = r->dir,
                         .max_age_s = age,
                         .keep = keep,
                         .now = (double)ts.tv_sec + ts.tv_nsec * 1e-9,
                         .active = is_active,
                         .removed = forget,
                         .user = r};
  r->busy = 1;
  r->work.data = r;
  if (uv_queue_work(r->loop, &r->work, work_cb, after_cb) != 0) {
    r->busy = 0;
    schedule(r);
  }
}

static void after_cb(uv_work_t *w, int status) {
  wh_retention *r = w->data;
  (void)status;
  r->busy = 0;
  if (r->stopping) {
    uv_close((uv_handle_t *)&r->timer, timer_closed);
    return;
  }
  if (r->again) {
    r->again = 0;
    start_pass(r);
    return;
  }
  schedule(r);
}

static void on_timer(uv_timer_t *t) {
  start_pass(t->data);
}

/* The next timed pass: a quarter of job_retention (0.2 s .. 60 s), or a
 * minute when only jobs_kept is set (job ends kick a pass too). */
static void schedule(wh_retention *r) {
  pthread_mutex_lock(&r->rt->lock);
  double age = r->rt->config ? r->rt->config->job_retention : 0;
  pthread_mutex_unlock(&r->rt->lock);
  double every = age > 0 ? age / 4 : 60;
  if (every < 0.2) every = 0.2;
  if (every > 60) every = 60;
  uv_timer_start(&r->timer, on_timer, (uint64_t)(every * 1000), 0);
}

int wh_retention_start(uv_loop_t *loop, wh_runtime *rt, wh_jobs *jobs,
                       const char *output_dir, wh_retention **out) {
  wh_retention *r = calloc(1, sizeof *r);
  if (!r || (output_dir && !(r->override = strdup(output_dir)))) {
    free(r);
    return WARM_ENOMEM;
  }
  r->loop = loop;
  r->rt = rt;
  r->jobs = jobs;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  start_pass(r); /* what a previous run left past the limits goes now */
  *out = r;
  return 0;
}

void wh_retention_kick(wh_retention *r) {
  if (r && !r->stopping) start_pass(r);
}

void wh_retention_stop(wh_retention *r, void (*done)(void *), void *arg) {
  r->stopping = 1;
  r->done = done;
  r->done_arg = arg;
  uv_timer_stop(&r->timer);
  if (!r->busy) uv_close((uv_handle_t *)&r->timer, timer_closed);
}
