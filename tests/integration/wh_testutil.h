/*
 * wh_testutil.h — helpers for the host's tests: checks that count failures,
 * temp folders, writing files, and (integration) starting warmd and talking
 * to its socket with deadlines instead of sleeps.
 */
#ifndef WH_TESTUTIL_H
#define WH_TESTUTIL_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wt_failures;

static inline double wt_now(void);

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      wt_failures++;                                                           \
    }                                                                          \
  } while (0)

#define RUN(test)                                                              \
  do {                                                                         \
    int before_ = wt_failures;                                                 \
    double t0_ = wt_now();                                                     \
    test();                                                                    \
    fprintf(stderr, "%s %s (%.2f s)\n",                                        \
            wt_failures == before_ ? "ok  " : "FAIL", #test, wt_now() - t0_);  \
  } while (0)

static inline double wt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fresh folder under TMPDIR (or /tmp); the caller removes it. */
static inline void wt_tempdir(char *out, size_t n, const char *tag) {
  const char *base = getenv("TMPDIR");
  snprintf(out, n, "%s/wh-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  if (!mkdtemp(out)) {
    perror("mkdtemp");
    exit(1);
  }
}

/* A whole file as a NUL-terminated string (malloc'd), or NULL. */
static inline char *wt_read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = '\0';
  fclose(f);
  return s;
}

static inline void wt_rmtree(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static inline void wt_write(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void wt_write(const char *path, const char *fmt, ...) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
  rename(tmp, path); /* whole file at once: a reload never sees half */
}

/* Fills a UNIX address; -1 when the path does not fit. */
static inline int wt_sockaddr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n >= sizeof sa->sun_path) return -1;
  memcpy(sa->sun_path, path, n + 1);
  return 0;
}

/* Connects to a UNIX socket; -1 when nobody listens. */
static inline int wt_connect(const char *path) {
  struct sockaddr_un sa;
  if (wt_sockaddr(&sa, path)) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Sends "cmd\n" on fd and reads one reply (up to the empty line) into a
 * malloc'd string without the final empty line. NULL on timeout/EOF. */
static inline char *wt_cmd_fd(int fd, const char *cmd, double timeout_s) {
  char line[4300];
  int n = snprintf(line, sizeof line, "%s\n", cmd);
  if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) return NULL;
  size_t len = 0, cap = 4096;
  char *buf = malloc(cap);
  double end = wt_now() + timeout_s;
  for (;;) {
    if (len >= 1 && buf[0] == '\n') {
      buf[0] = '\0';
      return buf;
    }
    if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n') {
      buf[len - 1] = '\0';
      return buf;
    }
    int left = (int)((end - wt_now()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) break;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
    /* One byte at a time would be slow; read what is there, the protocol
     * has one reply in flight per connection here. */
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r <= 0) break;
    len += (size_t)r;
  }
  free(buf);
  return NULL;
}

/* One command on a fresh connection. */
static inline char *wt_cmd(const char *sock, const char *cmd) {
  int fd = wt_connect(sock);
  if (fd < 0) return NULL;
  char *r = wt_cmd_fd(fd, cmd, 20);
  close(fd);
  return r;
}

typedef struct wt_proc {
  pid_t pid;
  char log[1024];
} wt_proc;

/* Starts `bin args...` with stderr to log; returns 0 or -1. */
static inline int wt_spawn(wt_proc *p, const char *log, char *const argv[]) {
  snprintf(p->log, sizeof p->log, "%s", log);
  p->pid = fork();
  if (p->pid < 0) return -1;
  if (p->pid == 0) {
    FILE *f = freopen(log, "w", stderr);
    (void)f;
    execv(argv[0], argv);
    _exit(127);
  }
  return 0;
}

/* Waits until `sock` accepts a connection or the process died. */
static inline int wt_wait_socket(wt_proc *p, const char *sock, double secs) {
  double end = wt_now() + secs;
  while (wt_now() < end) {
    int fd = wt_connect(sock);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    int st;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
      p->pid = -1;
      return -1;
    }
    poll(NULL, 0, 10); /* polling interval, not the thing under test */
  }
  return -1;
}

/* Waits for exit; returns the exit status, or -1 (timeout, killed). */
static inline int wt_wait_exit(wt_proc *p, double secs) {
  double end = wt_now() + secs;
  while (wt_now() < end) {
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
      p->pid = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    poll(NULL, 0, 10);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  p->pid = -1;
  return -1;
}

static inline void wt_dump_log(const wt_proc *p) {
  FILE *f = fopen(p->log, "r");
  if (!f) return;
  char line[1024];
  fprintf(stderr, "---- %s ----\n", p->log);
  while (fgets(line, sizeof line, f))
    fputs(line, stderr);
  fclose(f);
}

/* Runs a command line, capturing stdout+stderr into out; returns exit
 * status (or -1). */
static inline int wt_run(const char *cmdline, char *out, size_t n) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "%s 2>&1", cmdline);
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  size_t len = fread(out, 1, n - 1, f);
  out[len] = '\0';
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif /* WH_TESTUTIL_H */
