/*
 * sdk/src/fault.c — per-thread guards for reads of mapped weights (see
 * warm/fault.h).
 */
#include "warm/fault.h"

#include <stdio.h>
#include <string.h>

static __thread warm_fault_guard *tls_guard;
static uint64_t g_faults;

void warm_fault_push(warm_fault_guard *g) {
  g->addr = NULL;
  g->prev = tls_guard;
  tls_guard = g;
}

void warm_fault_pop(warm_fault_guard *g) {
  tls_guard = g->prev;
}

void warm_fault_jump(const void *addr) {
  warm_fault_guard *g = tls_guard;
  if (!g) return;
  g->addr = addr;
  /* The guard stays the innermost until its owner pops it. */
  __atomic_add_fetch(&g_faults, 1, __ATOMIC_RELAXED);
  siglongjmp(g->jb, 1);
}

uint64_t warm_fault_count(void) {
  return __atomic_load_n(&g_faults, __ATOMIC_RELAXED);
}

void warm_fault_describe(const void *addr, char *out, size_t n) {
  snprintf(out, n, "an unnamed mapping");
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return;
  char line[4352];
  uintptr_t a = (uintptr_t)addr;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    int off = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 ||
        a < lo || a >= hi)
      continue;
    char *path = line + off;
    path[strcspn(path, "\n")] = '\0';
    if (*path) snprintf(out, n, "%s", path);
    break;
  }
  fclose(f);
}
