/*
 * host/log.c — leveled logging to stderr (see log.h). Each message is
 * formatted into one buffer and written with a single fputs under stdio's
 * stream lock, so lines from different threads never interleave.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int g_level = 2;

void wh_log_set_level(int level) {
  atomic_store(&g_level, level < 0 ? 0 : level > 3 ? 3 : level);
}

int wh_log_get_level(void) {
  return atomic_load(&g_level);
}

void wh_logv(int level, const char *where, const char *fmt, va_list ap) {
  static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  if (level > atomic_load(&g_level)) return;
  if (level < 0) level = 0;
  if (level > 3) level = 3;
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char line[2048];
  int n = snprintf(
      line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
      tm.tm_sec, ts.tv_nsec / 1000000, names[level], where ? where : "warmd");
  if (n < 0 || (size_t)n >= sizeof line) n = 0;
  vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  /* One message, one line: newlines inside become spaces. */
  for (char *p = line; *p; p++)
    if (*p == '\n') *p = ' ';
  flockfile(stderr);
  fputs(line, stderr);
  fputc('\n', stderr);
  funlockfile(stderr);
}

void wh_log(int level, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wh_logv(level, where, fmt, ap);
  va_end(ap);
}
