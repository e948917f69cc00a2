/*
 * test_http_limits.c — max_body at its edges, on the embedded server of
 * http_harness.h (real libuv loop, real TCP) with max_body = 4 KiB:
 *   - Content-Length = max_body is read and parsed (a 422 naming the
 *     field proves the body reached the JSON layer); max_body + 1 is 413;
 *   - a chunked body is limited in total, not per chunk: many chunks each
 *     far below the limit but over it together are 413, and chunks adding
 *     up to exactly max_body are accepted;
 *   - after every refusal the server still answers and queued nothing.
 */
/* The harness's job helpers go unused here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "http_harness.h"

#define LIMIT 4096

/* A JSON body of exactly `len` bytes whose prompt is a number (so the API
 * answers 422 field "prompt" once it has parsed it). */
static char *body_of(size_t len) {
  static const char head[] = "{\"prompt\": 5, \"pad\": \"";
  static const char tail[] = "\"}";
  size_t fixed = sizeof head - 1 + sizeof tail - 1;
  char *b = malloc(len + 1);
  if (!b || len < fixed) {
    free(b);
    return NULL;
  }
  memcpy(b, head, sizeof head - 1);
  memset(b + sizeof head - 1, 'x', len - fixed);
  memcpy(b + len - (sizeof tail - 1), tail, sizeof tail - 1);
  b[len] = '\0';
  return b;
}

/* Sends `body` with Content-Length on a fresh connection. */
static void post_sized(int port, const char *body, ht_resp *r) {
  int fd = ht_connect(port);
  size_t n = strlen(body);
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "POST /v1/generations HTTP/1.1\r\nHost: x\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    n);
  if (fd < 0 || ht_send_all(fd, head, (size_t)hn)) {
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    if (fd >= 0) close(fd);
    return;
  }
  /* A refused body may be cut off by the server's close: ignore EPIPE. */
  ht_send_all(fd, body, n);
  ht_read(fd, r, 10);
  close(fd);
}

/* Sends `body` as chunks of `chunk` bytes (the last one shorter). */
static void post_chunked(int port, const char *body, size_t chunk, ht_resp *r) {
  int fd = ht_connect(port);
  static const char head[] = "POST /v1/generations HTTP/1.1\r\nHost: x\r\n"
                             "Content-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
  if (fd < 0 || ht_send_all(fd, head, sizeof head - 1)) {
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    if (fd >= 0) close(fd);
    return;
  }
  size_t n = strlen(body);
  for (size_t off = 0; off < n; off += chunk) {
    size_t k = n - off < chunk ? n - off : chunk;
    char size[32];
    int sn = snprintf(size, sizeof size, "%zx\r\n", k);
    if (ht_send_all(fd, size, (size_t)sn) || ht_send_all(fd, body + off, k) ||
        ht_send_all(fd, "\r\n", 2))
      break; /* refused midway: the server closed */
  }
  ht_send_all(fd, "0\r\n\r\n", 5);
  ht_read(fd, r, 10);
  close(fd);
}

static int is_field_422(const ht_resp *r, const char *field) {
  json_t *j = body_json(r);
  int ok = r->status == 422 && j && jstr(j, "field") &&
           !strcmp(jstr(j, "field"), field);
  json_decref(j);
  return ok;
}

static void test_http_content_length_boundary(void) {
  CHECK(server_start(0, LIMIT, 0, 0) == 0, "server starts");
  int port = S.port;
  ht_resp r;
  char *at = body_of(LIMIT), *over = body_of(LIMIT + 1);
  post_sized(port, at, &r);
  CHECK(is_field_422(&r, "prompt"),
        "Content-Length = max_body is read and parsed: %d %s", r.status,
        r.body);
  ht_free(&r);
  post_sized(port, over, &r);
  CHECK(r.status == 413 && r.closes,
        "Content-Length = max_body + 1: 413 and close, got %d %s", r.status,
        r.body);
  ht_free(&r);
  free(at);
  free(over);
  CHECK(metric(port, "warmd_jobs_submitted_total") == 0, "nothing queued");
  server_stop();
}

static void test_http_chunked_body_limited_in_total(void) {
  CHECK(server_start(0, LIMIT, 0, 0) == 0, "server starts");
  int port = S.port;
  ht_resp r;
  /* 20 KiB in 1 KiB chunks: every chunk is a quarter of the limit. */
  char *big = body_of(5 * LIMIT);
  post_chunked(port, big, 1024, &r);
  CHECK(r.status == 413,
        "20 KiB in 1 KiB chunks against max_body = 4 KiB: 413, got %d %s",
        r.status, r.body);
  ht_free(&r);
  free(big);
  /* Just over the limit in small chunks: the last byte tips it. */
  char *over = body_of(LIMIT + 1);
  post_chunked(port, over, 100, &r);
  CHECK(r.status == 413, "max_body + 1 in 100-byte chunks: 413, got %d %s",
        r.status, r.body);
  ht_free(&r);
  free(over);
  /* Exactly the limit in chunks is read whole and parsed. */
  char *at = body_of(LIMIT);
  post_chunked(port, at, 1000, &r);
  CHECK(is_field_422(&r, "prompt"),
        "max_body in 1000-byte chunks is parsed: %d %s", r.status, r.body);
  ht_free(&r);
  free(at);
  CHECK(metric(port, "warmd_jobs_submitted_total") == 0, "nothing queued");
  ht_request(port, "GET", "/healthz", NULL, &r);
  CHECK(r.status == 200, "healthy after the refusals: %d", r.status);
  ht_free(&r);
  server_stop();
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int rc = setup();
  if (rc) return rc;
  RUN(test_http_content_length_boundary);
  RUN(test_http_chunked_body_limited_in_total);
  return teardown();
}
