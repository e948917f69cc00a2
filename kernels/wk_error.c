/* Error recording shared by the front and both backends. */
#include <stdarg.h>
#include <stdio.h>

#include "wk_internal.h"

int wk__fail(wk_ctx *c, int code, const char *fmt, ...) {
  if (c) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
  }
  return code;
}
