/*
 * host/log.h — warmd's log: one line per message on stderr. Two formats
 * (`log_format`):
 *
 *   text  2026-01-01T12:00:00.123Z LEVEL [where] message
 *   json  {"time":"2026-01-01T12:00:00.123Z","level":"info",
 *          "component":"where","job":null,"msg":"message"}
 *
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's device
 * and inode) each line starts with its syslog priority, "<3>" error, "<4>"
 * warn, "<6>" info, "<7>" debug, which journald strips and stores; text
 * lines then leave the time to journald. Thread-safe; level and format can
 * change at run time (reload).
 */
#ifndef WH_LOG_H
#define WH_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum { WH_LOG_TEXT = 0, WH_LOG_JSON = 1 };

/* Levels are the plugin ABI's WARM_LOG_* values (0 error .. 3 debug). */
void wh_log_set_level(int level);
int wh_log_get_level(void);
void wh_log_set_format(int format);
int wh_log_get_format(void);
/* Re-reads JOURNAL_STREAM against stderr (done once on first use; tests
 * and a process that re-opens stderr call it again). */
void wh_log_detect_journal(void);

void wh_log(int level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wh_logv(int level, const char *where, const char *fmt, va_list ap);
/* The same with the job the message is about (the json "job" field; the
 * text line gets "job ID: " in front). job may be NULL. */
void wh_log_job(int level, const char *where, const char *job, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* One access-log line per HTTP request, at info, component "http". */
typedef struct wh_access {
  const char *method, *path;
  int status;        /* 0: the client went away before the response */
  uint64_t bytes;    /* response body bytes */
  double duration_s; /* first request byte to the last response byte */
  const char *job;   /* the job the request created or named, or NULL */
  const char *key;   /* the API key's name when auth is on, or NULL */
  const char *peer;  /* client address, or NULL */
} wh_access;
void wh_log_access(const wh_access *a);

#define wh_error(...) wh_log(0, "warmd", __VA_ARGS__)
#define wh_warn(...) wh_log(1, "warmd", __VA_ARGS__)
#define wh_info(...) wh_log(2, "warmd", __VA_ARGS__)
#define wh_debug(...) wh_log(3, "warmd", __VA_ARGS__)

#endif /* WH_LOG_H */
