/*
 * host/jobs.c — the job table, its queue and the job thread (see jobs.h).
 * One mutex guards the table; the job runs outside it. Lookups scan the
 * table in order: it holds at most max_queue + keep_finished + 1 jobs.
 */
#include "jobs.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "crash.h"
#include "fsio.h"
#include "job_params.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"

typedef struct job {
  char id[WH_JOB_ID_MAX];
  wh_job_params p; /* an owned copy (job_params.h) */
  uint64_t booked; /* image bytes booked on the host ledger */
  char *dir;
  wh_job_state state;
  wh_job_ctl ctl;
  char *result; /* result.json text when done */
  char error[WARM_ERROR_MAX];
  double created, started, finished;
  struct job *qnext;       /* queue order */
  struct job *mnext;       /* cancelled while queued: status.json to write */
  int marked;              /* on the marks list: not to be forgotten yet */
  struct job *prev, *next; /* table order */
} job;

struct wh_jobs {
  wh_jobs_opts o;
  char *output_dir;
  char *instance_id;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th;
  job *head, *tail;   /* every job, oldest first */
  job *qhead, *qtail; /* queued jobs */
  job *marks;         /* see write_status; the job thread writes them */
  size_t qlen, n_finished;
  job *running;
  int stop, draining;
  int holds; /* wh_jobs_hold without its release yet */
  uint64_t finished_by[WH_JOB_NSTATES];
  uint64_t submitted, rejected_full, rejected_draining;
};

static const char *state_names[WH_JOB_NSTATES] = {
    "queued", "running", "done", "failed", "cancelled", "interrupted"};

const char *wh_job_state_name(wh_job_state s) {
  return (unsigned)s < WH_JOB_NSTATES ? state_names[s] : "unknown";
}

