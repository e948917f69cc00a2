/*
 * host/strbuf.h — a growable string for building replies. On allocation
 * failure it sets `oom` and ignores further writes; the caller checks once.
 */
#ifndef WH_STRBUF_H
#define WH_STRBUF_H

#include <stddef.h>

typedef struct wh_strbuf {
  char *p; /* NUL-terminated when non-NULL */
  size_t len, cap;
  int oom;
} wh_strbuf;

void wh_sb_printf(wh_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wh_sb_put(wh_strbuf *b, const char *s, size_t n);
void wh_sb_free(wh_strbuf *b);

#endif /* WH_STRBUF_H */
