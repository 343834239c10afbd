/* stubctl: the toolstack.  One table of commands, xl_cmdtable style: name,
 * function, one-line help, usage.  Exit codes: 0, 100 usage, 111 system. */
#include <stdio.h>
#include <string.h>

#include "ctl/stubctl.h"
#include "lib/log.h"

static int main_help(int argc, char **argv);

static const struct cmd_spec cmd_table[] = {
    {"create", main_create, "Create a domain from a config file",
     "[-c] [-p] CONFIG [KEY=VALUE...]\n"
     "  -c  attach to the console after creation\n"
     "  -p  leave the domain paused after creation"},
    {"list", main_list, "List information about all or some domains",
     "[-l] [DOMAIN...]\n"
     "  -l  long output (JSON)"},
    {"destroy", main_destroy, "Terminate a domain immediately", "DOMAIN"},
    {"shutdown", main_shutdown, "Issue a shutdown signal to a domain", "DOMAIN"},
    {"reboot", main_reboot, "Issue a reboot signal to a domain", "DOMAIN"},
    {"pause", main_pause, "Pause execution of a domain", "DOMAIN"},
    {"unpause", main_unpause, "Unpause a paused domain", "DOMAIN"},
    {"console", main_console, "Attach to a domain's console (Ctrl-] detaches)",
     "[-t pv|serial] DOMAIN\n"
     "  -t  the console: serial (COM1, the default) or pv (the virtio console)"},
    {"domid", main_domid, "Convert a domain name to a domain id", "DOMAIN-NAME"},
    {"domname", main_domname, "Convert a domain id to a domain name", "DOMAIN-ID"},
    {"log", main_log, "Print a domain's device model log (its console 0)", "DOMAIN"},
    {"save", main_save, "Save a domain's state to a file (and destroy it)",
     "[-c] DOMAIN FILE\n"
     "  -c  leave the domain running after the save"},
    {"restore", main_restore, "Restore a domain from a save file",
     "[-p] [-c] FILE [CONFIG]\n"
     "  -p  leave the domain paused after the restore\n"
     "  -c  attach to the console after the restore\n"
     "  CONFIG replaces the config kept in the file (same memory and vCPUs)"},
    {"qmp", main_qmp, "Send one QMP command to a domain's device model", "DOMAIN JSON"},
    {"help", main_help, "Print this help", "[COMMAND]"},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static const struct cmd_spec *find(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmd_table[i].name, name) == 0)
            return &cmd_table[i];
    return NULL;
}

int cmd_usage(const char *name)
{
    const struct cmd_spec *c = find(name);

    if (c)
        fprintf(stderr, "Usage: stubctl %s %s\n\n%s.\n", c->name, c->usage, c->help);
    return EXIT_USAGE;
}

static void help_all(FILE *f)
{
    fprintf(f, "Usage: stubctl <subcommand> [args]\n\nstubctl full list of subcommands:\n\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, " %-12s %s\n", cmd_table[i].name, cmd_table[i].help);
}

static int main_help(int argc, char **argv)
{
    if (argc > 2)
        return cmd_usage("help");
    if (argc == 2) {
        const struct cmd_spec *c = find(argv[1]);
        if (!c) {
            fprintf(stderr, "stubctl: unknown command '%s'\n", argv[1]);
            return EXIT_USAGE;
        }
        printf("Usage: stubctl %s %s\n\n%s.\n", c->name, c->usage, c->help);
        return 0;
    }
    help_all(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const struct cmd_spec *c;

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
