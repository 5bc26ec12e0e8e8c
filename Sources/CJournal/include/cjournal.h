#ifndef CJOURNAL_H
#define CJOURNAL_H
#include <stddef.h>
#include <sys/types.h>

/// Puts `len` bytes into a new memfd and seals it against any change, as journald's
/// native protocol requires of an entry passed by descriptor. Returns the descriptor,
/// or -1 with errno set.
int cjournal_sealed_memfd(const void *bytes, size_t len);

/// Sends descriptor `fd` over the datagram socket `sock` to `path` (SCM_RIGHTS) with an
/// empty payload. Returns 0, or -1 with errno set.
int cjournal_send_fd(int sock, const char *path, int fd);

/// Receives one datagram into `buf`; a descriptor passed with it is stored in `*fd`
/// (else -1). Returns the payload length, or -1 with errno set. For tests.
ssize_t cjournal_receive(int sock, void *buf, size_t cap, int *fd);

#endif
