/* cmd_dkim_int.h: the halves of `kasten dkim` (cmd_dkim.c: the keys; cmd_dkim_msg.c:
 * sign and verify a message on stdin). Each takes argv with argv[0] = "sign"/"verify",
 * the configuration already loaded, and returns the exit code (0, 1, 2 usage). */
#ifndef KASTEN_CMD_DKIM_INT_H
#define KASTEN_CMD_DKIM_INT_H

int cmd_dkim_sign(int argc, char **argv);
int cmd_dkim_verify(int argc, char **argv);

#endif
