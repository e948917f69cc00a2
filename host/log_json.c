/*
 * host/log_json.c — the json log line (see log_json.h). Written by hand
 * into the caller's buffer: a log call must not allocate (it also reports
 * out-of-memory).
 */
#include "log_json.h"

#include <stdio.h>
#include <string.h>

typedef struct out_buf {
  char *p;
  size_t n, len;
} out_buf;

static void put(out_buf *b, const char *s, size_t k) {
  if (b->len + k >= b->n) k = b->len + 1 < b->n ? b->n - b->len - 1 : 0;
  memcpy(b->p + b->len, s, k);
  b->len += k;
  b->p[b->len] = '\0';
}

static void puts_(out_buf *b, const char *s) {
  put(b, s, strlen(s));
}

/* A JSON string. Room for the closing quote and brace is kept back
 * (reserve) so a long message is cut, never the object. Bytes >= 0x80 pass
 * through (the input is UTF-8 or close enough); control bytes are escaped. */
static void str(out_buf *b, const char *s, size_t reserve) {
  puts_(b, "\"");
  size_t room = b->n > reserve + 2 ? b->n - reserve - 2 : 0;
  for (; s && *s && b->len + 6 < room; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      put(b, esc, 2);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(b, esc, 6);
    } else {
      put(b, (const char *)&c, 1);
    }
  }
  puts_(b, "\"");
}

void wh_log_json_line(char *out, size_t n, const char *time, int level,
                      const char *component, const char *job, const char *msg,
                      const wh_access *a) {
  static const char *const lv[] = {"error", "warn", "info", "debug"};
  out_buf b = {out, n, 0};
  if (n == 0) return;
  out[0] = '\0';
  char num[96];
  puts_(&b, "{\"time\":");
  str(&b, time, 0);
  puts_(&b, ",\"level\":");
  str(&b, lv[level < 0 ? 0 : level > 3 ? 3 : level], 0);
  puts_(&b, ",\"component\":");
  str(&b, component, 0);
  puts_(&b, ",\"job\":");
  if (job)
    str(&b, job, 0);
  else
    puts_(&b, "null");
  if (a) {
    puts_(&b, ",\"method\":");
    str(&b, a->method, 0);
    puts_(&b, ",\"path\":");
    str(&b, a->path, 256);
    snprintf(num, sizeof num,
             ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", a->status,
             (unsigned long long)a->bytes, a->duration_s * 1e3);
    puts_(&b, num);
    if (a->key) {
      puts_(&b, ",\"key\":");
      str(&b, a->key, 0);
    }
    if (a->peer) {
      puts_(&b, ",\"peer\":");
      str(&b, a->peer, 0);
    }
  }
  puts_(&b, ",\"msg\":");
  str(&b, msg, 1);
  puts_(&b, "}");
}
