/*
 * host/admin.h — the admin protocol: a UNIX stream socket, one command per
 * line, each reply ending with an empty line; a failure is the single line
 * "ERR <code> <message>". Codes are HTTP-like: 400 bad request (unknown
 * command, bad arguments), 403 not allowed on this socket, 404 no such
 * component, 409 conflict (e.g. shutting down), 500 the operation failed,
 * 507 not enough device memory.
 *
 * Commands come from a TABLE (admin_cmds.c): one entry per command, with
 * its words, argument counts, flags and handler, so adding `swap` or `drain`
 * is one entry. The parser is pure (no sockets) so it can be unit-tested and
 * fuzzed; the server runs on the libuv loop thread.
 */
#ifndef WH_ADMIN_H
#define WH_ADMIN_H

#include <stddef.h>
#include <uv.h>

#include "strbuf.h"
#include "warm/warm.h"

#define WH_ADMIN_MAX_LINE 4096
/* Reply bytes queued for one admin/stats client before its commands stop
 * running (and its input stops being read), and the mark below which they
 * run again. */
#define WH_ADMIN_OUT_HIGH (1u << 20)
#define WH_ADMIN_OUT_LOW (256u << 10)
#define WH_ADMIN_MAX_ARGS 8

enum {
  WH_CMD_READONLY = 1u << 0, /* allowed on the read-only stats socket */
  WH_CMD_JSON = 1u << 1,     /* takes a trailing "json" */
};

/* What a handler returns. */
enum { WH_REPLY_DONE = 0, WH_REPLY_LATER = 1 };
/* What the parser returns for a blank line (no reply is sent). */
#define WH_ADMIN_EMPTY 1

typedef struct wh_admin_req wh_admin_req;
typedef int (*wh_admin_fn)(wh_admin_req *req);

typedef struct wh_admin_cmd {
  const char *words;      /* "show components" */
  int min_args, max_args; /* after the words (and before "json") */
  unsigned flags;         /* WH_CMD_* */
  const char *usage;      /* arguments, for help: "NAME KEY VALUE" */
  const char *help;       /* one line */
  wh_admin_fn fn;
} wh_admin_cmd;

typedef struct wh_admin_parsed {
  const wh_admin_cmd *cmd;
  int json;
  int argc;
  const char *argv[WH_ADMIN_MAX_ARGS]; /* point into buf */
  char buf[WH_ADMIN_MAX_LINE + 1];
} wh_admin_parsed;

/* Parses one line (without its newline; a trailing \r is ignored) against a
 * table. Returns 0 (out filled), WH_ADMIN_EMPTY for a blank line, or an
 * error code (400, 403) with a message in msg. Never reads past len. */
int wh_admin_parse(const wh_admin_cmd *table, size_t n_table, const char *line,
                   size_t len, int read_only, wh_admin_parsed *out, char *msg,
                   size_t msg_len);

/* One request being answered. Handlers write the reply text into `out`
 * (lines without the final empty line) or call wh_admin_fail. A handler
 * returning WH_REPLY_LATER must call wh_admin_finish exactly once, on the
 * loop thread, after the handler has returned (from a later callback, never
 * from inside the handler); the connection runs no further command until
 * then. */
struct wh_admin_req {
  wh_admin_parsed cmd;
  wh_strbuf out;
  void *app;     /* the server's app pointer (the daemon) */
  int read_only; /* arrived on the stats socket */
  void *client;  /* private to admin.c */
};

/* Replaces the reply with "ERR code message". Returns WH_REPLY_DONE. */
int wh_admin_fail(wh_admin_req *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wh_admin_finish(wh_admin_req *req);

/* The command table (admin_cmds.c). */
extern const wh_admin_cmd wh_admin_commands[];
extern const size_t wh_admin_n_commands;
/* Writes the help text for a socket (read-only shows only what it allows). */
void wh_admin_help(wh_strbuf *out, int read_only);

typedef struct wh_admin_server wh_admin_server;

/* Listens on a UNIX socket at path with the given file mode. A stale socket
 * file (nobody accepting) is removed first; a live one or a non-socket file
 * is an error. Loop thread. */
int wh_admin_server_start(uv_loop_t *loop, const char *path, unsigned mode,
                          int read_only, void *app, wh_admin_server **out,
                          warm_error *err);
/* Stops accepting and removes the socket file at once; open connections
 * finish their current reply, flush and close. The server frees itself when
 * the last handle is closed. */
void wh_admin_server_stop(wh_admin_server *s);
/* Connections open now. */
size_t wh_admin_server_clients(const wh_admin_server *s);

#endif /* WH_ADMIN_H */
