// sync_file_range(2) needs _GNU_SOURCE, which a module's header cannot set for the system headers
// Swift has already built; it is defined here, in the one C file of this target.
#define _GNU_SOURCE
#include <fcntl.h>
#include "CIntakeLinux.h"

int intake_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

int intake_open_anonymous(const char *directory) {
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}
