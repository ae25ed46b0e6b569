/* Shared by the rpc server and client: gRPC library lifetime, TLS credentials, the peer verifier. */
#ifndef INITRA_RPC_INTERNAL_H
#define INITRA_RPC_INTERNAL_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <pthread.h>

#include "initra/rpc.h"

/* grpc_init / grpc_shutdown, counted by gRPC; gRPC's logging and tracers stay off whatever the
 * environment (GRPC_VERBOSITY, GRPC_TRACE). */
void rpc_lib_ref(void);
void rpc_lib_unref(void);

/* The external certificate verifier handed to gRPC. Shared by its owner (client or server) and gRPC;
 * freed by whichever lets go last. After rpc_verifier_close the user callback is never called again. */
typedef struct rpc_verifier rpc_verifier;
void rpc_verifier_close(rpc_verifier *v);
/* Copies the last refusal message (empty if none) into out. */
void rpc_verifier_last_refusal(rpc_verifier *v, char *out, size_t n);

/* TLS credentials for one side; *v receives the verifier (the caller closes it). NULL with err. */
grpc_channel_credentials *rpc_channel_creds(const initra_rpc_tls *t, rpc_verifier **v, initra_err *err);
grpc_server_credentials *rpc_server_creds(const initra_rpc_tls *t, rpc_verifier **v, initra_err *err);

/* gpr_timespec for now + ms (monotonic clock). */
gpr_timespec rpc_deadline_ms(unsigned ms);

#endif
