/*
 * cdp.h — a small Chrome DevTools Protocol client for tests: starts Debian's
 * chromium headless with --remote-debugging-pipe (commands on fd 3, replies
 * and events on fd 4, each message NUL-terminated JSON), opens one page and
 * evaluates JavaScript in it. Events are read and dropped; replies are
 * matched by id. Header-only, for the integration tests.
 */
#ifndef CDP_H
#define CDP_H

#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct cdp {
  pid_t pid;
  int to, from; /* our ends of the browser's fd 3 and fd 4 */
  char *buf;    /* bytes read from `from` not yet consumed */
  size_t len, cap;
  int next_id;
  char session[128];
  char err[512];
} cdp;

static inline double cdp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The browser to run: $CHROMIUM, else chromium on the usual paths. */
static inline const char *cdp_browser(void) {
  const char *env = getenv("CHROMIUM");
  if (env && *env) return access(env, X_OK) == 0 ? env : NULL;
  static const char *paths[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                "/usr/bin/google-chrome"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
    if (access(paths[i], X_OK) == 0) return paths[i];
  return NULL;
}

/* Starts the browser with a fresh profile in `profile_dir`; its output goes
 * to `log`. 0 or -1 (c->err says why). */
static inline int cdp_start(cdp *c, const char *browser, const char *profile_dir,
                            const char *log) {
  memset(c, 0, sizeof *c);
  int in[2], out[2];
  if (pipe(in) || pipe(out)) {
    snprintf(c->err, sizeof c->err, "pipe failed");
    return -1;
  }
  char prof[1100];
  snprintf(prof, sizeof prof, "--user-data-dir=%s", profile_dir);
  c->pid = fork();
  if (c->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    /* fd 3: commands in, fd 4: replies out (move them clear first). */
    int r = fcntl(in[0], F_DUPFD, 10), w = fcntl(out[1], F_DUPFD, 10);
    dup2(r, 3);
    dup2(w, 4);
    for (int i = 5; i < 64; i++) close(i);
    execl(browser, browser, "--headless", "--no-sandbox", "--disable-gpu",
          "--no-first-run", "--no-default-browser-check", "--mute-audio",
          "--disable-extensions", "--disable-background-networking",
          "--disable-component-update", "--disable-sync",
          "--autoplay-policy=no-user-gesture-required",
          "--remote-debugging-pipe", prof, "about:blank", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  c->to = in[1];
  c->from = out[0];
  c->next_id = 1;
  if (c->pid < 0) {
    snprintf(c->err, sizeof c->err, "fork failed");
    return -1;
  }
  return 0;
}

static inline void cdp_stop(cdp *c) {
  if (c->to > 0) close(c->to);
  if (c->from > 0) close(c->from);
  if (c->pid > 0) {
    kill(c->pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(c->pid, NULL, WNOHANG) == 0; i++)
      poll(NULL, 0, 20);
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
  }
  free(c->buf);
  memset(c, 0, sizeof *c);
}

/* The next NUL-terminated message, within the deadline; NULL on timeout or
 * a closed pipe. */
static inline json_t *cdp_read(cdp *c, double deadline) {
  for (;;) {
    char *nul = c->len ? memchr(c->buf, '\0', c->len) : NULL;
    if (nul) {
      size_t n = (size_t)(nul - c->buf);
      json_t *j = json_loadb(c->buf, n, 0, NULL);
      memmove(c->buf, nul + 1, c->len - n - 1);
      c->len -= n + 1;
      return j ? j : json_object();
    }
    double left = deadline - cdp_now();
    if (left <= 0) return NULL;
    struct pollfd p = {c->from, POLLIN, 0};
    if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
    if (c->cap - c->len < 65536) {
      size_t cap = c->cap ? c->cap * 2 : 1 << 20;
      char *nb = realloc(c->buf, cap);
      if (!nb) return NULL;
      c->buf = nb;
      c->cap = cap;
    }
    ssize_t r = read(c->from, c->buf + c->len, c->cap - c->len);
    if (r <= 0) return NULL;
    c->len += (size_t)r;
  }
}

/* Sends one command (params is consumed; NULL for none) and waits for its
 * reply. Returns the reply's "result" (a new reference) or NULL with
 * c->err set. On the page's session unless `browser_level`. */
static inline json_t *cdp_call(cdp *c, int browser_level, const char *method,
                               json_t *params, double timeout_s) {
  int id = c->next_id++;
  json_t *msg = json_pack("{s:i, s:s}", "id", id, "method", method);
  json_object_set_new(msg, "params", params ? params : json_object());
  if (!browser_level && c->session[0])
    json_object_set_new(msg, "sessionId", json_string(c->session));
  char *s = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  size_t n = strlen(s) + 1, off = 0; /* with the NUL */
  while (off < n) {
    ssize_t w = write(c->to, s + off, n - off);
    if (w <= 0) {
      free(s);
      snprintf(c->err, sizeof c->err, "%s: the browser's pipe closed", method);
      return NULL;
    }
    off += (size_t)w;
  }
  free(s);
  double deadline = cdp_now() + timeout_s;
  for (;;) {
    json_t *m = cdp_read(c, deadline);
    if (!m) {
      snprintf(c->err, sizeof c->err, "%s: no reply within %.0f s", method,
               timeout_s);
      return NULL;
    }
    json_t *mid = json_object_get(m, "id");
    if (!mid || json_integer_value(mid) != id) {
      json_decref(m); /* an event, or another reply */
      continue;
    }
    json_t *e = json_object_get(m, "error");
    if (e) {
      snprintf(c->err, sizeof c->err, "%s: %s", method,
               json_string_value(json_object_get(e, "message")));
      json_decref(m);
      return NULL;
    }
    json_t *r = json_incref(json_object_get(m, "result"));
    json_decref(m);
    return r ? r : json_object();
  }
}

/* Opens a page at `url` and attaches to it (flat session). */
static inline int cdp_open(cdp *c, const char *url, int width, int height) {
  json_t *r = cdp_call(c, 1, "Target.createTarget",
                       json_pack("{s:s}", "url", "about:blank"), 30);
  const char *tid = r ? json_string_value(json_object_get(r, "targetId")) : NULL;
  if (!tid) {
    json_decref(r);
    return -1;
  }
  json_t *a = cdp_call(c, 1, "Target.attachToTarget",
                       json_pack("{s:s, s:b}", "targetId", tid, "flatten", 1), 30);
  json_decref(r);
  const char *sid = a ? json_string_value(json_object_get(a, "sessionId")) : NULL;
  if (!sid) {
    json_decref(a);
    return -1;
  }
  snprintf(c->session, sizeof c->session, "%s", sid);
  json_decref(a);
  json_t *x = cdp_call(c, 0, "Emulation.setDeviceMetricsOverride",
                       json_pack("{s:i, s:i, s:f, s:b}", "width", width,
                                 "height", height, "deviceScaleFactor", 1.0,
                                 "mobile", 0),
                       30);
  if (!x) return -1;
  json_decref(x);
  x = cdp_call(c, 0, "Page.navigate", json_pack("{s:s}", "url", url), 30);
  if (!x) return -1;
  json_decref(x);
  return 0;
}

/* Evaluates `js` in the page (awaiting a promise) and returns its value as
 * JSON (a new reference), or NULL with c->err set (exceptions included). */
static inline json_t *cdp_eval(cdp *c, const char *js) {
  json_t *r = cdp_call(c, 0, "Runtime.evaluate",
                       json_pack("{s:s, s:b, s:b}", "expression", js,
                                 "returnByValue", 1, "awaitPromise", 1),
                       30);
  if (!r) return NULL;
  json_t *ex = json_object_get(r, "exceptionDetails");
  if (ex) {
    json_t *d = json_object_get(json_object_get(ex, "exception"), "description");
    snprintf(c->err, sizeof c->err, "exception: %s",
             d ? json_string_value(d)
               : json_string_value(json_object_get(ex, "text")));
    json_decref(r);
    return NULL;
  }
  json_t *v = json_incref(json_object_get(json_object_get(r, "result"), "value"));
  json_decref(r);
  return v ? v : json_null();
}

/* Evaluates a boolean expression until it is true or the time is up. */
static inline int cdp_wait_true(cdp *c, const char *js, double secs) {
  double end = cdp_now() + secs;
  while (cdp_now() < end) {
    json_t *v = cdp_eval(c, js);
    int ok = v && json_is_true(v);
    json_decref(v);
    if (ok) return 1;
    poll(NULL, 0, 50);
  }
  return 0;
}

static inline int cdp_b64val(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Page.captureScreenshot as PNG into `path`. 0 or -1. */
static inline int cdp_screenshot(cdp *c, const char *path) {
  json_t *r = cdp_call(c, 0, "Page.captureScreenshot",
                       json_pack("{s:s}", "format", "png"), 60);
  const char *b64 = r ? json_string_value(json_object_get(r, "data")) : NULL;
  FILE *f = b64 ? fopen(path, "wb") : NULL;
  int rc = f ? 0 : -1;
  unsigned acc = 0;
  int bits = 0;
  for (const char *p = b64; f && *p && *p != '='; p++) {
    int v = cdp_b64val(*p);
    if (v < 0) continue;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      fputc((int)((acc >> bits) & 0xff), f);
    }
  }
  if (f && fclose(f)) rc = -1;
  json_decref(r);
  return rc;
}

#endif /* CDP_H */
