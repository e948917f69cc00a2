/*
 * fuzz_http — arbitrary bytes against the HTTP data plane's two parsers.
 *
 * First byte even: the rest is a POST body for wh_api_parse_job, whose
 * promises are checked: 0 means a prompt of 1..16384 bytes without NUL and
 * every field in range; otherwise 400 or 422 with a one-line message, and
 * 422 names a field.
 *
 * First byte odd: the rest is sent as raw bytes (then EOF) to the real
 * server (http.c on a libuv loop in this thread, 127.0.0.1), whose handler
 * answers JSON, streams a file for /file, and validates POST bodies. The
 * check: every response the server writes starts with a valid status line,
 * the server closes the connection once the client's bytes are spent, and
 * nothing leaks or overflows (the sanitizers watch).
 */
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "http_api.h"

static uv_loop_t loop;
static wh_http_server *srv;
static int port;
static char file_path[256];

static void check_job(const uint8_t *d, size_t n) {
  wh_api_job job;
  char msg[512], field[64];
  int st = wh_api_parse_job((const char *)d, n, &job, msg, sizeof msg, field,
                            sizeof field);
  const wh_job_params *p = &job.p;
  if (st == 0) {
    size_t pl = p->prompt ? strlen(p->prompt) : 0;
    if (!job.doc || pl == 0 || pl > 16384) abort();
    if (p->frames > 1025 || p->height > 4096 || p->width > 4096 ||
        p->fps > 240)
      abort();
    if (p->guidance != 0 && !(p->guidance >= 1 && p->guidance <= 30)) abort();
    if (p->negative_prompt && strlen(p->negative_prompt) > 16384) abort();
    if ((p->image_len != 0) != (p->image != NULL)) abort();
    if (p->image_strength != 0 &&
        !(p->image_strength > 0 && p->image_strength <= 1 && p->image))
      abort();
    if (p->video_guidance.g.n_stg_blocks > WH_LTX2_MAX_STG_BLOCKS ||
        p->audio_guidance.g.n_stg_blocks > WH_LTX2_MAX_STG_BLOCKS)
      abort();
    wh_api_job_free(&job);
    return;
  }
  if (job.doc || job.image) abort();
  if (st != 400 && st != 422) abort();
  if (!msg[0] || strchr(msg, '\n')) abort();
  /* A 422 names its field; only a body that is not an object, or a field
   * whose name is the empty string, leaves `field` empty. */
  if (st == 422 && !field[0] && !strstr(msg, "JSON object") &&
      !strstr(msg, "field ''"))
    abort();
}

static void handler(wh_http_req *r) {
  if (!strcmp(r->path, "/file")) {
    wh_http_respond_file(r, "application/octet-stream", file_path, NULL);
    return;
  }
  if (r->method == HTTP_POST) {
    wh_api_job job;
    char msg[512], field[64];
    int st = wh_api_parse_job(r->body, r->body_len, &job, msg, sizeof msg,
                              field, sizeof field);
    wh_api_job_free(&job);
    wh_http_respond(r, st ? st : 202, "application/json", "{}", 2, NULL);
    return;
  }
  wh_http_respond(r, 200, "application/json", "{\"ok\":1}", 8, NULL);
}

static void remove_file(void) {
  unlink(file_path);
}

static void setup(void) {
  uv_loop_init(&loop);
  wh_http_limits lim = {.max_head = 2048,
                        .max_body = 1024,
                        .request_timeout_ms = 2000,
                        .idle_timeout_ms = 2000,
                        .write_timeout_ms = 2000};
  warm_error err = {0};
  if (wh_http_server_start(&loop, "127.0.0.1:0", &lim, handler, NULL, &srv,
                           &err)) {
    fprintf(stderr, "fuzz_http: %s\n", err.msg);
    abort();
  }
  port = wh_http_server_port(srv);
  snprintf(file_path, sizeof file_path, "/tmp/fuzz_http_%d.bin", (int)getpid());
  FILE *f = fopen(file_path, "wb");
  for (int i = 0; f && i < 300000; i++)
    fputc(i & 0xff, f);
  if (f) fclose(f);
  atexit(remove_file); /* libFuzzer ends with exit() */
}

static void check_response_starts(const char *buf, size_t n) {
  if (n == 0) return; /* nothing complete was asked */
  if (n < 12 || memcmp(buf, "HTTP/1.1 ", 9)) abort();
}

static void raw(const uint8_t *d, size_t n) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0) abort();
  /* Close with RST: tens of thousands of short connections a run would
   * otherwise fill the machine's ephemeral ports with TIME_WAIT. */
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  /* Non-blocking connect: libFuzzer's timer signals must not interrupt a
   * blocking one (EINTR). Loopback completes it in the kernel at once. */
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (errno == EINPROGRESS || errno == EINTR) {
      struct pollfd pw = {.fd = fd, .events = POLLOUT};
      int err = 0;
      socklen_t el = sizeof err;
      while (poll(&pw, 1, 1000) < 0 && errno == EINTR)
        ;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      errno = err;
    }
    /* No local port free is the machine's state, not the server's. */
    if (errno == EADDRNOTAVAIL) {
      close(fd);
      return;
    }
    if (errno) {
      perror("fuzz_http: connect to the server under test");
      abort();
    }
  }
  size_t sent = 0, got = 0;
  char head[16];
  int eof = 0, shut = 0;
  for (int iter = 0; !eof && iter < 200000; iter++) {
    if (sent < n) {
      ssize_t w = send(fd, d + sent, n - sent, MSG_NOSIGNAL);
      if (w > 0)
        sent += (size_t)w;
      else if (w < 0 && errno != EAGAIN)
        sent = n; /* server closed early */
    }
    if (sent == n && !shut) {
      shutdown(fd, SHUT_WR);
      shut = 1;
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    char buf[65536];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      if (got < sizeof head)
        memcpy(head + got, buf,
               (size_t)r < sizeof head - got ? (size_t)r : sizeof head - got);
      got += (size_t)r;
    } else if (r == 0 || (r < 0 && errno != EAGAIN)) {
      eof = 1;
    } else {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, 0);
    }
  }
  close(fd);
  if (!eof) abort(); /* the server must close once the bytes are spent */
  check_response_starts(head, got < sizeof head ? got : sizeof head);
  /* Let the server side finish closing before the next input. */
  for (int i = 0; i < 1000 && wh_http_server_conns(srv); i++)
    uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    setup();
    ready = 1;
  }
  if (size == 0) return 0;
  if (data[0] & 1)
    raw(data + 1, size - 1);
  else
    check_job(data + 1, size - 1);
  return 0;
}
