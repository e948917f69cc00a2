/*
 * fuzz_admin — arbitrary bytes as admin lines through the command parser,
 * on both the admin and the read-only socket. Checks the parser's own
 * promises: a parsed command comes from the table, its argument count is in
 * range, and the read-only socket never yields a command it must refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static wh_admin_parsed p; /* large; keep it off the stack */
  char msg[512];
  /* Split on newlines the way the server does. */
  const char *s = (const char *)data;
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i < size && s[i] != '\n') continue;
    for (int ro = 0; ro < 2; ro++) {
      int rc = wh_admin_parse(wh_admin_commands, wh_admin_n_commands, s + start,
                              i - start, ro, &p, msg, sizeof msg);
      if (rc == 0) {
        if (p.cmd < wh_admin_commands ||
            p.cmd >= wh_admin_commands + wh_admin_n_commands)
          abort();
        if (p.argc < p.cmd->min_args || p.argc > p.cmd->max_args) abort();
        if (ro && !(p.cmd->flags & WH_CMD_READONLY)) abort();
        for (int a = 0; a < p.argc; a++)
          if (!p.argv[a] || !*p.argv[a]) abort();
      } else if (rc != WH_ADMIN_EMPTY) {
        if (!msg[0] || strchr(msg, '\n')) abort(); /* one-line reason */
      }
    }
    start = i + 1;
  }
  return 0;
}
