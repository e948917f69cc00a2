/*
 * where.c — which plugin entry point warm-plugin-check is in, with the
 * dtype and placement it asked for, and what the last call returned. Kept
 * in a page shared with the forked check processes, so when a child
 * crashes, exits or hangs the parent can say where.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "chk.h"

typedef struct chk_where_state {
  char entry[32];  /* "run", "place", ... */
  char detail[96]; /* "dtype bf16, placement stream" */
  int in_call;     /* inside the entry point now */
  int rc;          /* what the last call returned */
} chk_where_state;

static chk_where_state local_state;
static chk_where_state *w = &local_state;

void chk_where_init(void) {
  void *p = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) w = p; /* else: reports in this process only */
  memset(w, 0, sizeof *w);
}

void chk_where_reset(void) {
  memset(w, 0, sizeof *w);
}

void chk_call_begin(const char *entry, int dtype, int placement) {
  snprintf(w->entry, sizeof w->entry, "%s", entry);
  char d[48] = "", p[48] = "";
  if (dtype >= 0)
    snprintf(d, sizeof d, "dtype %s", warm_dtype_name((warm_dtype)dtype));
  if (placement > 0)
    snprintf(p, sizeof p, "placement %s",
             warm_placement_name((warm_placement)placement));
  snprintf(w->detail, sizeof w->detail, "%s%s%s", d, *d && *p ? ", " : "", p);
  w->rc = 0;
  __atomic_store_n(&w->in_call, 1, __ATOMIC_RELEASE);
}

int chk_call_end(int rc) {
  w->rc = rc;
  __atomic_store_n(&w->in_call, 0, __ATOMIC_RELEASE);
  return rc;
}

/* "in run() [dtype f32, placement stream]" while a call is in flight (or
 * was when the process died), else "after run() [...]"; "" before any. */
const char *chk_where_text(char *buf, size_t n) {
  if (!w->entry[0]) {
    snprintf(buf, n, "%s", "");
    return buf;
  }
  snprintf(buf, n, "%s %s()%s%s%s",
           __atomic_load_n(&w->in_call, __ATOMIC_ACQUIRE) ? "in" : "after",
           w->entry, w->detail[0] ? " [" : "", w->detail,
           w->detail[0] ? "]" : "");
  return buf;
}

/* "last call: run() [dtype f32] returned -4, ..." when it failed,
 * else "". */
const char *chk_last_rc_text(char *buf, size_t n) {
  if (!w->entry[0] || w->in_call || w->rc == 0) {
    snprintf(buf, n, "%s", "");
    return buf;
  }
  snprintf(buf, n, "last call: %s()%s%s%s returned %d, %s", w->entry,
           w->detail[0] ? " [" : "", w->detail, w->detail[0] ? "]" : "", w->rc,
           warm_strerror(w->rc));
  return buf;
}
