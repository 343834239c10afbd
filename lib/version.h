/* The stubvisor version, meson's project version, for every program. */
#ifndef STUBVISOR_VERSION_H
#define STUBVISOR_VERSION_H

/* "0.1.0": the version this build was made from. */
const char *stubvisor_version(void);

/* `PROGRAM --version`: print "PROGRAM (stubvisor) VERSION" on stdout and
 * exit 0 when argv[1] is --version; otherwise return.  First thing in
 * main(), before anything that needs the program's environment. */
void version_option(int argc, char **argv, const char *program);

#endif
