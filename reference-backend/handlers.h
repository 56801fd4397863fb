/* Request handlers, one per supported front-end request (see refnet.h for
 * the handler contract).  Grouped by file: handlers.c (features, owner,
 * status), ring_handlers.c (SET/GET_VRING_*), mem_handlers.c (memory). */
#ifndef REF_HANDLERS_H
#define REF_HANDLERS_H

#include "refnet.h"

#define REF_HANDLER(name) \
    int ref_h_##name(struct ref_session *s, struct vhu_msg *m, struct vhu_msg *reply)

REF_HANDLER(get_features);
REF_HANDLER(set_features);
REF_HANDLER(set_owner);
REF_HANDLER(reset_owner);
REF_HANDLER(get_protocol_features);
REF_HANDLER(set_protocol_features);
REF_HANDLER(get_queue_num);
REF_HANDLER(set_backend_req_fd);
REF_HANDLER(set_status);
REF_HANDLER(get_status);
REF_HANDLER(reset_device);

REF_HANDLER(set_vring_num);
REF_HANDLER(set_vring_addr);
REF_HANDLER(set_vring_base);
REF_HANDLER(get_vring_base);
REF_HANDLER(set_vring_kick);
REF_HANDLER(set_vring_call);
REF_HANDLER(set_vring_err);
REF_HANDLER(set_vring_enable);

REF_HANDLER(set_mem_table);
REF_HANDLER(get_max_mem_slots);
REF_HANDLER(add_mem_reg);
REF_HANDLER(rem_mem_reg);

REF_HANDLER(set_log_base);     /* dirty_log.c */
REF_HANDLER(send_rarp);        /* rarp.c */
REF_HANDLER(iotlb_msg);       /* iotlb_handlers.c */
REF_HANDLER(get_config);       /* config.c */
REF_HANDLER(set_config);

/* Reset every ring (closing their fds); used by RESET_OWNER/RESET_DEVICE. */
void ref_reset_rings(struct ref_session *s);

#endif
