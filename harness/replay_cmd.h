/* The trace commands of the CLI: `replay` (replay_cmd.c) and `record`
 * (proxy.c).  argv[0] is the command name; exit status 0, 1 or 2. */
#ifndef VHC_REPLAY_CMD_H
#define VHC_REPLAY_CMD_H

int vhc_cmd_replay(int argc, char **argv);
int vhc_cmd_record(int argc, char **argv);

#endif
