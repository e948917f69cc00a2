/*
 * host/log_json.h — one log record as a JSON object on one line (see
 * log.h). Kept apart from log.c so the escaping has its own test.
 */
#ifndef WH_LOG_JSON_H
#define WH_LOG_JSON_H

#include <stddef.h>

#include "log.h"

/* Writes {"time","level","component","job","msg"[, access fields]} into
 * out (NUL-terminated, cut to fit but always a whole object). level is
 * 0..3; job and a may be NULL. */
void wh_log_json_line(char *out, size_t n, const char *time, int level,
                      const char *component, const char *job, const char *msg,
                      const wh_access *a);

#endif /* WH_LOG_JSON_H */
