/*
 * rpc_log: gRPC core's own messages as log events. See rpc.h.
 */
#include <grpc/support/log.h>

#include "log.h"
#include "rpc.h"

static void grpc_line_(gpr_log_func_args *a) {
  enum log_level level = a->severity == GPR_LOG_SEVERITY_ERROR  ? LOG_ERROR
                         : a->severity == GPR_LOG_SEVERITY_INFO ? LOG_INFO
                                                                : LOG_DEBUG;
  LOG_EVENT(level, "grpc_core", LF_STR("msg", a->message), LF_STR("file", a->file),
            LF_INT("line", a->line));
}

void rpc_log_to_events(void) {
  gpr_set_log_function(grpc_line_);
}
