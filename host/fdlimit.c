/*
 * host/fdlimit.c — RLIMIT_NOFILE and the descriptor reserve (see
 * fdlimit.h).
 */
#include "fdlimit.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

#include "log.h"

uint64_t wh_fdlimit_raise(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY || want > (1u << 20)) want = 1u << 20;
  if (rl.rlim_cur < want) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      wh_info("RLIMIT_NOFILE soft limit raised from %llu to %llu",
              (unsigned long long)was, (unsigned long long)want);
    else
      rl.rlim_cur = was;
  }
  return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : (uint64_t)rl.rlim_cur;
}

long wh_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

size_t wh_fdlimit_http_cap(uint64_t soft, long open_now) {
  if (open_now < 0) open_now = 32;
  uint64_t used = (uint64_t)open_now + WH_FD_RESERVE;
  return soft > used + WH_FD_MIN_HTTP ? (size_t)(soft - used) : WH_FD_MIN_HTTP;
}

void wh_fd_refusal_log(double *last, uint64_t *since, const char *what,
                       const char *why) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double now = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
  ++*since;
  if (now - *last < 1.0) return;
  wh_warn("%s: %llu connection%s refused: %s", what,
          (unsigned long long)*since, *since == 1 ? "" : "s", why);
  *last = now;
  *since = 0;
}
