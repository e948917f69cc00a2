/*
 * host/memtrack.h — the memory timeline of one job (memory.png): bytes
 * booked per component on every device, sampled by a thread from the
 * ledgers every millisecond between start and stop. When a device's buffer
 * fills, every other sample is dropped, so long jobs keep their shape.
 */
#ifndef WH_MEMTRACK_H
#define WH_MEMTRACK_H

#include <pthread.h>
#include <stdint.h>

#include "media.h"
#include "runtime.h"

typedef struct wh_devtrack {
  wh_device *dev;
  char **names; /* components on this device, when the job started */
  uint32_t n_names;
  uint64_t *bytes; /* [cap][n_names][WH_MEM_CLASSES] */
  double *t;       /* seconds since start */
  uint32_t n, cap;
} wh_devtrack;

#define WH_MEMTRACK_MARKS 32

typedef struct wh_memtrack {
  wh_runtime *rt;
  double mark_t[WH_MEMTRACK_MARKS]; /* stage starts, seconds since start */
  char *mark_label[WH_MEMTRACK_MARKS];
  uint32_t n_marks;
  wh_devtrack *devs;
  size_t n_devs;
  double t0;
  pthread_mutex_t mu;
  pthread_t th;
  int stop, running;
} wh_memtrack;

/* Takes the first sample and starts the sampling thread. On failure
 * nothing needs freeing. */
int wh_memtrack_start(wh_memtrack *m, wh_runtime *rt);
/* Joins the thread and takes a last sample; safe to call twice. */
void wh_memtrack_stop(wh_memtrack *m);
/* Records that a stage begins now (label copied; past 32 marks, ignored). */
void wh_memtrack_mark(wh_memtrack *m, const char *label);
/* Draws the timeline (one panel per device) into a PNG at path. */
int wh_memtrack_plot(wh_memtrack *m, const char *path, warm_error *err);
void wh_memtrack_free(wh_memtrack *m);

#endif /* WH_MEMTRACK_H */
