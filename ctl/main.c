/* stubctl: the toolstack.  One table of commands, xl_cmdtable style: name,
 * function, one-line help, usage.  Exit codes: 0, 100 usage, 111 system.
 *
 * Every command parses its options with ctl_getopt(), so that -h / --help
 * print the command's usage on stdout and exit 0 (as `stubctl help CMD`
 * does), and an unknown option is named before the usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl/stubctl.h"
#include "lib/log.h"
#include "lib/version.h"

static int main_help(int argc, char **argv);

static const struct cmd_spec cmd_table[] = {
    {"create", main_create, "Create a domain from a config file",
     "[-c] [-p] CONFIG [KEY=VALUE...]\n"
     "  -c  attach to the console after creation\n"
     "  -p  leave the domain paused after creation"},
    {"list", main_list, "List information about all or some domains",
     "[-l] [-v] [-n] [DOMAIN...]\n"
     "  -l  long output (JSON)\n"
     "  -v  verbose: add the UUID and why a domain is stopped\n"
     "  -n  add where each device model runs (stubdom, process, inline)"},
    {"destroy", main_destroy, "Terminate a domain immediately", "DOMAIN"},
    {"shutdown", main_shutdown, "Issue a shutdown signal to a domain", "DOMAIN"},
    {"reboot", main_reboot, "Issue a reboot signal to a domain", "DOMAIN"},
    {"pause", main_pause, "Pause execution of a domain", "DOMAIN"},
    {"unpause", main_unpause, "Unpause a paused domain", "DOMAIN"},
    {"rename", main_rename, "Rename a domain", "DOMAIN NEW-NAME"},
    {"console", main_console, "Attach to a domain's console (Ctrl-] detaches)",
     "[-t pv|serial] DOMAIN\n"
     "  -t  the console: serial (COM1, the default) or pv (the virtio console)"},
    {"domid", main_domid, "Convert a domain name to a domain id", "DOMAIN-NAME"},
    {"domname", main_domname, "Convert a domain id to a domain name", "DOMAIN-ID"},
    {"log", main_log, "Print a domain's device model log (its console 0)", "DOMAIN"},
    {"save", main_save, "Save a domain's state to a file (and destroy it)",
     "[-c] [-p] DOMAIN FILE [CONFIG]\n"
     "  -c  leave the domain running after the save\n"
     "  -p  leave the domain paused after the save\n"
     "  CONFIG is the config to keep in the file instead of the domain's own"},
    {"restore", main_restore, "Restore a domain from a save file",
     "[-p] [-c] [CONFIG] FILE\n"
     "  -p  leave the domain paused after the restore\n"
     "  -c  attach to the console after the restore\n"
     "  CONFIG replaces the config kept in the file (same memory and vCPUs)"},
    {"vcpu-list", main_vcpu_list, "List the vCPUs of all or some domains", "[DOMAIN...]"},
    {"uptime", main_uptime, "Print how long domains have been running",
     "[-s] [DOMAIN...]\n"
     "  -s  short output: no header"},
    {"top", main_top, "Monitor the CPU and memory of every domain",
     "[-b] [-i ITERATIONS] [-d DELAY]\n"
     "  -b  batch mode: plain frames on stdout, no terminal control\n"
     "  -i  stop after ITERATIONS frames (default: until interrupted)\n"
     "  -d  seconds between frames (default 3)"},
    {"info", main_info, "Print information about the host", ""},
    {"qmp", main_qmp, "Send one QMP command to a domain's device model", "DOMAIN JSON"},
    {"store", main_store, "Query or stop the store (stubstored)",
     "status|stop [-f]\n"
     "  status  say whether a store runs, where, and its process\n"
     "  stop    stop it (refused while domains exist, unless -f)"},
    {"help", main_help, "Print this help", "[COMMAND]"},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

/* The command called name, or the one command it is a prefix of (xl
 * takes `stubctl cr` for create too); NULL when none or several. */
static const struct cmd_spec *find(const char *name)
{
    const struct cmd_spec *found = NULL;
    size_t len = strlen(name);

    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(cmd_table[i].name, name) == 0)
            return &cmd_table[i];
        if (len && strncmp(cmd_table[i].name, name, len) == 0) {
            if (found)
                return NULL;
            found = &cmd_table[i];
        }
    }
    return found;
}

static void print_usage(FILE *f, const struct cmd_spec *c)
{
    fprintf(f, "Usage: stubctl %s%s%s\n\n%s.\n", c->name, c->usage[0] ? " " : "", c->usage,
            c->help);
}

int cmd_usage(const char *name)
{
    const struct cmd_spec *c = find(name);

    if (c)
        print_usage(stderr, c);
    return EXIT_USAGE;
}

int ctl_getopt(int argc, char **argv, const char *opts, const char *cmd)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char optstring[32];
    int opt;

    /* '+': stop at the first non-option (KEY=VALUE, JSON, names); ':':
     * tell a missing value from an unknown option. */
    snprintf(optstring, sizeof(optstring), "+:%sh", opts);
    opterr = 0;
    opt = getopt_long(argc, argv, optstring, longopts, NULL);
    if (opt == 'h') {
        const struct cmd_spec *c = find(cmd);
        if (c)
            print_usage(stdout, c);
        return CTL_OPT_HELP;
    }
    if (opt == '?' || opt == ':') {
        const char *arg = argv[optind - 1];
        if (opt == ':')
            fprintf(stderr, "stubctl %s: option '-%c' needs a value\n", cmd, optopt);
        else if (optopt)
            fprintf(stderr, "stubctl %s: unknown option '-%c'\n", cmd, optopt);
        else
            fprintf(stderr, "stubctl %s: unknown option '%s'\n", cmd, arg);
        cmd_usage(cmd);
        return CTL_OPT_BAD;
    }
    return opt;
}

int ctl_opt_exit(int opt)
{
    return opt == CTL_OPT_HELP ? 0 : EXIT_USAGE;
}

static void help_all(FILE *f)
{
    fprintf(f, "Usage: stubctl <subcommand> [args]\n\nstubctl full list of subcommands:\n\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, " %-12s %s\n", cmd_table[i].name, cmd_table[i].help);
    fprintf(f, "\n`stubctl COMMAND -h` or `stubctl help COMMAND` shows one command's usage;\n"
               "`stubctl --version` the version.\n");
}

static int main_help(int argc, char **argv)
{
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "help")) != -1)
        return ctl_opt_exit(opt);
    if (argc - optind > 1)
        return cmd_usage("help");
    if (argc - optind == 1) {
        const struct cmd_spec *c = find(argv[optind]);
        if (!c) {
            fprintf(stderr, "stubctl: unknown command '%s'\n", argv[optind]);
            return EXIT_USAGE;
        }
        print_usage(stdout, c);
        return 0;
    }
    help_all(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const struct cmd_spec *c;

    version_option(argc, argv, "stubctl");
    log_set_program("stubctl");
    if (argc < 2) {
        help_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return main_help(1, argv + 1);
    c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "stubctl: unknown command '%s'\n", argv[1]);
        help_all(stderr);
        return EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
