/*
 * host/fdlimit.h — file descriptors as a budget: warmd raises its soft
 * RLIMIT_NOFILE to the hard limit at start, sizes the HTTP connection cap
 * from what is left, and keeps WH_FD_RESERVE descriptors back for the
 * admin and stats sockets, job files, plugin loads and reloads, so an HTTP
 * flood can never lock the operator out.
 */
#ifndef WH_FDLIMIT_H
#define WH_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define WH_FD_RESERVE 64
#define WH_FD_MIN_HTTP 8

/* Raises the soft limit to the hard one (at most 1 << 20) where allowed;
 * returns the soft limit in force afterwards. */
uint64_t wh_fdlimit_raise(void);
/* Descriptors open in this process now (-1 when it cannot tell). */
long wh_fd_count(void);
/* The HTTP connection cap for soft limit `soft` with `open_now` in use:
 * soft - open_now - WH_FD_RESERVE, at least WH_FD_MIN_HTTP. */
size_t wh_fdlimit_http_cap(uint64_t soft, long open_now);

/* Logs a refused connection at most once a second per `last` clock, with
 * the count refused since the previous line. Loop thread. */
void wh_fd_refusal_log(double *last, uint64_t *since, const char *what,
                       const char *why);

#endif /* WH_FDLIMIT_H */
