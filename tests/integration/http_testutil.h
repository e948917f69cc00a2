/*
 * http_testutil.h — a blocking HTTP/1.1 client for the HTTP tests: one
 * request on a (possibly kept-alive) TCP connection, with deadlines instead
 * of sleeps, parsing the status, a few headers and a Content-Length body.
 */
#ifndef HTTP_TESTUTIL_H
#define HTTP_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct ht_resp {
  int status; /* 0: no response (timeout / closed) */
  char *body; /* malloc'd, NUL-terminated */
  size_t body_len;
  char retry_after[32];
  char content_type[96];
  int closes; /* "Connection: close" */
} ht_resp;

static inline double ht_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int ht_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static inline int ht_send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static inline void ht_free(ht_resp *r) {
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* Reads one response from fd within timeout_s. */
static inline int ht_read(int fd, ht_resp *r, double timeout_s) {
  memset(r, 0, sizeof *r);
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  double end = ht_now() + timeout_s;
  size_t head_end = 0, need = (size_t)-1;
  for (;;) {
    if (!head_end) {
      char *e = len >= 4 ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
      if (e) {
        head_end = (size_t)(e - buf) + 4;
        buf[head_end - 2] = '\0';
        if (sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) r->status = -1;
        /* A 100 Continue is not the response: drop it and go on. */
        if (r->status == 100) {
          memmove(buf, buf + head_end, len - head_end);
          len -= head_end;
          head_end = 0;
          continue;
        }
        long cl = 0;
        for (char *line = strstr(buf, "\r\n"); line;
             line = strstr(line + 2, "\r\n")) {
          char *h = line + 2;
          if (!strncasecmp(h, "Content-Length:", 15))
            cl = strtol(h + 15, NULL, 10);
          else if (!strncasecmp(h, "Retry-After:", 12))
            sscanf(h + 12, " %31[^\r]", r->retry_after);
          else if (!strncasecmp(h, "Content-Type:", 13))
            sscanf(h + 13, " %95[^\r]", r->content_type);
          else if (!strncasecmp(h, "Connection: close", 17))
            r->closes = 1;
        }
        need = head_end + (size_t)cl;
      }
    }
    if (head_end && len >= need) break;
    int left = (int)((end - ht_now()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) goto fail;
    if (cap - len < 65536) buf = realloc(buf, cap = cap * 2 + 65536);
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n <= 0) goto fail;
    len += (size_t)n;
  }
  r->body_len = need - head_end;
  r->body = malloc(r->body_len + 1);
  memcpy(r->body, buf + head_end, r->body_len);
  r->body[r->body_len] = '\0';
  free(buf);
  return 0;
fail:
  free(buf);
  if (r->status <= 0) r->status = 0;
  if (!r->body) r->body = calloc(1, 1);
  return -1;
}

/* One request on fd (kept alive). body may be NULL. */
static inline int ht_request_fd(int fd, const char *method, const char *path,
                                const char *body, ht_resp *r,
                                double timeout_s) {
  size_t bl = body ? strlen(body) : 0;
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, path,
                   body ? "Content-Type: application/json\r\n" : "", bl);
  if (ht_send_all(fd, head, (size_t)n) || (bl && ht_send_all(fd, body, bl))) {
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    return -1;
  }
  return ht_read(fd, r, timeout_s);
}

/* One request on a fresh connection. */
static inline int ht_request(int port, const char *method, const char *path,
                             const char *body, ht_resp *r) {
  int fd = ht_connect(port);
  if (fd < 0) {
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    return -1;
  }
  int rc = ht_request_fd(fd, method, path, body, r, 20);
  close(fd);
  return rc;
}

/* 1 when the peer closed fd within timeout_s (reading and dropping data). */
static inline int ht_closed_within(int fd, double timeout_s) {
  double end = ht_now() + timeout_s;
  char buf[4096];
  for (;;) {
    int left = (int)((end - ht_now()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) return 0;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return 1;
  }
}

/* The port warmd logged ("HTTP data plane on ... (port N)"), text or json. */
static inline int ht_logged_port(const char *logpath, double secs) {
  double end = ht_now() + secs;
  while (ht_now() < end) {
    FILE *f = fopen(logpath, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
      const char *p = strstr(line, "(port ");
      if (p && strstr(line, "HTTP data plane")) {
        fclose(f);
        return atoi(p + 6);
      }
    }
    if (f) fclose(f);
    poll(NULL, 0, 10);
  }
  return -1;
}

#endif /* HTTP_TESTUTIL_H */
