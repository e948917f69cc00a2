/*
 * host/admin.c — admin line parser and UNIX socket server (see admin.h).
 */
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdlimit.h"
#include "log.h"

/* ---- parsing
 * ------------------------------------------------------------------ */

/* Number of words of a table entry and whether the first `n` tokens match. */
static int match_words(const char *words, char **tok, int ntok, int *nwords) {
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s", words);
  int n = 0, ok = 1;
  for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w;
       w = strtok_r(NULL, " ", &save), n++)
    if (n >= ntok || strcmp(w, tok[n])) ok = 0;
  *nwords = n;
  return ok;
}

int wh_admin_parse(const wh_admin_cmd *table, size_t n_table, const char *line,
                   size_t len, int read_only, wh_admin_parsed *out, char *msg,
                   size_t msg_len) {
  memset(out, 0, sizeof *out);
  msg[0] = '\0';
  if (len && line[len - 1] == '\r') len--;
  if (len > WH_ADMIN_MAX_LINE) {
    snprintf(msg, msg_len, "line too long (at most %d bytes)",
             WH_ADMIN_MAX_LINE);
    return 400;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)line[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
      snprintf(msg, msg_len, "control character 0x%02x at column %zu", ch,
               i + 1);
      return 400;
    }
  }
  memcpy(out->buf, line, len);
  out->buf[len] = '\0';
  enum { MAX_TOK = WH_ADMIN_MAX_ARGS + 4 };
  char *tok[MAX_TOK];
  int ntok = 0;
  for (char *save = NULL, *t = strtok_r(out->buf, " \t", &save); t;
       t = strtok_r(NULL, " \t", &save)) {
    if (ntok == MAX_TOK) {
      snprintf(msg, msg_len, "too many words (at most %d)", MAX_TOK);
      return 400;
    }
    tok[ntok++] = t;
  }
  if (!ntok) return WH_ADMIN_EMPTY;

  const wh_admin_cmd *best = NULL;
  int best_words = 0;
  for (size_t i = 0; i < n_table; i++) {
    int nw;
    if (match_words(table[i].words, tok, ntok, &nw) && nw > best_words) {
      best = &table[i];
      best_words = nw;
    }
  }
  if (!best) {
    /* Known first word: list what may follow it. */
    wh_strbuf alts = {0};
    for (size_t i = 0; i < n_table; i++) {
      size_t fl = strcspn(table[i].words, " ");
      if (strlen(tok[0]) == fl && !strncmp(table[i].words, tok[0], fl))
        wh_sb_printf(&alts, "%s'%s'", alts.len ? ", " : "", table[i].words);
    }
    if (alts.len)
      snprintf(msg, msg_len, "unknown command '%.64s%s%.64s' (expected %s)",
               tok[0], ntok > 1 ? " " : "", ntok > 1 ? tok[1] : "", alts.p);
    else
      snprintf(msg, msg_len, "unknown command '%.64s' (try 'help')", tok[0]);
    wh_sb_free(&alts);
    return 400;
  }
  if (read_only && !(best->flags & WH_CMD_READONLY)) {
    snprintf(msg, msg_len, "'%s' is not allowed on the read-only stats socket",
             best->words);
    return 403;
  }
  int nargs = ntok - best_words;
  if ((best->flags & WH_CMD_JSON) && nargs > 0 &&
      !strcmp(tok[ntok - 1], "json")) {
    out->json = 1;
    nargs--;
  }
  if (nargs < best->min_args || nargs > best->max_args ||
      nargs > WH_ADMIN_MAX_ARGS) {
    snprintf(msg, msg_len, "usage: %s%s%s%s", best->words,
             best->usage ? " " : "", best->usage ? best->usage : "",
             (best->flags & WH_CMD_JSON) ? " [json]" : "");
    return 400;
  }
  out->cmd = best;
  out->argc = nargs;
  for (int i = 0; i < nargs; i++)
    out->argv[i] = tok[best_words + i];
  return 0;
}

/* ---- server
 * ------------------------------------------------------------------- */

struct wh_admin_server {
  uv_pipe_t listener;
  char *path;
  int read_only;
  void *app;
  int stopping;
  int listener_closed;
  size_t n_clients;
  struct client *clients; /* doubly linked */
  double refused_at; /* wh_fd_refusal_log's clock and count */
  uint64_t refused;
};

typedef struct client {
  uv_pipe_t pipe;
  wh_admin_server *srv;
  struct client *prev, *next;
  char *in; /* unparsed input */
  size_t in_len, in_cap;
  wh_admin_req *pending; /* a LATER request in flight */
  int closing;
  int eof;
  int paused; /* reading stopped while a reply is pending */
  size_t queued; /* reply bytes handed to libuv and not yet written */
  int blocked;   /* queued passed the high mark: no more commands run */
} client;

typedef struct write_req {
  uv_write_t w;
  char *data;
  client *c;
  size_t n;
} write_req;

/* The server outlives its listener until its last connection closed. */
static void maybe_free_server(wh_admin_server *s) {
  if (s->listener_closed && s->n_clients == 0) {
    free(s->path);
    free(s);
  }
}

