/* libFuzzer harness: stubvmm's dm_op validation and dispatch.  The input is
 * a sequence of dm_op messages (48 bytes each, as on the socket); a message
 * whose pad word is odd comes with an eventfd attached.  No KVM: ops that
 * reach the VM fail with EBADF, everything before that is exercised. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmm vmm;

    static int quiet = -1;
    if (quiet < 0) {
        quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        log_set_fd(quiet); /* errors are expected here, by the thousand */
    }
    vmm_init(&vmm);
    vmm.ram_size = 64ull << 20;
    vmm.nr_vcpus = 2;
    vmm.placement = (size & 1) ? PLACEMENT_INLINE : PLACEMENT_PROCESS;
    vmm.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    for (size_t off = 0; off + sizeof(struct dmop_req) <= size; off += sizeof(struct dmop_req)) {
        struct dmop_req req;
        struct dmop_reply rep;
        int fds[FDIO_MAX_FDS];
        size_t n;
        int fd = -1;

        memcpy(&req, data + off, sizeof(req));
        if (req.pad & 1)
            fd = eventfd(0, EFD_CLOEXEC);
        dmop_dispatch(&vmm, &req, fd, &rep, fds, &n);
        if (rep.rc > 0 || rep.op != req.op || n > FDIO_MAX_FDS)
            __builtin_trap();
        if (rep.rc < 0 && n != 0)
            __builtin_trap();
    }
    vmm_destroy(&vmm);
    return 0;
}
