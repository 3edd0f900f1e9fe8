#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdarg.h>
#include <microhttpd.h>

/// `MHD_start_daemon` is variadic and does not import: every option goes through one array.
static inline struct MHD_Daemon *CMicroHTTPD_start(unsigned int flags, uint16_t port,
                                                   MHD_AccessHandlerCallback handler, void *handlerContext,
                                                   const struct MHD_OptionItem *options) {
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handlerContext,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// `MHD_get_daemon_info` is variadic and does not import: the port the daemon listens on, 0 if unknown.
static inline uint16_t CMicroHTTPD_boundPort(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// `MHD_get_connection_info` is variadic and does not import: the peer's address, NULL if unknown.
static inline const struct sockaddr *CMicroHTTPD_clientAddress(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

/// `MHD_get_connection_info` is variadic and does not import: the connection's socket,
/// `MHD_INVALID_SOCKET` if unknown. libmicrohttpd owns it: callers may shut it down, never close it.
static inline MHD_socket CMicroHTTPD_connectionSocket(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? MHD_INVALID_SOCKET : info->connect_fd;
}

/// Linux's `POLLRDHUP` (the peer closed its end), which glibc hides without `_GNU_SOURCE`;
/// used to notice clients that hang up while their request is parked.
static const short CMicroHTTPD_POLLRDHUP = 0x2000;

#endif
