/* Host name resolution for docklog's tcp:// endpoints, without glibc's getaddrinfo:
 * in a static binary that brings the dynamic loader and NSS along (~150 kB more of
 * every docklog's memory, for a lookup done once per connection).
 *
 * Order: a numeric IPv4/IPv6 address; "localhost"; the hosts file (/etc/hosts);
 * DNS A then AAAA queries over UDP to the nameservers of resolv.conf, in turn, with
 * a timeout each. Not supported (use /etc/hosts or an address for such setups):
 * search domains, TCP fallback for truncated answers, nsswitch sources. */
#ifndef DL_RESOLVE_H
#define DL_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

#define DL_RESOLVE_MAX 8

typedef struct dl_addr {
    struct sockaddr_storage sa;
    socklen_t len;
} dl_addr;

typedef struct dl_resolve_options {
    const char *hosts_path;  /* NULL: /etc/hosts */
    const char *resolv_path; /* NULL: /etc/resolv.conf */
    uint16_t dns_port;       /* 0: 53 (tests use another) */
    int64_t timeout_ns;      /* per nameserver; 0: 2 s */
} dl_resolve_options;

/* Up to DL_RESOLVE_MAX addresses of HOST with PORT set. -EHOSTUNREACH (err names
 * the host) when nothing was found. */
int dl_resolve(const char *host, uint16_t port, const dl_resolve_options *opts, dl_addr *ret,
               size_t *ret_n, dv_error *err);

#endif
