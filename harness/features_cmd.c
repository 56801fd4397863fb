/* vhost-conform features: what a guest would see of a back end through
 * QEMU's virtio-net-pci, per QEMU profile. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "beopts.h"
#include "cli.h"

#define FEATURES_TIMEOUT_MS 5000

/* "features offered:          0x0000000140000000 PROTOCOL_FEATURES VERSION_1" */
static void bits_line(const char *label, uint64_t bits, vhu_bit_name_fn name)
{
    char names[1536];
    vhu_bits_format(names, sizeof names, bits, name, " ");
    printf("%-26s 0x%016llx%s%s\n", label, (unsigned long long)bits, bits ? " " : "", names);
}

/* Everything after init: the offer, QEMU's masks, queues, slots. */
static void print_view(struct mfe *fe, const struct mfe_profile *p)
{
    printf("%-26s %s (%s)\n", "profile:", p->name, p->description);
    const vhu_bit_name_fn net = vhu_net_feature_name;
    bits_line("features offered:", fe->features, net);
    bits_line("features guest can get:", fe->features & p->guest_features, net);
    bits_line("features QEMU masks:", fe->features & ~p->guest_features, net);
    bool proto = (fe->features >> VHU_F_PROTOCOL_FEATURES) & 1;
    if (!proto) {
        printf("%-26s none (PROTOCOL_FEATURES not offered)\n", "protocol features:");
        return;
    }
    bits_line("protocol offered:", fe->protocol_features, vhu_pf_name);
    bits_line("protocol acked:", fe->acked_protocol_features, vhu_pf_name);
    bits_line("protocol not acked:", fe->protocol_features & ~fe->acked_protocol_features,
              vhu_pf_name);
    bool mq = (fe->acked_protocol_features >> VHU_PF_MQ) & 1;
    printf("%-26s %u%s\n", "queue pairs:", mq ? fe->queue_num : 1u,
           mq ? " (GET_QUEUE_NUM)" : " (no MQ)");
    uint64_t slots;
    if ((fe->acked_protocol_features >> VHU_PF_CONFIGURE_MEM_SLOTS) & 1) {
        if (mfe_get_u64(fe, VHU_REQ_GET_MAX_MEM_SLOTS, &slots) == 0)
            printf("%-26s %llu\n", "max mem slots:", (unsigned long long)slots);
        else
            printf("%-26s error: %s\n", "max mem slots:", mfe_error(fe));
    } else {
        printf("%-26s not negotiated (SET_MEM_TABLE, up to %u regions)\n", "max mem slots:",
               VHU_MAX_REGIONS);
    }
}

int vhc_cmd_features(int argc, char **argv)
{
    static const struct option own[] = {
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    struct vhc_beopts b;
    vhc_beopts_init(&b, VHC_BE_BACKEND | VHC_BE_SOCKET | VHC_BE_PROFILES | VHC_BE_SCALE);
    struct option table[sizeof own / sizeof own[0] + VHC_BEOPT_COUNT];
    const struct option *opts = vhc_beopts_table(&b, own, table, sizeof table / sizeof table[0]);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = vhc_beopts_take(&b, opt, optarg);
        if (rc == 1 && opt == 'h')
            return vhc_help("features") < 0 ? 2 : 0;
        if (rc != 0)
            return vhc_usage("features");
    }
    if (optind < argc || vhc_beopts_check(&b) < 0)
        return vhc_usage("features");
    if (b.nprofiles == 0)
        b.profiles[b.nprofiles++] = mfe_profile_find(MFE_PROFILE_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    /* one connection per profile: each QEMU acks differently, and a back
     * end takes SET_PROTOCOL_FEATURES once per connection */
    for (unsigned i = 0; i < b.nprofiles && rc == 0; i++) {
        const struct mfe_profile *p = b.profiles[i];
        struct vhc_cli_conn conn;
        if (vhc_cli_open(&conn, b.backend, b.socket, vhc_beopts_ms(&b, FEATURES_TIMEOUT_MS)) < 0) {
            rc = 2;
        } else {
            conn.fe->profile = p;
            if (mfe_qemu_init(conn.fe, 1) < 0) {
                fprintf(stderr, "vhost-conform: init failed: %s\n", mfe_error(conn.fe));
                rc = 1;
            } else {
                print_view(conn.fe, p);
            }
        }
        vhc_cli_close(&conn);
        if (b.nprofiles > 1)
            putchar('\n');
    }
    return rc;
}
