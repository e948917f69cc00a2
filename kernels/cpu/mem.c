/*
 * mem.c — cpu "device" memory, copies and events. Device memory is host
 * memory aligned to 64 bytes; copies are synchronous memcpy, so events have
 * nothing to order and only exist so code written for cuda runs unchanged.
 * None of these touch the worker pool: a copy thread may call them while
 * the context's owner runs ops.
 */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cpu.h"

struct wk_event {
  int unused; /* nothing to track: see the record functions */
};

int wkcpu_dev_alloc(wk_ctx *c, size_t bytes, void **out) {
  void *p = NULL;
  size_t rounded = wkcpu__align(bytes);
  if (rounded < bytes || posix_memalign(&p, 64, rounded) != 0)
    return wk__fail(c, WK_ENOMEM, "wkcpu_dev_alloc: cannot allocate %zu bytes",
                    bytes);
  *out = p;
  return 0;
}

int wkcpu_dev_mem_info(wk_ctx *c, size_t *free_bytes, size_t *total_bytes) {
  long page = sysconf(_SC_PAGESIZE), total = sysconf(_SC_PHYS_PAGES),
       avail = sysconf(_SC_AVPHYS_PAGES);
  if (page <= 0 || total <= 0 || avail < 0)
    return wk__fail(c, WK_EDEVICE, "wk_dev_mem_info(cpu): sysconf failed");
  *total_bytes = (size_t)total * (size_t)page;
  *free_bytes = (size_t)avail * (size_t)page;
  return 0;
}

void wkcpu_dev_free(wk_ctx *c, void *ptr) {
  free(ptr);
}

int wkcpu_host_alloc_pinned(wk_ctx *c, size_t bytes, void **out) {
  return wkcpu_dev_alloc(c, bytes, out);
}

void wkcpu_host_free_pinned(wk_ctx *c, void *ptr) {
  free(ptr);
}

int wkcpu_host_register(wk_ctx *c, void *ptr, size_t bytes) {
  return 0;
}

int wkcpu_host_unregister(wk_ctx *c, void *ptr) {
  return 0;
}

int wkcpu_copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  memmove(dst, src, n);
  return 0;
}

int wkcpu_copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n) {
  memmove(dst, src, n);
  return 0;
}

int wkcpu_copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  memmove(dst, src, n);
  return 0;
}

int wkcpu_memset(wk_ctx *c, void *dst, int value, size_t n) {
  memset(dst, value, n);
  return 0;
}

int wkcpu_copy_h2d_async(wk_ctx *c, void *dst, const void *src, size_t n) {
  memmove(dst, src, n);
  return 0;
}

int wkcpu_event_create(wk_ctx *c, wk_event **out) {
  wk_event *e = calloc(1, sizeof *e);
  if (!e) return wk__fail(c, WK_ENOMEM, "wkcpu_event_create: out of memory");
  *out = e;
  return 0;
}

void wkcpu_event_destroy(wk_ctx *c, wk_event *e) {
  free(e);
}

/* Work is complete when the call that queued it returns, so recording has
 * nothing to mark and waiting returns at once. */
int wkcpu_event_record_copy(wk_ctx *c, wk_event *e) {
  return 0;
}

int wkcpu_event_record_compute(wk_ctx *c, wk_event *e) {
  return 0;
}

int wkcpu_compute_wait(wk_ctx *c, wk_event *e) {
  return 0;
}

int wkcpu_copy_wait(wk_ctx *c, wk_event *e) {
  return 0;
}

int wkcpu_event_sync(wk_ctx *c, wk_event *e) {
  return 0;
}

int wkcpu_sync(wk_ctx *c) {
  return 0;
}
