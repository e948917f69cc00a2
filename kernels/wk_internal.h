/*
 * wk_internal.h — what the op front (wk.c) and the two backends share.
 *
 * Every public op wk_X in wk.h has a twin in each backend with the identical
 * signature: wkcpu_X (cpu/) and wkcu_X (cuda/). wk.c checks arguments that
 * are backend-independent and dispatches on c->backend. The cuda twins exist
 * only when WK_HAVE_CUDA is defined (the toolkit was found at build time).
 */
#ifndef WK_INTERNAL_H
#define WK_INTERNAL_H

#include "wk.h"

#define WK_ERR_MAX 256

struct wk_ctx {
  wk_backend backend;
  int device;          /* cuda ordinal */
  int threads;         /* cpu worker threads */
  void *ws;            /* caller-provided workspace */
  size_t ws_bytes;
  char err[WK_ERR_MAX];
  void *cpu;           /* cpu backend state (thread pool), owned by cpu/ */
  void *cu;            /* cuda backend state (streams, handles), owned by cuda/ */
};

/* Records a message in c->err and returns code. */
int wk__fail(wk_ctx *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Backend lifecycle: fill c->cpu / c->cu; fini frees them. */
int wkcpu_ctx_init(wk_ctx *c);
void wkcpu_ctx_fini(wk_ctx *c);
#ifdef WK_HAVE_CUDA
int wkcu_device_count(void);
int wkcu_ctx_init(wk_ctx *c);
void wkcu_ctx_fini(wk_ctx *c);
#endif

#endif /* WK_INTERNAL_H */