/* Close callback: the only place a client's memory is freed. */
static void client_closed(uv_handle_t *h) {
  client *c = h->data;
  wh_admin_server *s = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_clients--;
  free(c->in);
  free(c);
  maybe_free_server(s);
}

/* Closes now, or after the pending reply when one is in flight. */
static void client_close(client *c) {
  if (c->closing) return;
  c->closing = 1;
  if (c->pending) return; /* wh_admin_finish closes it */
  uv_close((uv_handle_t *)&c->pipe, client_closed);
}

static void process_input(client *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* A client that stopped reading its replies: commands from it run again
 * (and its input is read again) once its queue drained to the low mark.
 * libuv runs write callbacks before the close callback, so c is valid. */
static void write_done(uv_write_t *w, int status) {
  write_req *wr = (write_req *)w;
  client *c = wr->c;
  c->queued -= wr->n;
  free(wr->data);
  free(wr);
  (void)status; /* a client that went away: its close follows via read */
  if (!c->blocked || c->closing || c->queued > WH_ADMIN_OUT_LOW) return;
  c->blocked = 0;
  process_input(c);
  if (!c->blocked && !c->pending && !c->closing && !c->eof &&
      uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
    client_close(c);
}

static void shutdown_done(uv_shutdown_t *req, int status) {
  client *c = req->handle->data;
  free(req);
  (void)status;
  client_close(c);
}

/* Flushes queued replies, then closes. */
static void client_shutdown(client *c) {
  if (c->closing) return;
  uv_read_stop((uv_stream_t *)&c->pipe);
  uv_shutdown_t *sr = malloc(sizeof *sr);
  if (!sr || uv_shutdown(sr, (uv_stream_t *)&c->pipe, shutdown_done) != 0) {
    free(sr);
    client_close(c);
  }
}

/* Queues req's reply plus the terminating empty line; takes the buffer. */
static void send_reply(client *c, wh_admin_req *req) {
  wh_strbuf *b = &req->out;
  if (b->oom) {
    wh_sb_free(b);
    wh_sb_printf(b, "ERR 500 out of memory");
  }
  if (b->len && b->p[b->len - 1] != '\n') wh_sb_put(b, "\n", 1);
  wh_sb_put(b, "\n", 1);
  write_req *wr = malloc(sizeof *wr);
  if (!wr || b->oom) {
    free(wr);
    wh_sb_free(b);
    client_close(c);
    return;
  }
  wr->data = b->p;
  wr->c = c;
  wr->n = b->len;
  b->p = NULL;
  uv_buf_t buf = uv_buf_init(wr->data, (unsigned)b->len);
  wh_sb_free(b);
  if (uv_write(&wr->w, (uv_stream_t *)&c->pipe, &buf, 1, write_done) != 0) {
    free(wr->data);
    free(wr);
    client_close(c);
    return;
  }
  c->queued += wr->n;
}

int wh_admin_fail(wh_admin_req *req, int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++) /* one line, always */
    if (*p == '\n' || *p == '\r') *p = ' ';
  wh_sb_free(&req->out);
  wh_sb_printf(&req->out, "ERR %d %s", code, msg);
  return WH_REPLY_DONE;
}

void wh_admin_finish(wh_admin_req *req) {
  client *c = req->client;
  c->pending = NULL;
  if (c->closing) {
    wh_sb_free(&req->out);
    free(req);
    c->closing = 0;
    client_close(c);
    return;
  }
  send_reply(c, req);
  free(req);
  process_input(c);
  if (c->paused && !c->pending && !c->closing && !c->blocked) {
    c->paused = 0;
    if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
      client_close(c);
  }
}

/* Runs one parsed line. Returns 1 when the reply is pending. */
static int run_line(client *c, const char *line, size_t len) {
  wh_admin_req *req = calloc(1, sizeof *req);
  if (!req) {
    client_close(c);
    return 1;
  }
  req->app = c->srv->app;
  req->read_only = c->srv->read_only;
  req->client = c;
  char msg[512];
  int rc = wh_admin_parse(wh_admin_commands, wh_admin_n_commands, line, len,
                          req->read_only, &req->cmd, msg, sizeof msg);
  if (rc == WH_ADMIN_EMPTY) {
    free(req);
    return 0;
  }
  if (rc) {
    wh_admin_fail(req, rc, "%s", msg);
  } else {
    wh_log(WARM_LOG_DEBUG, "admin", "%s%s", req->cmd.cmd->words,
           req->read_only ? " (stats socket)" : "");
    if (req->cmd.cmd->fn(req) == WH_REPLY_LATER) {
      c->pending = req;
      return 1;
    }
  }
  send_reply(c, req);
  free(req);
  return 0;
}

/* Runs complete lines from the input buffer until one goes pending, or
 * until the replies waiting for the client to read them pass the high
 * mark: then reading stops too, so a client that pipelines commands and
 * never reads costs at most WH_ADMIN_OUT_HIGH plus one reply. */
static void process_input(client *c) {
  while (!c->pending && !c->closing) {
    if (c->queued > WH_ADMIN_OUT_HIGH) {
      c->blocked = 1;
      uv_read_stop((uv_stream_t *)&c->pipe);
      return;
    }
    char *nl = memchr(c->in, '\n', c->in_len);
    if (!nl) {
      if (c->in_len > WH_ADMIN_MAX_LINE + 1) {
        wh_admin_req r = {0};
        r.client = c;
        wh_admin_fail(&r, 400, "line too long (at most %d bytes)",
                      WH_ADMIN_MAX_LINE);
        send_reply(c, &r);
        client_shutdown(c);
      } else if (c->eof) {
        /* A last line without its newline is still a command. */
        size_t len = c->in_len;
        c->in_len = 0;
        if (len && run_line(c, c->in, len)) return; /* finish continues */
        if (!c->closing) client_shutdown(c);
      }
      return;
    }
    size_t len = (size_t)(nl - c->in);
    int later = run_line(c, c->in, len);
    if (c->closing && !c->pending) return; /* c may be gone soon */
    memmove(c->in, nl + 1, c->in_len - len - 1);
    c->in_len -= len + 1;
    if (later) return;
  }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  client *c = h->data;
  (void)suggested;
  if (c->in_cap - c->in_len < 1024) {
    size_t ncap = c->in_cap ? c->in_cap * 2 : 4096;
    char *n = realloc(c->in, ncap);
    if (!n) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->in = n;
    c->in_cap = ncap;
  }
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* Appends input and runs complete lines; EOF runs what is left first. */
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  client *c = st->data;
  (void)buf;
  if (nread < 0) {
    uv_read_stop(st);
    if (nread == UV_EOF) {
      c->eof = 1;
      process_input(c);
    } else {
      client_close(c);
    }
    return;
  }
  c->in_len += (size_t)nread;
  process_input(c);
  /* Stop reading while a reply is pending and input is piling up. */
  if (c->pending && c->in_len > 2 * WH_ADMIN_MAX_LINE) {
    uv_read_stop(st);
    c->paused = 1;
  }
}

/* A new client: tracked in the server's list until its close callback. */
static void on_connection(uv_stream_t *server, int status) {
  wh_admin_server *s = server->data;
  if (status < 0)
    wh_fd_refusal_log(&s->refused_at, &s->refused, s->path,
                      uv_strerror(status));
  if (status < 0 || s->stopping) return;
  client *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  uv_pipe_init(server->loop, &c->pipe, 0);
  c->pipe.data = c;
  c->next = s->clients;
  if (s->clients) s->clients->prev = c;
  s->clients = c;
  s->n_clients++;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
    client_close(c);
}

/* A socket file nobody accepts on is stale; one that answers is live. */
static int socket_is_live(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return live;
}

int wh_admin_server_start(uv_loop_t *loop, const char *path, unsigned mode,
                          int read_only, void *app, wh_admin_server **out,
                          warm_error *err) {
  *out = NULL;
  struct sockaddr_un sa;
  if (strlen(path) >= sizeof sa.sun_path)
    return warm_error_set(err, WARM_EINVAL,
                          "socket path %s is too long (at most %zu bytes)",
                          path, sizeof sa.sun_path - 1);
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return warm_error_set(err, WARM_EINVAL,
                            "%s exists and is not a socket; refusing to "
                            "replace it",
                            path);
    if (socket_is_live(path))
      return warm_error_set(err, WARM_EINVAL,
                            "%s is in use by a running process", path);
    if (unlink(path) != 0)
      return warm_error_set(err, WARM_EIO, "cannot remove stale socket %s: %s",
                            path, strerror(errno));
    wh_info("removed stale socket %s", path);
  }
  wh_admin_server *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path))) {
    free(s);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  s->read_only = read_only;
  s->app = app;
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  /* Create the file owner-only, then widen to the configured mode, so it
   * is never more open than asked for, not even for a moment. */
  mode_t old = umask(0177);
  int rc = uv_pipe_bind(&s->listener, path);
  umask(old);
  int bound = rc == 0;
  if (rc == 0 && chmod(path, mode) != 0) rc = uv_translate_sys_error(errno);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc != 0) {
    warm_error_set(err, WARM_EIO, "cannot listen on %s: %s", path,
                   uv_strerror(rc));
    if (bound) unlink(path);
    s->stopping = 1;
    wh_admin_server_stop(s);
    return WARM_EIO;
  }
  *out = s;
  return 0;
}

static void listener_closed(uv_handle_t *h) {
  wh_admin_server *s = h->data;
  s->listener_closed = 1;
  maybe_free_server(s);
}

void wh_admin_server_stop(wh_admin_server *s) {
  if (!s) return;
  int bound = !s->stopping;
  s->stopping = 1;
  if (bound) unlink(s->path);
  uv_close((uv_handle_t *)&s->listener, listener_closed);
  for (client *c = s->clients; c; c = c->next) {
    if (c->pending)
      c->closing = 1; /* finish will close it */
    else
      client_shutdown(c);
  }
}

size_t wh_admin_server_clients(const wh_admin_server *s) {
  return s->n_clients;
}
