/*
 * warm/ledger.h — per-device memory accounting.
 *
 * One ledger per device. Every device allocation of every component is
 * booked here before it is attempted, and refused when it would take the
 * device past its budget. A component may also hold a reservation (the
 * estimate the host reserved before a run); its bookings draw from the
 * reservation first, so the device's "used" figure is the sum over components
 * of max(booked, reserved). The ledger is thread-safe and knows nothing about
 * how memory is obtained: callers book, then allocate, and release after
 * freeing. On a cpu device it accounts host RAM the same way.
 */
#ifndef WARM_LEDGER_H
#define WARM_LEDGER_H

#include <stdint.h>

#include "warm/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

typedef struct warm_ledger warm_ledger;

typedef struct warm_ledger_entry {
  const char *component;                  /* valid during the callback only */
  uint64_t persistent, window, workspace; /* booked now, by class */
  uint64_t reserved;                      /* current reservation */
  uint64_t peak;                          /* highest booked total */
} warm_ledger_entry;

typedef struct warm_ledger_stats {
  uint64_t budget;
  uint64_t used;   /* sum over components of max(booked, reserved) */
  uint64_t booked; /* sum of booked bytes only */
  uint64_t peak;   /* high-water mark of `booked` since create/mark reset */
  uint32_t n_components;
} warm_ledger_stats;

/* device: a name for messages ("cpu", "cuda:0"), copied. */
int warm_ledger_create(const char *device, uint64_t budget, warm_ledger **out);
void warm_ledger_destroy(warm_ledger *l);

/* Changes the budget (reload). Fails with WARM_ENOSPACE, changing nothing,
 * when current use is above the new budget. */
int warm_ledger_set_budget(warm_ledger *l, uint64_t budget, warm_error *err);

/* Books bytes for a component. WARM_ENOSPACE with a message naming the
 * device, the budget, what is in use and what was asked, when it would not
 * fit; nothing is booked then. */
int warm_ledger_book(warm_ledger *l, const char *component, warm_mem_class cls,
                     uint64_t bytes, warm_error *err);
/* Releases bytes booked earlier (clamped at zero). */
void warm_ledger_release(warm_ledger *l, const char *component,
                         warm_mem_class cls, uint64_t bytes);

/* Sets the component's reservation (0 clears it). Same refusal rule. */
int warm_ledger_reserve(warm_ledger *l, const char *component, uint64_t bytes,
                        warm_error *err);

/* Bytes that could still be booked or reserved right now. */
uint64_t warm_ledger_available(const warm_ledger *l);

/* Forgets a component whose bookings are all zero (after destroy). */
void warm_ledger_forget(warm_ledger *l, const char *component);

/* Resets the peak marks (device and per component) to current use; the host
 * does this at the start of each job to get per-job peaks. */
void warm_ledger_mark_reset(warm_ledger *l);

void warm_ledger_stats_get(const warm_ledger *l, warm_ledger_stats *out);
/* Calls fn for each component, in first-booking order, under the lock: fn
 * must not call back into the ledger. */
void warm_ledger_foreach(const warm_ledger *l,
                         void (*fn)(void *user, const warm_ledger_entry *e),
                         void *user);
/* Booked total of one component (all classes); 0 if unknown. */
uint64_t warm_ledger_component_total(const warm_ledger *l,
                                     const char *component);
/* Highest booked total of one component since its first booking or the last
 * mark reset; 0 if unknown. */
uint64_t warm_ledger_component_peak(const warm_ledger *l,
                                    const char *component);
/* The device name given at create; lives as long as the ledger. */
const char *warm_ledger_device(const warm_ledger *l);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_LEDGER_H */
