/*
 * test_admin_parse — the admin command parser against the real command
 * table: matching, arguments, the trailing json, the read-only socket's
 * refusals, and hostile lines (control bytes, overlong, too many words).
 */
#include "../integration/wh_testutil.h"
#include "admin.h"

static int parse(const char *line, int ro, wh_admin_parsed *p, char *msg) {
  return wh_admin_parse(wh_admin_commands, wh_admin_n_commands, line,
                        strlen(line), ro, p, msg, 512);
}

static void test_every_table_command_parses_with_its_words(void) {
  wh_admin_parsed p;
  char msg[512];
  for (size_t i = 0; i < wh_admin_n_commands; i++) {
    const wh_admin_cmd *c = &wh_admin_commands[i];
    char line[256];
    snprintf(line, sizeof line, "%s%s", c->words,
             c->min_args == 3 ? " a b c" : "");
    int rc = parse(line, 0, &p, msg);
    CHECK(rc == 0 && p.cmd == c && p.argc == c->min_args, "'%s': %d %s", line,
          rc, msg);
  }
}

static void test_show_takes_json_and_nothing_else(void) {
  wh_admin_parsed p;
  char msg[512];
  CHECK(parse("show memory json", 0, &p, msg) == 0 && p.json == 1 &&
            !strcmp(p.cmd->words, "show memory"),
        "json flag");
  CHECK(parse("  show\tcomponents  ", 0, &p, msg) == 0 && p.json == 0 &&
            !strcmp(p.cmd->words, "show components"),
        "spaces and tabs");
  CHECK(parse("show memory xml", 0, &p, msg) == 400 &&
            strstr(msg, "usage: show memory [json]"),
        "%s", msg);
  CHECK(parse("reload json", 0, &p, msg) == 400, "reload takes no json");
  CHECK(parse("show config\r", 0, &p, msg) == 0, "CRLF tolerated");
}

static void test_unknown_commands_say_what_is_expected(void) {
  wh_admin_parsed p;
  char msg[512];
  CHECK(parse("frobnicate", 0, &p, msg) == 400 &&
            strstr(msg, "unknown command 'frobnicate' (try 'help')"),
        "%s", msg);
  CHECK(parse("show jobs-that-do-not-exist", 0, &p, msg) == 400 &&
            strstr(msg, "'show info'") && strstr(msg, "'show memory'"),
        "%s", msg);
  CHECK(parse("show", 0, &p, msg) == 400, "bare show");
  CHECK(parse("", 0, &p, msg) == WH_ADMIN_EMPTY, "blank");
  CHECK(parse(" \t ", 0, &p, msg) == WH_ADMIN_EMPTY, "whitespace only");
}

static void test_set_component_needs_exactly_three_arguments(void) {
  wh_admin_parsed p;
  char msg[512];
  CHECK(parse("set component enc placement stream", 0, &p, msg) == 0 &&
            p.argc == 3 && !strcmp(p.argv[0], "enc") &&
            !strcmp(p.argv[1], "placement") && !strcmp(p.argv[2], "stream"),
        "args");
  CHECK(parse("set component enc placement", 0, &p, msg) == 400 &&
            strstr(msg, "usage: set component"),
        "%s", msg);
  CHECK(parse("set component a b c d", 0, &p, msg) == 400, "four");
  CHECK(parse("set", 0, &p, msg) == 400, "bare set");
}

static void test_read_only_socket_allows_only_help_and_show(void) {
  wh_admin_parsed p;
  char msg[512];
  CHECK(parse("help", 1, &p, msg) == 0, "help");
  CHECK(parse("show info json", 1, &p, msg) == 0, "show");
  CHECK(parse("reload", 1, &p, msg) == 403 && strstr(msg, "read-only"), "%s",
        msg);
  CHECK(parse("shutdown", 1, &p, msg) == 403, "shutdown");
  CHECK(parse("set component a placement stream", 1, &p, msg) == 403, "set");
  for (size_t i = 0; i < wh_admin_n_commands; i++) {
    const wh_admin_cmd *c = &wh_admin_commands[i];
    int ro_ok = !strcmp(c->words, "help") || !strncmp(c->words, "show ", 5);
    CHECK(((c->flags & WH_CMD_READONLY) != 0) == ro_ok, "'%s' read-only flag",
          c->words);
  }
}

static void test_hostile_lines_are_refused_cleanly(void) {
  wh_admin_parsed p;
  char msg[512];
  char ctl[] = "show\x01info";
  CHECK(parse(ctl, 0, &p, msg) == 400 && strstr(msg, "control character"), "%s",
        msg);
  char nul[] = {'h', 'e', 0, 'p'};
  CHECK(wh_admin_parse(wh_admin_commands, wh_admin_n_commands, nul, 4, 0, &p,
                       msg, sizeof msg) == 400,
        "NUL inside a line");
  char *big = malloc(WH_ADMIN_MAX_LINE + 100);
  memset(big, 'a', WH_ADMIN_MAX_LINE + 99);
  big[WH_ADMIN_MAX_LINE + 99] = '\0';
  CHECK(parse(big, 0, &p, msg) == 400 && strstr(msg, "too long"), "%s", msg);
  free(big);
  CHECK(parse("a b c d e f g h i j k l m n", 0, &p, msg) == 400 &&
            strstr(msg, "too many words"),
        "%s", msg);
  /* A line exactly at the limit still parses (as an unknown command). */
  char *edge = malloc(WH_ADMIN_MAX_LINE + 1);
  memset(edge, 'z', WH_ADMIN_MAX_LINE);
  edge[WH_ADMIN_MAX_LINE] = '\0';
  CHECK(parse(edge, 0, &p, msg) == 400 && strstr(msg, "unknown command"), "%s",
        msg);
  free(edge);
}

static void test_help_lists_what_the_socket_allows(void) {
  wh_strbuf a = {0}, b = {0};
  wh_admin_help(&a, 0);
  wh_admin_help(&b, 1);
  CHECK(a.p && strstr(a.p, "reload") && strstr(a.p, "set component"),
        "full help");
  CHECK(b.p && !strstr(b.p, "\nreload ") && !strstr(b.p, "\nshutdown ") &&
            strstr(b.p, "show memory"),
        "read-only help:\n%s", b.p ? b.p : "");
  CHECK(a.p && !strstr(a.p, "\n\n"), "no blank line inside a reply");
  wh_sb_free(&a);
  wh_sb_free(&b);
}

int main(void) {
  RUN(test_every_table_command_parses_with_its_words);
  RUN(test_show_takes_json_and_nothing_else);
  RUN(test_unknown_commands_say_what_is_expected);
  RUN(test_set_component_needs_exactly_three_arguments);
  RUN(test_read_only_socket_allows_only_help_and_show);
  RUN(test_hostile_lines_are_refused_cleanly);
  RUN(test_help_lists_what_the_socket_allows);
  return wt_failures ? 1 : 0;
}
