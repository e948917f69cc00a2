/*
 * host/crash.c — fatal signals and SIGBUS guards (see crash.h).
 */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "warm/fault.h"

/* What the handler reports. The job is the job thread's, read by whichever
 * thread crashes (plain stores: a torn name in a crash line is the worst
 * outcome); the component is per thread: the one the crashing thread was
 * calling. */
static char g_job_id[32], g_job_dir[4096];
static __thread char g_component[128];
static char g_sock[2][108];

static void copy_str(char *dst, size_t n, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < n; i++)
    dst[i] = src[i];
  dst[i] = '\0';
}

void wh_crash_set_sockets(const char *admin, const char *stats) {
  copy_str(g_sock[0], sizeof g_sock[0], admin);
  copy_str(g_sock[1], sizeof g_sock[1], stats);
}

void wh_crash_set_job(const char *id, const char *dir) {
  copy_str(g_job_dir, sizeof g_job_dir, id ? dir : NULL);
  copy_str(g_job_id, sizeof g_job_id, id);
}

void wh_crash_set_component(const char *name) {
  copy_str(g_component, sizeof g_component, name);
}

/* ---- async-signal-safe output ---------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s) {
  for (; s && *s && b->len + 1 < b->cap; s++)
    b->p[b->len++] = *s;
  b->p[b->len] = '\0';
}

/* s as the inside of a JSON string: quotes, backslashes and controls out. */
static void put_json(sbuf *b, const char *s) {
  for (; s && *s && b->len + 2 < b->cap; s++) {
    char c = *s;
    if (c == '"' || c == '\\') b->p[b->len++] = '\\';
    b->p[b->len++] = (unsigned char)c < 0x20 ? '?' : c;
  }
  b->p[b->len] = '\0';
}

static void put_num(sbuf *b, long v) {
  char d[24];
  int i = 0;
  unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
  do {
    d[i++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) put(b, "-");
  while (i) {
    char c[2] = {d[--i], 0};
    put(b, c);
  }
}

static const char *sig_name(int sig) {
  switch (sig) {
  case SIGSEGV:
    return "SIGSEGV";
  case SIGBUS:
    return "SIGBUS";
  case SIGILL:
    return "SIGILL";
  case SIGFPE:
    return "SIGFPE";
  case SIGABRT:
    return "SIGABRT";
  default:
    return "signal";
  }
}

static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

/* What went wrong, in one phrase for the log and the job's status. */
static void describe(sbuf *b, int sig) {
  put(b, "warmd crashed: ");
  put(b, sig_name(sig));
  put(b, " (signal ");
  put_num(b, sig);
  put(b, ")");
  if (g_component[0]) {
    put(b, " in component ");
    put(b, g_component);
  }
}

static void on_fatal(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sig == SIGBUS) warm_fault_jump(si ? si->si_addr : NULL);
  int saved = errno;
  char line[1024], what[512];
  sbuf w = {what, 0, sizeof what};
  describe(&w, sig);
  sbuf b = {line, 0, sizeof line};
  put(&b, "FATAL [crash] ");
  put(&b, what);
  if (g_job_id[0]) {
    put(&b, ", job ");
    put(&b, g_job_id);
    put(&b, " marked failed");
  }
  put(&b, "; exiting\n");
  write_all(2, line, b.len);
  if (g_job_id[0] && g_job_dir[0]) {
    char path[4200], tmp[4200], json[1400];
    sbuf p = {path, 0, sizeof path}, t = {tmp, 0, sizeof tmp};
    put(&p, g_job_dir);
    put(&p, "/status.json");
    put(&t, path);
    put(&t, ".tmp");
    sbuf j = {json, 0, sizeof json};
    put(&j, "{\"id\": \"");
    put_json(&j, g_job_id);
    put(&j, "\", \"state\": \"failed\", \"error\": \"");
    put_json(&j, what);
    put(&j, "\"}\n");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      write_all(fd, json, j.len);
      fsync(fd);
      close(fd);
      rename(tmp, path);
    }
  }
  for (int i = 0; i < 2; i++)
    if (g_sock[i][0]) unlink(g_sock[i]);
  errno = saved;
  /* The default action ends the process with the signal (and a core where
   * enabled): at once here, or when the faulting instruction runs again. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  raise(sig);
}

void wh_crash_install(void) {
  static char altstack[64 * 1024];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK |
                  (sigs[i] == SIGBUS ? SA_NODEFER : SA_RESETHAND);
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* ---- SIGBUS guards -------------------------------------------------------- */

int wh_guarded_call(int (*fn)(void *), void *arg, const char *what,
                    warm_error *err, int *faulted) {
  warm_fault_guard g;
  volatile int rc = 0;
  *faulted = 0;
  warm_fault_push(&g);
  if (sigsetjmp(g.jb, 1) == 0) {
    rc = fn(arg);
  } else {
    char file[256];
    warm_fault_describe(g.addr, file, sizeof file);
    *faulted = 1;
    rc = warm_error_set(err, WARM_EIO,
                        "%s: SIGBUS reading %s (the file was truncated or "
                        "rewritten while mapped)",
                        what, file);
  }
  warm_fault_pop(&g);
  return rc;
}
