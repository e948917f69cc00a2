/*
 * host/crash.h — warmd's fatal-signal handler and SIGBUS recovery.
 *
 * SIGBUS on a thread inside a warm_fault guard (a read of mapped weights)
 * returns to the guard: the read fails, the component is marked failed and
 * warmd keeps serving. Any other SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT
 * is a crash: the handler writes one line naming the signal, the component
 * being called and the job running, marks that job failed in its
 * status.json, removes the socket files and re-raises the signal, so warmd
 * exits non-zero and a supervisor restarts it. The handler only makes
 * async-signal-safe calls.
 */
#ifndef WH_CRASH_H
#define WH_CRASH_H

#include "warm/warm.h"

/* Installs the handlers (with an alternate stack for the main thread). */
void wh_crash_install(void);
/* Socket files to remove on a crash (copied; NULL for none). */
void wh_crash_set_sockets(const char *admin, const char *stats);
/* What runs now, for the crash line: the job (id and folder; NULL when
 * none) and the component being called (NULL after the call). */
void wh_crash_set_job(const char *id, const char *dir);
void wh_crash_set_component(const char *name);

/* Runs fn(arg) under a SIGBUS guard. On a fault returns WARM_EIO with
 * "<what>: SIGBUS reading FILE ..." in err and sets *faulted. */
int wh_guarded_call(int (*fn)(void *), void *arg, const char *what,
                    warm_error *err, int *faulted);

#endif /* WH_CRASH_H */