int wh_job_id_valid(const char *s) {
  if (!s) return 0;
  const char *dot = strchr(s, '.');
  if (dot) {
    char inst[64];
    size_t k = (size_t)(dot - s);
    if (k >= sizeof inst) return 0;
    memcpy(inst, s, k);
    inst[k] = '\0';
    if (!wh_instance_id_valid(inst)) return 0;
    s = dot + 1;
  }
  size_t i = 0;
  for (; s[i]; i++)
    if (i >= WH_JOB_ID_LEN ||
        !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return i == WH_JOB_ID_LEN;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A queued job's image waits in host memory until the job has run: it is
 * booked on the host ledger (under WH_JOBS_LEDGER_NAME, class workspace)
 * from the submit to the job's end, so the admission check of later jobs
 * and `show memory` see it. */
#define WH_JOBS_LEDGER_NAME "job_inputs"

static warm_ledger *host_ledger(wh_jobs *j) {
  return j->o.rt && j->o.rt->host ? j->o.rt->host->ledger : NULL;
}

/* The image is needed no more once the job has ended: its bytes and their
 * booking go, its length stays for the job's view. */
static void drop_image(wh_jobs *j, job *jb) {
  if (jb->booked && host_ledger(j))
    warm_ledger_release(host_ledger(j), WH_JOBS_LEDGER_NAME,
                        WARM_MEM_WORKSPACE, jb->booked);
  jb->booked = 0;
  wh_job_params_drop_image(&jb->p);
}

static void job_free(job *jb) {
  wh_job_params_free(&jb->p);
  free(jb->dir);
  free(jb->result);
  free(jb);
}

/* Under j->mu. */
static job *find(wh_jobs *j, const char *id) {
  if (!wh_job_id_valid(id)) return NULL;
  for (job *jb = j->head; jb; jb = jb->next)
    if (!strcmp(jb->id, id)) return jb;
  return NULL;
}

/* Under j->mu: marks a job finished and forgets the oldest finished ones
 * past keep_finished. */
static void finish(wh_jobs *j, job *jb, wh_job_state st) {
  drop_image(j, jb);
  jb->state = st;
  jb->finished = wall_now();
  j->finished_by[st]++;
  j->n_finished++;
  while (j->n_finished > j->o.keep_finished) {
    job *old = j->head;
    while (old && (old->state <= WH_JOB_RUNNING || old->marked))
      old = old->next;
    if (!old) break;
    if (old->prev)
      old->prev->next = old->next;
    else
      j->head = old->next;
    if (old->next)
      old->next->prev = old->prev;
    else
      j->tail = old->prev;
    j->n_finished--;
    job_free(old);
  }
}

static int pipeline_runner(void *user, const char *id, const wh_job_params *p,
                           const char *out_dir, wh_job_ctl *ctl,
                           char **result_json, warm_error *err) {
  wh_jobs *j = user;
  return wh_pipeline_run(j->o.rt, j->o.cache, id, p, out_dir, ctl, result_json,
                         err);
}

/* Job thread, no lock held: leaves <dir>/status.json with the final state
 * and the reason, so a job that did not finish is marked so on disk even
 * after warmd has exited (a done job has result.json). Best effort: a job
 * folder that cannot be written is logged, not fatal. */
static void write_status(const char *id, const char *dir, wh_job_state st,
                         const char *error) {
  char path[4200];
  mkdir(dir, 0755); /* absent for a job cancelled while queued */
  /* A job that did not finish leaves no video beside its status. */
  wh_job_outputs_remove(dir);
  snprintf(path, sizeof path, "%s/status.json", dir);
  json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "state",
                        wh_job_state_name(st), "error", error);
  char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
  warm_error e = {0};
  if (!text)
    wh_log_job(1, "jobs", id, "cannot write %s: out of memory", path);
  else if (wh_write_atomic(path, text, strlen(text), &e))
    wh_log_job(1, "jobs", id, "%s", e.msg);
  free(text);
  json_decref(o);
}

/* Under j->mu on entry and exit: writes the pending marks unlocked. */
static void flush_marks(wh_jobs *j) {
  while (j->marks) {
    job *jb = j->marks;
    j->marks = jb->mnext;
    jb->mnext = NULL;
    jb->marked = 0;
    char id[WH_JOB_ID_MAX], *dir = strdup(jb->dir), err[WARM_ERROR_MAX];
    memcpy(id, jb->id, sizeof id);
    memcpy(err, jb->error, sizeof err);
    wh_job_state st = jb->state;
    pthread_mutex_unlock(&j->mu);
    if (dir) write_status(id, dir, st, err);
    free(dir);
    pthread_mutex_lock(&j->mu);
  }
}

static void *job_thread(void *arg) {
  wh_jobs *j = arg;
  pthread_setname_np(pthread_self(), "jobs");
  pthread_mutex_lock(&j->mu);
  for (;;) {
    while ((!j->qhead || j->holds) && !j->stop && !j->marks)
      pthread_cond_wait(&j->cv, &j->mu);
    flush_marks(j);
    if (j->stop) break; /* destroy cancelled what was queued */
    if (!j->qhead || j->holds) continue;
    job *jb = j->qhead;
    j->qhead = jb->qnext;
    if (!j->qhead) j->qtail = NULL;
    j->qlen--;
    jb->state = WH_JOB_RUNNING;
    jb->started = wall_now();
    j->running = jb;
    pthread_mutex_unlock(&j->mu);

    warm_error err = {0};
    char *result = NULL;
    wh_log_job(2, "jobs", jb->id, "running");
    wh_crash_set_job(jb->id, jb->dir);
    int rc = j->o.run(j->o.run_user, jb->id, &jb->p, jb->dir, &jb->ctl, &result,
                      &err);
    wh_crash_set_job(NULL, NULL);
    int cancelled = __atomic_load_n(&jb->ctl.cancel, __ATOMIC_ACQUIRE);
    wh_job_state st = rc == 0                               ? WH_JOB_DONE
                      : (rc == WARM_ECANCELED || cancelled) ? WH_JOB_CANCELLED
                                                            : WH_JOB_FAILED;
    if (st == WH_JOB_DONE && j->o.metrics && result)
      wh_metrics_job_result(j->o.metrics, result);
    if (st == WH_JOB_DONE)
      wh_log_job(2, "jobs", jb->id, "done");
    else
      wh_log_job(2, "jobs", jb->id, "%s: %s", wh_job_state_name(st), err.msg);

    pthread_mutex_lock(&j->mu);
    /* One terminal state: a cancel that arrived after the last step found
     * the job finished; it is done and carries no error. */
    if (st == WH_JOB_DONE) jb->error[0] = '\0';
    if (st != WH_JOB_DONE && !jb->error[0])
      snprintf(jb->error, sizeof jb->error, "%s",
               err.msg[0] ? err.msg : "the job failed");
    char reason[WARM_ERROR_MAX];
    memcpy(reason, jb->error, sizeof reason);
    pthread_mutex_unlock(&j->mu);
    if (st != WH_JOB_DONE) write_status(jb->id, jb->dir, st, reason);
    pthread_mutex_lock(&j->mu);
    j->running = NULL;
    jb->result = result;
    finish(j, jb, st);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->o.notify) j->o.notify(j->o.notify_user);
    pthread_mutex_lock(&j->mu);
  }
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

/* The folder jobs go under: the table's, else the running config's, else
 * "out". Malloc'd. */
static char *base_dir(wh_jobs *j) {
  if (j->output_dir) return strdup(j->output_dir);
  pthread_mutex_lock(&j->o.rt->lock);
  const char *d = j->o.rt->config ? j->o.rt->config->output_dir : NULL;
  char *r = strdup(d ? d : "out");
  pthread_mutex_unlock(&j->o.rt->lock);
  return r;
}

typedef struct loaded {
  job **v;
  size_t n, cap;
} loaded;

static void on_record(void *user, const wh_journal_entry *e) {
  loaded *l = user;
  wh_job_state st = WH_JOB_INTERRUPTED;
  for (int s = WH_JOB_DONE; s < WH_JOB_NSTATES; s++)
    if (!strcmp(e->state, state_names[s])) st = (wh_job_state)s;
  job *jb = calloc(1, sizeof *jb);
  if (!jb || (l->n == l->cap &&
              !(l->v = realloc(l->v, (l->cap = l->cap * 2 + 64) * sizeof *l->v)))) {
    free(jb);
    return;
  }
  snprintf(jb->id, sizeof jb->id, "%s", e->id);
  if (wh_job_params_copy(&jb->p, &e->p, NULL)) {
    free(jb);
    return;
  }
  jb->dir = strdup(e->dir);
  jb->result = e->result ? strdup(e->result) : NULL;
  if (e->error) snprintf(jb->error, sizeof jb->error, "%s", e->error);
  jb->state = st;
  jb->created = e->created;
  jb->finished = e->finished;
  jb->started = 0;
  if (!jb->dir) {
    job_free(jb);
    return;
  }
  l->v[l->n++] = jb;
}

static int by_created(const void *a, const void *b) {
  double x = (*(job *const *)a)->created, y = (*(job *const *)b)->created;
  return (x > y) - (x < y);
}

/* Before the job thread starts: the records of an earlier run, oldest
 * first, the newest keep_finished of them. */
static void load_records(wh_jobs *j) {
  char *base = base_dir(j);
  loaded l = {0};
  if (base) wh_journal_load(base, on_record, &l);
  if (l.n) qsort(l.v, l.n, sizeof *l.v, by_created);
  size_t skip = l.n > j->o.keep_finished ? l.n - j->o.keep_finished : 0;
  for (size_t i = 0; i < l.n; i++) {
    job *jb = l.v[i];
    if (i < skip) {
      job_free(jb);
      continue;
    }
    jb->prev = j->tail;
    if (j->tail)
      j->tail->next = jb;
    else
      j->head = jb;
    j->tail = jb;
    j->n_finished++;
  }
  if (l.n)
    wh_info("%zu job records from %s (%zu kept)", l.n, base, l.n - skip);
  free(l.v);
  free(base);
}

int wh_jobs_create(const wh_jobs_opts *o, wh_jobs **out, warm_error *err) {
  wh_jobs *j = calloc(1, sizeof *j);
  if (!j) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  j->o = *o;
  if (!j->o.max_queue) j->o.max_queue = 64;
  if (!j->o.keep_finished) j->o.keep_finished = 1024;
  if (!j->o.run) {
    j->o.run = pipeline_runner;
    j->o.run_user = j;
  }
  j->o.instance_id = NULL;
  if ((o->output_dir && !(j->output_dir = strdup(o->output_dir))) ||
      (o->instance_id && !(j->instance_id = strdup(o->instance_id)))) {
    free(j->output_dir);
    free(j);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  j->o.instance_id = j->instance_id;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  if (j->o.restore) load_records(j);
  if (pthread_create(&j->th, NULL, job_thread, j) != 0) {
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->output_dir);
    free(j->instance_id);
    free(j);
    return warm_error_set(err, WARM_ENOMEM, "cannot start the job thread");
  }
  *out = j;
  return 0;
}

void wh_jobs_destroy(wh_jobs *j) {
  if (!j) return;
  wh_jobs_cancel_all(j, "warmd is stopping");
  pthread_mutex_lock(&j->mu);
  j->stop = 1;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  pthread_join(j->th, NULL);
  for (job *jb = j->head, *next; jb; jb = next) {
    next = jb->next;
    job_free(jb);
  }
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j->output_dir);
  free(j->instance_id);
  free(j);
}

