/*
 * host/http_file.c — wh_http_respond_file: a file streamed to the client in
 * FILE_CHUNK pieces through libuv's fs requests, one write in flight.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_int.h"

#define FILE_CHUNK (256 * 1024)

/* ---- streaming a file ---------------------------------------------------- */

/* The fs chain (open -> fstat -> read/write ... -> close) holds one
 * connection reference from wh_http_respond_file until the close request
 * calls back. c->fs serves open/fstat/read one at a time; the close gets
 * its own request so a next response on the connection may start at once. */

static void file_closed(uv_fs_t *f) {
  wh_http_conn *c = f->data;
  uv_fs_req_cleanup(f);
  free(f);
  wh_http__unref(c);
}

void wh_http__file_close(wh_http_conn *c) {
  free(c->chunk);
  c->chunk = NULL;
  uv_file fd = c->fd;
  c->fd = -1;
  uv_fs_t *f = fd >= 0 ? malloc(sizeof *f) : NULL;
  if (f) {
    f->data = c;
    if (uv_fs_close(c->srv->loop, f, fd, file_closed) == 0) return;
    free(f);
  }
  if (fd >= 0) close(fd); /* could not go through libuv: close it here */
  wh_http__unref(c);
}

static void file_read_cb(uv_fs_t *f) {
  wh_http_conn *c = f->data;
  ssize_t n = f->result;
  uv_fs_req_cleanup(f);
  if (c->closing || n <= 0) {
    /* Client gone, or the file shrank under us: the length has been
     * promised, so the only honest end is closing the connection. */
    wh_http__close(c);
    wh_http__file_close(c);
    return;
  }
  if ((int64_t)n > c->file_left) n = (ssize_t)c->file_left;
  c->file_left -= n;
  char *buf = malloc((size_t)n);
  if (!buf) {
    wh_http__close(c);
    wh_http__file_close(c);
    return;
  }
  memcpy(buf, c->chunk, (size_t)n);
  int last = c->file_left == 0;
  if (last) wh_http__file_close(c);
  wh_http__write(c, buf, (size_t)n, last);
}

void wh_http__file_next(wh_http_conn *c) {
  if (c->fd < 0) return;
  if (c->closing) {
    wh_http__file_close(c);
    return;
  }
  uv_buf_t b = uv_buf_init(c->chunk, FILE_CHUNK);
  c->fs.data = c;
  if (uv_fs_read(c->srv->loop, &c->fs, c->fd, &b, 1, -1, file_read_cb) != 0) {
    wh_http__close(c);
    wh_http__file_close(c);
  }
}

static void file_not_found(wh_http_conn *c) {
  const char *nf = c->not_found ? c->not_found : "{\"error\":\"not found\"}";
  wh_http_respond(&c->req, 404, "application/json", nf, strlen(nf), NULL);
}

static void file_stat_cb(uv_fs_t *f) {
  wh_http_conn *c = f->data;
  int ok = f->result == 0 && S_ISREG(f->statbuf.st_mode);
  int64_t size = (int64_t)f->statbuf.st_size;
  uv_fs_req_cleanup(f);
  if (c->closing || !ok) {
    int respond = !c->closing;
    if (respond) file_not_found(c);
    wh_http__file_close(c);
    return;
  }
  c->file_left = size;
  size_t hl;
  char *head =
      wh_http__head(c, 200, c->file_ctype, (uint64_t)size, NULL, 0, &hl);
  if (!head) {
    wh_http__close(c);
    wh_http__file_close(c);
    return;
  }
  if (size == 0) wh_http__file_close(c);
  /* The first chunk is read once the head has been written (write_cb). */
  wh_http__write(c, head, hl, size == 0);
}

static void file_open_cb(uv_fs_t *f) {
  wh_http_conn *c = f->data;
  ssize_t fd = f->result;
  uv_fs_req_cleanup(f);
  c->fd = fd >= 0 ? (uv_file)fd : -1;
  if (fd < 0 || c->closing) {
    int respond = !c->closing;
    if (respond) file_not_found(c); /* holds its own references */
    wh_http__file_close(c);
    return;
  }
  c->fs.data = c;
  if (uv_fs_fstat(c->srv->loop, &c->fs, c->fd, file_stat_cb) != 0) {
    wh_http__close(c);
    wh_http__file_close(c);
  }
}

void wh_http_respond_file(wh_http_req *req, const char *content_type,
                          const char *path, const char *not_found_body) {
  wh_http_conn *c = req->conn;
  snprintf(c->file_ctype, sizeof c->file_ctype, "%s",
           content_type ? content_type : "application/octet-stream");
  free(c->not_found);
  c->not_found = not_found_body ? strdup(not_found_body) : NULL;
  c->chunk = malloc(FILE_CHUNK);
  c->fd = -1;
  c->fs.data = c;
  if (!c->chunk ||
      uv_fs_open(c->srv->loop, &c->fs, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
                 0, file_open_cb) != 0) {
    free(c->chunk);
    c->chunk = NULL;
    static const char msg[] = "{\"error\":\"cannot open the file\"}";
    wh_http_respond(req, 500, "application/json", msg, sizeof msg - 1, NULL);
    return;
  }
  c->refs++; /* released by wh_http__file_close */
}
