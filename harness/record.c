/* Verdict words and the result record a case child sends over its pipe. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *const verdict_names[VHC_VERDICT_COUNT] = {
    [VHC_PASS] = "pass", [VHC_FAIL] = "fail", [VHC_SKIP] = "skip",
    [VHC_TIMEOUT] = "timeout", [VHC_CRASH] = "crash", [VHC_NOTRUN] = "notrun",
    [VHC_BROKEN] = "broken",
};

const char *vhc_verdict_name(enum vhc_verdict v)
{
    return (unsigned)v < VHC_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

int vhc_verdict_parse(const char *word)
{
    for (int v = 0; v < VHC_VERDICT_COUNT; v++)
        if (strcmp(word, verdict_names[v]) == 0)
            return v;
    return -1;
}

bool vhc_verdict_failed(enum vhc_verdict v)
{
    return v == VHC_FAIL || v == VHC_TIMEOUT || v == VHC_CRASH || v == VHC_BROKEN;
}

const char *vhc_mode_name(enum vhc_mode m)
{
    return m == VHC_MODE_CLIENT ? "client" : "server";
}

void vhc_result_free(struct vhc_result *r)
{
    free(r->transcript);
    free(r->backend_tail);
    free(r->case_tail);
    r->transcript = r->backend_tail = r->case_tail = NULL;
}

static void copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* One "key value" line; returns false for a key the format does not have. */
static bool take_line(struct vhc_result *r, const char *line, size_t len, bool *have_verdict)
{
    static const struct { const char *key; size_t off, cap; } fields[] = {
        { "rule ", offsetof(struct vhc_result, rule), sizeof r->rule },
        { "at ", offsetof(struct vhc_result, at), sizeof r->at },
        { "reason ", offsetof(struct vhc_result, reason), sizeof r->reason },
    };
    if (len > 8 && strncmp(line, "verdict ", 8) == 0) {
        char word[16];
        copy_field(word, sizeof word, line + 8, len - 8);
        int v = vhc_verdict_parse(word);
        if (v != VHC_PASS && v != VHC_FAIL && v != VHC_SKIP)
            return false;
        r->verdict = v;
        *have_verdict = true;
        return true;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t k = strlen(fields[i].key);
        if (len >= k && strncmp(line, fields[i].key, k) == 0) {
            copy_field((char *)r + fields[i].off, fields[i].cap, line + k, len - k);
            return true;
        }
    }
    return false;
}

int vhc_record_parse(const char *buf, size_t len, struct vhc_result *r)
{
    bool have_verdict = false;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        const char *line = buf + pos;
        pos += n + (nl != NULL);
        if (n == 10 && strncmp(line, "transcript", 10) == 0) {
            r->transcript = strndup(buf + pos, len - pos);
            break;
        }
        if (!take_line(r, line, n, &have_verdict)) {
            snprintf(r->reason, sizeof r->reason, "malformed result record line: %.*s",
                     (int)(n > 80 ? 80 : n), line);
            return -1;
        }
    }
    if (!have_verdict) {
        snprintf(r->reason, sizeof r->reason, "result record has no verdict");
        return -1;
    }
    return 0;
}
