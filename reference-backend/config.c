/* GET_CONFIG / SET_CONFIG: the virtio-net configuration space (virtio 1.2,
 * 5.1.4 struct virtio_net_config), 24 bytes.  In a virtio 1.x device every
 * field is read-only to the driver (the mac is writable only through the
 * legacy interface), so SET_CONFIG is accepted only with the migration
 * flag, as the destination of a migration restores the source's bytes. */
#include "handlers.h"

#include <inttypes.h>
#include <string.h>

#define CFG_HDR (3 * sizeof(uint32_t))
#define CFG_FLAG_WRITABLE  0u   /* vhost-user.rst: a guest write */
#define CFG_FLAG_MIGRATION 1u   /* vhost-user.rst: live migration */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void ref_config_init(struct ref_session *s)
{
    static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    uint8_t *c = s->config;
    memset(c, 0, REF_CONFIG_LEN);
    memcpy(c, mac, sizeof mac);                 /* mac (valid with F_MAC) */
    put16(c + 6, 1);                            /* status: LINK_UP */
    put16(c + 8, (uint16_t)s->opts->queues);    /* max_virtqueue_pairs */
    put16(c + 10, 1500);                        /* mtu */
    memset(c + 12, 0xff, 4);                    /* speed: unknown */
    c[16] = 0xff;                               /* duplex: unknown */
}

/* Is [offset, offset + size) inside the config space? */
static bool in_space(uint32_t offset, uint32_t size)
{
    return offset <= REF_CONFIG_LEN && size <= REF_CONFIG_LEN - offset;
}

/* The spec's error indication is a reply without payload, not a close. */
REF_HANDLER(get_config)
{
    uint32_t offset = m->u.config.offset, size = m->u.config.size;
    if (!in_space(offset, size)) {
        ref_log("refnet: GET_CONFIG [%" PRIu32 ", +%" PRIu32 ") is outside the %u-byte "
                "config space: empty reply", offset, size, REF_CONFIG_LEN);
        reply->hdr.size = 0;
        return 0;
    }
    reply->u.config.offset = offset;
    reply->u.config.size = size;
    reply->u.config.flags = 0;
    memcpy(reply->u.config.data, s->config + offset, size);
    reply->hdr.size = (uint32_t)CFG_HDR + size;
    return 0;
}

REF_HANDLER(set_config)
{
    (void)reply;
    uint32_t offset = m->u.config.offset, size = m->u.config.size;
    uint32_t flags = m->u.config.flags;
    if (!in_space(offset, size))
        return ref_fail(s, "config.range: [%" PRIu32 ", +%" PRIu32 ") is outside the "
                        "%u-byte config space", offset, size, REF_CONFIG_LEN);
    if (flags == CFG_FLAG_WRITABLE)
        return ref_fail(s, "config.readonly: every virtio-net config field is read-only "
                        "to a virtio 1.x driver");
    if (flags != CFG_FLAG_MIGRATION)
        return ref_fail(s, "config.flags: 0x%" PRIx32 " is neither 0 nor 1 (migration)",
                        flags);
    if (memcmp(s->config + offset, m->u.config.data, size) != 0)
        s->config_changed = true;
    memcpy(s->config + offset, m->u.config.data, size);
    return 0;
}
