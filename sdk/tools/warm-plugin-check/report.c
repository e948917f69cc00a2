/*
 * report.c — warm-plugin-check's result lines and counters, and the
 * isolation that runs each check in a child process.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chk.h"

static int n_pass, n_fail, n_skip;
static int g_bad_free, g_bad_progress; /* misuse of services, all checks */

/* A FAIL line ends with what the plugin's last failed call returned (its
 * actual code, which the message alone may not show). */
void chk_report(const char *status, const char *name, const char *fmt, ...) {
  printf("%s %s: ", status, name);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  char rc[192];
  if (!strcmp(status, "FAIL") && *chk_last_rc_text(rc, sizeof rc))
    printf(" (%s)", rc);
  putchar('\n');
  fflush(stdout);
  if (!strcmp(status, "PASS"))
    n_pass++;
  else if (!strcmp(status, "FAIL"))
    n_fail++;
  else
    n_skip++;
}

/* Each check runs in a child process, so a plugin that crashes or aborts
 * costs one FAIL line, not the whole report. The child sends its counters
 * back through a pipe. Returns 1 in the process that must run the check
 * (the child, or this one with --no-fork), 0 in the parent once done. */
static int iso_fd = -1;

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads the child's counters, waiting at most timeout_s. Returns the bytes
 * read, or -2 on timeout. */
static ssize_t read_counts(int fd, int *counts, size_t n, double timeout_s) {
  size_t got = 0;
  double end = mono_now() + timeout_s;
  while (got < n) {
    int left = (int)((end - mono_now()) * 1000);
    if (left <= 0) return -2;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -2;
    ssize_t k = read(fd, (char *)counts + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break; /* the child is gone */
    got += (size_t)k;
  }
  return (ssize_t)got;
}

int chk_isolate_begin(const chk_opts *o, const char *name) {
  chk_where_reset();
  if (o->no_fork) return 1;
  int fds[2];
  fflush(NULL);
  if (pipe(fds) != 0)
    return 1; /* no pipe: run in-process rather than not at all */
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return 1;
  }
  if (pid == 0) { /* counts from zero: the parent adds what we send */
    close(fds[0]);
    iso_fd = fds[1];
    n_pass = n_fail = n_skip = g_bad_free = g_bad_progress = 0;
    struct rlimit no_core = {0, 0}; /* a crashing plugin leaves no core */
    setrlimit(RLIMIT_CORE, &no_core);
    return 1;
  }
  close(fds[1]);
  int counts[5] = {0}, st = 0;
  ssize_t got = read_counts(fds[0], counts, sizeof counts, o->timeout_s);
  close(fds[0]);
  char where[192];
  chk_where_text(where, sizeof where);
  if (got == -2) { /* a plugin that never returns */
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
    chk_report("FAIL", name, "timed out after %g s%s%s: killed (--timeout)",
               o->timeout_s, *where ? " " : "", where);
    return 0;
  }
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (got == (ssize_t)sizeof counts) {
    n_pass += counts[0];
    n_fail += counts[1];
    n_skip += counts[2];
    g_bad_free += counts[3];
    g_bad_progress += counts[4];
  }
  if (WIFSIGNALED(st))
    chk_report("FAIL", name, "the plugin crashed: signal %d (%s)%s%s",
               WTERMSIG(st), strsignal(WTERMSIG(st)), *where ? " " : "", where);
  else if (got != (ssize_t)sizeof counts)
    chk_report("FAIL", name,
               "the plugin ended the process (exit status %d)%s%s",
               WIFEXITED(st) ? WEXITSTATUS(st) : -1, *where ? " " : "", where);
  return 0;
}

/* In the child: hand the counters to the parent and leave. */
void chk_isolate_end(void) {
  if (iso_fd < 0) return;
  int counts[5] = {n_pass, n_fail, n_skip, g_bad_free, g_bad_progress};
  fflush(NULL);
  ssize_t w = write(iso_fd, counts, sizeof counts);
  _exit(w == (ssize_t)sizeof counts ? 0 : 1);
}

/* Gathers service misuse, then destroys. */
void chk_finish(chk_inst *ci) {
  g_bad_free += ci->host.bad_free;
  g_bad_progress += ci->host.bad_progress;
  chk_destroy(ci);
}

int chk_summary(void) {
  if (g_bad_free || g_bad_progress)
    chk_report("FAIL", "services",
               "%d free(s) of pointers the services never handed out, %d "
               "progress value(s) outside [0, 1]",
               g_bad_free, g_bad_progress);
  else
    chk_report("PASS", "services", "frees and progress values well-formed");

  printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
  return n_fail ? 1 : 0;
}
