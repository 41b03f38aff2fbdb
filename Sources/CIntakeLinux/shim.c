// O_TMPFILE needs _GNU_SOURCE, which a module's header cannot set for the system headers Swift
// has already built; it is defined here, in the one C file of this target.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "CIntakeLinux.h"

int intake_open_anonymous(const char *directory) {
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

int intake_link_anonymous(int fd, const char *path) {
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc path works for any owner.
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

int intake_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

void intake_ignore_lease_break_signal(void) {
    signal(SIGIO, SIG_IGN);
}
