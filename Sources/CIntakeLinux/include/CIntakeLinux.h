#ifndef C_INTAKE_LINUX_H
#define C_INTAKE_LINUX_H

// Linux APIs that Swift's Glibc module does not export: eventfd(2), which stops the inotify
// poll thread from another thread. Included here so Swift can see the function and its flags.
#include <sys/eventfd.h>

static inline int intake_eventfd_nonblocking(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

#endif