/* A fresh random id; unique in the table (checked under j->mu). */
static void new_id(wh_jobs *j, char *id) {
  for (;;) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
      /* No entropy source answered: time and a counter still give ids
       * that are unique here, just guessable. */
      static uint64_t ctr;
      r = (uint64_t)(wall_now() * 1e9) ^ (++ctr * 0x9e3779b97f4a7c15ull);
    }
    if (j->o.instance_id)
      snprintf(id, WH_JOB_ID_MAX, "%s.%016llx", j->o.instance_id,
               (unsigned long long)r);
    else
      snprintf(id, WH_JOB_ID_MAX, "%016llx", (unsigned long long)r);
    if (!find(j, id)) return;
  }
}

int wh_jobs_submit(wh_jobs *j, const wh_job_params *p, char *id,
                   warm_error *err) {
  job *jb = calloc(1, sizeof *jb);
  if (!jb) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (wh_job_params_copy(&jb->p, p, err)) {
    free(jb);
    return WARM_ENOMEM;
  }
  warm_ledger *hl = host_ledger(j);
  if (jb->p.image && hl) {
    warm_error be = {0};
    if (warm_ledger_book(hl, WH_JOBS_LEDGER_NAME, WARM_MEM_WORKSPACE,
                         jb->p.image_len, &be)) {
      job_free(jb);
      return warm_error_set(err, WARM_ENOSPACE,
                            "the job's image cannot wait in host memory: %s",
                            be.msg);
    }
    jb->booked = jb->p.image_len;
  }
  jb->created = wall_now();
  const char *base = j->output_dir;
  pthread_mutex_lock(&j->o.rt->lock);
  char *cfg_dir = (!base && j->o.rt->config && j->o.rt->config->output_dir)
                      ? strdup(j->o.rt->config->output_dir)
                      : NULL;
  pthread_mutex_unlock(&j->o.rt->lock);
  if (!base) base = cfg_dir ? cfg_dir : "out";

  pthread_mutex_lock(&j->mu);
  int rc = 0;
  if (j->draining || j->stop) {
    j->rejected_draining++;
    rc = warm_error_set(err, WH_JOBS_EDRAINING,
                        "warmd is draining: not taking new jobs");
  } else if (j->qlen >= j->o.max_queue) {
    j->rejected_full++;
    rc = warm_error_set(err, WH_JOBS_EFULL, "the queue is full (%zu jobs)",
                        j->qlen);
  } else {
    new_id(j, jb->id);
    size_t n = strlen(base) + WH_JOB_ID_MAX + 2;
    if (!(jb->dir = malloc(n))) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    } else {
      snprintf(jb->dir, n, "%s/%s", base, jb->id);
      jb->prev = j->tail;
      if (j->tail)
        j->tail->next = jb;
      else
        j->head = jb;
      j->tail = jb;
      if (j->qtail)
        j->qtail->qnext = jb;
      else
        j->qhead = jb;
      j->qtail = jb;
      j->qlen++;
      j->submitted++;
      memcpy(id, jb->id, WH_JOB_ID_MAX);
      pthread_cond_broadcast(&j->cv);
    }
  }
  char *dir = rc ? NULL : strdup(jb->dir);
  double created = jb->created;
  pthread_mutex_unlock(&j->mu);
  free(cfg_dir);
  if (rc) {
    drop_image(j, jb);
    job_free(jb);
    return rc;
  }
  /* The record that lets the job survive a restart (journal.h). */
  warm_error je = {0};
  if (!dir || wh_journal_write(dir, id, p, created, &je))
    wh_warn("job %s: no record on disk: %s", id,
            dir ? je.msg : "out of memory");
  free(dir);
  return 0;
}

