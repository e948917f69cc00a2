/*
 * host/http_int.h — what host/http.c and host/http_file.c share: the
 * connection and server structs and the few calls the file streamer makes.
 */
#ifndef WH_HTTP_INT_H
#define WH_HTTP_INT_H

#include <http_parser.h>
#include <stdint.h>

#include "http.h"

enum { C_IDLE, C_READING, C_HANDLING, C_WRITING, C_LINGER };

#define LINGER_MS 2000 /* reading and dropping after the last response */

typedef struct growbuf {
  char *p;
  size_t len, cap;
} growbuf;

struct wh_http_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shut;
  wh_http_server *srv;
  http_parser parser;
  wh_http_req req;
  int state;
  int refs;     /* open handles + pending fs requests */
  int closing;  /* uv_close issued */
  int keep;     /* keep the connection after this response */
  int fail;     /* a status to answer with instead of the handler (413...) */
  int complete; /* on_message_complete seen */
  size_t head;  /* bytes of request line + headers so far */
  growbuf url, body;
  char hfield[32]; /* last header name (truncated), lower case */
  uint64_t t0;     /* uv_hrtime at the request's first byte */
  int resp_status; /* the status of the response in flight (0: none) */
  uint64_t resp_bytes;
  char peer[64];
  int hfield_ct, hfield_expect;
  int expect_continue;
  growbuf pending; /* bytes after a complete request */
  /* File streaming. */
  uv_fs_t fs;
  uv_file fd;
  int64_t file_left;
  char *chunk;
  char *not_found;
  char file_ctype[64];
  struct wh_http_conn *prev, *next;
};

struct wh_http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  wh_http_limits lim;
  wh_http_handler fn;
  void *app;
  wh_http_conn *conns;
  size_t n_conns;
  int port;
  int stopping, lclosed;
  double refused_at; /* wh_fd_refusal_log's clock and count */
  uint64_t refused;
  char slab[64 * 1024]; /* read buffer: consumed within on_read */
  void (*done)(void *);
  void *done_arg;
  char headers[256]; /* lim.server_headers, copied */
};

typedef struct wreq {
  uv_write_t w;
  wh_http_conn *c;
  char *buf;
  int last; /* the response is complete after this write */
} wreq;

/* Closes the connection (idempotent). */
void wh_http__close(wh_http_conn *c);
/* Drops one reference; the last frees the connection. */
void wh_http__unref(wh_http_conn *c);
/* Queues buf (taken over); last: the response is complete after it. */
int wh_http__write(wh_http_conn *c, char *buf, size_t len, int last);
/* The status line and headers, malloc'd, with room for `extra` more bytes
 * after them; *hl receives the header length. */
char *wh_http__head(wh_http_conn *c, int status, const char *ctype,
                    uint64_t len, const char *extra_headers, size_t extra,
                    size_t *hl);
/* http_file.c: reads the next chunk of the file in flight (after a write). */
void wh_http__file_next(wh_http_conn *c);
/* Closes the file in flight and drops its connection reference. */
void wh_http__file_close(wh_http_conn *c);

#endif
