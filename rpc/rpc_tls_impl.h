/*
 * rpc_tls_impl: the TLS credentials of the binding's two halves, built from
 * the PEM files of a struct rpc_tls_files (rpc_tls.c). Private to rpc/.
 */
#ifndef TVMAZE_RPC_TLS_IMPL_H
#define TVMAZE_RPC_TLS_IMPL_H

#include <stddef.h>

#include <grpc/grpc_security.h>

#include "rpc.h"

struct rpc_tls_watch_;

/* Server credentials whose certificate-config fetcher re-reads tls's files
 * for a new connection once one of them changed on disk (inode, size,
 * mtime, ctime), checks them (rpc_tls_files_check) and uses them only when
 * they pass; reloaded (user) hears each outcome. The files are read and
 * checked here first. Returns the watch (its fetcher's state: free it with
 * rpc_tls_watch_destroy_ once the grpc_server is destroyed) and the
 * credentials in *creds (the caller releases them after adding the port),
 * or NULL with a message in err. */
struct rpc_tls_watch_ *rpc_tls_watch_create_(const struct rpc_tls_files *tls,
                                             rpc_tls_reload_fn reloaded, void *user,
                                             grpc_server_credentials **creds, char *err,
                                             size_t errlen);
/* Accepts NULL. */
void rpc_tls_watch_destroy_(struct rpc_tls_watch_ *w);

/* Channel credentials trusting tls->ca, presenting tls->cert/key when set,
 * re-reading the files every RPC_TLS_CLIENT_REFRESH_S seconds (gRPC's file
 * watcher). NULL with a message in err when they fail the client's check. */
grpc_channel_credentials *rpc_tls_channel_creds_(const struct rpc_tls_files *tls, char *err,
                                                 size_t errlen);

#endif