/* Under j->mu: removes a queued job from the queue. */
static void unqueue(wh_jobs *j, job *jb) {
  job **pp = &j->qhead, *prev = NULL;
  while (*pp && *pp != jb) {
    prev = *pp;
    pp = &(*pp)->qnext;
  }
  if (!*pp) return;
  *pp = jb->qnext;
  if (j->qtail == jb) j->qtail = prev;
  jb->qnext = NULL;
  j->qlen--;
}

/* Under j->mu: cancels one queued or running job. */
static void cancel_locked(wh_jobs *j, job *jb, const char *reason) {
  if (jb->state == WH_JOB_QUEUED) {
    unqueue(j, jb);
    snprintf(jb->error, sizeof jb->error, "%s", reason);
    finish(j, jb, WH_JOB_CANCELLED);
    jb->mnext = j->marks;
    jb->marked = 1;
    j->marks = jb;
    pthread_cond_broadcast(&j->cv);
  } else if (jb->state == WH_JOB_RUNNING) {
    if (!jb->error[0]) snprintf(jb->error, sizeof jb->error, "%s", reason);
    __atomic_store_n(&jb->ctl.cancel, 1, __ATOMIC_RELEASE);
    /* Interrupt the component call in flight too, for plugins that poll
     * svc->cancelled between layers. The pipeline clears the flag at the
     * start of every call, so this cannot outlive the job by more than the
     * call it lands in. */
    wh_component *cur = __atomic_load_n(&jb->ctl.current, __ATOMIC_ACQUIRE);
    if (cur) __atomic_store_n(&cur->cancelled, 1, __ATOMIC_RELEASE);
  }
}

