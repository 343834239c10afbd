/* The KVM VM: in-kernel irqchip and PIT, guest RAM in a memfd. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

void vmm_init(struct vmm *vmm)
{
    memset(vmm, 0, sizeof(*vmm));
    vmm->kvm_fd = vmm->vm_fd = vmm->ram_fd = vmm->shm_fd = vmm->notify_fd = -1;
    vmm->stop_efd = vmm->in_fd = vmm->out_fd = vmm->dm_store_fd = -1;
    vmm->dm_save_fd = vmm->dm_restore_fd = vmm->dm_qmp_fd = -1;
    vmm->hold_efd = -1;
    vmm->dm_poll_us = -1;
    for (unsigned i = 0; i < VMM_MAX_VCPUS; i++)
        vmm->vcpus[i].fd = vmm->vcpus[i].efd = vmm->vcpus[i].sched_fds[0] =
            vmm->vcpus[i].sched_fds[1] = -1;
    pthread_rwlock_init(&vmm->io_lock, NULL);
    pthread_mutex_init(&vmm->buf_lock, NULL);
    /* What an eventfd looks like to fstat, for dm_op checks that may run
     * after the lockdown, when no eventfd can be made to compare with. */
    int efd = eventfd(0, EFD_CLOEXEC);
    struct stat st;
    if (efd >= 0 && fstat(efd, &st) == 0) {
        vmm->eventfd_dev = st.st_dev;
        vmm->eventfd_type = st.st_mode & S_IFMT;
    }
    close_quietly(efd);
}

int vmm_create(struct vmm *vmm, unsigned memory_mib)
{
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    struct kvm_userspace_memory_region region;
    int r;

    vmm_init(vmm);
    vmm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vmm->kvm_fd < 0) {
        log_error("/dev/kvm: %s", strerror(errno));
        return -errno;
    }
    r = ioctl(vmm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (r != KVM_API_VERSION) {
        log_error("KVM API version %d, expected %d", r, KVM_API_VERSION);
        return -ENOTSUP;
    }
    vmm->vm_fd = ioctl(vmm->kvm_fd, KVM_CREATE_VM, 0);
    if (vmm->vm_fd < 0) {
        log_error("KVM_CREATE_VM: %s", strerror(errno));
        return -errno;
    }
    fd_set_cloexec(vmm->vm_fd, 1);
    r = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (r < (int)sizeof(struct kvm_run)) {
        log_error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        return -EINVAL;
    }
    vmm->run_size = (size_t)r;

    /* Intel needs these three pages below 4 GiB out of the guest's way; AMD
     * ignores them.  Just under the BIOS area, far above our RAM limit. */
    if (ioctl(vmm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0) {
        log_error("KVM_SET_TSS_ADDR: %s", strerror(errno));
        return -errno;
    }
    if (ioctl(vmm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        log_error("KVM_CREATE_IRQCHIP: %s", strerror(errno));
        return -errno;
    }
    if (ioctl(vmm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        log_error("KVM_CREATE_PIT2: %s", strerror(errno));
        return -errno;
    }

    vmm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    vmm->hold_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vmm->stop_efd < 0 || vmm->hold_efd < 0) {
        log_error("eventfd: %s", strerror(errno));
        return -errno;
    }

    vmm->ram_size = (uint64_t)memory_mib << 20;
    vmm->ram_fd = memfd_create("stubvmm-ram", MFD_CLOEXEC);
    if (vmm->ram_fd < 0 || ftruncate(vmm->ram_fd, (off_t)vmm->ram_size) < 0) {
        log_error("guest RAM memfd: %s", strerror(errno));
        return -errno;
    }
    vmm->ram = mmap(NULL, vmm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                    vmm->ram_fd, 0);
    if (vmm->ram == MAP_FAILED) {
        vmm->ram = NULL;
        log_error("mapping guest RAM: %s", strerror(errno));
        return -errno;
    }
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = vmm->ram_size,
        .userspace_addr = (uintptr_t)vmm->ram,
    };
    if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        log_error("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

void vmm_destroy(struct vmm *vmm)
{
    dmop_server_destroy(vmm);
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        if (v->run)
            munmap(v->run, vmm->run_size);
        close_quietly(v->fd);
        close_quietly(v->sched_fds[0]);
        close_quietly(v->sched_fds[1]);
    }
    if (vmm->ram)
        munmap(vmm->ram, vmm->ram_size);
    close_quietly(vmm->ram_fd);
    close_quietly(vmm->vm_fd);
    close_quietly(vmm->kvm_fd);
    close_quietly(vmm->stop_efd);
    close_quietly(vmm->hold_efd);
    vmm->stop_efd = vmm->hold_efd = -1;
    vmm_dm_words_dispose(vmm);
    free(vmm->cpuid);
    vmm->cpuid = NULL;
    pthread_rwlock_destroy(&vmm->io_lock);
    pthread_mutex_destroy(&vmm->buf_lock);
}

void *gpa_ptr(struct vmm *vmm, uint64_t gpa, uint64_t len)
{
    if (!vmm->ram || gpa > vmm->ram_size || len > vmm->ram_size - gpa)
        return NULL;
    return vmm->ram + gpa;
}
