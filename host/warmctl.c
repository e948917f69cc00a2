/*
 * host/warmctl.c — the admin socket client.
 *   warmctl -s SOCKET CMD...   one command; prints the reply; exit 1 on an
 *                              ERR reply, 2 when it cannot connect/talk.
 *   warmctl -s SOCKET          a prompt: one command per line until EOF.
 * Stand-alone on purpose (libc only), so it runs where warmd's libraries
 * are not installed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 120000

static int connect_to(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    fprintf(stderr, "warmctl: socket path too long: %s\n", path);
    return -1;
  }
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    fprintf(stderr, "warmctl: cannot connect to %s: %s\n", path,
            strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads one reply (up to the empty line), printing it without that line.
 * Returns 0 OK, 1 ERR, 2 on I/O failure. Bytes after the reply stay in
 * the caller's buffer for the next one. */
static int read_reply(int fd, char **buf, size_t *len, size_t *cap) {
  for (;;) {
    /* A reply ends at "\n\n", or is just "\n" (an empty reply). */
    char *end = NULL;
    if (*len >= 1 && (*buf)[0] == '\n')
      end = *buf;
    else if (*len >= 2)
      end = memmem(*buf, *len, "\n\n", 2), end = end ? end + 1 : NULL;
    if (end) {
      size_t n = (size_t)(end - *buf); /* reply text incl. its last \n */
      fwrite(*buf, 1, n, stdout);
      fflush(stdout);
      int is_err = n >= 4 && !memcmp(*buf, "ERR ", 4);
      memmove(*buf, end + 1, *len - n - 1);
      *len -= n + 1;
      return is_err ? 1 : 0;
    }
    if (*cap - *len < 4096) {
      size_t ncap = *cap ? *cap * 2 : 8192;
      char *nb = realloc(*buf, ncap);
      if (!nb) return 2;
      *buf = nb;
      *cap = ncap;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, REPLY_TIMEOUT_MS);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      fprintf(stderr, "warmctl: no reply within %d s\n",
              REPLY_TIMEOUT_MS / 1000);
      return 2;
    }
    ssize_t r = recv(fd, *buf + *len, *cap - *len, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (*len) fwrite(*buf, 1, *len, stdout);
      fprintf(stderr, "warmctl: connection closed before the reply ended\n");
      return 2;
    }
    *len += (size_t)r;
  }
}

static void usage(FILE *f) {
  fprintf(f, "usage: warmctl -s SOCKET [COMMAND...]\n"
             "  with a command: send it, print the reply, exit 0 (OK), 1 "
             "(ERR) or 2 (no connection)\n"
             "  without: a prompt; 'quit' or end of input leaves\n"
             "  try: warmctl -s SOCKET help\n");
}

int main(int argc, char **argv) {
  const char *sock = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "-s") && i + 1 < argc) {
      sock = argv[++i];
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      break;
    }
  }
  if (!sock) {
    usage(stderr);
    return 2;
  }
  int fd = connect_to(sock);
  if (fd < 0) return 2;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  if (i < argc) { /* one-shot */
    char line[4200];
    size_t n = 0;
    for (; i < argc; i++) {
      int w =
          snprintf(line + n, sizeof line - n, "%s%s", n ? " " : "", argv[i]);
      if (w < 0 || (size_t)w >= sizeof line - n) {
        fprintf(stderr, "warmctl: command too long\n");
        close(fd);
        return 2;
      }
      n += (size_t)w;
    }
    line[n++] = '\n';
    rc = send_all(fd, line, n) ? 2 : read_reply(fd, &buf, &len, &cap);
  } else { /* prompt */
    int tty = isatty(0);
    char *line = NULL;
    size_t lcap = 0;
    for (;;) {
      if (tty) {
        fputs("warmctl> ", stdout);
        fflush(stdout);
      }
      ssize_t n = getline(&line, &lcap, stdin);
      if (n < 0) break;
      while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
      if (!strcmp(line, "quit") || !strcmp(line, "exit")) break;
      if (!n) continue;
      line[n++] = '\n';
      if (send_all(fd, line, (size_t)n)) {
        rc = 2;
        break;
      }
      int r = read_reply(fd, &buf, &len, &cap);
      if (r == 2) {
        rc = 2;
        break;
      }
      if (r == 1) rc = 1; /* remember an ERR for the exit status */
    }
    free(line);
  }
  free(buf);
  close(fd);
  return rc;
}
