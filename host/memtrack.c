/*
 * host/memtrack.c — the memory timeline of a job: a thread samples every
 * device's ledger (bytes booked per component) while the job runs; the
 * samples become memory.png.
 */
#include "memtrack.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media.h"

#define SAMPLE_PERIOD_NS 1000000L /* every 1 ms */
#define MAX_SAMPLES 20000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct fill_ctx {
  wh_devtrack *d;
  uint64_t *row;
} fill_ctx;

static void fill_row(void *user, const warm_ledger_entry *e) {
  fill_ctx *f = user;
  for (uint32_t i = 0; i < f->d->n_names; i++)
    if (!strcmp(f->d->names[i], e->component)) {
      uint64_t *b = f->row + (size_t)i * WH_MEM_CLASSES;
      b[WH_MEM_RESIDENT] = e->persistent;
      b[WH_MEM_WINDOW] = e->window;
      b[WH_MEM_WORKSPACE] = e->workspace;
    }
}

static void sample(wh_memtrack *m) {
  pthread_mutex_lock(&m->mu);
  double t = now_s() - m->t0;
  for (size_t k = 0; k < m->n_devs; k++) {
    wh_devtrack *d = &m->devs[k];
    if (d->n == d->cap) { /* full: keep every other sample */
      size_t w = (size_t)d->n_names * WH_MEM_CLASSES;
      for (uint32_t i = 0; i < d->n / 2; i++) {
        d->t[i] = d->t[2 * i];
        memcpy(d->bytes + i * w, d->bytes + 2 * i * w, sizeof *d->bytes * w);
      }
      d->n /= 2;
    }
    size_t w = (size_t)d->n_names * WH_MEM_CLASSES;
    uint64_t *row = d->bytes + (size_t)d->n * w;
    memset(row, 0, sizeof *row * w);
    fill_ctx f = {d, row};
    warm_ledger_foreach(d->dev->ledger, fill_row, &f);
    d->t[d->n++] = t;
  }
  pthread_mutex_unlock(&m->mu);
}

static void *sampler_thread(void *arg) {
  wh_memtrack *m = arg;
  struct timespec period = {0, SAMPLE_PERIOD_NS};
  while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
    sample(m);
    nanosleep(&period, NULL);
  }
  return NULL;
}

void wh_memtrack_free(wh_memtrack *m) {
  for (size_t k = 0; k < m->n_devs; k++) {
    for (uint32_t i = 0; i < m->devs[k].n_names; i++)
      free(m->devs[k].names[i]);
    free(m->devs[k].names);
    free(m->devs[k].bytes);
    free(m->devs[k].t);
  }
  free(m->devs);
  for (uint32_t i = 0; i < m->n_marks; i++)
    free(m->mark_label[i]);
  m->n_marks = 0;
  pthread_mutex_destroy(&m->mu);
}

void wh_memtrack_mark(wh_memtrack *m, const char *label) {
  pthread_mutex_lock(&m->mu);
  if (m->n_marks < WH_MEMTRACK_MARKS) {
    char *l = strdup(label);
    if (l) {
      m->mark_t[m->n_marks] = now_s() - m->t0;
      m->mark_label[m->n_marks++] = l;
    }
  }
  pthread_mutex_unlock(&m->mu);
}

int wh_memtrack_start(wh_memtrack *m, wh_runtime *rt) {
  memset(m, 0, sizeof *m);
  m->rt = rt;
  pthread_mutex_init(&m->mu, NULL);
  m->t0 = now_s();
  pthread_mutex_lock(&rt->lock);
  m->devs = calloc(rt->n_devices ? rt->n_devices : 1, sizeof *m->devs);
  int rc = m->devs ? 0 : WARM_ENOMEM;
  for (size_t k = 0; rc == 0 && k < rt->n_devices; k++) {
    wh_devtrack *d = &m->devs[m->n_devs++];
    d->dev = rt->devices[k];
    d->names = calloc(rt->n_components + 1, sizeof *d->names);
    for (size_t i = 0; d->names && i < rt->n_components; i++)
      if (rt->components[i]->dev == d->dev)
        d->names[d->n_names++] = strdup(rt->components[i]->name);
    d->cap = MAX_SAMPLES;
    d->t = malloc(sizeof *d->t * d->cap);
    d->bytes = malloc(sizeof *d->bytes * d->cap * (d->n_names + 1) *
                      WH_MEM_CLASSES);
    if (!d->names || !d->t || !d->bytes) rc = WARM_ENOMEM;
  }
  pthread_mutex_unlock(&rt->lock);
  if (rc == 0) {
    sample(m);
    rc = pthread_create(&m->th, NULL, sampler_thread, m) ? WARM_ENOMEM : 0;
    m->running = rc == 0;
  }
  if (rc) wh_memtrack_free(m);
  return rc;
}

void wh_memtrack_stop(wh_memtrack *m) {
  if (!m->running) return;
  __atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
  pthread_join(m->th, NULL);
  m->running = 0;
  sample(m);
}

int wh_memtrack_plot(wh_memtrack *m, const char *path, warm_error *err) {
  wh_mem_series *series = calloc(m->n_devs, sizeof *series);
  wh_mem_sample **samples = calloc(m->n_devs, sizeof *samples);
  wh_mem_mark marks[WH_MEMTRACK_MARKS];
  for (uint32_t i = 0; i < m->n_marks; i++)
    marks[i] = (wh_mem_mark){m->mark_t[i], m->mark_label[i]};
  int rc = series && samples ? 0 : WARM_ENOMEM;
  for (size_t k = 0; rc == 0 && k < m->n_devs; k++) {
    wh_devtrack *d = &m->devs[k];
    samples[k] = calloc(d->n ? d->n : 1, sizeof **samples);
    if (!samples[k]) {
      rc = WARM_ENOMEM;
      break;
    }
    for (uint32_t i = 0; i < d->n; i++)
      samples[k][i] = (wh_mem_sample){
          d->t[i], d->bytes + (size_t)i * d->n_names * WH_MEM_CLASSES};
    warm_ledger_stats st;
    warm_ledger_stats_get(d->dev->ledger, &st);
    series[k] = (wh_mem_series){d->dev->name,
                                st.budget,
                                d->n_names,
                                (const char *const *)d->names,
                                d->n,
                                samples[k],
                                m->n_marks,
                                marks};
  }
  wh_image im = {0};
  if (rc == 0) rc = wh_memory_plot(series, (uint32_t)m->n_devs, &im, err);
  if (rc == 0) rc = wh_write_png(path, &im, err);
  else if (rc == WARM_ENOMEM) warm_error_set(err, rc, "memory plot: out of memory");
  wh_image_free(&im);
  for (size_t k = 0; samples && k < m->n_devs; k++) free(samples[k]);
  free(samples);
  free(series);
  return rc;
}

