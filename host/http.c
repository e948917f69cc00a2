/*
 * host/http.c — the HTTP/1.1 server (see http.h): accepting, parsing with
 * http-parser, limits, timers and writing responses (streaming a file is
 * http_file.c).
 *
 * A connection moves IDLE -> READING (first byte of a request) -> HANDLING
 * (complete; reading stopped; the handler owns the request) -> WRITING
 * (response queued) -> IDLE again (keep-alive) or closed. The connection is
 * freed only when its TCP handle, its timer and any file operation have all
 * called back.
 */
#include "http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdlimit.h"
#include "http_int.h"
#include "log.h"

static http_parser_settings parser_settings;

/* ---- small helpers ------------------------------------------------------- */

static int gb_add(growbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static void gb_free(growbuf *b) {
  free(b->p);
  *b = (growbuf){0};
}

const char *wh_http_status_text(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 202:
    return "Accepted";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 413:
    return "Payload Too Large";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Entity";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  default:
    return "Unknown";
  }
}

void wh_http_limits_fill(wh_http_limits *l) {
  if (!l->max_head) l->max_head = 16 * 1024;
  if (!l->max_body) l->max_body = WH_HTTP_DEFAULT_MAX_BODY;
  if (!l->request_timeout_ms) l->request_timeout_ms = 10000;
  if (!l->idle_timeout_ms) l->idle_timeout_ms = 60000;
  if (!l->write_timeout_ms) l->write_timeout_ms = 30000;
  if (!l->max_conns) l->max_conns = 1024;
}

int wh_http_parse_listen(const char *s, struct sockaddr_storage *out,
                         warm_error *err) {
  char host[128];
  const char *colon = s ? strrchr(s, ':') : NULL;
  if (!colon)
    return warm_error_set(err, WARM_EINVAL,
                          "http_listen = '%s': expected ADDR:PORT", s ? s : "");
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end || port < 0 || port > 65535)
    return warm_error_set(err, WARM_EINVAL,
                          "http_listen = '%s': port must be 0..65535", s);
  size_t hl = (size_t)(colon - s);
  if (hl >= sizeof host)
    return warm_error_set(err, WARM_EINVAL,
                          "http_listen = '%s': address too long", s);
  memcpy(host, s, hl);
  host[hl] = '\0';
  memset(out, 0, sizeof *out);
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    host[hl - 1] = '\0';
    if (uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)out) == 0)
      return 0;
  } else {
    const char *h = (!hl || !strcmp(host, "*")) ? "0.0.0.0" : host;
    if (uv_ip4_addr(h, (int)port, (struct sockaddr_in *)out) == 0) return 0;
  }
  return warm_error_set(err, WARM_EINVAL,
                        "http_listen = '%s': '%s' is not a numeric IPv4 "
                        "address or a bracketed IPv6 address",
                        s, host);
}

/* ---- closing ------------------------------------------------------------- */

static void server_maybe_free(wh_http_server *s) {
  if (!s->stopping || !s->lclosed || s->n_conns) return;
  void (*done)(void *) = s->done;
  void *arg = s->done_arg;
  free(s);
  if (done) done(arg);
}

static void conn_reset_request(wh_http_conn *c) {
  gb_free(&c->url);
  gb_free(&c->body);
  memset(&c->req, 0, sizeof c->req);
  c->head = 0;
  c->fail = 0;
  c->complete = 0;
  c->expect_continue = 0;
  c->hfield[0] = '\0';
  c->resp_status = 0;
  c->resp_bytes = 0;
}

void wh_http__unref(wh_http_conn *c) {
  if (--c->refs > 0) return;
  wh_http_server *s = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  conn_reset_request(c);
  gb_free(&c->pending);
  free(c->chunk);
  free(c->not_found);
  free(c);
  server_maybe_free(s);
}

static void handle_closed(uv_handle_t *h) {
  wh_http__unref(h->data);
}

void wh_http__close(wh_http_conn *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, handle_closed);
  uv_close((uv_handle_t *)&c->timer, handle_closed);
}

