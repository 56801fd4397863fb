/* `vhost-conform play` (play_cmd.c) and `vhost-conform trace-diff`
 * (tdiff_cmd.c).  argv[0] is the command name; exit status 0, 1 or 2. */
#ifndef VHC_PLAY_CMD_H
#define VHC_PLAY_CMD_H

int vhc_cmd_play(int argc, char **argv);
int vhc_cmd_trace_diff(int argc, char **argv);

#endif
