/* What is made of the manual pages of help.c: the usage a bad option prints
 * (the page's SYNOPSIS and OPTIONS, word for word) and the installed man
 * pages (roff), so help, usage and man never drift apart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

/* The body of section title in text: from the line after its heading to the
 * next heading (a line that starts with a letter), blank lines at its end
 * left out.  NULL when the page has no such section. */
static const char *section(const char *text, const char *title, size_t *len)
{
    size_t n = strlen(title);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return NULL;
        if ((size_t)(nl - p) == n && strncmp(p, title, n) == 0) {
            const char *body = nl + 1, *end = body;
            while (*end && !(end[0] >= 'A' && end[0] <= 'Z')) {
                const char *next = strchr(end, '\n');
                end = next ? next + 1 : end + strlen(end);
            }
            while (end > body + 1 && end[-1] == '\n' && end[-2] == '\n')
                end--;
            *len = (size_t)(end - body);
            return body;
        }
        p = nl + 1;
    }
    return NULL;
}

/* SYNOPSIS as "usage: ..." lines: each form after "usage: " (or under it),
 * continuation lines kept in line with their form. */
static void put_synopsis(FILE *f, const char *body, size_t len)
{
    bool first = true;
    for (const char *p = body; p < body + len;) {
        size_t n = strcspn(p, "\n");
        const char *line = p + (n >= 2 ? 2 : n);
        size_t rest = n - (size_t)(line - p);
        if (strncmp(line, "vhost-conform", 13) == 0) {
            fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", (int)rest, line);
            first = false;
        } else if (n) {
            fprintf(f, "     %.*s\n", (int)n, p);
        }
        p += n + (p[n] == '\n');
    }
}

int vhc_usage(const char *command)
{
    const struct vhc_help_page *pg = vhc_help_find(command);
    size_t n;
    const char *body = pg ? section(pg->text, "SYNOPSIS", &n) : NULL;
    if (!body) {
        fprintf(stderr, "usage: vhost-conform %s --help\n", command ? command : "");
        return 2;
    }
    put_synopsis(stderr, body, n);
    const char *more[] = { "COMMANDS", "OPTIONS" };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if ((body = section(pg->text, more[i], &n)) && !(command && i == 0))
            fprintf(stderr, "\n%.*s", (int)n, body);
    fprintf(stderr, "\n'vhost-conform help%s%s' has the whole manual page.\n",
            command ? " " : "", command ? command : "");
    return 2;
}

/* ---- roff ---- */

/* One line of text, escaped for roff: backslashes and hyphens, and a
 * leading '.' or '\'' that would make it a request. */
static void roff_line(FILE *f, const char *s, size_t n)
{
    if (n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", f);
        else if (s[i] == '-')
            fputs("\\-", f);
        else
            fputc(s[i], f);
    }
    fputc('\n', f);
}

/* "  vhost-conform run - what it does" as man's NAME: "vhost-conform-run \- ..." */
static void roff_name(FILE *f, const char *command, const char *body, size_t n)
{
    const char *dash = strstr(body, " - ");
    const char *what = dash && dash < body + n ? dash + 3 : "";
    size_t wn = strcspn(what, "\n");
    fprintf(f, ".SH NAME\nvhost\\-conform%s%s \\- ", command ? "\\-" : "", command ? command : "");
    roff_line(f, what, wn);
}

/* Every section of text: a heading, then its lines as they are (no fill),
 * without the two spaces of indentation the terminal page has. */
static void roff_sections(FILE *f, const char *command, const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        size_t len;
        char title[64];
        snprintf(title, sizeof title, "%.*s", (int)n, p);
        const char *body = section(text, title, &len);
        if (!body || n == 0 || !(p[0] >= 'A' && p[0] <= 'Z')) {
            p += n + (p[n] == '\n');
            continue;
        }
        if (strcmp(title, "NAME") == 0) {
            roff_name(f, command, body, len);
        } else {
            fprintf(f, ".SH %s\n.nf\n", title);
            for (const char *l = body; l < body + len;) {
                size_t ln = strcspn(l, "\n");
                size_t skip = ln >= 2 && l[0] == ' ' && l[1] == ' ' ? 2 : 0;
                roff_line(f, l + skip, ln - skip);
                l += ln + (l[ln] == '\n');
            }
            fputs(".fi\n", f);
        }
        p = body + len;
    }
}

int vhc_help_man(const char *command, FILE *f)
{
    const struct vhc_help_page *pg = vhc_help_find(command);
    if (!pg)
        return -1;
    char upper[64] = "VHOST\\-CONFORM";
    for (size_t i = 0, o = strlen(upper); command && command[i] && o + 3 < sizeof upper; i++) {
        if (i == 0) {
            memcpy(upper + o, "\\-", 2);
            o += 2;
        }
        upper[o++] = (char)(command[i] >= 'a' && command[i] <= 'z' ? command[i] - 32 : command[i]);
        upper[o] = '\0';
    }
    fprintf(f, ".\\\" Made by vhost-conform help --man from the text of 'vhost-conform help'.\n"
               ".TH %s 1 \"\" \"vhost\\-conform %s\" \"vhost\\-conform manual\"\n",
            upper, vhc_version);
    roff_sections(f, command, pg->text);
    if (pg->common_exit)
        roff_sections(f, command, vhc_help_exit_common());
    fputs(".SH SEE ALSO\n", f);
    if (command) {
        fputs("vhost\\-conform(1)\n", f);
    } else {
        const struct vhc_help_page *all = vhc_help_pages();
        for (size_t i = 0; all[i].name; i++)
            fprintf(f, "%svhost\\-conform\\-%s(1)", i ? ", " : "", all[i].name);
        fputs("\n", f);
    }
    return ferror(f) ? -1 : 0;
}

static int man_file(const char *dir, const char *command)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vhost-conform%s%s.1", dir, command ? "-" : "",
             command ? command : "");
    FILE *f = fopen(path, "we");
    if (!f) {
        fprintf(stderr, "vhost-conform: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = vhc_help_man(command, f);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "vhost-conform: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

static int man_dir(const char *dir)
{
    int rc = man_file(dir, NULL);
    for (const struct vhc_help_page *p = vhc_help_pages(); rc == 0 && p->name; p++)
        rc = man_file(dir, p->name);
    return rc < 0 ? 2 : 0;
}

int vhc_cmd_help(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return vhc_help("help") < 0 ? 2 : 0;
    if (argc >= 2 && strcmp(argv[1], "--man-dir") == 0)
        return argc == 3 ? man_dir(argv[2]) : vhc_usage("help");
    if (argc >= 2 && strcmp(argv[1], "--man") == 0) {
        if (argc > 3)
            return vhc_usage("help");
        if (vhc_help_man(argc == 3 ? argv[2] : NULL, stdout) < 0) {
            fprintf(stderr, "vhost-conform: no help for '%s'\n", argv[2]);
            return 2;
        }
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return vhc_usage("help");
    return vhc_help(argc == 2 ? argv[1] : NULL) < 0 ? 2 : 0;
}