int wh_jobs_cancel(wh_jobs *j, const char *id, warm_error *err) {
  pthread_mutex_lock(&j->mu);
  job *jb = find(j, id);
  int rc = 0;
  if (!jb)
    rc = warm_error_set(err, WH_JOBS_ENOTFOUND, "no job %s", id);
  else if (jb->state > WH_JOB_RUNNING)
    rc = warm_error_set(err, WH_JOBS_EFINISHED, "job %s is already %s", id,
                        wh_job_state_name(jb->state));
  else
    cancel_locked(j, jb, "cancelled by request");
  pthread_mutex_unlock(&j->mu);
  return rc;
}

void wh_jobs_cancel_all(wh_jobs *j, const char *reason) {
  pthread_mutex_lock(&j->mu);
  while (j->qhead)
    cancel_locked(j, j->qhead, reason);
  if (j->running) cancel_locked(j, j->running, reason);
  pthread_mutex_unlock(&j->mu);
}

void wh_jobs_hold(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->holds++;
  while (j->running)
    pthread_cond_wait(&j->cv, &j->mu);
  pthread_mutex_unlock(&j->mu);
}

void wh_jobs_release(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->holds--;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

void wh_jobs_note_draining(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->rejected_draining++;
  pthread_mutex_unlock(&j->mu);
}

void wh_jobs_drain(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->draining = 1;
  pthread_mutex_unlock(&j->mu);
}

void wh_jobs_resume(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->draining = 0;
  pthread_mutex_unlock(&j->mu);
}

int wh_jobs_idle(wh_jobs *j) {
  pthread_mutex_lock(&j->mu);
  int idle = !j->qhead && !j->running;
  pthread_mutex_unlock(&j->mu);
  return idle;
}

static json_t *time_json(double t) {
  return t > 0 ? json_real(t) : json_null();
}

/* Under j->mu. */
static json_t *job_json(const job *jb, int full) {
  float progress;
  __atomic_load(&jb->ctl.progress, &progress, __ATOMIC_RELAXED);
  if (jb->state == WH_JOB_DONE) progress = 1.0f;
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(jb->id));
  json_object_set_new(o, "state", json_string(wh_job_state_name(jb->state)));
  json_object_set_new(o, "progress", json_real(progress));
  json_object_set_new(o, "error",
                      jb->error[0] ? json_string(jb->error) : json_null());
  json_object_set_new(o, "created", time_json(jb->created));
  json_object_set_new(o, "started", time_json(jb->started));
  json_object_set_new(o, "finished", time_json(jb->finished));
  if (!full) {
    json_object_set_new(o, "prompt", json_string(jb->p.prompt));
    return o;
  }
  json_t *res = jb->result ? json_loads(jb->result, 0, NULL) : NULL;
  json_object_set_new(o, "result", res ? res : json_null());
  json_object_set_new(o, "params", wh_job_params_json(&jb->p));
  return o;
}

