/*
 * conns: the deadline for a complete request head. libmicrohttpd 0.9.75's
 * MHD_OPTION_CONNECTION_TIMEOUT is idle-based (reset by every byte), so a
 * client sending one header byte every few seconds kept its connection for
 * ever; 1,000 of them (the global connection limit) took the gateway offline.
 * This module tracks every connection (MHD_OPTION_NOTIFY_CONNECTION) and,
 * from a thread of its own, shuts down (shutdown(2), both ways) each one
 * whose request head has not completed within head_timeout_ms of the moment
 * it began waiting for one: the connection's start, or the end of its
 * previous request (so an idle keep-alive connection is also closed then).
 * libmicrohttpd then sees the end of the stream and closes the connection
 * itself. A request whose head is complete (the access handler has run) is
 * not cut: its body and reply fall under the idle timeout and the upstream
 * deadline.
 * The per-IP connection cap is libmicrohttpd's own
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT, set by daemon.c).
 *
 * Thread safety: one mutex guards the table; the notify callback and the
 * head marks run on MHD's threads, the sweep on the module's thread. An
 * entry is unlinked (under the mutex) in the CLOSED notification, which
 * libmicrohttpd sends before it closes the socket, so the sweep never shuts
 * down a descriptor that was reused by a newer connection.
 * Tests: tests/integration/test_gateway_hostile.sh (slowloris).
 */
#ifndef TVMAZE_GATEWAY_CONNS_H
#define TVMAZE_GATEWAY_CONNS_H

#include <stddef.h>

#include <microhttpd.h>

struct gw_conns;

/* Starts the sweep thread (every 250 ms). head_timeout_ms > 0. Returns the
 * handle, or NULL with err set (errlen bytes) if the thread cannot start. */
struct gw_conns *gw_conns_start(long head_timeout_ms, char *err, size_t errlen);

/* Stops the thread and frees the table. Call after MHD_stop_daemon (every
 * connection closed). Accepts NULL. */
void gw_conns_stop(struct gw_conns *c);

/* MHD_NotifyConnectionCallback (cls: the handle): STARTED adds the
 * connection, waiting for a head; CLOSED removes it. */
void gw_conns_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe);

/* The connection's request head is complete (first access-handler call of
 * a request): no deadline until gw_conns_head_wait. MHD thread only. */
void gw_conns_head_done(struct MHD_Connection *con);

/* The connection's request ended: its next head is due within the
 * timeout from now. MHD thread only. */
void gw_conns_head_wait(struct MHD_Connection *con);

#endif
