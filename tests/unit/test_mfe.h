/* test_mfe is two files: test_mfe.c (memory, rings, transcript,
 * connection, replies, profiles, and the suite) and test_mfe_qemu.c (the
 * QEMU sequences against a scripted fake back end). */
#ifndef VHC_TEST_MFE_H
#define VHC_TEST_MFE_H

#include <check.h>

/* "qemu72": every QEMU sequence against its recorded trace */
TCase *mfe_qemu_tcase(void);
/* "backend-channel": mfe_backend_serve against requests written by hand
 * (test_mfe_backend.c) */
TCase *mfe_backend_tcase(void);

#endif
