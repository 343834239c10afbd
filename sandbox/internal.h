/* Shared by the sandbox library's files only. */
#ifndef STUBVISOR_SANDBOX_INTERNAL_H
#define STUBVISOR_SANDBOX_INTERNAL_H

/* Built with AddressSanitizer?  The library is compiled with the same flags
 * as the device model of the same build, so this also says whether the
 * device model runs under ASan: dynamic, huge shadow mappings (no
 * RLIMIT_AS/DATA), LeakSanitizer off, a few more system calls. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN 0
#endif

#endif
