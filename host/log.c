/*
 * host/log.c — leveled logging to stderr (see log.h). Each message is
 * formatted into one buffer and written with a single fputs under stdio's
 * stream lock, so lines from different threads never interleave. The json
 * line writer is log_json.c.
 */
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log_json.h"

static atomic_int g_level = 2;
static atomic_int g_format = WH_LOG_TEXT;
static atomic_int g_journal = 0;
static pthread_once_t g_journal_once = PTHREAD_ONCE_INIT;

/* syslog priorities of error, warn, info, debug. */
static const int prio[] = {3, 4, 6, 7};
static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void wh_log_set_level(int level) {
  atomic_store(&g_level, level < 0 ? 0 : level > 3 ? 3 : level);
}

int wh_log_get_level(void) {
  return atomic_load(&g_level);
}

void wh_log_set_format(int format) {
  atomic_store(&g_format, format == WH_LOG_JSON ? WH_LOG_JSON : WH_LOG_TEXT);
}

int wh_log_get_format(void) {
  return atomic_load(&g_format);
}

void wh_log_detect_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  int on = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
           fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
  atomic_store(&g_journal, on);
}

static void detect_once(void) {
  wh_log_detect_journal();
}

/* "2026-01-01T12:00:00.123Z" into out (at least 32 bytes). */
static void now_iso(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%.24s.%03dZ", day, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void emit(const char *line) {
  flockfile(stderr);
  fputs(line, stderr);
  fputc('\n', stderr);
  funlockfile(stderr);
}

/* Formats and writes one line; extra is the access record or NULL. */
static void log_line(int level, const char *where, const char *job,
                     const wh_access *extra, const char *fmt, va_list ap) {
  if (level > atomic_load(&g_level)) return;
  if (level < 0) level = 0;
  if (level > 3) level = 3;
  pthread_once(&g_journal_once, detect_once);
  int journal = atomic_load(&g_journal);
  char msg[2048], ts[40], line[4096];
  vsnprintf(msg, sizeof msg, fmt, ap);
  /* One message, one line: newlines inside become spaces. */
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  now_iso(ts, sizeof ts);
  where = where ? where : "warmd";
  size_t n = 0;
  if (journal) n = (size_t)snprintf(line, sizeof line, "<%d>", prio[level]);
  if (atomic_load(&g_format) == WH_LOG_JSON) {
    wh_log_json_line(line + n, sizeof line - n, ts, level, where, job, msg,
                     extra);
  } else {
    snprintf(line + n, sizeof line - n, "%s%s%-5s [%s] %s%s%s",
             journal ? "" : ts, journal ? "" : " ", names[level], where,
             job ? "job " : "", job ? job : "", job ? ": " : "");
    size_t k = strlen(line);
    snprintf(line + k, sizeof line - k, "%s", msg);
  }
  emit(line);
}

void wh_logv(int level, const char *where, const char *fmt, va_list ap) {
  log_line(level, where, NULL, NULL, fmt, ap);
}

void wh_log(int level, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line(level, where, NULL, NULL, fmt, ap);
  va_end(ap);
}

void wh_log_job(int level, const char *where, const char *job, const char *fmt,
                ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line(level, where, job, NULL, fmt, ap);
  va_end(ap);
}

static void access_line(const wh_access *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line(2, "http", a->job, a, fmt, ap);
  va_end(ap);
}

void wh_log_access(const wh_access *a) {
  access_line(a, "%s %s %d %llu B %.2f ms%s%s%s%s", a->method, a->path,
              a->status, (unsigned long long)a->bytes, a->duration_s * 1e3,
              a->peer ? " from " : "", a->peer ? a->peer : "",
              a->key ? " key " : "", a->key ? a->key : "");
}
