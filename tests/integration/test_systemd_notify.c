/*
 * test_systemd_notify.c — the real warmd under a fake systemd: the test
 * binds the datagram socket NOTIFY_SOCKET names, sets WATCHDOG_USEC, starts
 * warmd and reads what it sends: READY=1 once the admin socket accepts,
 * WATCHDOG=1 pings at about half the interval, RELOADING=1 with
 * MONOTONIC_USEC then READY=1 around a SIGHUP reload, STOPPING=1 on
 * SIGTERM, and exit 0.
 */
#include "wh_testutil.h"

static char dir[512], sock[700], cfg[700], logpath[700], nsock[700];
static int nfd = -1;

/* Reads datagrams until one contains `want` or secs pass; keeps the last
 * matching message in out. Returns 1 when seen. */
static int wait_msg(const char *want, double secs, char *out, size_t n) {
  double end = wt_now() + secs;
  for (;;) {
    int left = (int)((end - wt_now()) * 1000);
    struct pollfd p = {.fd = nfd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) return 0;
    char buf[4096];
    ssize_t r = recv(nfd, buf, sizeof buf - 1, 0);
    if (r <= 0) continue;
    buf[r] = '\0';
    if (strstr(buf, want)) {
      if (out) snprintf(out, n, "%s", buf);
      return 1;
    }
  }
}

static void test_notify_ready_watchdog_reload_stopping(void) {
  char bin[1024], msg[4096];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", cfg, NULL};
  setenv("NOTIFY_SOCKET", nsock, 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  wt_proc proc;
  CHECK(wt_spawn(&proc, logpath, argv) == 0, "spawn");
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  double t0 = wt_now();
  CHECK(wait_msg("READY=1", 30, msg, sizeof msg), "READY=1");
  /* READY comes after the sockets are open: the admin socket accepts. */
  int fd = wt_connect(sock);
  CHECK(fd >= 0, "admin socket accepts once READY=1 is sent");
  if (fd >= 0) close(fd);
  CHECK(strstr(msg, "STATUS="), "a STATUS line rides along: %s", msg);

  double tw = wt_now();
  int pings = 0;
  while (wt_now() - tw < 0.55)
    pings += wait_msg("WATCHDOG=1", 0.6 - (wt_now() - tw), NULL, 0);
  /* 100 ms apart over ~0.55 s: 4-6 pings; a loose lower bound for a busy
   * machine, an upper bound that catches a runaway timer. */
  CHECK(pings >= 2 && pings <= 12, "WATCHDOG=1 pings every ~100 ms: %d", pings);

  kill(proc.pid, SIGHUP);
  CHECK(wait_msg("RELOADING=1", 10, msg, sizeof msg), "RELOADING=1");
  const char *m = strstr(msg, "MONOTONIC_USEC=");
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double now_us = (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
  double sent_us = m ? atof(m + 15) : 0;
  CHECK(m && sent_us <= now_us && now_us - sent_us < 10e6,
        "RELOADING=1 carries MONOTONIC_USEC of now: %s", msg);
  CHECK(wait_msg("READY=1", 10, NULL, 0), "READY=1 after the reload");
  char *rep = wt_cmd(sock, "show info");
  CHECK(rep && strstr(rep, "reloads_ok: 1"), "the reload happened: %s", rep);
  free(rep);

  kill(proc.pid, SIGTERM);
  CHECK(wait_msg("STOPPING=1", 10, NULL, 0), "STOPPING=1");
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");
  fprintf(stderr, "  ready after %.2f s, %d pings in 0.55 s\n", tw - t0, pings);
  if (wt_failures) wt_dump_log(&proc);
}

/* Outside systemd (no NOTIFY_SOCKET) nothing is sent and nothing fails. */
static void test_no_notify_socket_runs_plainly(void) {
  char bin[1024];
  snprintf(bin, sizeof bin, "%s/bin/warmd", WARM_BUILD_DIR);
  char *argv[] = {bin, "-c", cfg, NULL};
  wt_proc proc;
  CHECK(wt_spawn(&proc, logpath, argv) == 0 &&
            wt_wait_socket(&proc, sock, 30) == 0,
        "starts");
  CHECK(!wait_msg("READY=1", 0.3, NULL, 0), "nothing on the socket");
  kill(proc.pid, SIGTERM);
  CHECK(wt_wait_exit(&proc, 20) == 0, "exit 0");
}

int main(void) {
  char so[1024];
  snprintf(so, sizeof so, "%s/plugins/hello_encoder.so", WARM_BUILD_DIR);
  if (access(so, R_OK)) {
    printf("SKIP: %s is not built\n", so);
    return 77;
  }
  wt_tempdir(dir, sizeof dir, "notify");
  snprintf(sock, sizeof sock, "%s/admin.sock", dir);
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", dir);
  snprintf(logpath, sizeof logpath, "%s/warmd.log", dir);
  snprintf(nsock, sizeof nsock, "%s/notify.sock", dir);
  wt_write(cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s\n"
           "[component enc]\nplugin = hello_encoder\ndim = 8\n",
           WARM_BUILD_DIR, sock);
  struct sockaddr_un sa;
  nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (nfd < 0 || wt_sockaddr(&sa, nsock) ||
      bind(nfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("notify socket");
    return 1;
  }
  RUN(test_notify_ready_watchdog_reload_stopping);
  RUN(test_no_notify_socket_runs_plainly);
  close(nfd);
  wt_rmtree(dir);
  return wt_failures ? 1 : 0;
}
