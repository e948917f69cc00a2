/*
 * host/http.h — a small HTTP/1.1 server on the libuv loop: libuv TCP for the
 * sockets, Debian's http-parser for the bytes. It knows nothing of jobs; a
 * handler function turns each complete request into one response.
 *
 * Per connection: keep-alive, one request handled at a time (bytes that
 * arrive early wait in a buffer, so pipelined requests are answered in
 * order), limits on the request head and body, and a timer that closes a
 * client that stalls mid-request, sits idle too long, or stops reading its
 * response. A slow or vanished client costs one connection slot and never
 * blocks the loop.
 *
 * Threads: everything here runs on the loop thread.
 */
#ifndef WH_HTTP_H
#define WH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "warm/warm.h"

/* The default body limit: room for a job with a first-frame image of
 * about 12 MB (base64 adds a third). */
#define WH_HTTP_DEFAULT_MAX_BODY (16u << 20)

typedef struct wh_http_limits {
  size_t max_head;             /* request line + headers (default 16 KiB) */
  size_t max_body;             /* default WH_HTTP_DEFAULT_MAX_BODY; over: 413 */
  uint64_t request_timeout_ms; /* a started request must finish (10 s) */
  uint64_t idle_timeout_ms;    /* keep-alive connection idle (60 s) */
  uint64_t write_timeout_ms;   /* each response write must progress (30 s) */
  size_t max_conns;            /* more are answered 503 and closed (1024) */
  /* Complete "Name: value\r\n" lines added to every response (copied at
   * start; NULL: none). warmd's Warmd-Instance header. */
  const char *server_headers;
} wh_http_limits;

typedef struct wh_http_conn wh_http_conn;

/* One complete request. Strings are NUL-terminated and live until the
 * response has been started. */
typedef struct wh_http_req {
  int method;              /* enum http_method */
  const char *method_name; /* "GET", ... */
  char *target;            /* the request target as sent */
  char *path;              /* its path part (not decoded) */
  char *query;             /* its query part, or NULL */
  char *body;              /* NUL-terminated; body_len excludes the NUL */
  size_t body_len;
  char content_type[128]; /* the Content-Type header, or "" */
  char authorization[512]; /* the Authorization header (cut), or "" */
  char affinity[160];      /* the X-Warmd-Affinity header (cut), or "" */
  /* Filled by the handler for the access log line: the job the request
   * created or named, and the name of the API key that authorised it. */
  char log_job[96];
  char log_key[72];
  void *app;              /* the server's app pointer */
  wh_http_conn *conn;     /* private */
} wh_http_req;

/* Called once per complete request. It must answer with exactly one
 * wh_http_respond* call, now or later (on the loop thread); the connection
 * reads nothing further until then. */
typedef void (*wh_http_handler)(wh_http_req *req);

typedef struct wh_http_server wh_http_server;

/* Defaults for every field that is 0. */
void wh_http_limits_fill(wh_http_limits *l);

/* Parses "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", "*:8080" or
 * ":8080" for every IPv4 address; PORT 0 picks a free port). */
int wh_http_parse_listen(const char *s, struct sockaddr_storage *out,
                         warm_error *err);

/* Binds and listens. `limits` may be NULL (defaults). On failure nothing is
 * left open and err says which address and why. */
int wh_http_server_start(uv_loop_t *loop, const char *listen,
                         const wh_http_limits *limits, wh_http_handler fn,
                         void *app, wh_http_server **out, warm_error *err);
/* The port actually bound (useful after ":0"). */
int wh_http_server_port(const wh_http_server *s);
/* Connections open now. */
size_t wh_http_server_conns(const wh_http_server *s);
/* Stops accepting at once; idle connections close now, busy ones after
 * their response. When the last handle has closed the server frees itself
 * and calls done(arg) (done may be NULL). */
void wh_http_server_stop(wh_http_server *s, void (*done)(void *arg), void *arg);

/* Sends a whole response. extra_headers: NULL or complete "Name: value\r\n"
 * lines. The request must not be used afterwards. */
void wh_http_respond(wh_http_req *req, int status, const char *content_type,
                     const char *body, size_t len, const char *extra_headers);
/* Streams a regular file from disk in chunks through libuv's fs requests
 * (the loop never waits on the disk). A file that cannot be opened is
 * answered with not_found_body as a 404 (JSON). */
void wh_http_respond_file(wh_http_req *req, const char *content_type,
                          const char *path, const char *not_found_body);

const char *wh_http_status_text(int status);

#endif /* WH_HTTP_H */
