/* Per-device memory ledger (see warm/ledger.h). One mutex guards everything;
 * every operation is O(components), which is a handful. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "warm/ledger.h"
#include "warm/warm.h"

typedef struct ledger_entry {
  char *name;
  uint64_t cls[3]; /* persistent, window, workspace */
  uint64_t reserved;
  uint64_t peak;
} ledger_entry;

struct warm_ledger {
  pthread_mutex_t mu;
  char *device;
  uint64_t budget;
  uint64_t used;   /* sum of max(booked, reserved) */
  uint64_t booked; /* sum of booked */
  uint64_t peak;   /* high-water of booked */
  ledger_entry *e;
  uint32_t n, cap;
};

static uint64_t entry_booked(const ledger_entry *e) {
  return e->cls[0] + e->cls[1] + e->cls[2];
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
  return a > b ? a : b;
}

static int class_index(warm_mem_class c) {
  switch (c) {
  case WARM_MEM_PERSISTENT:
    return 0;
  case WARM_MEM_WINDOW:
    return 1;
  case WARM_MEM_WORKSPACE:
    return 2;
  }
  return -1;
}

static const char *class_name(warm_mem_class c) {
  switch (c) {
  case WARM_MEM_PERSISTENT:
    return "persistent";
  case WARM_MEM_WINDOW:
    return "window";
  case WARM_MEM_WORKSPACE:
    return "workspace";
  }
  return "unknown";
}

static void lock(const warm_ledger *l) {
  pthread_mutex_lock((pthread_mutex_t *)&l->mu);
}
static void unlock(const warm_ledger *l) {
  pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
}

static ledger_entry *find(const warm_ledger *l, const char *component) {
  for (uint32_t i = 0; i < l->n; i++)
    if (strcmp(l->e[i].name, component) == 0) return &l->e[i];
  return NULL;
}

/* Finds or appends (first-booking order). NULL only when out of memory. */
static ledger_entry *find_or_add(warm_ledger *l, const char *component) {
  ledger_entry *e = find(l, component);
  if (e) return e;
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 8;
    ledger_entry *ne = realloc(l->e, cap * sizeof *ne);
    if (!ne) return NULL;
    l->e = ne;
    l->cap = cap;
  }
  char *name = strdup(component);
  if (!name) return NULL;
  e = &l->e[l->n++];
  memset(e, 0, sizeof *e);
  e->name = name;
  return e;
}

int warm_ledger_create(const char *device, uint64_t budget, warm_ledger **out) {
  if (!device || !out) return WARM_EINVAL;
  warm_ledger *l = calloc(1, sizeof *l);
  if (!l) return WARM_ENOMEM;
  l->device = strdup(device);
  if (!l->device || pthread_mutex_init(&l->mu, NULL) != 0) {
    free(l->device);
    free(l);
    return WARM_ENOMEM;
  }
  l->budget = budget;
  *out = l;
  return WARM_OK;
}