static void on_timeout(uv_timer_t *t) {
  wh_http_conn *c = t->data;
  if (c->state == C_READING) {
    /* Half a request and then silence: tell it why, then close. */
    static const char msg[] =
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
        "Content-Length: 40\r\nConnection: close\r\n\r\n"
        "{\"error\":\"request not complete in time\"}";
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  }
  wh_http__close(c);
}

static void arm_timer(wh_http_conn *c, uint64_t ms) {
  if (!c->closing) uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* ---- the access log ------------------------------------------------------ */

/* One line per response, when its last byte is written or the client is
 * gone (status 0); called once per response. */
static void access_log(wh_http_conn *c, int completed) {
  if (!c->resp_status) return;
  wh_http_req *r = &c->req;
  const char *path = r->path ? r->path : c->url.p ? c->url.p : "-";
  wh_access a = {.method =
                     r->method_name
                         ? r->method_name
                         : http_method_str((enum http_method)c->parser.method),
                 .path = path,
                 .status = completed ? c->resp_status : 0,
                 .bytes = c->resp_bytes,
                 .duration_s = (double)(uv_hrtime() - c->t0) * 1e-9,
                 .job = r->log_job[0] ? r->log_job : NULL,
                 .key = r->log_key[0] ? r->log_key : NULL,
                 .peer = c->peer[0] ? c->peer : NULL};
  wh_log_access(&a);
  c->resp_status = 0;
}

/* ---- writing ------------------------------------------------------------- */

static void conn_read_more(wh_http_conn *c);

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void shutdown_cb(uv_shutdown_t *r, int status) {
  wh_http_conn *c = r->data;
  if (status < 0 || c->closing ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    wh_http__close(c);
  wh_http__unref(c);
}

/* The last response is out: send FIN, then read and drop what the client
 * still sends (the rest of a refused body) until it closes or LINGER_MS
 * pass. Closing at once with unread bytes would make the kernel send a
 * reset, and the client could lose the response it has not read yet. */
static void conn_linger(wh_http_conn *c) {
  c->state = C_LINGER;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->shut.data = c;
  if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
    wh_http__close(c);
    return;
  }
  c->refs++;
  arm_timer(c, LINGER_MS);
}

static void response_finished(wh_http_conn *c) {
  if (c->closing) return;
  if (!c->keep || c->srv->stopping) {
    conn_linger(c);
    return;
  }
  conn_reset_request(c);
  c->state = C_IDLE;
  http_parser_pause(&c->parser, 0);
  arm_timer(c, c->srv->lim.idle_timeout_ms);
  conn_read_more(c);
}

static void write_cb(uv_write_t *w, int status) {
  wreq *r = (wreq *)w;
  wh_http_conn *c = r->c;
  int last = r->last;
  free(r->buf);
  free(r);
  if (status < 0 || c->closing) {
    access_log(c, 0);
    wh_http__close(c);
    if (!last && c->fd >= 0)
      wh_http__file_close(c); /* a file stream in the middle */
  } else if (last) {
    access_log(c, 1);
    response_finished(c);
  } else {
    wh_http__file_next(c);
  }
  wh_http__unref(c);
}

/* Queues buf (taken over) on the connection. */
int wh_http__write(wh_http_conn *c, char *buf, size_t len, int last) {
  if (c->closing) {
    free(buf);
    return -1;
  }
  wreq *r = malloc(sizeof *r);
  if (!r) {
    free(buf);
    wh_http__close(c);
    return -1;
  }
  r->c = c;
  r->buf = buf;
  r->last = last;
  uv_buf_t b = uv_buf_init(buf, (unsigned)len);
  c->state = C_WRITING;
  arm_timer(c, c->srv->lim.write_timeout_ms);
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
    free(buf);
    free(r);
    wh_http__close(c);
    return -1;
  }
  c->refs++;
  return 0;
}

/* The status line and headers, malloc'd, with room for `extra` more bytes
 * after them; *hl receives the header length. */