json_t *wh_jobs_get_json(wh_jobs *j, const char *id) {
  pthread_mutex_lock(&j->mu);
  job *jb = find(j, id);
  json_t *o = jb ? job_json(jb, 1) : NULL;
  pthread_mutex_unlock(&j->mu);
  return o;
}

json_t *wh_jobs_list_json(wh_jobs *j) {
  json_t *arr = json_array();
  pthread_mutex_lock(&j->mu);
  for (job *jb = j->head; arr && jb; jb = jb->next)
    json_array_append_new(arr, job_json(jb, 0));
  pthread_mutex_unlock(&j->mu);
  return arr;
}

int wh_jobs_done_dir(wh_jobs *j, const char *id, char *dir, size_t n,
                     wh_job_state *state) {
  pthread_mutex_lock(&j->mu);
  job *jb = find(j, id);
  int rc = !jb                        ? WH_JOBS_ENOTFOUND
           : jb->state != WH_JOB_DONE ? WH_JOBS_EFINISHED
                                      : 0;
  if (jb && state) *state = jb->state;
  if (rc == 0) snprintf(dir, n, "%s", jb->dir);
  pthread_mutex_unlock(&j->mu);
  return rc;
}

void wh_jobs_stats_get(wh_jobs *j, wh_jobs_stats *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&j->mu);
  for (job *jb = j->head; jb; jb = jb->next)
    out->by_state[jb->state]++;
  memcpy(out->finished, j->finished_by, sizeof out->finished);
  out->submitted = j->submitted;
  out->rejected_full = j->rejected_full;
  out->rejected_draining = j->rejected_draining;
  out->queue_depth = j->qlen;
  out->max_queue = j->o.max_queue;
  out->draining = j->draining;
  pthread_mutex_unlock(&j->mu);
}

/* Under j->mu: unlinks a finished job from the table and frees it. */
static void drop(wh_jobs *j, job *jb) {
  if (jb->prev)
    jb->prev->next = jb->next;
  else
    j->head = jb->next;
  if (jb->next)
    jb->next->prev = jb->prev;
  else
    j->tail = jb->prev;
  j->n_finished--;
  job_free(jb);
}

int wh_jobs_forget(wh_jobs *j, const char *id) {
  pthread_mutex_lock(&j->mu);
  job *jb = find(j, id);
  int rc = !jb                              ? WH_JOBS_ENOTFOUND
           : jb->state <= WH_JOB_RUNNING || jb->marked ? WH_JOBS_EACTIVE
                                                      : 0;
  if (rc == 0) drop(j, jb);
  pthread_mutex_unlock(&j->mu);
  return rc;
}

int wh_jobs_active(wh_jobs *j, const char *id) {
  pthread_mutex_lock(&j->mu);
  job *jb = find(j, id);
  int active = jb && (jb->state <= WH_JOB_RUNNING || jb->marked);
  pthread_mutex_unlock(&j->mu);
  return active;
}
