#ifndef C_INTAKE_LINUX_H
#define C_INTAKE_LINUX_H

// Linux APIs that Swift's Glibc module does not export or cannot call:
// eventfd(2), which stops the inotify poll thread from another thread, and fcntl(2) leases
// (fcntl is variadic, and F_SETLEASE needs _GNU_SOURCE) and O_TMPFILE.
#include <sys/eventfd.h>
#include <fcntl.h>
#include <errno.h>

#ifndef F_SETLEASE
#define F_SETLEASE 1024
#endif

static inline int intake_eventfd_nonblocking(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/// Takes a read lease on a read-only descriptor. The kernel grants it only when no process has
/// the file open for writing, which tells "an upload is still being written" apart from "done".
/// Returns 0, or -1 with errno: EAGAIN (someone is writing), EPERM/EACCES (not the owner and no
/// CAP_LEASE), EINVAL (file system without leases).
static inline int intake_try_read_lease(int fd) {
    return fcntl(fd, F_SETLEASE, F_RDLCK);
}

static inline int intake_release_lease(int fd) {
    return fcntl(fd, F_SETLEASE, F_UNLCK);
}

#ifndef F_GETLEASE
#define F_GETLEASE 1025
#endif

/// The lease on `fd` as the kernel sees it: while a lease is being broken (another process is
/// opening the file), the type it is being broken to, F_UNLCK for a writer. -1 with errno on error.
static inline int intake_get_lease(int fd) {
    return fcntl(fd, F_GETLEASE);
}

/// Ignores SIGIO, the signal the kernel sends a lease holder when someone opens its file. Its
/// default action ends the process; the holder learns of the break from intake_get_lease instead.
void intake_ignore_lease_break_signal(void);

/// Opens a new file without a name in `directory` (open with O_TMPFILE, which needs _GNU_SOURCE):
/// scratch space that disappears with its descriptor, even after a crash. Returns the
/// descriptor, or -1 with errno (EOPNOTSUPP on a file system without O_TMPFILE).
int intake_open_anonymous(const char *directory);

/// Gives the anonymous file `fd` (from intake_open_anonymous) the name `path` in its directory.
int intake_link_anonymous(int fd, const char *path);

/// rename(2) that fails with EEXIST instead of replacing an existing `to`.
int intake_rename_noreplace(const char *from, const char *to);

/// libFuzzer's driver, for `make fuzz` only: SwiftPM gives an executable its own entry point
/// (`<module>_main`), so the fuzz build calls libFuzzer from there instead of using libFuzzer's
/// `main`. Declared here because Swift cannot declare a C function itself; defined only when
/// linking with -sanitize=fuzzer, and referenced only then.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