char *wh_http__head(wh_http_conn *c, int status, const char *ctype,
                    uint64_t len, const char *extra_headers, size_t extra,
                    size_t *hl) {
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nServer: warmd\r\nContent-Type: %s\r\n"
                   "Content-Length: %llu\r\nConnection: %s\r\n%s%s\r\n",
                   status, wh_http_status_text(status), ctype,
                   (unsigned long long)len, c->keep ? "keep-alive" : "close",
                   c->srv->headers, extra_headers ? extra_headers : "");
  if (n < 0 || (size_t)n >= sizeof head) return NULL;
  c->resp_status = status;
  c->resp_bytes = len;
  char *buf = malloc((size_t)n + extra + 1);
  if (!buf) return NULL;
  memcpy(buf, head, (size_t)n);
  *hl = (size_t)n;
  return buf;
}

void wh_http_respond(wh_http_req *req, int status, const char *content_type,
                     const char *body, size_t len, const char *extra_headers) {
  wh_http_conn *c = req->conn;
  size_t hl;
  char *buf =
      wh_http__head(c, status, content_type ? content_type : "text/plain", len,
                    extra_headers, len, &hl);
  if (!buf) {
    wh_http__close(c);
    return;
  }
  if (len) memcpy(buf + hl, body, len);
  wh_http__write(c, buf, hl + len, 1);
}

/* ---- reading and parsing ------------------------------------------------- */

static wh_http_conn *conn_of(http_parser *p) {
  return p->data;
}

/* Marks the request as failed with status and stops the parser. */
static int parse_fail(wh_http_conn *c, int status) {
  c->fail = status;
  http_parser_pause(&c->parser, 1);
  return 0;
}

static int count_head(wh_http_conn *c, size_t n) {
  c->head += n;
  return c->head > c->srv->lim.max_head;
}

static int on_message_begin(http_parser *p) {
  wh_http_conn *c = conn_of(p);
  conn_reset_request(c);
  c->t0 = uv_hrtime();
  c->state = C_READING;
  arm_timer(c, c->srv->lim.request_timeout_ms);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  wh_http_conn *c = conn_of(p);
  if (count_head(c, n)) return parse_fail(c, 431);
  return gb_add(&c->url, at, n) ? parse_fail(c, 500) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  wh_http_conn *c = conn_of(p);
  if (count_head(c, n)) return parse_fail(c, 431);
  /* Names may arrive in pieces; keep a lower-cased prefix. */
  size_t have = c->hfield_ct ? strlen(c->hfield) : 0;
  if (!c->hfield_ct) c->hfield[0] = '\0';
  c->hfield_ct = 1;
  for (size_t i = 0; i < n && have + 1 < sizeof c->hfield; i++, have++) {
    char ch = at[i];
    c->hfield[have] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  }
  c->hfield[have] = '\0';
  return 0;
}

/* Appends a header value piece to a fixed field; what does not fit is
 * dropped (a cut token then fails to match, as it should). */
static void append_cut(char *dst, size_t cap, const char *at, size_t n) {
  size_t have = strlen(dst);
  size_t k = n < cap - 1 - have ? n : cap - 1 - have;
  memcpy(dst + have, at, k);
  dst[have + k] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  wh_http_conn *c = conn_of(p);
  if (count_head(c, n)) return parse_fail(c, 431);
  c->hfield_ct = 0; /* the next field callback starts a new name */
  if (!strcmp(c->hfield, "content-type")) {
    size_t have = strlen(c->req.content_type);
    size_t room = sizeof c->req.content_type - 1 - have;
    size_t k = n < room ? n : room;
    memcpy(c->req.content_type + have, at, k);
    c->req.content_type[have + k] = '\0';
  } else if (!strcmp(c->hfield, "authorization")) {
    append_cut(c->req.authorization, sizeof c->req.authorization, at, n);
  } else if (!strcmp(c->hfield, "x-warmd-affinity")) {
    append_cut(c->req.affinity, sizeof c->req.affinity, at, n);
  } else if (!strcmp(c->hfield, "expect") && n >= 12 &&
             !strncasecmp(at, "100-continue", 12)) {
    c->expect_continue = 1;
  }
  return 0;
}