void warm_ledger_destroy(warm_ledger *l) {
  if (!l) return;
  for (uint32_t i = 0; i < l->n; i++)
    free(l->e[i].name);
  free(l->e);
  free(l->device);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

int warm_ledger_set_budget(warm_ledger *l, uint64_t budget, warm_error *err) {
  if (!l) return warm_error_set(err, WARM_EINVAL, "ledger: NULL ledger");
  lock(l);
  if (l->used > budget) {
    char b[32], u[32];
    int rc = warm_error_set(err, WARM_ENOSPACE,
                            "%s: cannot lower the budget to %s: %s are in use",
                            l->device, warm_format_size(budget, b, sizeof b),
                            warm_format_size(l->used, u, sizeof u));
    unlock(l);
    return rc;
  }
  l->budget = budget;
  unlock(l);
  return WARM_OK;
}

/* Builds the refusal message; the caller holds the lock. */
static int refuse(const warm_ledger *l, const char *component, const char *what,
                  uint64_t asked, warm_error *err) {
  char b[32], u[32], a[32], f[32];
  uint64_t free_b = l->budget > l->used ? l->budget - l->used : 0;
  return warm_error_set(
      err, WARM_ENOSPACE,
      "%s: %s asked for %s (%s) but the budget is %s with %s in use (%s "
      "free)",
      l->device, component, warm_format_size(asked, a, sizeof a), what,
      warm_format_size(l->budget, b, sizeof b),
      warm_format_size(l->used, u, sizeof u),
      warm_format_size(free_b, f, sizeof f));
}

int warm_ledger_book(warm_ledger *l, const char *component, warm_mem_class cls,
                     uint64_t bytes, warm_error *err) {
  int ci = class_index(cls);
  if (!l || !component || ci < 0)
    return warm_error_set(err, WARM_EINVAL,
                          "ledger: bad booking (ledger, component or class)");
  lock(l);
  ledger_entry *e = find(l, component);
  uint64_t booked = e ? entry_booked(e) : 0;
  uint64_t reserved = e ? e->reserved : 0;
  uint64_t before = max_u64(booked, reserved);
  if (bytes > UINT64_MAX - booked || bytes > UINT64_MAX - l->booked) {
    int rc = refuse(l, component, class_name(cls), bytes, err);
    unlock(l);
    return rc;
  }
  uint64_t after = max_u64(booked + bytes, reserved);
  uint64_t used = l->used - before; /* before is part of used */
  if (after > l->budget || used > l->budget - after) {
    int rc = refuse(l, component, class_name(cls), bytes, err);
    unlock(l);
    return rc;
  }
  if (!e && !(e = find_or_add(l, component))) {
    unlock(l);
    return warm_error_set(err, WARM_ENOMEM, "ledger: out of memory");
  }
  e->cls[ci] += bytes;
  l->used = used + after;
  l->booked += bytes;
  if (booked + bytes > e->peak) e->peak = booked + bytes;
  if (l->booked > l->peak) l->peak = l->booked;
  unlock(l);
  return WARM_OK;
}

void warm_ledger_release(warm_ledger *l, const char *component,
                         warm_mem_class cls, uint64_t bytes) {
  int ci = class_index(cls);
  if (!l || !component || ci < 0) return;
  lock(l);
  ledger_entry *e = find(l, component);
  if (e) {
    uint64_t before = max_u64(entry_booked(e), e->reserved);
    uint64_t take = bytes < e->cls[ci] ? bytes : e->cls[ci];
    e->cls[ci] -= take;
    l->booked -= take;
    l->used = l->used - before + max_u64(entry_booked(e), e->reserved);
  }
  unlock(l);
}

int warm_ledger_reserve(warm_ledger *l, const char *component, uint64_t bytes,
                        warm_error *err) {
  if (!l || !component)
    return warm_error_set(err, WARM_EINVAL, "ledger: bad reservation");
  lock(l);
  ledger_entry *e = find(l, component);
  uint64_t booked = e ? entry_booked(e) : 0;
  uint64_t before = e ? max_u64(booked, e->reserved) : 0;
  uint64_t after = max_u64(booked, bytes);
  uint64_t used = l->used - before;
  if (after > l->budget || used > l->budget - after) {
    int rc = refuse(l, component, "reservation", bytes, err);
    unlock(l);
    return rc;
  }
  if (!e) {
    if (bytes == 0) { /* clearing a reservation nobody holds */
      unlock(l);
      return WARM_OK;
    }
    if (!(e = find_or_add(l, component))) {
      unlock(l);
      return warm_error_set(err, WARM_ENOMEM, "ledger: out of memory");
    }
  }
  e->reserved = bytes;
  l->used = used + after;
  unlock(l);
  return WARM_OK;
}

uint64_t warm_ledger_available(const warm_ledger *l) {
  if (!l) return 0;
  lock(l);
  uint64_t a = l->budget > l->used ? l->budget - l->used : 0;
  unlock(l);
  return a;
}

/* Only a component with nothing booked is forgotten; a reservation it still
 * holds is dropped with it. */
void warm_ledger_forget(warm_ledger *l, const char *component) {
  if (!l || !component) return;
  lock(l);
  ledger_entry *e = find(l, component);
  if (e && entry_booked(e) == 0) {
    l->used -= e->reserved;
    free(e->name);
    uint32_t i = (uint32_t)(e - l->e);
    memmove(&l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof *e);
    l->n--;
  }
  unlock(l);
}

void warm_ledger_mark_reset(warm_ledger *l) {
  if (!l) return;
  lock(l);
  l->peak = l->booked;
  for (uint32_t i = 0; i < l->n; i++)
    l->e[i].peak = entry_booked(&l->e[i]);
  unlock(l);
}

void warm_ledger_stats_get(const warm_ledger *l, warm_ledger_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!l) return;
  lock(l);
  out->budget = l->budget;
  out->used = l->used;
  out->booked = l->booked;
  out->peak = l->peak;
  out->n_components = l->n;
  unlock(l);
}

void warm_ledger_foreach(const warm_ledger *l,
                         void (*fn)(void *user, const warm_ledger_entry *e),
                         void *user) {
  if (!l || !fn) return;
  lock(l);
  for (uint32_t i = 0; i < l->n; i++) {
    const ledger_entry *e = &l->e[i];
    warm_ledger_entry pub = {
        .component = e->name,
        .persistent = e->cls[0],
        .window = e->cls[1],
        .workspace = e->cls[2],
        .reserved = e->reserved,
        .peak = e->peak,
    };
    fn(user, &pub);
  }
  unlock(l);
}

uint64_t warm_ledger_component_total(const warm_ledger *l,
                                     const char *component) {
  if (!l || !component) return 0;
  lock(l);
  const ledger_entry *e = find(l, component);
  uint64_t t = e ? entry_booked(e) : 0;
  unlock(l);
  return t;
}

uint64_t warm_ledger_component_peak(const warm_ledger *l,
                                    const char *component) {
  if (!l || !component) return 0;
  lock(l);
  const ledger_entry *e = find(l, component);
  uint64_t t = e ? e->peak : 0;
  unlock(l);
  return t;
}

const char *warm_ledger_device(const warm_ledger *l) {
  return l ? l->device : NULL;
}
