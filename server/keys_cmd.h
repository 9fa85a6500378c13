/* keys_cmd: the `keys` admin subcommand of tvmaze-server (see keys_cmd.c). */
#ifndef TVMAZE_KEYS_CMD_H
#define TVMAZE_KEYS_CMD_H

/* argv[0] is the subcommand ("create", "list", "revoke"). Returns the exit
 * status (0, 1 failure, 2 usage). Prints to stdout/stderr. */
int keys_cmd_run(const char *database_url, int argc, char **argv);

#endif