static int on_headers_complete(http_parser *p) {
  wh_http_conn *c = conn_of(p);
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->lim.max_body)
    return parse_fail(c, 413);
  if (c->expect_continue) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* best effort: tiny */
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  wh_http_conn *c = conn_of(p);
  if (c->body.len + n > c->srv->lim.max_body) return parse_fail(c, 413);
  return gb_add(&c->body, at, n) ? parse_fail(c, 500) : 0;
}

static int on_message_complete(http_parser *p) {
  wh_http_conn *c = conn_of(p);
  c->complete = 1;
  http_parser_pause(p, 1); /* one request at a time */
  return 0;
}

static void error_reply(wh_http_conn *c, int status, const char *msg) {
  char body[256];
  int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
  c->keep = 0;
  c->state = C_HANDLING;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->req.conn = c;
  wh_http_respond(&c->req, status, "application/json", body, (size_t)n, NULL);
}

/* Splits the target into path and query and hands the request over. */
static void dispatch(wh_http_conn *c) {
  wh_http_req *r = &c->req;
  r->conn = c;
  r->app = c->srv->app;
  r->method = (int)c->parser.method;
  r->method_name = http_method_str((enum http_method)c->parser.method);
  if (gb_add(&c->url, "", 0) || gb_add(&c->body, "", 0)) {
    error_reply(c, 500, "out of memory");
    return;
  }
  r->target = c->url.p;
  r->body = c->body.p;
  r->body_len = c->body.len;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(c->url.p, c->url.len, 0, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH))) {
    error_reply(c, 400, "bad request target");
    return;
  }
  /* Copy path and query into the body buffer's tail is awkward; the url
   * buffer is ours, so cut it in place (query after path in the target). */
  char *path = c->url.p + u.field_data[UF_PATH].off;
  char *query = NULL;
  if (u.field_set & (1 << UF_QUERY)) {
    query = c->url.p + u.field_data[UF_QUERY].off;
    query[u.field_data[UF_QUERY].len] = '\0';
  }
  path[u.field_data[UF_PATH].len] = '\0'; /* drops '?' (and '#') too */
  r->path = path;
  r->query = query;
  c->keep = http_should_keep_alive(&c->parser) && !c->srv->stopping;
  c->state = C_HANDLING;
  uv_timer_stop(&c->timer);
  c->srv->fn(r);
}

/* Feeds bytes to the parser; stops at a complete request (keeping what
 * follows in c->pending) or at an error. */
static void conn_feed(wh_http_conn *c, const char *data, size_t n) {
  size_t used = http_parser_execute(&c->parser, &parser_settings, data, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->fail) {
    error_reply(c, c->fail,
                c->fail == 413   ? "request body too large"
                : c->fail == 431 ? "request head too large"
                                 : "out of memory");
    return;
  }
  if (e != HPE_OK && e != HPE_PAUSED) {
    error_reply(c, 400, http_errno_description(e));
    return;
  }
  if (!c->complete) return;
  if (used < n && gb_add(&c->pending, data + used, n - used)) {
    error_reply(c, 500, "out of memory");
    return;
  }
  uv_read_stop((uv_stream_t *)&c->tcp);
  dispatch(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  wh_http_conn *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->srv->slab, sizeof c->srv->slab);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  wh_http_conn *c = st->data;
  if (n < 0) { /* EOF or error: a request in progress is lost with it */
    wh_http__close(c);
    return;
  }
  if (n == 0 || c->closing || c->state == C_LINGER) return;
  if (c->state == C_IDLE && c->srv->stopping) {
    wh_http__close(c);
    return;
  }
  conn_feed(c, buf->base, (size_t)n);
}

