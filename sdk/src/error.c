/* Error reporting: filling warm_error and naming codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "warm/warm.h"

/* Formats into a local buffer first so a caller may pass err->msg itself as
 * an argument (prefixing an inner message with a path is the common case). */
int warm_error_set(warm_error *err, int code, const char *fmt, ...) {
  if (!err) return code;
  char buf[WARM_ERROR_MAX] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
  }
  err->code = code;
  memcpy(err->msg, buf, sizeof buf);
  return code;
}

void warm_error_clear(warm_error *err) {
  if (!err) return;
  err->code = WARM_OK;
  err->msg[0] = '\0';
}

const char *warm_strerror(int code) {
  switch (code) {
  case WARM_OK:
    return "OK";
  case WARM_EINVAL:
    return "EINVAL";
  case WARM_ENOSPACE:
    return "ENOSPACE";
  case WARM_ENOMEM:
    return "ENOMEM";
  case WARM_EIO:
    return "EIO";
  case WARM_EFORMAT:
    return "EFORMAT";
  case WARM_EUNSUPPORTED:
    return "EUNSUPPORTED";
  case WARM_ECANCELED:
    return "ECANCELED";
  case WARM_EDEVICE:
    return "EDEVICE";
  case WARM_EABI:
    return "EABI";
  case WARM_EINTERNAL:
    return "EINTERNAL";
  default:
    return "EUNKNOWN";
  }
}
