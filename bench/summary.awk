# run.sh's summary over results.tsv (pair ring frame column pps gbps status
# waits steal load cycles-per-frame, "-" where the back end gave none).  A
# run is in slow mode when the generator waited (more than 5 waits of >= 1
# ms per second: nothing moved), steal time passed 5 %, or it ran under half
# its column's best rate in the same configuration; slow runs are listed
# apart and kept out of medians and ratios.
function med(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function good(p, cfg, col) { return ok[p, cfg, col] && (inclslow || !slow[p, cfg, col]) }
function ratio(num, den, cfg, what,   p, r, n, m) {
    n = 0
    for (p = 1; p <= maxp; p++)
        if (good(p, cfg, num) && good(p, cfg, den) && val[p, cfg, den, what] > 0 &&
            val[p, cfg, num, what] > 0)
            r[++n] = val[p, cfg, num, what] / val[p, cfg, den, what]
    if (n == 0) return "n/a"
    m = med(r, n)
    return sprintf("%.2f/%.2f/%.2f (%d)", r[1], m, r[n], n)
}
function medv(col, cfg, what,   p, v, n) {
    n = 0
    for (p = 1; p <= maxp; p++) if (good(p, cfg, col) && val[p, cfg, col, what] >= 0) v[++n] = val[p, cfg, col, what]
    return n ? med(v, n) : -1
}
{
    cfg = $2 " " $3; key = $1 SUBSEP cfg SUBSEP $4
    ok[key] = ($7 == "ok"); val[key, "pps"] = $5; val[key, "gbps"] = $6
    val[key, "cpf"] = ($11 ~ /^[0-9.]+$/) ? $11 : -1
    waits[key] = $8; steal[key] = $9; load[key] = $10
    if ($7 == "ok" && $5 > best[cfg, $4]) best[cfg, $4] = $5
    if ($1 > maxp) maxp = $1
    if (!(cfg in seen)) { seen[cfg] = 1; cfgs[++nc] = cfg }
    if (!($4 in seencol)) { seencol[$4] = 1; cols[++ncol] = $4 }
    keys[++nk] = key
}
END {
    for (i = 1; i <= nk; i++) {
        split(keys[i], k, SUBSEP)
        if (ok[keys[i]] && (waits[keys[i]] / seconds > 5 || steal[keys[i]] > 5 ||
                            val[keys[i], "pps"] < best[k[2], k[3]] / 2)) {
            slow[keys[i]] = 1; nslow++
            why[keys[i]] = sprintf("waits=%s steal=%s%% load=%s Mpps=%.3f (best %.3f)", waits[keys[i]],
                                   steal[keys[i]], load[keys[i]], val[keys[i], "pps"] / 1e6,
                                   best[k[2], k[3]] / 1e6)
        }
    }
    tables("runs not in slow mode")
    printf "== slow-mode runs (kept out of the above): %d\n", nslow
    for (i = 1; i <= nk; i++)
        if (slow[keys[i]]) { split(keys[i], k, SUBSEP); printf "  pair %s %s %s: %s\n", k[1], k[2], k[3], why[keys[i]] }
    if (nslow) { inclslow = 1; tables("ALL runs, slow mode included") }
}
# One table of medians: WHAT per column and configuration, divided by DIV.
function medians(heading, what, div, fmt, none,   i, c, m) {
    print heading
    printf "%-12s", "config"
    for (c = 1; c <= ncol; c++) printf " %10s", cols[c]
    printf "\n"
    for (i = 1; i <= nc; i++) {
        printf "%-12s", cfgs[i]
        for (c = 1; c <= ncol; c++) {
            m = medv(cols[c], cfgs[i], what)
            printf " %10s", m < 0 ? none : sprintf(fmt, m / div)
        }
        printf "\n"
    }
}
# The ratios of one configuration listed in SPEC ("NUM:DEN:what|..."), of
# WHAT; PREFIX before each line; with SKIPNA, no line where none was measured.
function ratio_lines(spec, cfg, what, prefix, skipna,   n, j, rs, r, x) {
    n = split(spec, rs, "|")
    for (j = 1; j <= n; j++) {
        split(rs[j], r, ":")
        if (!(r[1] in seencol) || !(r[2] in seencol)) continue
        x = ratio(r[1], r[2], cfg, what)
        if (!skipna || x != "n/a")
            printf "  %s%-11s / %-9s %-26s %s\n", prefix, r[1], r[2], x, r[3]
    }
}
function tables(title,   i) {
    medians("== median Mpps per column (" title ")", "pps", 1e6, "%.3f", "n/a")
    medians("== median busy cycles per frame of the back end (" title ")", "cpf", 1, "%.1f", "-")
    print "== ratios per pair, min/median/max (pairs; " title ")"
    for (i = 1; i <= nc; i++) {
        print cfgs[i] ":"
        ratio_lines("refnet-eq:dpdk:equal work, refnet vs DPDK vhost|" \
                    "vu-refnet:vu:equal work, DPDK virtio-user front end|" \
                    "refnet:dpdk:one copy (refnet) vs DPDK vhost|" \
                    "vu:dpdk:generator check, same back end|" \
                    "ovs:dpdk:OVS-DPDK vs DPDK vhost|" \
                    "refnet-log:refnet:dirty logging on/off, refnet|" \
                    "dpdk-log:dpdk:dirty logging on/off, DPDK", cfgs[i], "pps", "", 0)
        ratio_lines("dpdk:refnet-eq:equal work, DPDK vhost's cycles over refnet's|" \
                    "vu:vu-refnet:equal work, DPDK virtio-user front end|" \
                    "dpdk:refnet:one copy (refnet)|" \
                    "refnet-log:refnet:dirty logging on/off, refnet|" \
                    "dpdk-log:dpdk:dirty logging on/off, DPDK|" \
                    "ovs:dpdk:OVS-DPDK's cycles over DPDK vhost's", cfgs[i], "cpf", "cycles ", 1)
        if ("memcpy" in seencol)
            ratio_lines("refnet:memcpy:Gbit/s as a fraction of the copy limit (same working set)|" \
                        "refnet-eq:memcpy:", cfgs[i], "gbps", "", 0)
    }
}