/* After a response: first the bytes that arrived early, then the socket. */
static void conn_read_more(wh_http_conn *c) {
  if (c->pending.len) {
    growbuf b = c->pending;
    c->pending = (growbuf){0};
    conn_feed(c, b.p, b.len);
    free(b.p);
    if (c->state != C_IDLE && c->state != C_READING) return;
  }
  if (!c->closing &&
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    wh_http__close(c);
}

/* ---- accepting ------------------------------------------------------------
 */

static void on_connection(uv_stream_t *l, int status) {
  wh_http_server *s = l->data;
  if (status < 0)
    wh_fd_refusal_log(&s->refused_at, &s->refused, "HTTP", uv_strerror(status));
  if (status < 0 || s->stopping) return;
  wh_http_conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  c->fd = -1;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->refs = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    wh_http__close(c);
    return;
  }
  if (s->n_conns > s->lim.max_conns) {
#define BUSY_BODY "{\"error\":\"too many connections\"}\n"
    _Static_assert(sizeof BUSY_BODY - 1 == 33, "Content-Length below");
    static const char busy[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 33\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n" BUSY_BODY;
    uv_buf_t b = uv_buf_init((char *)busy, sizeof busy - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    wh_http__close(c);
    char why[96];
    snprintf(why, sizeof why, "at the cap of %zu open connections (503)",
             s->lim.max_conns);
    wh_fd_refusal_log(&s->refused_at, &s->refused, "HTTP", why);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage peer;
  int plen = sizeof peer;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) == 0) {
    if (peer.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&peer, c->peer, sizeof c->peer);
    else
      uv_ip4_name((struct sockaddr_in *)&peer, c->peer, sizeof c->peer);
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->state = C_IDLE;
  arm_timer(c, s->lim.idle_timeout_ms);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    wh_http__close(c);
}

static void listener_closed(uv_handle_t *h) {
  wh_http_server *s = h->data;
  s->lclosed = 1;
  server_maybe_free(s);
}

int wh_http_server_start(uv_loop_t *loop, const char *listen,
                         const wh_http_limits *limits, wh_http_handler fn,
                         void *app, wh_http_server **out, warm_error *err) {
  struct sockaddr_storage sa;
  int rc = wh_http_parse_listen(listen, &sa, err);
  if (rc) return rc;
  parser_settings = (http_parser_settings){
      .on_message_begin = on_message_begin,
      .on_url = on_url,
      .on_header_field = on_header_field,
      .on_header_value = on_header_value,
      .on_headers_complete = on_headers_complete,
      .on_body = on_body,
      .on_message_complete = on_message_complete,
  };
  wh_http_server *s = calloc(1, sizeof *s);
  if (!s) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  s->loop = loop;
  if (limits) s->lim = *limits;
  wh_http_limits_fill(&s->lim);
  if (s->lim.server_headers) {
    if (strlen(s->lim.server_headers) >= sizeof s->headers) {
      free(s);
      return warm_error_set(err, WARM_EINVAL, "server headers too long");
    }
    snprintf(s->headers, sizeof s->headers, "%s", s->lim.server_headers);
  }
  s->lim.server_headers = NULL;
  s->fn = fn;
  s->app = app;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) != 0) {
    warm_error_set(err, WARM_EIO, "http_listen = %s: %s", listen,
                   uv_strerror(rc));
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, listener_closed);
    return WARM_EIO;
  }
  struct sockaddr_storage got;
  int len = sizeof got;
  if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len) == 0)
    s->port = ntohs(got.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&got)->sin6_port
                        : ((struct sockaddr_in *)&got)->sin_port);
  *out = s;
  return 0;
}

int wh_http_server_port(const wh_http_server *s) {
  return s->port;
}

size_t wh_http_server_conns(const wh_http_server *s) {
  return s->n_conns;
}

void wh_http_server_stop(wh_http_server *s, void (*done)(void *arg),
                         void *arg) {
  if (!s || s->stopping) return;
  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  for (wh_http_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->state == C_IDLE || c->state == C_READING || c->state == C_LINGER)
      wh_http__close(c);
    else
      c->keep = 0; /* closes after the response in flight */
  }
  uv_close((uv_handle_t *)&s->listener, listener_closed);
}
