/*
 * host/log.h — warmd's log: one line per message on stderr,
 * "2026-01-01T12:00:00.123Z LEVEL [where] message". Thread-safe; the level
 * can change at run time (reload).
 */
#ifndef WH_LOG_H
#define WH_LOG_H

#include <stdarg.h>

/* Levels are the plugin ABI's WARM_LOG_* values (0 error .. 3 debug). */
void wh_log_set_level(int level);
int wh_log_get_level(void);
void wh_log(int level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wh_logv(int level, const char *where, const char *fmt, va_list ap);

#define wh_error(...) wh_log(0, "warmd", __VA_ARGS__)
#define wh_warn(...) wh_log(1, "warmd", __VA_ARGS__)
#define wh_info(...) wh_log(2, "warmd", __VA_ARGS__)
#define wh_debug(...) wh_log(3, "warmd", __VA_ARGS__)

#endif /* WH_LOG_H */
