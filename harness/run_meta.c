/* What produced a run: the fields of the TAP header ("# version: 0.1.0",
 * ...), filled by the runner before it starts, written after the plan, read
 * back by `report` and carried into JUnit properties and the HTML page.
 * One table, so the TAP, the reader and both reports list the same fields.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "mfe_profile.h"
#include "report.h"
#include "version.h"

#define FIELD(key, member) { key, offsetof(struct vhc_rrun, member) }
static const struct {
    const char *key;
    size_t off;
} fields[] = {
    FIELD("version", version), FIELD("commit", commit), FIELD("date", date),
    FIELD("host", host), FIELD("backend", backend), FIELD("mode", mode),
    FIELD("profile", profile), FIELD("device", device), FIELD("options", options),
    FIELD("shard", shard), FIELD("strict", strict),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

const char *vhc_rrun_meta_key(size_t i)
{
    return i < NFIELDS ? fields[i].key : NULL;
}

char **vhc_rrun_meta(struct vhc_rrun *run, size_t i)
{
    return i < NFIELDS ? (char **)((char *)run + fields[i].off) : NULL;
}

const char *vhc_rrun_meta_get(const struct vhc_rrun *run, size_t i)
{
    return i < NFIELDS ? *(char *const *)((const char *)run + fields[i].off) : NULL;
}

static char *utc_now(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

static char *host_text(void)
{
    struct utsname u;
    char *s = NULL;
    if (uname(&u) < 0)
        return strdup("?");
    if (asprintf(&s, "%s (%s %s %s)", u.nodename, u.sysname, u.release, u.machine) < 0)
        return NULL;
    return s;
}

/* "qemu-7.2 qemu-8.2": the profiles every case runs under */
static char *profiles_text(const struct vhc_run_opts *o)
{
    if (!o->nprofiles)
        return strdup(MFE_PROFILE_DEFAULT);
    size_t len = 1;
    for (unsigned i = 0; i < o->nprofiles; i++)
        len += strlen(o->profiles[i]->name) + 1;
    char *s = calloc(1, len);
    for (unsigned i = 0; s && i < o->nprofiles; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, o->profiles[i]->name);
    }
    return s;
}

int vhc_rrun_describe(struct vhc_rrun *run, const struct vhc_run_opts *o, const char *backend)
{
    static const char *const devices[] = { [VHC_DEV_NET] = "net", [VHC_DEV_BLK] = "blk",
                                           [VHC_DEV_FS] = "fs" };
    run->version = strdup(vhc_version);
    run->commit = strdup(vhc_commit);
    run->date = utc_now();
    run->host = host_text();
    run->backend = strdup(backend ? backend : "?");
    run->mode = strdup(vhc_mode_name(o->mode));
    run->profile = profiles_text(o);
    run->device = strdup(devices[o->device]);
    if (o->options && *o->options)
        run->options = strdup(o->options);
    if (o->shard_n && asprintf(&run->shard, "%u/%u", o->shard_k, o->shard_n) < 0)
        run->shard = NULL;
    if (o->strict)
        run->strict = strdup("yes");
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *k = fields[i].key;
        bool optional = !strcmp(k, "options") || !strcmp(k, "shard") || !strcmp(k, "strict");
        if (!optional && !vhc_rrun_meta_get(run, i))
            return -1;
    }
    return 0;
}

void vhc_rrun_write_header(FILE *f, const struct vhc_rrun *run)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = vhc_rrun_meta_get(run, i);
        if (!v)
            continue;
        fprintf(f, "# %s: ", fields[i].key);
        for (; *v; v++)
            fputc((unsigned char)*v < 0x20 ? ' ' : *v, f);
        fputc('\n', f);
    }
}

int vhc_rrun_meta_copy(struct vhc_rrun *to, const struct vhc_rrun *from)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = vhc_rrun_meta_get(from, i);
        char **dst = vhc_rrun_meta(to, i);
        free(*dst);
        *dst = v ? strdup(v) : NULL;
        if (v && !*dst)
            return -1;
    }
    return 0;
}
