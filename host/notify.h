/*
 * host/notify.h — warmd's side of systemd's service protocol (Type=notify),
 * through libsystemd's sd_notify: READY=1 once the sockets accept,
 * RELOADING=1 (with MONOTONIC_USEC) when a reload starts and READY=1 when it
 * ends, STOPPING=1 when a graceful stop begins, and WATCHDOG=1 pings from the
 * loop while systemd asks for them (WatchdogSec= sets WATCHDOG_USEC).
 *
 * Without NOTIFY_SOCKET in the environment every call does nothing, so
 * warmd runs the same outside systemd. Threads: the loop thread only.
 */
#ifndef WH_NOTIFY_H
#define WH_NOTIFY_H

#include <uv.h>

/* STATUS= text shown by `systemctl status` rides along with each state. */
void wh_notify_ready(const char *status);
void wh_notify_reloading(void);
void wh_notify_stopping(void);

/* Starts pinging WATCHDOG=1 every half of WATCHDOG_USEC from a timer on
 * loop, when systemd asked for a watchdog; a loop that stops turning stops
 * the pings, so systemd restarts a hung warmd. Returns 0 (also when no
 * watchdog is wanted) or a negative code. */
int wh_notify_watchdog_start(uv_loop_t *loop);
/* Closes the timer (the loop must run once more to finish the close). */
void wh_notify_watchdog_stop(void);

#endif /* WH_NOTIFY_H */
