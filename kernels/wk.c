/*
 * wk.c — the front of the op library, part 1: backends, contexts, memory,
 * copies and events. Argument checks that do not depend on the backend live
 * here; the backend twins (wkcpu_X / wkcu_X, see wk_internal.h) do the work.
 * The ops themselves are dispatched from wk_ops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_internal.h"

/* Message of the last failed wk_ctx_create on this thread (there is no
 * context yet to hold it); wk_last_error(NULL) returns it. */
static _Thread_local char create_err[WK_ERR_MAX];

static int create_fail(int code, const char *msg) {
  snprintf(create_err, sizeof create_err, "%s", msg);
  return code;
}

int wk_backend_available(wk_backend b) {
  if (b == WK_BACKEND_CPU) return 1;
  if (b == WK_BACKEND_CUDA) return wk_cuda_device_count() > 0;
  return 0;
}

int wk_cuda_device_count(void) {
  const wk__cuda_table *t = wk__cuda(NULL);
  int n = t ? t->device_count() : 0;
  return n > 0 ? n : 0;
}

/* The context is heap-allocated and owned by the caller until
 * wk_ctx_destroy. On failure *out is NULL and wk_last_error(NULL) says why. */
int wk_ctx_create(wk_backend b, int device_index, int threads, wk_ctx **out) {
  if (!out) return create_fail(WK_EINVAL, "wk_ctx_create: out is NULL");
  *out = NULL;
  if (threads < 0)
    return create_fail(WK_EINVAL, "wk_ctx_create: threads must be >= 0");
  if (b != WK_BACKEND_CPU && b != WK_BACKEND_CUDA)
    return create_fail(WK_EINVAL, "wk_ctx_create: unknown backend");
  const char *why = NULL;
  if (b == WK_BACKEND_CUDA && !wk__cuda(&why)) {
    char msg[WK_ERR_MAX];
    snprintf(msg, sizeof msg, "wk_ctx_create: no CUDA backend: %s", why);
    return create_fail(WK_EUNSUPPORTED, msg);
  }
  if (b == WK_BACKEND_CUDA) {
    int n = wk_cuda_device_count();
    if (device_index < 0 || device_index >= n) {
      char msg[WK_ERR_MAX];
      snprintf(msg, sizeof msg,
               "wk_ctx_create: cuda:%d does not exist (%d device%s)",
               device_index, n, n == 1 ? "" : "s");
      return create_fail(n == 0 ? WK_EUNSUPPORTED : WK_EINVAL, msg);
    }
  } else if (device_index != 0) {
    return create_fail(WK_EINVAL, "wk_ctx_create: cpu device index must be 0");
  }
  wk_ctx *c = calloc(1, sizeof *c);
  if (!c) return create_fail(WK_ENOMEM, "wk_ctx_create: out of memory");
  c->backend = b;
  c->device = device_index;
  c->threads = threads;
  int rc = b == WK_BACKEND_CUDA ? wk__cuda(NULL)->ctx_init(c) : wkcpu_ctx_init(c);
  if (rc != 0) {
    create_fail(rc, c->err[0] ? c->err : "wk_ctx_create: backend init failed");
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int wk_ctx_create_sizing(wk_backend b, int threads, wk_ctx **out) {
  if (!out) return create_fail(WK_EINVAL, "wk_ctx_create_sizing: out is NULL");
  *out = NULL;
  if (b != WK_BACKEND_CUDA) return wk_ctx_create(b, 0, threads, out);
  const char *why = NULL;
  if (!wk__cuda(&why)) {
    char msg[WK_ERR_MAX];
    snprintf(msg, sizeof msg, "wk_ctx_create_sizing: no CUDA backend: %s", why);
    return create_fail(WK_EUNSUPPORTED, msg);
  }
  wk_ctx *c = calloc(1, sizeof *c);
  if (!c) return create_fail(WK_ENOMEM, "wk_ctx_create_sizing: out of memory");
  c->backend = b;
  c->sizing = 1;
  *out = c;
  return 0;
}

/* Frees the backend state; the caller must have synced and freed its own
 * device buffers and events first. NULL is a no-op. */
void wk_ctx_destroy(wk_ctx *c) {
  if (!c) return;
  wkcpu__packs_free(c);
  if (c->backend == WK_BACKEND_CUDA)
    wk__cuda(NULL)->ctx_fini(c);
  else
    wkcpu_ctx_fini(c);
  free(c);
}

wk_backend wk_ctx_backend(const wk_ctx *c) {
  return c ? c->backend : WK_BACKEND_CPU;
}

const char *wk_last_error(const wk_ctx *c) {
  return c ? c->err : create_err;
}

int wk_set_pack_arena(wk_ctx *c, void *arena, size_t bytes) {
  if (!c || (!arena && bytes))
    return c ? wk__fail(c, WK_EINVAL, "wk_set_pack_arena: bytes, no arena")
             : WK_EINVAL;
  wkcpu__packs_free(c);
  c->pack = arena;
  c->pack_bytes = arena ? bytes : 0;
  c->pack_used = 0;
  return 0;
}

int wk_set_bf16_activations(wk_ctx *c, int on) {
  if (!c) return WK_EINVAL;
  c->bf16_act = on != 0;
  return 0;
}

void wk_set_workspace(wk_ctx *c, void *ptr, size_t bytes) {
  if (!c) return;
  c->ws = ptr;
  c->ws_bytes = ptr ? bytes : 0;
}

/* ---- memory -------------------------------------------------------------- */

int wk_dev_alloc(wk_ctx *c, size_t bytes, void **out) {
  if (!c || !out) return wk__fail(c, WK_EINVAL, "wk_dev_alloc: NULL argument");
  *out = NULL;
  if (bytes == 0) return 0;
  return WK__CALL(c, dev_alloc, c, bytes, out);
}

int wk_dev_mem_info(wk_ctx *c, size_t *free_bytes, size_t *total_bytes) {
  if (!c || !free_bytes || !total_bytes)
    return wk__fail(c, WK_EINVAL, "wk_dev_mem_info: NULL argument");
  return WK__CALL(c, dev_mem_info, c, free_bytes, total_bytes);
}

void wk_dev_free(wk_ctx *c, void *ptr) {
  if (!c || !ptr) return;
  WK__CALL(c, dev_free, c, ptr);
}

int wk_host_alloc_pinned(wk_ctx *c, size_t bytes, void **out) {
  if (!c || !out)
    return wk__fail(c, WK_EINVAL, "wk_host_alloc_pinned: NULL argument");
  *out = NULL;
  if (bytes == 0) return 0;
  return WK__CALL(c, host_alloc_pinned, c, bytes, out);
}

void wk_host_free_pinned(wk_ctx *c, void *ptr) {
  if (!c || !ptr) return;
  WK__CALL(c, host_free_pinned, c, ptr);
}

int wk_host_register(wk_ctx *c, void *ptr, size_t bytes) {
  if (!c || !ptr || bytes == 0)
    return wk__fail(c, WK_EINVAL, "wk_host_register: NULL or empty range");
  return WK__CALL(c, host_register, c, ptr, bytes);
}

int wk_host_unregister(wk_ctx *c, void *ptr) {
  if (!c || !ptr)
    return wk__fail(c, WK_EINVAL, "wk_host_unregister: NULL argument");
  return WK__CALL(c, host_unregister, c, ptr);
}

/* ---- copies -------------------------------------------------------------- */

static int copy_args(wk_ctx *c, const char *op, const void *dst,
                     const void *src, size_t n) {
  if (!c) return WK_EINVAL;
  if (n > 0 && (!dst || !src))
    return wk__fail(c, WK_EINVAL, "%s: NULL buffer for %zu bytes", op, n);
  return 0;
}

int wk_copy_h2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  int rc = copy_args(c, "wk_copy_h2d", dst, src, n);
  if (rc || n == 0) return rc;
  return WK__CALL(c, copy_h2d, c, dst, src, n);
}

int wk_copy_d2h(wk_ctx *c, void *dst, const void *src, size_t n) {
  int rc = copy_args(c, "wk_copy_d2h", dst, src, n);
  if (rc || n == 0) return rc;
  return WK__CALL(c, copy_d2h, c, dst, src, n);
}

int wk_copy_d2d(wk_ctx *c, void *dst, const void *src, size_t n) {
  int rc = copy_args(c, "wk_copy_d2d", dst, src, n);
  if (rc || n == 0) return rc;
  return WK__CALL(c, copy_d2d, c, dst, src, n);
}

int wk_memset(wk_ctx *c, void *dst, int value, size_t n) {
  if (!c) return WK_EINVAL;
  if (n == 0) return 0;
  if (!dst) return wk__fail(c, WK_EINVAL, "wk_memset: NULL buffer");
  return WK__CALL(c, memset, c, dst, value, n);
}

int wk_copy_h2d_async(wk_ctx *c, void *dst, const void *src, size_t n) {
  int rc = copy_args(c, "wk_copy_h2d_async", dst, src, n);
  if (rc || n == 0) return rc;
  return WK__CALL(c, copy_h2d_async, c, dst, src, n);
}

/* ---- events -------------------------------------------------------------- */

int wk_event_create(wk_ctx *c, wk_event **out) {
  if (!c || !out)
    return wk__fail(c, WK_EINVAL, "wk_event_create: NULL argument");
  *out = NULL;
  return WK__CALL(c, event_create, c, out);
}

void wk_event_destroy(wk_ctx *c, wk_event *e) {
  if (!c || !e) return;
  WK__CALL(c, event_destroy, c, e);
}

#define WK__EVENT_OP(name)                                                     \
  int wk_##name(wk_ctx *c, wk_event *e) {                                      \
    if (!c || !e)                                                              \
      return wk__fail(c, WK_EINVAL, "wk_" #name ": NULL argument");            \
    return WK__CALL(c, name, c, e);                                            \
  }
WK__EVENT_OP(event_record_copy)
WK__EVENT_OP(event_record_compute)
WK__EVENT_OP(compute_wait)
WK__EVENT_OP(copy_wait)
WK__EVENT_OP(event_sync)

int wk_sync(wk_ctx *c) {
  if (!c) return WK_EINVAL;
  return WK__CALL(c, sync, c);
}
