/*
 * host/auth.c — the API key file and the bearer check (see auth.h).
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "warm/warm.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 256

typedef struct key {
  char name[65];
  char token[TOKEN_MAX + 1];
  size_t len;
} key;

struct wh_auth_keys {
  key *keys;
  size_t n;
};

static int name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
      return 0;
  return 1;
}

static int token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || strchr("-._~+/=", c) != NULL;
}

static int token_ok(const char *s) {
  size_t n = strlen(s);
  if (n < TOKEN_MIN || n > TOKEN_MAX) return 0;
  for (; *s; s++)
    if (!token_char(*s)) return 0;
  return 1;
}

void wh_auth_free(wh_auth_keys *k) {
  if (!k) return;
  if (k->keys) memset(k->keys, 0, k->n * sizeof *k->keys); /* the tokens */
  free(k->keys);
  free(k);
}

size_t wh_auth_count(const wh_auth_keys *k) {
  return k ? k->n : 0;
}

/* One line into k, or an error message. */
static int add_line(wh_auth_keys *k, char *line, const char *path, int ln,
                    char *err, size_t n) {
  char *save = NULL;
  char *name = strtok_r(line, " \t\r\n", &save);
  if (!name || name[0] == '#') return 0;
  char *tok = strtok_r(NULL, " \t\r\n", &save);
  char *more = tok ? strtok_r(NULL, " \t\r\n", &save) : NULL;
  if (!tok || more) {
    snprintf(err, n, "%s:%d: expected 'NAME TOKEN'", path, ln);
    return WARM_EINVAL;
  }
  if (!name_ok(name)) {
    snprintf(err, n, "%s:%d: bad key name '%.64s' (1-64 of A-Z a-z 0-9 _ . -)",
             path, ln, name);
    return WARM_EINVAL;
  }
  if (!token_ok(tok)) {
    snprintf(err, n,
             "%s:%d: key '%s': the token must be %d..%d characters of "
             "A-Z a-z 0-9 - . _ ~ + / =",
             path, ln, name, TOKEN_MIN, TOKEN_MAX);
    return WARM_EINVAL;
  }
  for (size_t i = 0; i < k->n; i++) {
    if (!strcmp(k->keys[i].name, name)) {
      snprintf(err, n, "%s:%d: duplicate key name '%s'", path, ln, name);
      return WARM_EINVAL;
    }
    if (!strcmp(k->keys[i].token, tok)) {
      snprintf(err, n, "%s:%d: key '%s' repeats the token of key '%s'", path,
               ln, name, k->keys[i].name);
      return WARM_EINVAL;
    }
  }
  key *a = realloc(k->keys, (k->n + 1) * sizeof *a);
  if (!a) {
    snprintf(err, n, "%s: out of memory", path);
    return WARM_ENOMEM;
  }
  k->keys = a;
  key *e = &k->keys[k->n++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->token, sizeof e->token, "%s", tok);
  e->len = strlen(tok);
  return 0;
}

int wh_auth_load(const char *path, wh_auth_keys **out, char *err, size_t n) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, n, "%s: cannot open: %s", path, strerror(errno));
    return WARM_EIO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007)) {
    fclose(f);
    snprintf(err, n,
             "%s: others may read or write the key file (mode %04o); "
             "chmod o-rwx it",
             path, (unsigned)(st.st_mode & 07777));
    return WARM_EINVAL;
  }
  wh_auth_keys *k = calloc(1, sizeof *k);
  if (!k) {
    fclose(f);
    snprintf(err, n, "%s: out of memory", path);
    return WARM_ENOMEM;
  }
  char line[1024];
  int ln = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    ln++;
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, n, "%s:%d: line too long", path, ln);
      rc = WARM_EINVAL;
      break;
    }
    rc = add_line(k, line, path, ln, err, n);
  }
  memset(line, 0, sizeof line);
  fclose(f);
  if (!rc && k->n == 0) {
    snprintf(err, n, "%s: no keys (expected lines 'NAME TOKEN')", path);
    rc = WARM_EINVAL;
  }
  if (rc) {
    wh_auth_free(k);
    return rc;
  }
  *out = k;
  return 0;
}

/* Equal in time independent of where the bytes differ (the length of the
 * presented token is not secret). */
static int same(const char *a, size_t alen, const char *b, size_t blen) {
  unsigned char d = alen != blen;
  size_t m = alen < blen ? alen : blen;
  for (size_t i = 0; i < m; i++)
    d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

int wh_auth_check(const wh_auth_keys *k, const char *authorization,
                  const char **name) {
  const char *h = authorization ? authorization : "";
  while (*h == ' ' || *h == '\t')
    h++;
  if (strncasecmp(h, "Bearer", 6) || (h[6] != ' ' && h[6] != '\t'))
    return WH_AUTH_MISSING;
  h += 6;
  while (*h == ' ' || *h == '\t')
    h++;
  size_t len = strlen(h);
  while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
    len--;
  if (!len) return WH_AUTH_MISSING;
  int found = -1;
  for (size_t i = 0; k && i < k->n; i++)
    if (same(h, len, k->keys[i].token, k->keys[i].len)) found = (int)i;
  if (found < 0) return WH_AUTH_INVALID;
  if (name) *name = k->keys[found].name;
  return 0;
}
