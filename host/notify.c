/*
 * host/notify.c — sd_notify messages and the watchdog timer (see notify.h).
 */
#include "notify.h"

#include <stdint.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

static uv_timer_t g_watchdog;
static int g_watchdog_on;

/* sd_notify's return: <0 error, 0 no NOTIFY_SOCKET, >0 sent. Only a failed
 * send is worth a line: systemd would then kill or time out the unit. */
static void send_state(const char *what, int rc) {
  if (rc < 0) wh_warn("sd_notify %s: error %d", what, -rc);
}

void wh_notify_ready(const char *status) {
  send_state("READY",
             sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "serving"));
}

void wh_notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  send_state("RELOADING",
             sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
                        (unsigned long long)usec));
}

void wh_notify_stopping(void) {
  send_state("STOPPING", sd_notify(0, "STOPPING=1\nSTATUS=stopping"));
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  send_state("WATCHDOG", sd_notify(0, "WATCHDOG=1"));
}

int wh_notify_watchdog_start(uv_loop_t *loop) {
  uint64_t usec = 0;
  int rc = sd_watchdog_enabled(0, &usec);
  if (rc < 0) {
    wh_warn("WATCHDOG_USEC is malformed (error %d): no watchdog pings", -rc);
    return 0;
  }
  if (rc == 0 || usec == 0 || g_watchdog_on) return 0;
  uint64_t every_ms = usec / 2000u;
  if (every_ms == 0) every_ms = 1;
  if ((rc = uv_timer_init(loop, &g_watchdog)) != 0) return rc;
  g_watchdog_on = 1;
  on_watchdog(&g_watchdog); /* the first ping at once */
  uv_timer_start(&g_watchdog, on_watchdog, every_ms, every_ms);
  wh_info("systemd watchdog: pinging every %llu ms",
          (unsigned long long)every_ms);
  return 0;
}

void wh_notify_watchdog_stop(void) {
  if (!g_watchdog_on) return;
  g_watchdog_on = 0;
  uv_timer_stop(&g_watchdog);
  uv_close((uv_handle_t *)&g_watchdog, NULL);
}
