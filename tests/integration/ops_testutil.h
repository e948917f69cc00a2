/*
 * ops_testutil.h — for the operations tests: one HTTP request with extra
 * headers on a fresh connection (Connection: close), keeping the whole
 * response head so a test can look at any header; the tiny-pipeline config
 * the warmd tests share.
 */
#ifndef OPS_TESTUTIL_H
#define OPS_TESTUTIL_H

#include "http_testutil.h"

typedef struct op_resp {
  int status;
  char head[4096]; /* status line and headers */
  char *body;      /* malloc'd, NUL-terminated */
} op_resp;

/* The value of header `name` (case-insensitive) into out; 1 when found. */
static inline int op_header(const op_resp *r, const char *name, char *out,
                            size_t n) {
  size_t k = strlen(name);
  for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
    if (!strncasecmp(l + 2, name, k) && l[2 + k] == ':') {
      const char *v = l + 3 + k;
      while (*v == ' ')
        v++;
      size_t m = strcspn(v, "\r");
      snprintf(out, n, "%.*s", (int)m, v);
      return 1;
    }
  }
  if (n) out[0] = '\0';
  return 0;
}

static inline void op_free(op_resp *r) {
  free(r->body);
  r->body = NULL;
}

/* method path [body] with `headers` ("Name: v\r\n" lines or NULL). */
static inline int op_request(int port, const char *method, const char *path,
                             const char *headers, const char *body,
                             op_resp *r) {
  memset(r, 0, sizeof *r);
  r->body = calloc(1, 1);
  int fd = ht_connect(port);
  if (fd < 0) return -1;
  size_t bl = body ? strlen(body) : 0;
  char req[4096];
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                   "%s%sContent-Length: %zu\r\n\r\n",
                   method, path, headers ? headers : "",
                   body ? "Content-Type: application/json\r\n" : "", bl);
  if (ht_send_all(fd, req, (size_t)n) || (bl && ht_send_all(fd, body, bl))) {
    close(fd);
    return -1;
  }
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  double end = ht_now() + 20;
  for (;;) {
    int left = (int)((end - ht_now()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) break;
    if (cap - len < 4096) buf = realloc(buf, cap *= 2);
    ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
    if (got <= 0) break;
    len += (size_t)got;
  }
  close(fd);
  buf[len] = '\0';
  char *e = strstr(buf, "\r\n\r\n");
  if (!e || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
    free(buf);
    return -1;
  }
  snprintf(r->head, sizeof r->head, "%.*s", (int)(e - buf), buf);
  free(r->body);
  r->body = strdup(e + 4);
  free(buf);
  return 0;
}

/* The [component]s and [pipeline] of the tiny ltxv pipeline (hello_encoder
 * -> transformer_ltxv -> vae_ltxv on the ltxv_checkpoints fixture). */
static inline int op_pipeline_ini(char *out, size_t n) {
  return snprintf(
      out, n,
      "[device cpu]\nbudget = 1GiB\n[cache]\nembeddings = 16MiB\n"
      "[component text_encoder]\nplugin = hello_encoder\ndevice = cpu\n"
      "placement = resident\ndim = 24\nbuckets = 512\n"
      "[component transformer]\nplugin = transformer_ltxv\n"
      "weights = %s/ltxv-ckpt/dit_tiny\nplacement = resident\n"
      "[component vae]\nplugin = vae_ltxv\n"
      "weights = %s/ltxv-ckpt/vae_tiny\nplacement = resident\n"
      "[pipeline]\nencoder = text_encoder\nstages = transformer\n"
      "decoder = vae\nframes = 9\nheight = 32\nwidth = 32\nsteps = 2\n"
      "guidance = 1\n",
      WARM_BUILD_DIR, WARM_BUILD_DIR);
}

/* Skips (77) unless warmd and the pipeline's plugins are built. */
static inline void op_need_pipeline(void) {
  const char *need[4] = {"bin/warmd", "plugins/hello_encoder.so",
                         "plugins/transformer_ltxv.so", "plugins/vae_ltxv.so"};
  for (int i = 0; i < 4; i++) {
    char f[1024];
    snprintf(f, sizeof f, "%s/%s", WARM_BUILD_DIR, need[i]);
    if (access(f, R_OK)) {
      printf("SKIP: %s is not built\n", f);
      exit(77);
    }
  }
}

#endif /* OPS_TESTUTIL_H */
